#!/usr/bin/env bash
# The simulator-only build (`cargo build --release -p exoskin --no-default-features`: no
# registry server or client, no web app): it compiles without warnings (clippy), its offline
# tests pass (what --help lists, certificates issued and verified against files, simulate),
# and its binary runs a simulation. The dependencies are the ones the default build already
# compiled, so only the CLI crate is built again; at the end the default binary is put back
# in target/release for the checks that follow.
# Usage: bash scripts/check_sim_build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
exe="${CARGO_TARGET_DIR:-$root/target}/release/exoskin"
start=$(date +%s)
restore() { cargo build --release -p exoskin -q 2>&1; }
trap restore EXIT
cargo build --release -p exoskin --no-default-features -q 2>&1
cargo clippy --release -p exoskin --no-default-features --all-targets -q -- -D warnings 2>&1
tests=$(cargo test --release -p exoskin --no-default-features --test features --test batch_export --test simulate 2>&1 \
  | awk '/^test result: ok/ {n += $4} /^test result: FAILED/ {f = 1} END {if (f) exit 1; print n}') \
  || { echo "check_sim_build: a test of the simulator-only build failed (cargo test --release -p exoskin --no-default-features)"; exit 1; }
help=$("$exe" --help)
for c in serve registry; do
  if grep -qE "^  $c " <<<"$help"; then echo "check_sim_build: \`$c\` is in the simulator-only build's --help"; exit 1; fi
done
grep -qE "^  simulate " <<<"$help" || { echo "check_sim_build: no \`simulate\` in --help"; exit 1; }
"$exe" --quiet simulate --json >/dev/null || { echo "check_sim_build: simulate of the bundled scenario failed"; exit 1; }
echo "check_sim_build: simulator-only build compiles (clippy clean), $tests tests pass, --help has no serve/registry, simulate runs ($(( $(date +%s) - start )) s)"
