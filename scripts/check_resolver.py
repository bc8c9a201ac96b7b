#!/usr/bin/env python3
"""Check the GS1 Digital Link resolver against an independent implementation, digital-link.js.

Usage: python3 scripts/check_resolver.py   (from the repository root)

Installs digital-link.js 1.4.3 (EVRYTHNG's GS1 Digital Link SDK: an ABNF grammar of the
Digital Link URI syntax and GS1's check digit calculator) under out/node-gs1 with npm, builds
a corpus of valid and invalid Digital Link URIs (GTIN-8/12/13/14, lots with percent-encoded
characters of GS1 character set 82, serials, consumer product variants, data attributes in
the query; bad check digits, bad or misplaced AIs, over-long values, characters outside the
set, trailing segments) and asks digital-link.js whether each is valid and what GTIN, lot
and serial it carries. Then it asks exoskin the same twice:

* `exoskin batch uri --parse URI` (exit 0 with the identifiers as JSON, or exit 2);
* `exoskin serve` on 127.0.0.1 (a free port, a temporary SQLite registry, one issuer, two
  published certificates and one revoked): a valid URI answers 200 or 404 (nothing
  registered), never 400; an invalid one answers 400 (or 404 when it is not a /01/ path);

and requires both to agree with digital-link.js on validity and on the identifiers (GTIN-14,
percent-decoded lot and serial). It also checks that linksets (`?linkType=all` and
`Accept: application/linkset+json`) are RFC 9264 JSON (one context object with an
absolute `anchor`, link-type members holding arrays of targets with `href`), that every
link in them resolves (200 here, or 307 to a registered leaflet), that `Link` headers name
the linkset, that the recall status follows the revocation, and that
`/.well-known/gs1resolver` has the description file's members. Exit code 0 when all agree.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import EXE, Checks, cli, free_port  # noqa: E402
NODE_DIR = os.path.join(ROOT, "out", "node-gs1")
PACKAGE = "digital-link.js@1.4.3"
GTIN = "09506000134352"
CSET82_SPECIALS = "!\"%&'()*+,-./:;<=>?_"

JS = r"""
const { DigitalLink } = require('digital-link.js');
const { validateUrl } = require('digital-link.js/src/util.js');
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(l => l.length);
const out = lines.map(u => {
  try {
    const dl = DigitalLink(u);
    const id = dl.getIdentifier();
    const kq = dl.getKeyQualifiers();
    // isValid() checks the model rebuilt from the URI (GTIN padded to 14 digits, the check
    // digit; a repeated qualifier collapses into one), so the grammar is also applied to
    // the URI as given, with only its GTIN padded to the 14 digits the grammar requires.
    const padded = u.replace(/\/01\/(\d{8}|\d{12}|\d{13})(?=[/?#]|$)/, (m, g) => '/01/' + g.padStart(14, '0'));
    return { uri: u, valid: dl.isValid() && validateUrl(padded), gtin: id['01'] || null,
             lot: kq['10'] === undefined ? null : kq['10'],
             serial: kq['21'] === undefined ? null : kq['21'],
             variant: kq['22'] === undefined ? null : kq['22'] };
  } catch (e) {
    return { uri: u, valid: false, error: String(e) };
  }
});
process.stdout.write(JSON.stringify(out));
"""


def ensure_package():
    if not os.path.exists(os.path.join(NODE_DIR, "node_modules", "digital-link.js", "package.json")):
        os.makedirs(NODE_DIR, exist_ok=True)
        if not os.path.exists(os.path.join(NODE_DIR, "package.json")):
            with open(os.path.join(NODE_DIR, "package.json"), "w") as f:
                f.write('{"private": true}\n')
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", PACKAGE], cwd=NODE_DIR, check=True)
    with open(os.path.join(NODE_DIR, "node_modules", "digital-link.js", "package.json")) as f:
        return json.load(f)["version"]


def digital_link_js(uris):
    r = subprocess.run(["node", "-e", JS], input="\n".join(uris) + "\n", capture_output=True, text=True,
                       cwd=NODE_DIR, timeout=120, check=True)
    return {x["uri"]: x for x in json.loads(r.stdout)}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(url, accept="application/json"):
    req = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check_digit(body):
    s = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - s % 10) % 10)


def corpus(base):
    """(uri, comment) pairs: valid and invalid Digital Link URIs."""
    enc = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    gtins = [GTIN, GTIN[1:], "96385074", "036000291452", "4006381333931", "00000096385074"]
    bad_gtins = [GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10), "4006381333932", "9506000134", "0950600013435x"]
    lots = ["EXO2604-12", "AB/12", "A&B", "%", "x?y", "(1)*+,", "'OR'1'='1", "<script>", "A" * 20, "lot:;=_.!"]
    bad_lots = ["A" * 21, "a b", "A~B", "caf\u00e9", "tab\tx"]
    out = []
    for g in gtins:
        out.append(f"{base}/01/{g}")
        out.append(f"{base}/01/{g}/10/EXO2604-12?17=280411")
    for lot in lots:
        out.append(f"{base}/01/{GTIN}/10/{enc(lot)}")
        out.append(f"{base}/01/{GTIN}/10/{enc(lot)}/21/{enc('SN-' + lot[:10])}")
    for g in bad_gtins:
        out.append(f"{base}/01/{g}")
        out.append(f"{base}/01/{g}/10/EXO2604-12")
    for lot in bad_lots:
        out.append(f"{base}/01/{GTIN}/10/{enc(lot)}")
        out.append(f"{base}/01/{GTIN}/10/EXO2604-12/21/{enc(lot)}")
    out += [
        f"{base}/01/{GTIN}/21/SER1",
        f"{base}/01/{GTIN}/22/V1/10/EXO2604-12",
        f"{base}/01/{GTIN}/22/V1/10/EXO2604-12/21/S1",
        f"{base}/01/{GTIN}/10/EXO2604-12?linkType=gs1:certificationInfo",
        f"{base}/01/{GTIN}/10/EXO2604-12?3103=000189&17=280411",
        f"{base}/01/{GTIN}/21/S/10/L",
        f"{base}/01/{GTIN}/10/A/22/V",
        f"{base}/01/{GTIN}/99/X",
        f"{base}/01/{GTIN}/17/280411",
        f"{base}/01/{GTIN}/10/EXO2604-12/junk",
        f"{base}/01/{GTIN}/10/EXO2604-12/21/S/extra",
        f"{base}/01/{GTIN}/10/",
        f"{base}/01/{GTIN}/10",
        f"{base}/01/{GTIN}/10/EXO2604-12/10/X",
        f"{base}/01/{GTIN}/22/ABCDEFGHIJKLMNOPQRSTU",
        f"{base}/gtin/{GTIN}/lot/EXO2604-12",
        f"{base}/02/{GTIN}",
    ]
    return out


def expected_from_js(j):
    dec = lambda v: None if v is None else urllib.parse.unquote(v)  # noqa: E731
    return {"valid": bool(j.get("valid")), "gtin": j.get("gtin"), "lot": dec(j.get("lot")),
            "serial": dec(j.get("serial")), "variant": dec(j.get("variant"))}


def main():
    version = ensure_package()
    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "exoskin"], cwd=ROOT, check=True)
    C = Checks()
    tmp = tempfile.mkdtemp(prefix="exoskin-resolver-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lab = os.path.join(tmp, "lab.key")
    cli("batch", "keygen", "--out", lab)
    token = os.path.join(tmp, "lab.token")
    with open(token, "w") as f:
        f.write("resolver-check-token-0123456789\n")
    with open(os.path.join(ROOT, "examples/qc/pass_msc_serum.toml")) as f:
        record = f.read()
    certs = {}
    for lot in ("EXO2604-12", "AB/12"):
        rec = os.path.join(tmp, f"lot{len(certs)}.toml")
        with open(rec, "w") as f:
            f.write(record.replace('lot = "EXO2604-12"', f'lot = "{lot}"'))
        out = os.path.join(tmp, f"cert{len(certs)}")
        cli("batch", "issue", rec, "--key", lab, "--out", out, "--resolver", base)
        certs[lot] = os.path.join(out, "certificate.json")
    db = os.path.join(tmp, "reg.sqlite3")
    server = subprocess.Popen(
        [EXE, "serve", "--db", db, "--listen", f"127.0.0.1:{port}", "--issuer-pubkey", lab + ".pub",
         "--token-file", token, "--no-web", "--rate-per-client", "0"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        for _ in range(200):
            try:
                if http(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        for lot, path in certs.items():
            extra = ["--leaflet", "https://brand.example/leaflet.pdf", "--leaflet-title", "Leaflet"] if lot == "AB/12" else []
            cli("batch", "publish", path, "--registry", base, "--token-file", token, *extra)
        cli("batch", "revoke", "--registry", base, "--token-file", token, "--gtin", GTIN, "--lot", "AB/12",
            "--reason", "resolver check")

        # 1. The corpus: digital-link.js against the CLI's parser and the server.
        uris = corpus(base)
        js = digital_link_js(uris)
        n_valid = agree_cli = agree_http = 0
        for u in uris:
            want = expected_from_js(js[u])
            n_valid += want["valid"]
            r = cli("batch", "uri", "--parse", u, ok=(0, 2))
            got_valid = r.returncode == 0
            if got_valid:
                g = json.loads(r.stdout)
                same = want["valid"] and all(g[k] == want[k] for k in ("gtin", "lot", "serial", "variant"))
            else:
                same = not want["valid"] and "error" in r.stderr
            C.ok(same, f"CLI parse agrees with digital-link.js on {u[len(base):]} "
                       f"(digital-link.js: {'valid ' + json.dumps({k: want[k] for k in ('gtin', 'lot', 'serial')}) if want['valid'] else 'invalid'}; "
                       f"exoskin: {r.stdout.strip() if got_valid else r.stderr.strip()[:160]})", quiet=True)
            agree_cli += same
            status, _, body = http(u)
            try:
                j = json.loads(body)
            except ValueError:
                j = {}
            if want["valid"]:
                # 200 served here, 307 to the target elsewhere (a serial without a lot has
                # only the product's page), 404 nothing registered.
                fine = status in (200, 307, 404)
                if status == 200 and "certificate" in j:
                    fine = fine and j.get("gtin") == want["gtin"] and j.get("lot") == want["lot"] \
                        and j.get("serial") == want["serial"]
            else:
                fine = status == 400 or (status == 404 and "/01/" not in u)
            C.ok(fine, f"server agrees with digital-link.js on {u[len(base):]} ({status}: {str(j)[:160]})", quiet=True)
            agree_http += fine
        C.ok(agree_cli == len(uris), f"exoskin batch uri --parse agrees with digital-link.js {version} on {agree_cli} of {len(uris)} URIs ({n_valid} valid)")
        C.ok(agree_http == len(uris), f"the server's 200/404 against 400 agrees with digital-link.js on {agree_http} of {len(uris)} URIs")

        # 2. Linksets: RFC 9264 shape, and every link resolves.
        def check_linkset(url, accept):
            status, headers, body = http(url, accept)
            ct = headers.get("Content-Type", "")
            try:
                s = json.loads(body)
            except ValueError:
                s = None
            shape = (status == 200 and ct.startswith("application/linkset+json") and isinstance(s, dict)
                     and list(s) == ["linkset"] and isinstance(s["linkset"], list) and len(s["linkset"]) == 1
                     and s["linkset"][0].get("anchor", "").startswith("http://")
                     and all(isinstance(v, list) and v and all(isinstance(t, dict) and "href" in t for t in v)
                             for k, v in s["linkset"][0].items() if k != "anchor"))
            C.ok(shape, f"linkset of {url[len(base):]} (Accept {accept}) is RFC 9264 JSON ({status}, {ct})")
            if not shape:
                return None
            ctx = s["linkset"][0]
            for rel, targets in ctx.items():
                if rel == "anchor":
                    continue
                for t in targets:
                    if t["href"].startswith(base):
                        st = http(t["href"], "text/html")[0]
                        good = st == 200
                    else:
                        # A registered leaflet lives elsewhere (not fetched: the check is
                        # offline); it must be the registered URL.
                        st = "not fetched"
                        good = rel.endswith("/leaflet") and t["href"] == "https://brand.example/leaflet.pdf"
                    C.ok(good, f"  {rel} -> {t['href'][len(base):] if t['href'].startswith(base) else t['href']} ({st})")
            return ctx

        lot_path = f"/01/{GTIN}/10/EXO2604-12"
        ctx = check_linkset(base + lot_path + "?linkType=all", "text/html")
        ctx2 = check_linkset(base + lot_path, "application/linkset+json")
        C.ok(ctx is not None and ctx == ctx2, "linkType=all and Accept: application/linkset+json give the same linkset")
        gctx = check_linkset(base + f"/01/{GTIN}?linkType=all", "application/json")
        C.ok(gctx is not None and "https://gs1.org/voc/pip" in gctx and gctx["https://gs1.org/voc/defaultLink"][0]["href"].endswith("linkType=gs1:pip"),
             "the GTIN's linkset has gs1:pip as its default link")
        lctx = check_linkset(base + f"/01/{GTIN}/10/AB%2F12?linkType=all", "application/json")
        C.ok(lctx is not None and lctx.get("https://gs1.org/voc/leaflet", [{}])[0].get("href") == "https://brand.example/leaflet.pdf",
             "the leaflet registered with `batch publish --leaflet` is in the lot's linkset")

        # 3. Link headers, redirects, recall status, 404 with the linkset, the description.
        status, headers, _ = http(base + lot_path, "text/html")
        C.ok(status == 200 and f'<{base}{lot_path}?linkType=all>; rel="linkset"' in headers.get("Link", ""),
             f"the certificate page carries a Link header naming its linkset ({headers.get('Link')})")
        status, headers, _ = http(base + f"/01/{GTIN}/10/AB%2F12?linkType=gs1:leaflet", "text/html")
        C.ok(status == 307 and headers.get("Location") == "https://brand.example/leaflet.pdf",
             f"gs1:leaflet answers 307 to the registered URL ({status} {headers.get('Location')})")
        for lot, recalled in (("EXO2604-12", False), ("AB%2F12", True)):
            status, _, body = http(base + f"/01/{GTIN}/10/{lot}?linkType=gs1:recallStatus")
            j = json.loads(body)
            C.ok(status == 200 and j.get("recalled") is recalled,
                 f"recall status of {lot}: recalled={j.get('recalled')} (want {recalled})")
        status, headers, body = http(base + lot_path + "?linkType=gs1:nutritionalInfo")
        j = json.loads(body)
        C.ok(status == 404 and "https://gs1.org/voc/certificationInfo" in j.get("linkset", [{}])[0],
             f"an unknown link type answers 404 with the linkset ({status}: {j.get('error', '')[:100]})")
        status, _, body = http(base + "/.well-known/gs1resolver")
        d = json.loads(body)
        C.ok(status == 200 and d.get("resolverRoot", "").startswith("http") and d.get("supportedPrimaryKeys") == ["01"]
             and isinstance(d.get("supportedLinkType"), list) and isinstance(d.get("linkTypeDefaultCanBeLinkset"), bool)
             and isinstance(d.get("name"), str),
             f"/.well-known/gs1resolver has the description file's members ({sorted(d)})")
        C.ok(server.poll() is None, "server still running")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{C.n - len(C.failures)} of {C.n} resolver checks passed (digital-link.js {version})")
    if C.failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
