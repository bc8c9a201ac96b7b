#!/usr/bin/env python3
"""Build the Python package (crates/exoskin-py) and run its pytest suite (tests/python).

Usage: python3 scripts/check_python.py [pytest args]   (from the repository root)

In .venv-stats (the virtual environment of check_stats_reference.py) it installs maturin,
pytest, pandas, pyarrow, distributed and matplotlib (wheels only), builds the CLI
(`cargo build --release -p exoskin`, nothing to do after `cargo test --release --workspace`)
and installs the package with `pip install ./crates/exoskin-py`: maturin builds it with the
release profile into the same target folder as the tests, so the workspace compiles once.
Exit code 0 when every test passes.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_stats_reference import PY, ROOT, ensure_venv  # noqa: E402

PACKAGES = ["maturin>=1.9.4,<2", "pytest>=8", "pandas>=2", "pyarrow>=15", "distributed>=2024.1",
            "matplotlib>=3.7"]
IMPORTS = "import maturin, pytest, pandas, pyarrow, distributed, matplotlib"


def ensure_packages():
    ensure_venv()  # re-runs this script inside .venv-stats
    probe = subprocess.run([PY, "-c", IMPORTS], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([PY, "-m", "pip", "install", "-q", "--only-binary=:all:", *PACKAGES],
                       check=True)


def main():
    ensure_packages()
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    # The maturin build backend runs `maturin` from PATH: the venv's.
    env["PATH"] = os.path.dirname(PY) + os.pathsep + env.get("PATH", "")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "exoskin"], cwd=ROOT, env=env,
                   check=True)
    started = time.perf_counter()
    # maturin is in the venv already: no isolated build environment to download.
    subprocess.run([PY, "-m", "pip", "install", "-q", "--no-build-isolation", "--force-reinstall",
                    "--no-deps", "./crates/exoskin-py"], cwd=ROOT, env=env, check=True)
    print(f"exoskin Python package built and installed in {time.perf_counter() - started:.1f} s",
          flush=True)
    tests = os.path.join(ROOT, "tests", "python")
    return subprocess.run([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", tests,
                           *sys.argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
