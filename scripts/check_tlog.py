#!/usr/bin/env python3
"""Check the registry's Merkle transparency log with an independent C2SP implementation.

Usage: python3 scripts/check_tlog.py   (from the repository root)

Reuses .venv-stats (the local virtual environment of check_stats_reference.py), installing
aics-tlog there if needed (a pure-Python verifier/builder of C2SP tlog-checkpoint, signed-note
and tlog-cosignature with the RFC 9162 proof algorithms; it declares Python 3.12 or newer, and
on an older interpreter it is installed with --ignore-requires-python: its code runs there,
which the checks below show by what it accepts and what it refuses). Then it starts
`target/release/exoskin serve` on 127.0.0.1 (a free port, a temporary SQLite registry, an
issuer and a registry key made by `exoskin batch keygen`), publishes certificates and revokes
one, and checks with aics-tlog:

* the verifier key the server prints is the one aics-tlog computes from the registry's public
  key and the origin (name, key ID, base64 key);
* the signed checkpoint (GET /api/v1/log/checkpoint) verifies under that key, twice: at size A,
  then at size B after more certificates were published;
* every entry's inclusion proof at both sizes (GET /api/v1/log/proof/inclusion), for a leaf
  whose bytes this script rebuilds from the audit entry (RFC 8785 JSON of every field but
  `hash`; its SHA-256 must be the entry's `hash`) against the checkpoints' roots; and by
  certificate id;
* the consistency proof from A to B (GET /api/v1/log/proof/consistency) against the two
  signed roots, and from every smaller size to B;
* aics-tlog's own tree over the same leaves gives the same roots and the same proofs;
* tampering fails: a flipped bit in a proof, another index, another root, a changed
  checkpoint, another key;
* a witness cosignature made by aics-tlog (cosignature/v1) is accepted by
  `exoskin registry verify-log --witness`, and one over another root is refused (exit 1);
  verify-log also accepts the checkpoint at A against the grown log (a consistency proof).

The server is killed on exit. Exit code 0 when all agree.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_stats_reference as base  # noqa: E402  (shares the venv and its creation)

ROOT = base.ROOT
from checklib import EXE, Checks, cli, free_port, http  # noqa: E402
PACKAGE = "aics-tlog==0.2.1"
ORIGIN = "registry.check.invalid/exoskin-log"
WITNESS = "witness.check.invalid/w1"


def ensure_packages():
    if os.path.realpath(sys.prefix) != os.path.realpath(base.VENV):
        base.ensure_venv()  # creates the venv if needed and re-executes this script in it
    try:
        import aics_tlog  # noqa: F401
    except ImportError:
        extra = ["--ignore-requires-python"] if sys.version_info < (3, 12) else []
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *extra, PACKAGE], check=True)
        os.execv(sys.executable, [sys.executable] + sys.argv)


def leaf_bytes(entry):
    """The leaf: RFC 8785 JSON of the entry without `hash`. Its values are strings and small
    integers and its keys ASCII, for which sorted keys and json.dumps's escaping are RFC 8785's."""
    v = {k: entry[k] for k in ("seq", "at", "actor", "action", "certId", "detail", "prevHash")}
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def main():
    ensure_packages()
    import aics_tlog as t
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "exoskin"], cwd=ROOT, check=True)
    C = Checks()
    tmp = tempfile.mkdtemp(prefix="exoskin-tlog-")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    lab, reg = os.path.join(tmp, "lab.key"), os.path.join(tmp, "registry.key")
    cli("batch", "keygen", "--out", lab)
    cli("batch", "keygen", "--out", reg)
    token, admin = os.path.join(tmp, "lab.token"), os.path.join(tmp, "admin.token")
    for p, v in ((token, "tlog-check-token-0123456789"), (admin, "tlog-check-admin-0123456789")):
        with open(p, "w") as f:
            f.write(v + "\n")
    with open(os.path.join(ROOT, "examples/qc/pass_msc_serum.toml")) as f:
        record = f.read()
    certs = []
    for i in range(9):
        rec = os.path.join(tmp, f"lot{i}.toml")
        with open(rec, "w") as f:
            f.write(record.replace('lot = "EXO2604-12"', f'lot = "TLOG-{i}"'))
        out = os.path.join(tmp, f"cert{i}")
        cli("batch", "issue", rec, "--key", lab, "--out", out, "--resolver", base_url)
        certs.append(os.path.join(out, "certificate.json"))
    db = os.path.join(tmp, "reg.sqlite3")
    server = subprocess.Popen(
        [EXE, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--issuer-pubkey", lab + ".pub",
         "--token-file", token, "--registry-key", reg, "--admin-token-file", admin, "--log-origin", ORIGIN,
         "--no-web", "--rate-per-client", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        printed = [server.stdout.readline(), server.stdout.readline()]
        for _ in range(100):
            try:
                if http(base_url + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)

        def publish(i):
            cli("batch", "publish", certs[i], "--registry", base_url, "--token-file", token)

        def checkpoint():
            s, b = http(base_url + "/api/v1/log/checkpoint")
            C.ok(s == 200, f"GET /api/v1/log/checkpoint answers 200 ({s})")
            return b.decode("utf-8")

        # The verifier key: aics-tlog's, from the public key and the origin, against the
        # one the server printed.
        with open(reg + ".pub", "rb") as f:
            pub = load_pem_public_key(f.read())
        vkey = t.vkey_from_ed25519(ORIGIN, pub)
        m = re.search(r"verify with (\S+)", printed[1])
        C.ok(m is not None and m.group(1) == t.format_vkey(vkey),
             f"verifier key printed by serve == aics-tlog's ({t.format_vkey(vkey)})")
        C.ok(t.parse_vkey(m.group(1) if m else "") == vkey, "aics-tlog parses the printed verifier key")

        for i in range(3):
            publish(i)
        with open(certs[0]) as f:
            cid0 = json.load(f)["id"]
        cli("batch", "revoke", "--registry", base_url, "--token-file", token, "--id", cid0, "--reason", "tlog check")
        note_a = checkpoint()
        for i in range(3, 9):
            publish(i)
        note_b = checkpoint()

        heads = {}
        for label, text in (("A", note_a), ("B", note_b)):
            note = t.parse_note(text)
            res = t.verify_checkpoint(note, vkey)
            C.ok(res.ok and res.log_ok and res.origin == ORIGIN,
                 f"checkpoint {label}: aics-tlog verifies the signed note (origin {res.origin}, size {res.size}; {res.error or 'no error'})")
            heads[label] = (res.size, res.root)
        (size_a, root_a), (size_b, root_b) = heads["A"], heads["B"]
        C.ok((size_a, size_b) == (5, 11), f"sizes A={size_a} (issuers, 3 publishes, a revocation) and B={size_b}")

        # Tampered checkpoints and other keys fail.
        cp_a = t.parse_checkpoint(t.parse_note(note_a).text)
        bumped = note_a.replace(f"\n{size_a}\n", f"\n{size_a + 1}\n", 1)
        C.ok(not t.verify_checkpoint(t.parse_note(bumped), vkey).ok, "a checkpoint with another size fails")
        other = t.vkey_from_ed25519(ORIGIN, Ed25519PrivateKey.generate().public_key())
        C.ok(not t.verify_checkpoint(t.parse_note(note_a), other).ok, "a checkpoint under another key fails")

        # The whole log, as the audit endpoint gives it, and aics-tlog's tree over its leaves.
        s, b = http(base_url + f"/api/v1/audit?after=0&limit={size_b}")
        entries = json.loads(b)["entries"]
        leaves = [leaf_bytes(e) for e in entries]
        C.ok(len(entries) == size_b and all(hashlib.sha256(lb).hexdigest() == e["hash"] for lb, e in zip(leaves, entries)),
             "every leaf rebuilt from its audit entry hashes (SHA-256) to the entry's chain hash")
        tree = t.MerkleTree(leaves)
        C.ok(tree.root(size_a) == root_a and tree.root(size_b) == root_b,
             "aics-tlog's tree over the leaves has the signed roots at A and B")

        # Inclusion: every entry at both sizes.
        b64 = base64.b64decode
        for size, root in ((size_a, root_a), (size_b, root_b)):
            good = 0
            for i in range(size):
                s, body = http(base_url + f"/api/v1/log/proof/inclusion?index={i}&size={size}")
                p = json.loads(body)
                proof = [b64(h) for h in p.get("proof", [])]
                lb = leaf_bytes(p["entry"]) if "entry" in p else b""
                fine = (s == 200 and p["entry"]["seq"] == i + 1 and lb == leaves[i]
                        and b64(p["leafHash"]) == t.leaf_hash(lb) and b64(p["root"]) == root
                        and t.verify_leaf_inclusion(lb, i, size, proof, root)
                        and proof == tree.inclusion_proof(i, size))
                C.ok(fine, f"inclusion of leaf {i} at size {size}", quiet=True)
                good += fine
                if proof:
                    flipped = list(proof)
                    flipped[-1] = bytes([flipped[-1][0] ^ 1]) + flipped[-1][1:]
                    C.ok(not t.verify_leaf_inclusion(lb, i, size, flipped, root), f"flipped proof of {i}@{size} fails", quiet=True)
                    C.ok(not t.verify_leaf_inclusion(lb, (i + 1) % size, size, proof, root), f"other index for {i}@{size} fails", quiet=True)
                C.ok(not t.verify_leaf_inclusion(lb, i, size, proof, b64(p["root"])[::-1]), f"other root for {i}@{size} fails", quiet=True)
            C.ok(good == size, f"aics-tlog verifies all {size} inclusion proofs at size {size} against the signed root (and they equal its own proofs); altered ones fail")
        with open(certs[5]) as f:
            cid5 = json.load(f)["id"]
        s, body = http(base_url + "/api/v1/log/proof/inclusion?certificate=" + urllib.request.quote(cid5, safe=""))
        p = json.loads(body)
        C.ok(s == 200 and p["entry"]["certId"] == cid5 and p["entry"]["action"] == "publish"
             and t.verify_leaf_inclusion(leaf_bytes(p["entry"]), p["index"], p["size"], [b64(h) for h in p["proof"]], root_b),
             f"inclusion by certificate id: the publish entry of {cid5} (leaf {p.get('index')}) verifies")

        # Consistency: A to B against the two signed roots, then every size to B.
        s, body = http(base_url + f"/api/v1/log/proof/consistency?old={size_a}&size={size_b}")
        p = json.loads(body)
        proof = [b64(h) for h in p["proof"]]
        C.ok(s == 200 and t.verify_consistency(size_a, size_b, root_a, root_b, proof),
             f"aics-tlog verifies the consistency proof {size_a} -> {size_b} ({len(proof)} hashes) between the signed roots")
        C.ok(not t.verify_consistency(size_a, size_b, root_b, root_a, proof), "with the roots swapped it fails")
        C.ok(not t.verify_consistency(size_a - 1, size_b, root_a, root_b, proof), "with another old size it fails")
        good = 0
        for old in range(0, size_b + 1):
            s, body = http(base_url + f"/api/v1/log/proof/consistency?old={old}&size={size_b}")
            p = json.loads(body)
            pr = [b64(h) for h in p["proof"]]
            fine = (s == 200 and b64(p["oldRoot"]) == tree.root(old)
                    and t.verify_consistency(old, size_b, tree.root(old), root_b, pr)
                    and (old == 0 or pr == tree.consistency_proof(old, size_b)))
            good += fine
        C.ok(good == size_b + 1, f"consistency proofs from every size 0..{size_b} to {size_b} verify and equal aics-tlog's")

        # Bad requests get clear 4xx answers.
        for q, want in (("inclusion?index=99", 404), ("inclusion?index=1&size=99", 404), ("inclusion?index=x", 400),
                        ("inclusion?index=5&size=3", 400), ("consistency?old=4&size=2", 400), ("consistency?size=2", 400),
                        ("inclusion?certificate=urn%3Auuid%3Anone", 404), ("inclusion?index=1&bogus=2", 400)):
            s, body = http(base_url + "/api/v1/log/proof/" + q)
            C.ok(s == want and b"error" in body, f"GET .../{q} -> {s} (want {want}): {json.loads(body).get('error', '')}")

        # Witness cosignatures made by aics-tlog, checked by `exoskin registry verify-log`.
        wkey = Ed25519PrivateKey.generate()
        wvkey = t.format_vkey(t.cosignature_vkey(WITNESS, wkey.public_key()))
        note = t.parse_note(note_b)
        _, line = t.sign_cosignature(wkey, WITNESS, int(time.time()), ORIGIN, size_b, root_b)
        cosigned = os.path.join(tmp, "cosigned.txt")
        with open(cosigned, "w") as f:
            f.write(t.Note(text=note.text, signatures=(*note.signatures, line)).serialise())
        r = cli("registry", "verify-log", "--db", db, "--log-checkpoint", cosigned, "--registry-pubkey", reg + ".pub",
                "--witness", wvkey, ok=(0, 1))
        C.ok(r.returncode == 0 and f"cosigned by {WITNESS}" in r.stdout,
             f"verify-log accepts aics-tlog's cosignature/v1 by {WITNESS} (exit {r.returncode})")
        _, wrong = t.sign_cosignature(wkey, WITNESS, int(time.time()), ORIGIN, size_b, root_a)
        with open(cosigned, "w") as f:
            f.write(t.Note(text=note.text, signatures=(*note.signatures, wrong)).serialise())
        r = cli("registry", "verify-log", "--db", db, "--log-checkpoint", cosigned, "--registry-pubkey", reg + ".pub",
                "--witness", wvkey, ok=(0, 1))
        C.ok(r.returncode == 1 and "does not verify" in r.stdout,
             f"verify-log refuses a cosignature over another root (exit {r.returncode})")
        saved_a = os.path.join(tmp, "checkpoint_a.txt")
        with open(saved_a, "w") as f:
            f.write(note_a)
        r = cli("registry", "verify-log", "--db", db, "--log-checkpoint", saved_a, "--log-key", t.format_vkey(vkey), ok=(0, 1))
        C.ok(r.returncode == 0 and f"at size {size_a}" in r.stdout and f"now ({size_b} leaves) is consistent" in r.stdout,
             f"verify-log: the log at {size_b} is consistent with the checkpoint saved at {size_a} (exit {r.returncode})")
        C.ok(cp_a.size == size_a and server.poll() is None, "server still running")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{C.n - len(C.failures)} of {C.n} Merkle log checks passed (aics-tlog {t.__version__})")
    if C.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
