#!/usr/bin/env python3
"""The first hour's slow commands against one `exoskin trial`, in one run.

Runs each command of COMMANDS REPEAT times (default 5), interleaved round by round so that a
busy moment of the machine falls on all of them alike, with the release binary
(target/release/exoskin, built first), and prints the median wall time of each, its range,
and its ratio to the median of one `exoskin trial` of the bundled split-face trial.

Usage: python3 scripts/bench_first_hour.py [REPEAT]
Not part of scripts/test.sh (speed is measured here, not asserted in tests).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "exoskin")
TRIAL = "trials/microneedling_split_face.toml"
ROUTINE = "examples/routines/weekly_with_microneedling.toml"


def commands(out):
    return [
        ("trial", ["trial", TRIAL]),
        ("power (defaults: 16 assurance draws)", ["power", TRIAL]),
        ("power --assurance-draws 0", ["power", TRIAL, "--assurance-draws", "0"]),
        ("routine", ["routine", ROUTINE]),
        ("facemap", ["facemap", ROUTINE, "--out", os.path.join(out, "facemap")]),
    ]


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    subprocess.run(["cargo", "build", "--release", "--bin", "exoskin"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as out:
        cmds = commands(out)
        times = {name: [] for name, _ in cmds}
        for r in range(repeat):
            for name, args in cmds:
                t0 = time.perf_counter()
                subprocess.run([EXE, "--quiet", *args], cwd=ROOT, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - t0)
            print(f"round {r + 1} of {repeat} done", file=sys.stderr)
    base = statistics.median(times["trial"])
    print(f"{'command':<40} {'median':>9} {'range':>15} {'x trial':>8}")
    for name, _ in cmds:
        t = times[name]
        m = statistics.median(t)
        print(f"{name:<40} {m:>8.2f}s {min(t):>6.2f}-{max(t):<6.2f}s {m / base:>8.1f}")


if __name__ == "__main__":
    main()
