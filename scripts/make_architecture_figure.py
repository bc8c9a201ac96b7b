#!/usr/bin/env python3
"""Draw docs/figures/crates.svg: the workspace's crates in layers, from `cargo metadata`.

Usage: python3 scripts/make_architecture_figure.py   (from the repository root)

Each crate sits one row above the highest crate it depends on (normal dependencies inside the
workspace, read from `cargo metadata --no-deps`), so a crate only ever uses crates in rows
below it; the script fails if the graph has a cycle. Beside the layers: how one run is
lowered from its file to typed problems and back to documents, and the one executor and
observer that run every analysis. Deterministic: the same workspace gives the same bytes.
"""
import json
import os
import subprocess
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "docs", "figures", "crates.svg")

ROLE = {
    "exoskin-io": "atomic writes, escaping",
    "exoskin-uq": "Sobol, Morris, MCMC",
    "exoskin-model": "scenarios, parameters",
    "exoskin-plot": "PNG/SVG charts",
    "exoskin-transport": "skin transport (FV)",
    "exoskin-labels": "ingredient lists, CosIng",
    "exoskin-batch": "QC, certificates, import",
    "exoskin-response": "response model, ParamId",
    "exoskin-inference": "evidence, fit, posterior",
    "exoskin-sbml": "SBML export",
    "exoskin-trials": "virtual trials, power",
    "exoskin-routine": "routine planner",
    "exoskin-api": "documents, OutputId",
    "exoskin-sweep": "executor, shards",
    "exoskin-registry": "registry, resolver",
    "exoskin-web": "web app, jobs",
    "exoskin": "the CLI",
    "exoskin-py": "Python package",
}


def graph():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    names = {p["name"] for p in meta["packages"]}
    return {p["name"]: sorted(d["name"] for d in p["dependencies"]
                              if d["name"] in names and d["kind"] is None)
            for p in meta["packages"]}


def layers(deps):
    level = {}

    def depth(n, seen=()):
        if n in seen:
            sys.exit(f"dependency cycle through {n}")
        if n not in level:
            level[n] = 1 + max((depth(d, seen + (n,)) for d in deps[n]), default=-1)
        return level[n]

    for n in deps:
        depth(n)
    rows = {}
    for n, k in level.items():
        rows.setdefault(k, []).append(n)
    return [sorted(rows[k]) for k in sorted(rows)]


def box(out, x, y, w, h, title, sub, fill="#eef4fb", stroke="#2b5d8a"):
    out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
               f'stroke="{stroke}" stroke-width="1.2"/>')
    out.append(f'<text x="{x + w / 2:.1f}" y="{y + 18}" text-anchor="middle" font-size="12.5" '
               f'font-weight="bold">{escape(title)}</text>')
    if sub:
        out.append(f'<text x="{x + w / 2:.1f}" y="{y + 34}" text-anchor="middle" '
                   f'font-size="11">{escape(sub)}</text>')


def main():
    rows = layers(graph())
    width, row_h, box_h, left_w = 1000, 58, 42, 600
    height = 70 + len(rows) * row_h + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Noto Sans, DejaVu Sans, Arial, sans-serif">',
           "<title>exoskin's crates in layers (each uses only crates in rows below it), how a run "
           "is lowered, and where an analysis's rows run</title>",
           '<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="20" y="26" font-size="15" font-weight="bold">Crates (a crate uses only crates '
           'in rows below it)</text>']
    for i, row in enumerate(reversed(rows)):
        y = 44 + i * row_h
        n = len(row)
        gap = 8
        w = (left_w - 20 - gap * (n - 1)) / n
        for j, name in enumerate(row):
            x = 20 + j * (w + gap)
            front = name in ("exoskin", "exoskin-py", "exoskin-web", "exoskin-registry")
            box(out, round(x, 1), y, round(w, 1), box_h, name.replace("exoskin-", ""),
                ROLE.get(name, ""), fill="#fdf3e6" if front else "#eef4fb",
                stroke="#a0602b" if front else "#2b5d8a")
    # One run, lowered.
    x0 = 650
    out.append(f'<text x="{x0}" y="26" font-size="15" font-weight="bold">One run</text>')
    steps = [
        ("scenario TOML", "located errors: file:line:col, key"),
        ("Scenario (typed, checked)", "read_scenario(_table); Numerics named"),
        ("transport problem", "banded implicit FV, cost known before"),
        ("response (ParamId)", "parameters set by id, not by name"),
        ("Run (typed outcomes)", "OutputId parsed once reads it"),
        ("documents at the edges", "JSON by Serialize; ErrorKind -> exit/HTTP"),
    ]
    for k, (t, s) in enumerate(steps):
        y = 44 + k * 52
        box(out, x0, y, 330, 40, t, s, fill="#eef8ee", stroke="#3d7a3d")
        if k:
            out.append(f'<line x1="{x0 + 165}" y1="{y - 12}" x2="{x0 + 165}" y2="{y - 1}" '
                       'stroke="#333" stroke-width="1.2" marker-end="url(#a)"/>')
    y = 44 + len(steps) * 52 + 14
    out.append(f'<text x="{x0}" y="{y}" font-size="15" font-weight="bold">One executor, one '
               'observer</text>')
    y += 12
    box(out, x0, y, 330, 40, "Job (described once)", "sensitivity, power; or a sweep spec",
        fill="#f3eefb", stroke="#5d3d8a")
    y += 52
    out.append(f'<line x1="{x0 + 165}" y1="{y - 12}" x2="{x0 + 165}" y2="{y - 1}" '
               'stroke="#333" stroke-width="1.2" marker-end="url(#a)"/>')
    box(out, x0, y, 330, 40, "exec::execute(job, placement, observer)",
        "one row evaluator whatever runs it", fill="#f3eefb", stroke="#5d3d8a")
    y += 58
    places = ["in process", "shards", "Dask", "Slurm"]
    w = (330 - 3 * 6) / 4
    for k, t in enumerate(places):
        x = x0 + k * (w + 6)
        out.append(f'<line x1="{x0 + 165}" y1="{y - 12}" x2="{x + w / 2:.1f}" y2="{y - 1}" '
                   'stroke="#333" stroke-width="1" marker-end="url(#a)"/>')
        box(out, round(x, 1), y, round(w, 1), 26, t, "", fill="#f3eefb", stroke="#5d3d8a")
    y += 44
    for k, t in enumerate([
        "Observer: progress (done of total, messages) and",
        "stop (deadline, cancel), for the CLI's bar, the web's",
        "SSE and a Python callback; a stop ends the work as",
        "ErrorKind cancelled.",
    ]):
        out.append(f'<text x="{x0}" y="{y + k * 16}" font-size="12">{escape(t)}</text>')
    y += 4 * 16
    if y + 10 > height:
        height = y + 10
        out[0] = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" '
                  'font-family="Noto Sans, DejaVu Sans, Arial, sans-serif">')
    out.append("</svg>")
    text = "\n".join(out) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text)
    print(f"{OUT}: {len(rows)} layers, {sum(len(r) for r in rows)} crates")


if __name__ == "__main__":
    main()
