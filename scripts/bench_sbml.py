#!/usr/bin/env python3
"""Side-by-side benchmark: an ensemble of the response ODEs, exoskin against libroadrunner on
the same SBML file, in simulations per second, one thread.

Usage: python3 scripts/bench_sbml.py [--members M] [--seed S] [SCENARIO.toml ...]
       (from the repository root; default scenarios: in_vivo_microneedling and
       in_vivo_daily_12_weeks, M = 500)

Runs in the shared .venv-stats (python-libsbml, libroadrunner; see check_sbml.py). For each
scenario:
  1. `exoskin export sbml FILE --out model.xml`;
  2. the exoskin side: `cargo run --release -p exoskin-sbml --example response_ensemble --
     FILE M S RTOL ATOL RTOL ATOL`: transport once (untimed), then M members solved by the
     shipped fixed-step integrator and by the Dormand-Prince reference at both tolerance pairs;
  3. the libroadrunner side: the file loaded and compiled once (timed apart), then per member
     resetAll() + setValue of the same parameters to the same values + simulate at exoskin's
     output times, with CVODE at libroadrunner's default tolerances and at the tight ones of
     check_sbml.py (relative 1e-10, absolute 1e-12).
Members multiply five time constants by exp(0.2 (2u - 1)), u from splitmix64 seeded with S,
generated identically on both sides (the first and last members' factors are compared), and
the final outcomes of the first and last members are compared between the two tight
solvers (within 1e-6 relative, floor 1e-4 %, as check_sbml.py), so both sides are solving the
same problem. Both sides run on one thread (no parallel loop on either side;
RAYON_NUM_THREADS=1 and OMP_NUM_THREADS=1 set regardless). A benchmark, not a test: it is
not part of scripts/test.sh. Exit code 0 unless the cross-check fails.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_sbml  # noqa: E402  (its venv: libsbml and libroadrunner)

ROOT = check_sbml.ROOT
DEFAULT_SCENARIOS = ["scenarios/in_vivo_microneedling.toml", "scenarios/in_vivo_daily_12_weeks.toml"]
TIGHT = (1e-10, 1e-12)
TOL = 1e-6
OUTCOME_FLOOR = 1e-4
MASK = (1 << 64) - 1


def splitmix(seed):
    """The u in [0, 1) sequence of the Rust example's SplitMix (same constants, same bits)."""
    state = seed & MASK
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        yield (z >> 11) * (1.0 / (1 << 53))


def member_factors(seed, members, k):
    gen = splitmix(seed)
    return [[math.exp(0.2 * (2.0 * next(gen) - 1.0)) for _ in range(k)] for _ in range(members)]


def machine():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return f"{info.get('Model name', '?').strip()}, {info.get('CPU(s)', '?').strip()} CPUs"
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()


def roadrunner_ensemble(roadrunner, xml, times, names, varied, factors, rtol, atol):
    """Per member: resetAll, set the varied parameters, simulate on the output grid."""
    r = roadrunner.RoadRunner(xml)
    r.integrator = "cvode"
    if rtol is not None:
        r.integrator.relative_tolerance = rtol
        r.integrator.absolute_tolerance = atol
    r.integrator.maximum_num_steps = 10 ** 6
    r.timeCourseSelections = ["time"] + names
    base = [r.getValue(p) for p in varied]
    used = (r.integrator.relative_tolerance, r.integrator.absolute_tolerance)
    first = last = None
    start = time.perf_counter()
    for m, f in enumerate(factors):
        # resetAll, not reset: reset() leaves the parameters that events assign (the uptake
        # steps) at the previous member's last values, which the cross-check below catches.
        r.resetAll()
        for p, b, k in zip(varied, base, f):
            r.setValue(p, b * k)
        res = r.simulate(times=times)
        if m == 0:
            first = res[-1, :].copy()
        last = res
    seconds = time.perf_counter() - start
    cols = {c.strip("[]"): i for i, c in enumerate(last.colnames)}
    finals = [{n: float(first[cols[n]]) for n in names}, {n: float(last[-1, cols[n]]) for n in names}]
    return {"members": len(factors), "seconds": seconds, "sims_per_s": len(factors) / seconds,
            "rtol": used[0], "atol": used[1]}, finals


def worst_deviation(ours, theirs):
    worst = (0.0, "")
    for which in (0, 1):
        for n, a in ours[which].items():
            dev = abs(theirs[which][n] - a) / max(abs(a), OUTCOME_FLOOR)
            if dev > worst[0]:
                worst = (dev, f"{n} ({'first' if which == 0 else 'last'} member)")
    return worst


def main():
    check_sbml.ensure_venv()
    import roadrunner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("scenarios", nargs="*", default=DEFAULT_SCENARIOS)
    a = ap.parse_args()
    if a.members < 1:
        ap.error("--members must be at least 1")
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"

    load_before = os.getloadavg()
    check_sbml.cargo("build", "-q", "--release", "-p", "exoskin", "--bin", "exoskin")
    check_sbml.cargo("build", "-q", "--release", "-p", "exoskin-sbml", "--example", "response_ensemble")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "exoskin")
    bench_exe = os.path.join(target, "release", "examples", "response_ensemble")

    print(f"machine: {machine()}; libroadrunner {roadrunner.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}; load average {load_before[0]:.2f} (1 min) at start")
    print(f"{a.members} members each, seed {a.seed}, one thread; tight tolerances "
          f"rtol {TIGHT[0]:g} atol {TIGHT[1]:g}", flush=True)
    rows = []
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in a.scenarios:
            name = os.path.basename(path).replace(".toml", "")
            xml = os.path.join(tmp, name + ".xml")
            subprocess.run([exe, "export", "sbml", path, "--out", xml], cwd=ROOT, check=True, capture_output=True)
            t0 = time.perf_counter()
            fresh = roadrunner.RoadRunner(xml)
            load_s = time.perf_counter() - t0
            # CVODE's default tolerances in this libroadrunner (the exoskin reference uses them too).
            loose = (fresh.integrator.relative_tolerance, fresh.integrator.absolute_tolerance)
            ours = json.loads(subprocess.run(
                [bench_exe, path, str(a.members), str(a.seed), repr(loose[0]), repr(loose[1]),
                 repr(TIGHT[0]), repr(TIGHT[1])],
                cwd=ROOT, check=True, capture_output=True, text=True).stdout)
            varied = ours["varied"]
            factors = member_factors(a.seed, a.members, len(varied))
            for mine, theirs in zip([factors[0], factors[-1]], ours["factors_first_last"]):
                if any(abs(x - y) > 1e-15 for x, y in zip(mine, theirs)):
                    failures.append(f"{name}: member factors differ: {mine} vs {theirs}")
            times = ours["times_d"]
            names = list(ours["finals_first_last"]["reference_tight"][0])
            rr = {}
            for label, tol in (("cvode_default", (None, None)), ("cvode_tight", TIGHT)):
                rr[label], finals = roadrunner_ensemble(roadrunner, xml, times, names, varied, factors, *tol)
                rr[label]["finals"] = finals
            checks = {
                "cvode_tight vs reference_tight": worst_deviation(ours["finals_first_last"]["reference_tight"],
                                                                  rr["cvode_tight"]["finals"]),
                "cvode_default vs reference_tight": worst_deviation(ours["finals_first_last"]["reference_tight"],
                                                                    rr["cvode_default"]["finals"]),
                "reference_loose vs reference_tight": worst_deviation(ours["finals_first_last"]["reference_tight"],
                                                                      ours["finals_first_last"]["reference_loose"]),
                "shipped vs reference_tight": worst_deviation(ours["finals_first_last"]["reference_tight"],
                                                              ours["finals_first_last"]["shipped"]),
            }
            if not checks["cvode_tight vs reference_tight"][0] <= TOL:
                failures.append(f"{name}: tight solvers disagree: {checks['cvode_tight vs reference_tight']}")
            rows.append((name, len(times), load_s, ours["runs"], rr, checks))

    print()
    print("| scenario | solver | tolerances (rtol / atol) | members | seconds | sims/s |")
    print("|---|---|---|---|---|---|")
    for name, n_times, load_s, runs, rr, checks in rows:
        entries = [
            ("exoskin shipped (fixed-step, exact decay)", "none (steps <= 0.02 d)", runs["shipped"]),
            ("exoskin reference (Dormand-Prince 5(4))", None, runs["reference_loose"]),
            ("libroadrunner CVODE", None, rr["cvode_default"]),
            ("exoskin reference (Dormand-Prince 5(4))", None, runs["reference_tight"]),
            ("libroadrunner CVODE", None, rr["cvode_tight"]),
        ]
        for solver, tol, r in entries:
            tol = tol or f"{r['rtol']:g} / {r['atol']:g}"
            print(f"| {name} ({n_times} outputs) | {solver} | {tol} | {r['members']} | "
                  f"{r['seconds']:.3f} | {r['sims_per_s']:,.0f} |")
    print()
    for name, n_times, load_s, runs, rr, checks in rows:
        print(f"{name}: libroadrunner load and compile {load_s:.3f} s (once, not in the table); "
              f"exoskin reference mean steps {runs['reference_loose']['mean_steps']:.0f} (loose), "
              f"{runs['reference_tight']['mean_steps']:.0f} (tight)")
        for k, (dev, where) in checks.items():
            print(f"  final outcomes, first and last member, {k}: worst relative deviation {dev:.1e} ({where})")
    load_after = os.getloadavg()
    print(f"load average {load_after[0]:.2f} (1 min) at the end")
    if failures:
        for f in failures:
            print("FAIL " + f, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
