#!/usr/bin/env python3
"""Compare exoskin-uq's sensitivity indices with SALib and its MCMC diagnostics with ArviZ.

Usage: python3 scripts/check_salib.py   (from the repository root)

Reuses .venv-stats (the local virtual environment of check_stats_reference.py), installing
SALib and ArviZ there if needed, re-runs itself there, runs
`cargo run --release -p exoskin-uq --example salib_reference` and, on the very points,
outputs and chains it prints:

* evaluates Ishigami and the Sobol g-function with SALib's own test functions on the printed
  points and checks the outputs (1e-12);
* Saltelli design: SALib's sobol.analyze (calc_second_order=False). SALib's total index is
  Jansen's, as ours: equal to 1e-10. SALib's first-order index is Saltelli 2010's: equal to
  1e-10 to exoskin's Saltelli2010 option, and our default (Jansen) first order is checked to
  lie within SALib's 95 % interval widened by 0.02. For the same estimators (Saltelli 2010 first
  order, Jansen total) the intervals are bootstrap intervals from different random streams
  (SALib's are normal-approximation ones), so their half-widths are compared only to within a
  factor of two;
* Morris: SALib's morris.analyze. SALib divides each output difference by
  delta = p / (2 (p - 1)) for a p-level grid, exoskin by its own step (1/2 on its cell-midpoint
  grid), so SALib's mu, mu_star and sigma times delta / 0.5 must equal ours (1e-10);
* chains: ArviZ's rhat (rank), ess (bulk, tail, mean) equal to 1e-8 relative.

Exit code 0 when all agree.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_stats_reference as base  # noqa: E402  (shares the venv and its creation)

ROOT = base.ROOT
PACKAGES = ["SALib>=1.5,<2", "arviz>=0.20,<0.24"]


def ensure_packages():
    if os.path.realpath(sys.prefix) != os.path.realpath(base.VENV):
        base.ensure_venv()  # creates the venv if needed and re-executes this script in it
    try:
        import SALib  # noqa: F401
        import arviz  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *PACKAGES], check=True)
        os.execv(sys.executable, [sys.executable] + sys.argv)


def main():
    ensure_packages()
    import warnings
    import numpy as np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ArviZ's notice of its coming refactor
        import arviz as az
    from SALib.analyze import morris as salib_morris
    from SALib.analyze import sobol as salib_sobol
    from SALib.test_functions import Ishigami, Sobol_G

    out = subprocess.run(
        ["cargo", "run", "--release", "-q", "-p", "exoskin-uq", "--example", "salib_reference"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    failures = []
    checks = 0
    worst = {}

    def close(what, ours, ref, tol, rel=False):
        nonlocal checks
        checks += 1
        ours, ref = float(ours), float(ref)
        dev = abs(ours - ref) / (max(1.0, abs(ref)) if rel else 1.0)
        kind = what.split(":")[0]
        worst[kind] = max(worst.get(kind, 0.0), dev)
        if not np.isfinite(ours) or dev > tol:
            failures.append(f"{what}: ours {ours!r}, reference {ref!r}")

    a, b = data["ishigami"]["a"], data["ishigami"]["b"]
    g_a = np.array(data["g_a"])

    def evaluate(name, u):
        u = np.asarray(u)
        if name == "ishigami":
            return Ishigami.evaluate(-np.pi + 2 * np.pi * u, A=a, B=b)
        return Sobol_G.evaluate(u, a=g_a)

    for case in data["saltelli"]:
        name, d = case["name"], case["dim"]
        y = evaluate(name, case["points"])
        for k, (ours, ref) in enumerate(zip(case["y"], y)):
            if k % 7 == 0:
                close(f"outputs: {name} row {k}", ours, ref, 1e-12, rel=True)
        problem = {"num_vars": d, "names": [f"x{j + 1}" for j in range(d)], "bounds": [[0, 1]] * d}
        si = salib_sobol.analyze(problem, y, calc_second_order=False, num_resamples=1000, seed=1)
        for j, idx in enumerate(case["indices"]):
            close(f"sobol total: {name} x{j + 1}", idx["total_order"], si["ST"][j], 1e-10)
            close(f"sobol first (Saltelli 2010): {name} x{j + 1}",
                  case["first_order_saltelli2010"][j], si["S1"][j], 1e-10)
            lo, hi = si["S1"][j] - si["S1_conf"][j] - 0.02, si["S1"][j] + si["S1_conf"][j] + 0.02
            checks += 1
            if not lo <= idx["first_order"] <= hi:
                failures.append(f"{name} x{j + 1}: Jansen first order {idx['first_order']} outside "
                                f"SALib's interval [{lo}, {hi}] (widened by 0.02)")
            # Same estimators, different bootstrap streams: half-widths within a factor of two.
            for ci, conf in ((case["first_order_saltelli2010_ci95"][j], "S1_conf"),
                             (idx["total_order_ci95"], "ST_conf")):
                key = conf
                ours_half = (ci[1] - ci[0]) / 2
                ref_half = si[conf][j]
                checks += 1
                if ref_half > 1e-6 and not 0.5 <= ours_half / ref_half <= 2.0:
                    failures.append(f"{name} x{j + 1} {key}: half-width {ours_half} vs SALib {ref_half}")
            print(f"  {name} x{j + 1}: S1 {idx['first_order']:.4f} (SALib {si['S1'][j]:.4f} "
                  f"+- {si['S1_conf'][j]:.4f}), ST {idx['total_order']:.4f} (SALib {si['ST'][j]:.4f})")

    for case in data["morris"]:
        name, d, p = case["name"], case["dim"], case["levels"]
        x = np.asarray(case["points"])
        y = evaluate(name, x)
        for k, (ours, ref) in enumerate(zip(case["y"], y)):
            close(f"outputs: morris {name} row {k}", ours, ref, 1e-12, rel=True)
        problem = {"num_vars": d, "names": [f"x{j + 1}" for j in range(d)], "bounds": [[0, 1]] * d}
        si = salib_morris.analyze(problem, x, np.asarray(case["y"]), num_levels=p, seed=1)
        factor = (p / (2 * (p - 1))) / case["delta"]
        for j, idx in enumerate(case["indices"]):
            for key in ("mu", "mu_star", "sigma"):
                close(f"morris: {name} x{j + 1} {key}", idx[key], si[key][j] * factor, 1e-10, rel=True)

    for case in data["chains"]:
        arr = np.asarray(case["chains"])
        ref = {
            "r_hat": az.rhat(arr, method="rank"),
            "ess_bulk": az.ess(arr, method="bulk"),
            "ess_tail": az.ess(arr, method="tail"),
            "ess_mean": az.ess(arr, method="mean"),
        }
        for key, val in ref.items():
            val = float(np.asarray(val))
            close(f"arviz: {case['name']} {key}", case[key], val, 1e-8 * max(1.0, abs(val)), rel=False)
        print(f"  chains {case['name']}: R-hat {case['r_hat']:.5f} (ArviZ {float(ref['r_hat']):.5f}), "
              f"ESS bulk {case['ess_bulk']:.1f} ({float(ref['ess_bulk']):.1f}), "
              f"tail {case['ess_tail']:.1f} ({float(ref['ess_tail']):.1f})")

    for kind, dev in sorted(worst.items()):
        print(f"  largest deviation, {kind}: {dev:.2e}")
    if failures:
        print(f"{len(failures)} of {checks} checks FAILED:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print(f"exoskin-uq agrees with SALib and ArviZ: {checks} checks")


if __name__ == "__main__":
    main()
