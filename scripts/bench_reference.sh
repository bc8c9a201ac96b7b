#!/usr/bin/env bash
# Time exoskin against a strong NumPy/SciPy version of the same layered Franz-cell problem
# (one factorization per distinct step size, reused) and, optionally, FiPy, in one run, and
# time one in-vivo run; prints the tables that docs/benchmarks.md records.
#
#   bash scripts/bench_reference.sh [SCENARIO]
#   FIPY=1 bash scripts/bench_reference.sh             # also FiPy 4.0.3 (takes minutes)
#   BASELINE=/path/to/older/exoskin bash scripts/bench_reference.sh   # before/after
#
# With BASELINE it also runs, side by side, the ensemble benchmark: a MEMBERS-member
# ensemble (default 256) of the bundled microneedling scenario on THREADS threads (default
# 2), interleaved over ROUNDS rounds (default 3) with single runs of the baseline (the
# target: no more than 40 of them), and one run on a wide (r, z) grid (96 radial cells)
# with each build. Build a baseline from an older
# commit with, e.g.:
#   git worktree add /tmp/exo-old 0a0a803 && (cd /tmp/exo-old && cargo build --release -p exoskin)
#
# Uses the local virtual environment .venv-stats (created when missing; NumPy and SciPy
# wheels, FiPy when asked), builds exoskin and the solve-timing example, and times whole
# processes with hyperfine (installed with apt-get when missing and run as root; otherwise
# a timed loop).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/franz_cell_multilayer.toml}"
invivo="scenarios/in_vivo_microneedling.toml"
py=.venv-stats/bin/python
[ -x "$py" ] || python3 -m venv .venv-stats
mods="numpy, scipy"
pkgs=(numpy scipy)
if [ "${FIPY:-0}" = 1 ]; then mods="$mods, fipy"; pkgs+=("fipy==4.0.3"); fi
"$py" -c "import $mods" 2>/dev/null || "$py" -m pip install -q --only-binary=:all: "${pkgs[@]}"
if ! command -v hyperfine >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null || true
fi
cargo build --release -q -p exoskin
cargo build --release -q -p exoskin-transport --example solve_timing
exe="${CARGO_TARGET_DIR:-target}/release/exoskin"
timing="${CARGO_TARGET_DIR:-target}/release/examples/solve_timing"
# OpenBLAS tuning variables set for other work slow NumPy's small solves: clear them here only.
run() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Whole-process wall time of a command: median and minimum in seconds ("MEDIAN MIN").
process_time() {
    local runs=$1; shift
    if command -v hyperfine >/dev/null; then
        hyperfine -N -w 3 -r "$runs" --export-json "$tmp/h.json" "$*" >/dev/null
        "$py" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["min"])' "$tmp/h.json"
    else
        "$py" - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
for _ in range(3):
    subprocess.run(cmd, check=True, capture_output=True)
ts = []
for _ in range(runs):
    t0 = time.perf_counter(); subprocess.run(cmd, check=True, capture_output=True)
    ts.append(time.perf_counter() - t0)
ts.sort(); print(ts[len(ts) // 2], ts[0])
PY
    fi
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg)"
fipy_opts=()
if [ "${FIPY:-0}" = 1 ]; then
    echo "== FiPy (one run; it takes minutes) =="
    t0=$(date +%s.%N)
    fipy_out=$(run "$py" scripts/compare_fipy.py "$scenario" "$exe")
    t1=$(date +%s.%N)
    echo "$fipy_out"
    fipy_opts=(--fipy-solve-s "$(sed -n 's/^FiPy [^:]*: \([0-9.]*\) s$/\1/p' <<<"$fipy_out")"
               --fipy-process-s "$(awk "BEGIN { print $t1 - $t0 }")")
fi
echo "== NumPy/SciPy and exoskin: $scenario =="
read -r exo_med exo_min < <(process_time 50 "$exe" simulate "$scenario" --json)
run "$py" scripts/compare_scipy.py "$scenario" "$exe" "$timing" \
    --exo-process-s "$exo_med" --exo-process-min-s "$exo_min" "${fipy_opts[@]}"

echo "== one in-vivo run: $invivo (whole process, median and minimum of 10) =="
read -r med min < <(process_time 10 "$exe" simulate "$invivo" --json)
ms() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }
echo "| build | median | minimum |"
echo "|---|---|---|"
echo "| this build | $(ms "$med") ms | $(ms "$min") ms |"
if [ -n "${BASELINE:-}" ]; then
    read -r med min < <(process_time 10 "$BASELINE" simulate "$invivo" --json)
    echo "| $BASELINE | $(ms "$med") ms | $(ms "$min") ms |"
fi

if [ -n "${BASELINE:-}" ]; then
    members="${MEMBERS:-256}"
    threads="${THREADS:-2}"
    echo "== ensemble: $members members of $invivo on $threads threads, against single runs of the baseline =="
    # Interleaved (ROUNDS rounds, default 3: one ensemble, then 4 single runs of each build),
    # so that both sides of the ratio see the same load when other work on the machine
    # comes and goes.
    read -r ens_med ens_min base_med base_min one_med one_min < <("$py" - "${ROUNDS:-3}" "$exe" "$BASELINE" "$invivo" "$members" "$threads" <<'PY'
import statistics, subprocess, sys, time
rounds, exe, base, scenario, members, threads = sys.argv[1:]
def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0
single = [exe, "simulate", scenario, "--json"]
ens, b, one = [], [], []
wall(single)
wall([base, "simulate", scenario, "--json"])
for _ in range(int(rounds)):
    ens.append(wall(single + ["--uncertainty", members, "--threads", threads]))
    for _ in range(4):
        b.append(wall([base, "simulate", scenario, "--json"]))
        one.append(wall(single))
for v in (ens, b, one):
    print(statistics.median(v), min(v), end=" ")
print()
PY
)
    echo "| run | median | minimum |"
    echo "|---|---|---|"
    echo "| baseline, one run | $(ms "$base_med") ms | $(ms "$base_min") ms |"
    echo "| this build, one run | $(ms "$one_med") ms | $(ms "$one_min") ms |"
    echo "| this build, $members-member ensemble, $threads threads | $(ms "$ens_med") ms | $(ms "$ens_min") ms |"
    awk -v e="$ens_med" -v b="$base_med" 'BEGIN { printf "ensemble = %.1f baseline single runs (target: at most 40)\n", e / b }'

    wide="$tmp/wide.toml"
    { cat "$invivo"; printf '\n[numerics]\nradial_cells = 96\n'; } > "$wide"
    echo "== one in-vivo run on a 96-ring grid (whole process, median and minimum of 3) =="
    read -r med min < <(process_time 3 "$exe" simulate "$wide" --json)
    echo "| this build | $(ms "$med") ms | $(ms "$min") ms |"
    read -r med min < <(process_time 3 "$BASELINE" simulate "$wide" --json)
    echo "| $BASELINE | $(ms "$med") ms | $(ms "$min") ms |"
fi
