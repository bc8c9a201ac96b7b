#!/usr/bin/env python3
"""Check the registry's W3C Bitstring Status Lists with an independent implementation.

Usage: python3 scripts/check_status_list.py   (from the repository root)

Installs Digital Bazaar's @digitalbazaar/vc-bitstring-status-list (2.0.1, with its
@digitalbazaar/bitstring 3.1.0) under out/node-status with npm, then starts
`exoskin serve` on 127.0.0.1 (a free port, a temporary SQLite registry, an issuer key and a
registry key made by `exoskin batch keygen`), allocates status list indices
(`exoskin batch allocate-status`), issues certificates with them
(`batch issue --status-list URL --status-index N`) and one without, publishes them all,
revokes some, fetches the signed list (GET /api/v1/status/1) and checks:

* the npm library's decodeList reads exoskin's encodedList as 131,072 entries whose set
  bits are exactly the revoked certificates' indices;
* its checkStatus (the list served from memory by a document loader, so no network; the
  proof is checked by exoskin, and the issuers differ by design: the registry signs the
  list, the lab the certificate) says revoked for exactly the revoked certificates;
* `exoskin batch verify --registry-pubkey` says "revoked (status list bit N)" (exit 1) for
  exactly those, VALID (exit 0) for the others, and the certificate without a status entry
  is still checked against --revocations;
* lists the npm library makes (createList, setStatus, encode) decode in exoskin
  (`exoskin batch status-list --encoded`) to the same set bits; its unsigned list
  credential, and exoskin's list with the npm list's bits swapped in, are refused.

The server is killed on exit. Exit code 0 when all agree; one summary line at the end.
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import EXE, Checks, cli, free_port, http  # noqa: E402
NODE_DIR = os.path.join(ROOT, "out", "node-status")
PACKAGES = ["@digitalbazaar/vc-bitstring-status-list@2.0.1", "@digitalbazaar/bitstring@3.1.0"]
ENTRIES = 131072  # W3C Bitstring Status List v1.0 (2025), section 3.2: minimumNumberOfEntries

# Runs in node: reads a job on stdin, answers JSON on stdout.
NODE_MAIN = r"""
import {createList, decodeList, createCredential, checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {readFileSync} from 'node:fs';
const job = JSON.parse(readFileSync(0, 'utf8'));
const out = {};
if (job.encodedList) {
  const list = await decodeList({encodedList: job.encodedList});
  const ones = [];
  for (let i = 0; i < list.length; i++) { if (list.getStatus(i)) ones.push(i); }
  out.decoded = {length: list.length, ones};
}
if (job.certs) {
  const documentLoader = async url => {
    if (url === job.listUrl) return {contextUrl: null, documentUrl: url, document: job.listDoc};
    throw new Error(`no network in this check: ${url}`);
  };
  out.checks = [];
  for (const credential of job.certs) {
    const r = await checkStatus({credential, documentLoader,
      verifyBitstringStatusListCredential: false, verifyMatchingIssuers: false});
    out.checks.push({verified: r.verified, status: r.verified ? r.results[0].status : null,
      error: r.error ? String(r.error.message) : null});
  }
}
if (job.make) {
  const list = await createList({length: job.make.length});
  for (const i of job.make.ones) list.setStatus(i, true);
  out.made = {encodedList: await list.encode()};
  out.made.credential = await createCredential({id: job.make.id, list, statusPurpose: 'revocation'});
}
process.stdout.write(JSON.stringify(out));
"""


def ensure_packages():
    marker = os.path.join(NODE_DIR, "node_modules", "@digitalbazaar", "vc-bitstring-status-list", "package.json")
    if os.path.exists(marker):
        return
    if shutil.which("npm") is None:
        subprocess.run("apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null",
                       shell=True, check=True)
    os.makedirs(NODE_DIR, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", *PACKAGES], cwd=NODE_DIR, check=True)


def node(job):
    path = os.path.join(NODE_DIR, "check_status_list.mjs")
    with open(path, "w") as f:
        f.write(NODE_MAIN)
    r = subprocess.run(["node", path], input=json.dumps(job), capture_output=True, text=True, cwd=NODE_DIR, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"node failed: {r.stderr}")
    return json.loads(r.stdout)


def main():
    ensure_packages()
    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "exoskin"], cwd=ROOT, check=True)
    C = Checks()
    tmp = tempfile.mkdtemp(prefix="exoskin-status-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lab, reg = os.path.join(tmp, "lab.key"), os.path.join(tmp, "registry.key")
    cli("batch", "keygen", "--out", lab)
    cli("batch", "keygen", "--out", reg)
    token = os.path.join(tmp, "lab.token")
    with open(token, "w") as f:
        f.write("status-check-token-0123456789\n")
    server = subprocess.Popen(
        [EXE, "serve", "--db", os.path.join(tmp, "reg.sqlite3"), "--listen", f"127.0.0.1:{port}",
         "--issuer-pubkey", lab + ".pub", "--token-file", token, "--registry-key", reg, "--no-web",
         "--rate-per-client", "0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if http(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        with open(os.path.join(ROOT, "examples/qc/pass_msc_serum.toml")) as f:
            record = f.read()

        def issue(lot, status=None):
            rec = os.path.join(tmp, f"{lot}.toml")
            with open(rec, "w") as f:
                f.write(record.replace('lot = "EXO2604-12"', f'lot = "{lot}"'))
            out = os.path.join(tmp, lot)
            extra = ["--status-list", status[0], "--status-index", status[1]] if status else []
            cli("batch", "issue", rec, "--key", lab, "--out", out, "--resolver", base, *extra)
            path = os.path.join(out, "certificate.json")
            cli("batch", "publish", path, "--registry", base, "--token-file", token)
            return path

        certs = []  # (path, index)
        for i in range(8):
            a = json.loads(cli("batch", "allocate-status", "--registry", base, "--token-file", token).stdout)
            C.ok(a["statusListCredential"] == base + "/api/v1/status/1", f"allocation {i}: list 1 of this registry")
            certs.append((issue(f"BSL-{i}", (a["statusListCredential"], a["statusListIndex"])), int(a["statusListIndex"])))
        indices = [i for _, i in certs]
        C.ok(len(set(indices)) == len(indices), f"8 allocations gave 8 different indices ({sorted(indices)})")
        legacy = issue("BSL-LEGACY")
        revoked_pos = [1, 4, 6]
        for p in revoked_pos:
            cert = json.load(open(certs[p][0]))
            cli("batch", "revoke", "--registry", base, "--token-file", token, "--id", cert["id"], "--reason", "recall")
        cli("batch", "revoke", "--registry", base, "--token-file", token, "--id", json.load(open(legacy))["id"],
            "--reason", "recall")
        revoked_idx = sorted(certs[p][1] for p in revoked_pos)

        status, body = http(base + "/api/v1/status/1")
        C.ok(status == 200, "GET /api/v1/status/1 answers 200")
        list_doc = json.loads(body)
        list_path = os.path.join(tmp, "list1.json")
        with open(list_path, "wb") as f:
            f.write(body)
        sub = list_doc["credentialSubject"]
        C.ok("BitstringStatusListCredential" in list_doc["type"] and sub["type"] == "BitstringStatusList"
             and sub["statusPurpose"] == "revocation" and sub["encodedList"].startswith("u"),
             "the list is a BitstringStatusListCredential with a revocation BitstringStatusList, encodedList multibase u")

        cert_docs = [json.load(open(p)) for p, _ in certs]
        res = node({"encodedList": sub["encodedList"], "certs": cert_docs,
                    "listUrl": list_doc["id"], "listDoc": list_doc})
        C.ok(res["decoded"]["length"] == ENTRIES, f"npm decodeList: {res['decoded']['length']} entries (131,072)")
        C.ok(res["decoded"]["ones"] == revoked_idx,
             f"npm decodeList: set bits {res['decoded']['ones']} are the revoked certificates' {revoked_idx}")
        for k, ((p, idx), chk) in enumerate(zip(certs, res["checks"])):
            want = k in revoked_pos
            C.ok(chk["verified"] and chk["status"] == want,
                 f"npm checkStatus of certificate {k} (index {idx}): status {chk['status']} (revoked: {want})"
                 + (f" error {chk['error']}" if chk["error"] else ""))

        reg_pub = reg + ".pub"
        for k, (p, idx) in enumerate(certs):
            r = cli("batch", "verify", p, "--pubkey", lab + ".pub", "--registry-pubkey", reg_pub, ok=(0, 1))
            want = k in revoked_pos
            said = f"revoked (status list bit {idx})" in (r.stdout + r.stderr)
            C.ok((r.returncode == 1 and said) if want else (r.returncode == 0 and "VALID" in r.stdout),
                 f"exoskin batch verify certificate {k}: exit {r.returncode}" + (", revoked (status list bit N)" if said else ""))
        # The saved list given as a file gives the same answers.
        r = cli("batch", "verify", certs[4][0], "--pubkey", lab + ".pub", "--status-list", list_path,
                "--registry-pubkey", reg_pub, ok=(1,))
        C.ok(f"revoked (status list bit {certs[4][1]})" in r.stdout, "verify --status-list FILE: revoked")
        # The certificate without credentialStatus: the revocation list, as before.
        revs = os.path.join(tmp, "revoked.json")
        with open(revs, "wb") as f:
            f.write(http(base + "/api/v1/revocations")[1])
        r = cli("batch", "verify", legacy, "--pubkey", lab + ".pub", "--revocations", revs, ok=(1,))
        C.ok("revoked on" in r.stdout, "a certificate without credentialStatus is revoked by --revocations")
        r = cli("batch", "verify", legacy, "--pubkey", lab + ".pub", ok=(0,))
        C.ok(r.returncode == 0, "and without --revocations it verifies as before")

        # Lists the npm library makes, decoded by exoskin.
        rng = random.Random(20250515)
        for trial, ones in enumerate([[], [0, 7, 8, ENTRIES - 1], sorted(rng.sample(range(ENTRIES), 300))]):
            made = node({"make": {"length": ENTRIES, "ones": ones, "id": base + "/api/v1/status/9"}})["made"]
            r = cli("batch", "status-list", "--encoded", made["encodedList"])
            got = json.loads(r.stdout)
            C.ok(got["entries"] == ENTRIES and got["ones"] == ones,
                 f"npm-made list {trial} ({len(ones)} set bits): exoskin decodes the same bits")
        unsigned = os.path.join(tmp, "npm_list.json")
        with open(unsigned, "w") as f:
            json.dump(made["credential"], f)
        r = cli("batch", "status-list", unsigned, ok=(1,))
        C.ok("STATUS_VERIFICATION_ERROR" in r.stdout, "the npm library's unsigned list credential is refused")
        forged = dict(list_doc)
        forged["credentialSubject"] = dict(sub, encodedList=made["encodedList"])
        forged_path = os.path.join(tmp, "forged.json")
        with open(forged_path, "w") as f:
            json.dump(forged, f)
        r = cli("batch", "verify", certs[1][0], "--pubkey", lab + ".pub", "--status-list", forged_path, ok=(1,))
        C.ok("STATUS_VERIFICATION_ERROR" in r.stdout, "the signed list with other bits swapped in is refused")
        r = cli("batch", "status-list", base + "/api/v1/status/1", "--registry-pubkey", reg_pub)
        C.ok(json.loads(r.stdout)["ones"] == revoked_idx, "exoskin batch status-list URL: the same set bits")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if C.failures:
        print(f"check_status_list: {len(C.failures)} of {C.n} checks FAILED")
        sys.exit(1)
    print(f"check_status_list: all {C.n} checks agree with @digitalbazaar/vc-bitstring-status-list 2.0.1")


if __name__ == "__main__":
    main()
