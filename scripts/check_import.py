#!/usr/bin/env python3
"""Cross-check `exoskin batch import` against independent readers.

Usage: python3 scripts/check_import.py   (from the repository root)

Runs in its own local virtual environment, .venv-fcs (made and filled with flowio, fcsparser
and pandas, pinned, and six, which fcsparser imports without declaring it, when missing), and
re-runs itself there: fcsparser 0.2.8 requires
NumPy < 2, which the other checks' .venv-stats must not get. Then:

1. FCS: reads every examples/instruments/*.fcs with flowio and with fcsparser and checks that
   the parameter names, the event count and every event value equal what
   `exoskin batch import FILE --json --dump-events` read;
2. NTA and ZetaView: reads the distribution tables of the NanoSight CSV and the ZetaView text
   with pandas (the NanoSight table from its `Graph Data` line, the ZetaView one from its
   `Size / nm` header to the `-1` separator), averages the replicates, and computes D10, D50,
   D90, the mode, the fraction in 30-150 nm and the concentration with numpy by the method
   docs/certificates.md states (uniform within bins, edges at midpoints), then compares them
   with the import's unrounded `computed` figures (relative 1e-9);
3. FCS statistics: the same from the sizes flowio read (1 nm bins), and the concentration
   from the event count and $VOL;
4. the server: `exoskin serve` on 127.0.0.1 answers POST /api/v1/import with the same JSON
   for each file, 413 past 8 MiB, 400 naming a bad parameter, 422 naming the line of a
   malformed NanoSight table.

Prints one summary line; exit code 0 when every check passes.
"""
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import ROOT  # noqa: E402

VENV = os.path.join(ROOT, ".venv-fcs")
PY = os.path.join(VENV, "bin", "python")

EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
SAMPLES = os.path.join(ROOT, "examples", "instruments")
NTA = os.path.join(SAMPLES, "nanosight_experiment_summary.csv")
ZV = os.path.join(SAMPLES, "zetaview_size.txt")
FCS = os.path.join(SAMPLES, "nanofcm_events.fcs")
PACKAGES = ["flowio==1.4.0", "fcsparser==0.2.8"]
REL = 1e-9

failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)


def close(a, b, rel=REL):
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def ensure_packages():
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PY):
        import venv
        print("creating", VENV, flush=True)
        venv.create(VENV, with_pip=True)  # python3-venv: installed by check_stats_reference.py
    try:
        subprocess.run([PY, "-c", "import fcsparser, flowio, pandas, six"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        subprocess.run([PY, "-m", "pip", "install", "-q", *PACKAGES, "pandas", "six"], check=True)
    os.execv(PY, [PY] + sys.argv)


def run_import(*args):
    out = subprocess.run([EXE, "batch", "import", *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"FAIL: exoskin batch import {' '.join(args)} exited {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def stats(centres, weights):
    """D10/D50/D90, mode and fraction 30-150 nm: uniform within bins, edges at midpoints."""
    import numpy as np
    c = np.asarray(centres, dtype=float)
    w = np.asarray(weights, dtype=float)
    edges = np.concatenate([[max(0.0, c[0] - (c[1] - c[0]) / 2)], (c[:-1] + c[1:]) / 2, [c[-1] + (c[-1] - c[-2]) / 2]])
    cum = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()
    out = {}
    for name, p in [("d10_nm", 0.1), ("d50_nm", 0.5), ("d90_nm", 0.9)]:
        i = int(np.argmax((cum[1:] >= p) & (w > 0)))
        out[name] = edges[i] + (p - cum[i]) / (w[i] / w.sum()) * (edges[i + 1] - edges[i])
    out["mode_nm"] = c[int(np.argmax(w))]
    lo = np.clip(edges[:-1], 30.0, 150.0)
    hi = np.clip(edges[1:], 30.0, 150.0)
    out["fraction_30_150_nm"] = float((w * (hi - lo) / (edges[1:] - edges[:-1])).sum() / w.sum())
    return out


def compare_stats(label, mine, ours):
    for k, v in mine.items():
        check(close(v, ours[k]), f"{label}: {k} numpy {v!r} vs exoskin {ours[k]!r}")


def check_nta(imp):
    import pandas as pd
    with open(NTA, encoding="latin-1") as f:
        lines = f.read().splitlines()
    start = lines.index("Graph Data") + 1
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].strip(", "))
    df = pd.read_csv(NTA, skiprows=start, nrows=end - start - 1, encoding="latin-1").astype(float)
    cols = [c for c in df.columns if c.startswith("Concentration (particles / ml)")]
    check(len(cols) == len(imp["replicates"]), f"nta: {len(cols)} video columns vs {len(imp['replicates'])} replicates")
    dil = 100.0
    mean = df[cols].mean(axis=1) * dil
    compare_stats("nta", stats(df["Bin centre (nm)"], mean), imp["computed"])
    # Concentration: the [Results] row per video, averaged, times the dilution.
    row = next(l for l in lines if l.startswith("Concentration (Particles / ml)"))
    vals = [float(x) for x in row.split(",")[1:] if x]
    check(close(sum(vals) / len(vals) * dil, imp["computed"]["concentration_per_ml"]), "nta: concentration")
    for i, c in enumerate(cols):
        compare_stats(f"nta video {i + 1}", stats(df["Bin centre (nm)"], df[c]), imp["replicates"][i]["stats"])


def check_zetaview(imp):
    import pandas as pd
    with open(ZV, encoding="latin-1") as f:
        lines = f.read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Size / nm"))
    end = next(i for i, l in enumerate(lines) if l.startswith("-1.000E+0"))
    df = pd.read_csv(ZV, sep="\t", skiprows=start, nrows=end - start - 1, encoding="latin-1")
    w = df["Concentration / cm-3"] * 100.0
    compare_stats("zetaview", stats(df["Size / nm"], w), imp["computed"])
    check(close(w.sum(), imp["computed"]["concentration_per_ml"]), "zetaview: concentration")


def check_fcs(imp):
    import fcsparser
    import flowio
    import numpy as np
    ev = imp["events"][FCS]
    ours = np.asarray(ev["events"], dtype=float)
    fd = flowio.FlowData(FCS)
    names = list(fd.pnn_labels)
    check(names == ev["parameters"], f"fcs: flowio names {names} vs {ev['parameters']}")
    check(fd.event_count == ev["tot"], f"fcs: flowio {fd.event_count} events vs {ev['tot']}")
    flat = np.asarray(fd.events if not callable(getattr(fd, "events", None)) else fd.events(), dtype=float)
    fio = flat.reshape(fd.event_count, fd.channel_count)
    check(fio.shape == ours.shape and np.array_equal(fio, ours), "fcs: flowio event values differ")
    meta, data = fcsparser.parse(FCS, reformat_meta=True, channel_naming="$PnN")
    check(list(data.columns) == ev["parameters"], f"fcs: fcsparser names {list(data.columns)}")
    check(len(data) == ev["tot"], "fcs: fcsparser event count")
    check(np.array_equal(data.to_numpy(dtype=float), ours), "fcs: fcsparser event values differ")
    # Statistics from flowio's sizes: 1 nm bins, concentration = events / $VOL (nL -> mL) x 100.
    size = fio[:, names.index("Size")]
    size = size[np.isfinite(size) & (size > 0)]
    nb = max(int(np.floor(size.max())) + 1, 2)
    counts = np.bincount(np.minimum(np.floor(size).astype(int), nb - 1), minlength=nb).astype(float)
    centres = np.arange(nb) + 0.5
    compare_stats("fcs", stats(centres, counts), imp["computed"])
    vol = float(meta["$VOL"])
    check(close(len(size) / (vol * 1e-6) * 100.0, imp["computed"]["concentration_per_ml"]), "fcs: concentration")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, ctype="application/octet-stream"):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def check_server(expected):
    tmp = tempfile.mkdtemp()
    key = os.path.join(tmp, "lab.key")
    subprocess.run([EXE, "batch", "keygen", "--out", key], check=True, capture_output=True)
    port = free_port()
    srv = subprocess.Popen([EXE, "serve", "--db", os.path.join(tmp, "r.sqlite3"), "--listen", f"127.0.0.1:{port}",
                            "--issuer-pubkey", key + ".pub", "--no-web"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        for path, query, want in expected:
            with open(path, "rb") as f:
                st, got = post(f"{base}/api/v1/import{query}", f.read())
            check(st == 200, f"server: {os.path.basename(path)} answered {st}: {got}")
            if st == 200:
                check(got["characterization"] == want["characterization"], f"server: {os.path.basename(path)} characterization differs")
                check(got["computed"] == want["computed"], f"server: {os.path.basename(path)} computed figures differ")
        # Past 8 MiB: refused by the declared length, before the body is sent.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"POST /api/v1/import HTTP/1.1\r\nHost: x\r\nContent-Length: {8 * 1024 * 1024 + 1}\r\n\r\n".encode())
            status_line = s.recv(4096).split(b"\r\n", 1)[0].decode()
        check(status_line.startswith("HTTP/1.1 413"), f"server: 8 MiB + 1 answered {status_line}")
        with open(FCS, "rb") as f:
            st, got = post(f"{base}/api/v1/import?dilution=zero", f.read())
        check(st == 400 and got.get("field") == "dilution", f"server: bad dilution answered {st} {got}")
        with open(NTA, encoding="latin-1") as f:
            text = f.read()
        bad = text.replace("100.5,", "100.5,x", 1)
        bad_line = text[: text.index("100.5,")].count("\n") + 1
        st, got = post(f"{base}/api/v1/import", bad.encode("latin-1"))
        check(st == 422 and got.get("field") == f"line {bad_line}", f"server: malformed table answered {st} {got}")
    finally:
        srv.terminate()
        srv.wait(timeout=10)


def main():
    ensure_packages()
    if not os.path.exists(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "exoskin"], cwd=ROOT, check=True)
    nta = run_import(NTA)
    zv = run_import(ZV)
    fcs = run_import(FCS, "--dilution", "100", "--dump-events")
    check_nta(nta)
    check_zetaview(zv)
    check_fcs(fcs)
    check_server([(NTA, "", nta), (ZV, "", zv), (FCS, "?dilution=100", fcs)])
    if failures:
        print(f"FAIL: {len(failures)} of {checks} import checks failed")
        for f in failures[:20]:
            print("  " + f)
        sys.exit(1)
    print(f"ok: {checks} import checks (flowio and fcsparser read the same FCS events; numpy/pandas give the same "
          f"percentiles, mode, 30-150 nm fraction and concentration; the server answers as the CLI)")


if __name__ == "__main__":
    main()
