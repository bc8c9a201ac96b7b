#!/usr/bin/env python3
"""A strong NumPy/SciPy baseline for the layered Franz-cell problem, timed against exoskin.

Usage: bash scripts/bench_reference.sh   (uses .venv-stats, builds exoskin, runs this)
   or: .venv-stats/bin/python scripts/compare_scipy.py SCENARIO EXOSKIN_BINARY SOLVE_TIMING_BINARY
   or: .venv-stats/bin/python scripts/compare_scipy.py --once SCENARIO   (one solve, as JSON)

The discretization is exoskin's (crates/exoskin-transport/src/franz.rs, network.rs,
engine.rs): unknown u = c/K per cell, capacity K h, face conductances
1 / (h_a / (2 K_a D_a) + h_b / (2 K_b D_b)), u = C at the donor face and u = 0 at the
receptor face through a half cell, backward Euler

    (diag(K h) + dt A) u' = K h u + dt g_0 C e_0,

the receptor flux booked as dt g_N u'_N per step, and exoskin's step sequence (first step
dt_initial, growth 1.3x, cap dt_max, steps cut to land on each output time). The matrix
depends only on dt, so it is assembled and factored once per distinct step size and the
factor is reused; the time loop then costs one triangular solve pair per step.

The script checks that the receptor curve equals exoskin's, times each factor-and-solve
variant (best of 5), the whole Python and exoskin processes (best of 5 each, from outside;
exoskin's from hyperfine when bench_reference.sh passes --exo-process-s MEDIAN and
--exo-process-min-s MIN), and exoskin's solve alone (SOLVE_TIMING_BINARY, the
exoskin-transport example solve_timing), and prints one table, with the ratio of exoskin's
whole process to each SciPy solve loop that reuses its factors. FiPy's figures, when given
with --fipy-solve-s and --fipy-process-s, join the table.
"""
import json
import subprocess
import sys
import time
import tomllib

import numpy as np
import scipy
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

REPEATS = 5


def load(path):
    with open(path, "rb") as f:
        s = tomllib.load(f)
    assert s["experiment"]["kind"] == "franz_cell", "this comparison covers Franz cells"
    assert s["donor"].get("infinite", True), "this comparison covers infinite-dose cells"
    layers = s["membrane"]["layers"]
    num = s.get("numerics", {})
    ncell = num.get("cells_per_layer", 40)
    h, kap, half = [], [], []
    for layer in layers:
        k, d = layer["partition"], layer["diffusivity_um2_per_s"] * 3600.0
        dx = layer["thickness_um"] / ncell
        h += [dx] * ncell
        kap += [k * dx] * ncell
        half += [0.5 * dx / (k * d)] * ncell
    half = np.array(half)
    duration = s["experiment"]["duration_h"]
    dt_char = max(l["thickness_um"] ** 2 / (l["diffusivity_um2_per_s"] * 3600.0) for l in layers)
    dt_max = max(min(num.get("dt_max_h", 0.25), 0.02 * dt_char), duration * 1e-6)
    return {
        "kappa": np.array(kap),
        "g_edge": 1.0 / (half[:-1] + half[1:]),
        "g_src": 1.0 / half[0],
        "g_drain": 1.0 / half[-1],
        "conc": s["donor"]["concentration_per_ml"],
        "duration": duration,
        "interval": s["experiment"]["output_interval_h"],
        "dt0": min(num.get("dt_initial_h", 1e-3), dt_max),
        "dt_max": dt_max,
    }


def schedule(p):
    """exoskin's step sequence (engine::run without doses): [(h, record_after)]."""
    duration, interval = p["duration"], p["interval"]
    eps = 1e-9 * max(duration, 1.0)
    nout = max(int(round(duration / interval)), 1)
    out_time = [interval * k for k in range(nout)] + [duration]
    steps, t, dt, k = [], 0.0, p["dt0"], 1
    while t < duration - eps:
        target = out_time[k]
        h = max(min(dt, target - t), 0.5 * eps)
        if target - t - h < 1e-3 * h:
            h = target - t
        t = target if abs(target - (t + h)) <= eps else t + h
        rec = out_time[k] <= t + eps
        k += rec
        steps.append((h, rec))
        dt = min(dt * 1.3, p["dt_max"])
    return steps


def bands(p, h):
    """Diagonal and off-diagonal of the step matrix for step size h."""
    g = p["g_edge"]
    d = p["kappa"].copy()
    d[:-1] += h * g
    d[1:] += h * g
    d[0] += h * p["g_src"]
    d[-1] += h * p["g_drain"]
    return d, -h * g


# Factor-and-solve variants: factor(p, h) -> object, solve(object, rhs) -> u.
def chol_factor(p, h):
    d, e = bands(p, h)
    ab = np.empty((2, d.size))
    ab[0, 0], ab[0, 1:], ab[1] = 0.0, e, d
    return sla.cholesky_banded(ab, check_finite=False)


def chol_solve(c, b):
    return sla.cho_solve_banded((c, False), b, check_finite=False)


def pt_factor(p, h):
    d, e = bands(p, h)
    d, e, info = sla.lapack.dpttrf(d, e)
    assert info == 0, info
    return d, e


def pt_solve(f, b):
    x, info = sla.lapack.dpttrs(f[0], f[1], b)
    return x


def splu_factor(p, h):
    d, e = bands(p, h)
    return spla.splu(sp.diags([e, d, e], [-1, 0, 1], format="csc"))


def splu_solve(f, b):
    return f.solve(b)


def banded_each_step(p, h):
    d, e = bands(p, h)
    ab = np.empty((3, d.size))
    ab[0, 0], ab[0, 1:], ab[1], ab[2, :-1], ab[2, -1] = 0.0, e, d, e, 0.0
    return ab


def banded_solve(ab, b):
    return sla.solve_banded((1, 1), ab, b, check_finite=False)


VARIANTS = {
    "lapack dpttrf/dpttrs (tridiagonal LDL^T)": (pt_factor, pt_solve, True),
    "cholesky_banded + cho_solve_banded": (chol_factor, chol_solve, True),
    "sparse splu + solve": (splu_factor, splu_solve, True),
    "solve_banded every step (no reuse)": (banded_each_step, banded_solve, False),
}
FASTEST = "lapack dpttrf/dpttrs (tridiagonal LDL^T)"


def solve(p, steps, factor, solve_one, reuse=True):
    """The time loop: cumulative receptor amount per cm2 at each output time."""
    kappa, src, drain = p["kappa"], p["g_src"] * p["conc"], p["g_drain"]
    cache = {}
    u = np.zeros(kappa.size)
    cum, q = 0.0, [0.0]
    for h, rec in steps:
        f = cache.get(h) if reuse else None
        if f is None:
            f = factor(p, h)
            if reuse:
                cache[h] = f
        rhs = kappa * u
        rhs[0] += h * src
        u = solve_one(f, rhs)
        cum += h * drain * u[-1]
        if rec:
            q.append(cum * 1e-4)
    return q, len(cache)


def best_of(fn, n=REPEATS):
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def process_time(cmd):
    return best_of(lambda: subprocess.run(cmd, check=True, capture_output=True))


def main(argv):
    if argv[:1] == ["--once"]:
        p = load(argv[1])
        factor, solve_one, reuse = VARIANTS[FASTEST]
        q, _ = solve(p, schedule(p), factor, solve_one, reuse)
        json.dump({"cumulative_receptor_per_cm2": q}, sys.stdout)
        return 0
    args, opts = [], {}
    it = iter(argv)
    for a in it:
        if a.startswith("--"):
            opts[a[2:]] = float(next(it))
        else:
            args.append(a)
    scenario, exe, timing = args
    p = load(scenario)
    steps = schedule(p)
    out = subprocess.run([exe, "simulate", scenario, "--json"], check=True, capture_output=True)
    ex = np.array(json.loads(out.stdout)["transport"]["cumulative_receptor_per_cm2"])

    print(f"scenario: {scenario} ({p['kappa'].size} cells, {len(steps)} steps)")
    print(f"NumPy {np.__version__}, SciPy {scipy.__version__}, Python {sys.version.split()[0]}")
    loops, worst = {}, 0.0
    for name, (factor, solve_one, reuse) in VARIANTS.items():
        q, nfac = solve(p, steps, factor, solve_one, reuse)
        q = np.array(q)
        assert len(q) == len(ex), (len(q), len(ex))
        diff = np.max(np.abs(q - ex)) / ex[-1]
        worst = max(worst, diff)
        loops[name] = best_of(lambda: solve(p, steps, factor, solve_one, reuse))
        what = f"{nfac} factorizations" if reuse else f"{len(steps)} factorizations"
        print(f"  {name}: loop {loops[name] * 1e3:.1f} ms, {what}, "
              f"largest difference from exoskin {diff:.1e} (relative to final)")
    _, ndistinct = solve(p, steps, *VARIANTS[FASTEST][:2])
    print(f"distinct step sizes: {ndistinct} in {len(steps)} steps")

    once = [sys.executable, __file__, "--once", scenario]
    py_proc = process_time(once)
    py_curve = np.array(json.loads(subprocess.run(once, check=True, capture_output=True).stdout)
                        ["cumulative_receptor_per_cm2"])
    worst = max(worst, np.max(np.abs(py_curve - ex)) / ex[-1])
    py_start = process_time([sys.executable, "-c", "import numpy, scipy.linalg"])
    exo_proc = opts.get("exo-process-s") or process_time([exe, "simulate", scenario, "--json"])
    exo_proc_min = opts.get("exo-process-min-s", exo_proc)
    t = json.loads(subprocess.run([timing, scenario, str(REPEATS)], check=True,
                                  capture_output=True).stdout)
    assert t["steps"] == len(steps), (t["steps"], len(steps))
    exo_loop = t["best_s"]
    py_loop = loops[FASTEST]

    print()
    print("| solver | whole process | solve alone |")
    print("|---|---|---|")
    if "fipy-solve-s" in opts:
        print(f"| FiPy 4.0.3 (LinearLUSolver), one run | {opts['fipy-process-s']:.1f} s | "
              f"{opts['fipy-solve-s']:.1f} s |")
    print(f"| NumPy/SciPy, {FASTEST}, factor reused per step size | {py_proc * 1e3:.0f} ms | "
          f"{py_loop * 1e3:.1f} ms |")
    print(f"| exoskin (`exoskin simulate --json`, median (minimum); `solve_timing` example) | "
          f"{exo_proc * 1e3:.1f} ms ({exo_proc_min * 1e3:.1f} ms) | {exo_loop * 1e3:.1f} ms |")
    print()
    print(f"Python start-up with `import numpy, scipy.linalg` alone: {py_start * 1e3:.0f} ms")
    print(f"whole process, SciPy / exoskin: {py_proc / exo_proc:.1f}")
    print("exoskin's whole process (median) over each SciPy solve loop with reused factors "
          "(target: at most 0.5):")
    for name, (_, _, reuse) in VARIANTS.items():
        if reuse:
            print(f"  {name}: loop {loops[name] * 1e3:.1f} ms, ratio {exo_proc / loops[name]:.2f}")
    print(f"solve alone, SciPy / exoskin: {py_loop / exo_loop:.2f} "
          f"({'exoskin faster' if py_loop > exo_loop else 'SciPy faster'})")
    if "fipy-solve-s" in opts:
        print(f"solve alone, FiPy / exoskin: {opts['fipy-solve-s'] / exo_loop:.0f}")
    print(f"largest difference in the cumulative receptor curve (all variants, relative to "
          f"final): {worst:.1e}")
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
