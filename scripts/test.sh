#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, then runs them.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v zbarimg >/dev/null 2>&1 || need_apt+=(zbar-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
{ command -v slurmctld && command -v munged; } >/dev/null 2>&1 || need_apt+=(slurm-wlm munge)
# The web app's browser checks: headless Chromium with its driver, Tesseract for label
# photos, npm for axe-core.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v tesseract >/dev/null 2>&1 || need_apt+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || need_apt+=(tesseract-ocr-eng)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# exoskin-batch and exoskin-registry tests: zbarimg decodes the QR codes, and a throwaway PostgreSQL cluster is
# started from these binaries (as the postgres user when run as root). Required here, so a
# missing tool fails the run instead of skipping.
export EXOSKIN_REQUIRE_TOOLS=1
EXOSKIN_PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
export EXOSKIN_PG_BIN

# The tests use the release profile, so they share every compiled crate with the quick start's
# `cargo run --release` (one build instead of two).
cargo test --release --workspace --all-targets 2>&1
# Clippy with the workspace lints ([workspace.lints] in Cargo.toml), warnings denied.
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
cargo clippy --release --workspace --all-targets -- -D warnings 2>&1
bash scripts/check_sim_build.sh 2>&1  # simulator-only build (--no-default-features): compiles, offline tests, simulate
bash scripts/check_slurm.sh 2>&1  # the sweep as a real Slurm job array on a single-node Slurm
command -v python3 >/dev/null 2>&1 || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null; }; python3 scripts/check_stats_reference.py 2>&1  # statistics vs scipy/statsmodels
python3 scripts/check_salib.py 2>&1  # sensitivity indices vs SALib, R-hat/ESS vs ArviZ
python3 scripts/check_ics.py 2>&1  # routine plan's .ics vs the icalendar parser
python3 scripts/check_cosing.py 2>&1  # bundled EU CosIng annexes and label flags vs the Commission's CSVs
python3 scripts/check_tlog.py 2>&1  # Merkle log proofs vs an independent C2SP verifier
python3 scripts/check_resolver.py 2>&1  # GS1 Digital Link resolver vs digital-link.js: parsing, linksets, link types
python3 scripts/check_status_list.py 2>&1  # Bitstring Status Lists vs @digitalbazaar/vc-bitstring-status-list (npm)
python3 scripts/check_untp.py 2>&1  # UNTP export vs the UNTP DCC JSON Schema
python3 scripts/check_import.py 2>&1  # instrument import vs flowio/fcsparser and numpy/pandas
python3 scripts/check_batch_simulate.py 2>&1  # simulate --certificate: log-normal fit and sampled inputs vs scipy
python3 scripts/check_python.py 2>&1  # the Python package (pytest): results equal the CLI's JSON
python3 scripts/check_sbml.py 2>&1  # SBML export vs libsbml consistency and libroadrunner trajectories
python3 scripts/check_web.py 2>&1  # web app: API == CLI, OpenAPI, browser flows, axe, load
