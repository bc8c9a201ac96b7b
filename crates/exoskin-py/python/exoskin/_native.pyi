"""Type stubs of the compiled module ``exoskin._native``. Each run returns the JSON text of
the CLI's document; use the functions of :mod:`exoskin` rather than these."""

from typing import Optional

__version__: str

class ExoskinError(ValueError):
    """Bad input: ``field`` names the key or argument it is about (or is None); ``message``
    is the CLI's message (what, where, the allowed values, how to fix it)."""

    field: Optional[str]
    message: str

def simulate_file(path: str) -> str: ...
def simulate_toml(text: str, name: str) -> str: ...
def toml_from_json(json_text: str) -> str: ...
def trial(
    source: str,
    is_path: bool,
    participants: Optional[int] = None,
    seed: Optional[int] = None,
) -> str: ...
def power(
    path: str,
    power: Optional[float] = None,
    alpha: Optional[float] = None,
    replicates: Optional[int] = None,
    max_participants: Optional[int] = None,
) -> str: ...
def label(text: str) -> str: ...
def verify(
    certificate: str,
    certificate_is_path: bool,
    pubkey: str,
    pubkey_is_path: bool,
    revocations: Optional[str] = None,
    at: Optional[str] = None,
) -> str: ...
