#!/usr/bin/env python3
"""Solve a layered Franz-cell problem with FiPy and compare with exoskin.

Usage: bash scripts/bench_reference.sh   (creates .venv with FiPy, builds exoskin, runs this)
   or: .venv/bin/python scripts/compare_fipy.py [SCENARIO] [EXOSKIN_BINARY]

Both solve K du/dt = d/dx(K D du/dx) for the vehicle-equivalent concentration u = c/K, with
u = C at the donor face and u = 0 at the receptor face, on the same cells (cells_per_layer
per layer) and the same backward-Euler time steps. The script prints both wall times and
the largest difference in the cumulative receptor curve, relative to its final value.
"""
import json
import subprocess
import sys
import time
import tomllib

import numpy as np
from fipy import CellVariable, DiffusionTerm, Grid1D, LinearLUSolver, TransientTerm

scenario = sys.argv[1] if len(sys.argv) > 1 else "scenarios/franz_cell_multilayer.toml"
exe = sys.argv[2] if len(sys.argv) > 2 else "target/release/exoskin"
with open(scenario, "rb") as f:
    s = tomllib.load(f)
layers = s["membrane"]["layers"]
num = s.get("numerics", {})
ncell = num.get("cells_per_layer", 40)
duration = s["experiment"]["duration_h"]
interval = s["experiment"]["output_interval_h"]
conc = s["donor"]["concentration_per_ml"]
assert s["donor"].get("infinite", True), "this comparison covers infinite-dose cells"

dx, kk, kd = [], [], []
for l in layers:
    d_um2_h = l["diffusivity_um2_per_s"] * 3600.0
    dx += [l["thickness_um"] / ncell] * ncell
    kk += [l["partition"]] * ncell
    kd += [l["partition"] * d_um2_h] * ncell
dx, kk, kd = map(np.array, (dx, kk, kd))

# The same step schedule as exoskin's engine (first step, growth 1.3, cap).
dt_char = max(l["thickness_um"] ** 2 / (l["diffusivity_um2_per_s"] * 3600.0) for l in layers)
dt_max = max(min(num.get("dt_max_h", 0.25), 0.02 * dt_char), duration * 1e-6)
dt0 = min(num.get("dt_initial_h", 1e-3), dt_max)

t0 = time.perf_counter()
mesh = Grid1D(dx=dx)
u = CellVariable(mesh=mesh, value=0.0)
K = CellVariable(mesh=mesh, value=kk)
KD = CellVariable(mesh=mesh, value=kd)
u.constrain(conc, mesh.facesLeft)
u.constrain(0.0, mesh.facesRight)
eq = TransientTerm(coeff=K) == DiffusionTerm(coeff=KD.harmonicFaceValue)
nout = int(round(duration / interval))
outs = [interval * k for k in range(nout)] + [duration]
q, t, dt, cum = [0.0], 0.0, dt0, 0.0
g_last = kd[-1] / (0.5 * dx[-1])
for target in outs[1:]:
    while t < target - 1e-9 * duration:
        h = min(dt, target - t)
        if target - t - h < 1e-3 * h:
            h = target - t
        eq.solve(var=u, dt=h, solver=LinearLUSolver(tolerance=1e-15))
        cum += h * g_last * float(u.value[-1]) * 1e-4
        t = target if abs(target - (t + h)) <= 1e-9 * duration else t + h
        dt = min(dt * 1.3, dt_max)
    q.append(cum)
t_fipy = time.perf_counter() - t0

t0 = time.perf_counter()
out = subprocess.run([exe, "simulate", scenario, "--json"], check=True, capture_output=True)
t_exo = time.perf_counter() - t0
ex = json.loads(out.stdout)["transport"]["cumulative_receptor_per_cm2"]
q = np.array(q)
ex = np.array(ex)
assert len(q) == len(ex), (len(q), len(ex))
diff = np.max(np.abs(q - ex)) / q[-1]
print(f"scenario: {scenario} ({len(dx)} cells)")
print(f"FiPy {__import__('fipy').__version__}: {t_fipy:.3f} s")
print(f"exoskin (whole CLI process): {t_exo:.3f} s")
print(f"ratio, FiPy solve / exoskin whole process: {t_fipy / t_exo:.1f}")
print(f"largest difference in cumulative receptor amount, relative to final: {diff:.2e}")
sys.exit(0 if diff < 1e-6 else 1)
