#!/usr/bin/env python3
"""Check the SBML export against libsbml and libroadrunner, for every bundled in-vivo scenario.

Usage: python3 scripts/check_sbml.py   (from the repository root)

Creates (or reuses) .venv-stats with python-libsbml and libroadrunner (wheels), re-runs
itself there, and for each scenarios/in_vivo_*.toml:
  1. `exoskin export sbml FILE --out model.xml`;
  2. python-libsbml's checkConsistency: no issue of severity error or fatal (unit warnings,
     from dimensionless numbers in the equations, are counted and reported);
  3. simulates the file in libroadrunner (CVODE, relative tolerance 1e-10, absolute 1e-12)
     at exoskin's own output times;
  4. compares every state and every outcome with exoskin's response solved by its reference
     integrator (`cargo run --release -p exoskin-sbml --example reference`, Dormand-Prince
     5(4) at rtol 1e-12, atol 1e-14): |sbml - exoskin| <= 1e-6 * max(|exoskin|, floor), with
     floor = 1e-3 times the largest magnitude of that series over the run (values near a zero
     crossing are compared with the series' own scale), and floor >= 1e-6 for states (an
     absolute tolerance of at least 1e-12) and floor >= 1e-4 for outcomes (at least 1e-10 %).
     The outcome floor is the precision of the comparison's own reference, not a loosening:
     outcomes are 100 (x - 1) of states x near 1 that the reference solves to rtol 1e-12, so
     an outcome near zero is known to about 100 * 1e-12 = 1e-10 % absolute and no better
     (in daily_12_weeks, cytokines_pct stays within 3e-6 % of zero for the whole run, and
     there the reference, not libroadrunner, limits the agreement: the SBML file solves
     the excess x - 1 itself).
At a session time exoskin reports the value just before the session and the SBML file the
value just after it (a session at time 0 is in the file's initial state), so rows at session
times are not compared; every other row is.
The shipped fixed-step integrator's deviation from the reference is reported (not checked
here; it converges with its step, first order). Exit code 0 when all agree.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_stats_reference as csr  # noqa: E402  (the one shared venv helper)

ROOT = csr.ROOT
TOL = 1e-6
FLOOR = 1e-3
ABS_FLOOR = {"state": 1e-6, "outcome": 1e-4}  # absolute tolerance >= 1e-12 (states), 1e-10 % (outcomes)
PACKAGES = ["numpy", "python-libsbml>=5.20", "libroadrunner>=2.7"]


def ensure_venv():
    """The shared .venv-stats (created by check_stats_reference's helper, which re-runs this
    script inside it), with libsbml and libroadrunner added from wheels."""
    csr.ensure_venv()
    try:
        import libsbml  # noqa: F401
        import roadrunner  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--only-binary=:all:"] + PACKAGES,
                       check=True)


def cargo(*args):
    return subprocess.run(["cargo"] + list(args), cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main():
    ensure_venv()
    import libsbml
    import numpy as np
    import roadrunner

    scenarios = sorted(f for f in os.listdir(os.path.join(ROOT, "scenarios")) if f.startswith("in_vivo_"))
    # Two builds: with --example, cargo builds only that example of the listed packages.
    cargo("build", "-q", "--release", "-p", "exoskin", "--bin", "exoskin")
    cargo("build", "-q", "--release", "-p", "exoskin-sbml", "--example", "reference")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "exoskin")
    ref_exe = os.path.join(target, "release", "examples", "reference")
    failures = []
    worst_all = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in scenarios:
            path = os.path.join(ROOT, "scenarios", name)
            xml = os.path.join(tmp, name.replace(".toml", ".xml"))
            subprocess.run([exe, "export", "sbml", path, "--out", xml], check=True, capture_output=True)
            doc = libsbml.readSBMLFromFile(xml)
            doc.checkConsistency()
            issues = [doc.getError(i) for i in range(doc.getNumErrors())]
            errors = [e for e in issues if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
            for e in errors[:5]:
                failures.append(f"{name}: libsbml {e.getErrorId()}: {e.getMessage().strip()[:200]}")
            if doc.getLevel() != 3 or doc.getVersion() != 2:
                failures.append(f"{name}: not SBML L3V2")

            ref = json.loads(subprocess.run([ref_exe, path], check=True, capture_output=True, text=True).stdout)
            times = np.array(ref["times_d"])
            r = roadrunner.RoadRunner(xml)
            r.integrator = "cvode"
            r.integrator.relative_tolerance = 1e-10
            r.integrator.absolute_tolerance = 1e-12
            r.integrator.maximum_num_steps = 10 ** 6
            series = {**{k: ("state", v) for k, v in ref["states"].items()},
                      **{k: ("outcome", v) for k, v in ref["outputs"].items()}}
            names = list(series)
            r.timeCourseSelections = ["time"] + names
            res = r.simulate(times=list(times))
            cols = {c.strip("[]"): i for i, c in enumerate(res.colnames)}
            if not np.allclose(res[:, cols["time"]], times, rtol=0, atol=1e-12):
                failures.append(f"{name}: libroadrunner output times differ")
            worst = (0.0, "")
            sessions_d = [s / 24.0 for s in ref["sessions_h"]]
            for n in names:
                ours = np.array(series[n][1])
                theirs = res[:, cols[n]]
                scale = max(np.max(np.abs(ours)) * FLOOR, ABS_FLOOR[series[n][0]])
                for k, t in enumerate(times):
                    if any(abs(t - s) < 1e-12 for s in sessions_d):
                        continue  # exoskin reports the pre-session value there (see above)
                    dev = abs(theirs[k] - ours[k]) / max(abs(ours[k]), scale)
                    if dev > worst[0]:
                        worst = (dev, f"{n} at t = {t:g} d (exoskin {ours[k]!r}, sbml {theirs[k]!r})")
                    if not dev <= TOL:
                        failures.append(f"{name}: {n} at t = {t:g} d: exoskin {ours[k]!r}, libroadrunner {theirs[k]!r}")
            shipped = max(
                float(np.max(np.abs(np.array(ref["shipped_outputs"][n]) - np.array(ref["outputs"][n]))
                            / np.maximum(np.abs(ref["outputs"][n]), max(np.max(np.abs(ref["outputs"][n])) * FLOOR, ABS_FLOOR["outcome"]))))
                for n in ref["outputs"])
            worst_all = max(worst_all, worst[0])
            print(f"{name}: {len(times)} times x {len(names)} series; libsbml {len(errors)} errors, "
                  f"{len(issues) - len(errors)} warnings; worst deviation {worst[0]:.2e} ({worst[1]}); "
                  f"shipped integrator vs reference {shipped:.1e}", flush=True)
    if failures:
        print(f"{len(failures)} failures", file=sys.stderr)
        for f in failures[:40]:
            print("  " + f, file=sys.stderr)
        return 1
    print(f"SBML export: all {len(scenarios)} in-vivo scenarios agree within {TOL:g} "
          f"(worst {worst_all:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
