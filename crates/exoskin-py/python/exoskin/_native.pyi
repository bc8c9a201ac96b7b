"""Type stubs of the compiled module ``exoskin._native``. Each run returns the JSON text of
the CLI's document; use the functions of :mod:`exoskin` rather than these."""

from typing import Any, Callable, Dict, Optional

_Progress = Callable[[int, int, Optional[str]], None]

__version__: str

class ExoskinError(ValueError):
    """An error of exoskin: ``kind`` is input, solver, internal or cancelled (raised as the
    subclass of that kind); ``field`` names the key or argument it is about (or is None);
    ``message`` is the CLI's message (what, where, the allowed values, how to fix it)."""

    field: Optional[str]
    message: str
    kind: str

class InputError(ExoskinError):
    """Bad input: fix the argument or file ``field`` names."""

class SolverError(ExoskinError):
    """The solver could not finish valid input."""

class InternalError(ExoskinError):
    """Broken bundled data or a defect."""

class CancelledError(ExoskinError):
    """Stopped by a time limit or a cancel."""

def simulate_file(path: str) -> str: ...
def simulate_toml(text: str, name: str) -> str: ...
def toml_from_json(json_text: str) -> str: ...
def trial(
    source: str,
    is_path: bool,
    participants: Optional[int] = None,
    seed: Optional[int] = None,
    progress: Optional[_Progress] = None,
) -> str: ...
def power(
    path: str,
    power: Optional[float] = None,
    alpha: Optional[float] = None,
    replicates: Optional[int] = None,
    max_participants: Optional[int] = None,
    assurance_draws: Optional[int] = None,
    progress: Optional[_Progress] = None,
) -> str: ...
def summary(path: str) -> str: ...
def uncertainty(
    path: str,
    members: int,
    seed: Optional[int] = None,
    progress: Optional[_Progress] = None,
) -> str: ...
def simulate_certificate(
    certificate: str,
    scenario: Optional[str] = None,
    pubkey: Optional[str] = None,
    revocations: Optional[str] = None,
    on: Optional[str] = None,
    members: Optional[int] = None,
    seed: Optional[int] = None,
    allow_unverified: bool = False,
    allow_expired: bool = False,
    progress: Optional[_Progress] = None,
) -> str: ...
def sensitivity(
    path: str,
    output: str,
    method: str = "screened",
    samples: Optional[int] = None,
    bootstrap: int = 1000,
    trajectories: int = 20,
    levels: int = 4,
    seed: Optional[int] = None,
    keep: int = 8,
    progress: Optional[_Progress] = None,
) -> str: ...
def export_sbml(path: str) -> str: ...
def label(text: str) -> str: ...
def verify(
    certificate: str,
    certificate_is_path: bool,
    pubkey: str,
    pubkey_is_path: bool,
    revocations: Optional[str] = None,
    at: Optional[str] = None,
) -> str: ...
# Sweeps (src/sweep.rs): the shard contract of exoskin sweep.
def sweep_plan(spec: str, out_dir: str) -> Dict[str, Any]:
    """Read the sweep spec, write ``out_dir/manifest.json`` and return
    ``{"shards": int, "pending": [int], "hash": str}``."""
def sweep_shard(spec: str, shard: int, out_dir: str, threads: int = 1) -> str:
    """Compute one shard into ``out_dir``; returns its Parquet file."""
def sweep_merge(out_dir: str, out: Optional[str] = None) -> Dict[str, Any]:
    """Join the shards into one Parquet file: ``{"path": str, "rows": int, "failed": int}``."""
