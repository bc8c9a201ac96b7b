#!/usr/bin/env python3
"""Cross-check `exoskin simulate --certificate` against scipy's log-normal distribution.

Usage: python3 scripts/check_batch_simulate.py   (from the repository root)

Reuses .venv-stats (the local virtual environment of check_stats_reference.py; scipy is
installed there when missing) and re-runs itself there. Then, with a throwaway key:

1. for log-normals of several medians and geometric SDs, takes D10, D50 and D90 from
   scipy.stats.lognorm's quantile function (`ppf`) and the mode `median exp(-ln(gsd)^2)`,
   writes them into a copy of examples/qc/pass_msc_serum.toml, issues a certificate and runs
   `exoskin simulate --certificate CERT --on DATE --uncertainty 20 --json`: the fitted gsd
   (`batch.product.size.gsd`) must equal scipy's to 1e-9 (relative) and scipy's log-normal
   with the fitted gsd must give back D10 and D90 to 1e-9;
2. checks the sampled measurement inputs the JSON names (`product.particles_per_ml` and
   `product.size.mode_nm`): their priors' 95 % ends must equal scipy's log-normal 2.5 and
   97.5 % quantiles for the stated relative standard uncertainty u = U/k (log-space SD
   sqrt(ln(1 + u^2))), to 1e-9;
3. checks the storage age against Python's own calendar (datetime) for the day of use.

Prints one summary line. Exit code 0 when every check holds.
"""
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import PY, ROOT, ensure_venv  # noqa: E402

EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
RECORD = os.path.join(ROOT, "examples", "qc", "pass_msc_serum.toml")
ON = "2026-10-01"
# (median nm, gsd) of the log-normals checked.
CASES = [(104.0, 1.4754), (80.0, 1.15), (150.0, 1.9), (120.0, 2.6)]
TOL = 1e-9


def ensure_packages():
    ensure_venv()  # re-runs this script inside .venv-stats
    try:
        import scipy  # noqa: F401
    except ImportError:
        subprocess.run([PY, "-m", "pip", "install", "-q", "--only-binary=:all:", "scipy>=1.10"], check=True)
        os.execv(PY, [PY] + sys.argv)


def run(args, cwd):
    p = subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"exoskin {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def record_with(median, gsd, lognorm):
    s = math.log(gsd)
    dist = lognorm(s=s, scale=median)
    d10, d50, d90 = (float(x) for x in dist.ppf([0.1, 0.5, 0.9]))
    mode = median * math.exp(-s * s)
    text = open(RECORD, encoding="utf-8").read()
    for key, value in [("size_mode_nm", mode), ("size_d10_nm", d10), ("size_d50_nm", d50),
                       ("size_d90_nm", d90)]:
        lines = text.splitlines()
        lines = [f"{key} = {value!r}" if ln.startswith(f"{key} =") else ln for ln in lines]
        text = "\n".join(lines) + "\n"
    return text, (d10, d50, d90, mode)


def main():
    ensure_packages()
    from scipy.stats import lognorm

    if not os.path.isfile(EXE):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "exoskin"], cwd=ROOT, check=True)
    failures = []
    checks = 0
    with tempfile.TemporaryDirectory() as d:
        run(["batch", "keygen", "--out", "lab.key"], d)
        for i, (median, gsd) in enumerate(CASES):
            text, (d10, d50, d90, mode) = record_with(median, gsd, lognorm)
            rec = os.path.join(d, f"rec{i}.toml")
            with open(rec, "w", encoding="utf-8") as f:
                f.write(text)
            run(["batch", "issue", rec, "--key", "lab.key", "--out", f"c{i}", "--resolver", "id.example.com",
                 "--issued-at", "2026-09-02T12:00:00Z", "--allow-failing"], d)
            doc = json.loads(run(["simulate", "--certificate", f"c{i}/certificate.json", "--pubkey",
                                  "lab.key.pub", "--on", ON, "--uncertainty", "20", "--json", "--quiet"], d))
            b = doc["batch"]
            size = b["product"]["size"]
            fitted = size["gsd"]
            checks += 1
            if abs(fitted - gsd) > TOL * gsd:
                failures.append(f"case {i}: fitted gsd {fitted!r}, scipy's {gsd!r}")
            back = lognorm(s=math.log(fitted), scale=size["median_nm"]).ppf([0.1, 0.9])
            checks += 1
            if abs(back[0] - d10) > TOL * d10 or abs(back[1] - d90) > TOL * d90:
                failures.append(f"case {i}: the fit's D10/D90 {list(back)} != {d10}/{d90}")
            checks += 1
            if size["mode_nm"] != mode:
                failures.append(f"case {i}: mode {size['mode_nm']} is not the measured {mode}")
            # The sampled measurement inputs.
            u = b["uncertainty"]
            params = {p["name"]: p for p in doc["uncertainty"]["parameters"] if p["group"] == "measurement"}
            for name, value, rel in [("product.particles_per_ml", b["product"]["particles_per_ml"],
                                      u["concentration_rel_standard"]),
                                     ("product.size.mode_nm", mode, u["size_rel_standard"])]:
                prior = params.get(name)
                checks += 1
                if prior is None:
                    failures.append(f"case {i}: {name} is not a sampled input")
                    continue
                sigma = math.sqrt(math.log(1.0 + rel * rel))
                lo, hi = (float(x) for x in lognorm(s=sigma, scale=value).ppf([0.025, 0.975]))
                p = prior["prior"]
                if abs(p["lo"] - lo) > TOL * lo or abs(p["hi"] - hi) > TOL * hi or p["median"] != value:
                    failures.append(f"case {i}: {name} prior {p} != scipy's [{lo}, {hi}] about {value}")
            # Storage age by Python's calendar.
            made = datetime.date.fromisoformat(b["manufactured"])
            age = (datetime.date.fromisoformat(ON) - made).days
            checks += 1
            if b["age_days"] != age:
                failures.append(f"case {i}: age {b['age_days']} days, the calendar's {age}")
    if failures:
        print(f"batch simulate vs scipy: FAIL {len(failures)} of {checks} checks: " + "; ".join(failures))
        return 1
    print(f"batch simulate vs scipy: {checks} checks pass ({len(CASES)} log-normals: gsd and D10/D90 "
          f"round trip to {TOL:g}, sampled measurement priors, storage age)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
