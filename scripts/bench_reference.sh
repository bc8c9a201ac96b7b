#!/usr/bin/env bash
# Compare exoskin with FiPy (an established Python PDE package) and with a strong NumPy/SciPy
# version (one factorization per distinct step size, reused) on the same layered problem, in
# one run, and print one table (docs/benchmarks.md records the figures).
# Creates a local virtual environment .venv, builds exoskin and its solve-timing example.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/franz_cell_multilayer.toml}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import fipy, numpy, scipy" 2>/dev/null || .venv/bin/pip install -q "fipy==4.0.3" numpy scipy
cargo build --release -q -p exoskin
cargo build --release -q -p exoskin-transport --example solve_timing
exe="${CARGO_TARGET_DIR:-target}/release/exoskin"
timing="${CARGO_TARGET_DIR:-target}/release/examples/solve_timing"
# OpenBLAS tuning variables set for other work slow NumPy's small solves: clear them here only.
run() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(date -u +%F)"
echo "== FiPy (one run; it takes minutes) =="
t0=$(date +%s.%N)
fipy_out=$(run .venv/bin/python scripts/compare_fipy.py "$scenario" "$exe")
t1=$(date +%s.%N)
echo "$fipy_out"
fipy_solve=$(sed -n 's/^FiPy [^:]*: \([0-9.]*\) s$/\1/p' <<<"$fipy_out")
fipy_process=$(awk "BEGIN { print $t1 - $t0 }")
echo "== NumPy/SciPy and exoskin =="
run .venv/bin/python scripts/compare_scipy.py "$scenario" "$exe" "$timing" \
    --fipy-solve-s "$fipy_solve" --fipy-process-s "$fipy_process"
