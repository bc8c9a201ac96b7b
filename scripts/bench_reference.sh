#!/usr/bin/env bash
# Compare exoskin with FiPy (an established Python PDE package) on the same layered problem.
# Creates a local virtual environment .venv with FiPy, builds exoskin, runs the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c "import fipy" 2>/dev/null || .venv/bin/pip install -q "fipy==4.0.3" numpy scipy
cargo build --release -q -p exoskin
.venv/bin/python scripts/compare_fipy.py "${1:-scenarios/franz_cell_multilayer.toml}" target/release/exoskin
