"""exoskin from Python: simulate scenarios, run virtual trials and power analyses, decode
ingredient labels and verify batch certificates.

Every function returns the document the CLI prints with ``--json`` (the same JSON, parsed), so
``exoskin.simulate("scenarios/in_vivo_microneedling.toml")`` equals
``json.loads(`exoskin simulate scenarios/in_vivo_microneedling.toml --json`)``. The runs
release the GIL, so threads run them in parallel. Bad input raises :class:`ExoskinError`
(a ``ValueError``) with the CLI's message and ``.field``, the key it is about.

>>> import exoskin
>>> r = exoskin.simulate("scenarios/in_vivo_microneedling.toml")
>>> r["transport"]["reached_dermis_fraction"]            # doctest: +SKIP
>>> frames = r.to_pandas()                               # doctest: +SKIP
>>> frames["outcomes"].plot(x="times_d", y="collagen_pct")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from . import _native
from ._native import ExoskinError, __version__
from ._result import SimulationResult

__all__ = [
    "ExoskinError",
    "SimulationResult",
    "__version__",
    "label",
    "power",
    "simulate",
    "trial",
    "verify",
]

PathLike = Union[str, "os.PathLike[str]"]


def _is_text(source: str) -> bool:
    """A string holding TOML (or JSON, PEM) rather than naming a file: it spans lines or has
    an ``=`` or ``{`` in it, which file names in practice do not."""
    return "\n" in source or "=" in source or source.lstrip().startswith("{")


def _source(source: Any, what: str) -> Tuple[str, bool]:
    """(text or path, is_path) for a path-like or a string."""
    if isinstance(source, os.PathLike):
        return os.fspath(source), True
    if isinstance(source, str):
        return source, not _is_text(source)
    raise TypeError(f"{what}: expected a path or a string, got {type(source).__name__}")


def simulate(scenario: Union[PathLike, Mapping[str, Any]]) -> SimulationResult:
    """Run a scenario and return the document of ``exoskin simulate FILE --json``.

    ``scenario`` is a path to a scenario TOML file, the TOML text itself, or a dict with the
    same tables and keys as the file (``{"experiment": {"kind": "in_vivo", ...}, ...}``).
    The result is a dict with ``scenario``, ``transport`` and ``outcomes``;
    ``.to_pandas()`` gives its time series as DataFrames and ``.to_arrow()`` as Arrow tables.

    Raises :class:`ExoskinError` for a bad scenario (``.field`` names the key, e.g.
    ``product.particles_per_ml``) or a file that cannot be read.
    """
    if isinstance(scenario, Mapping):
        text = _native.toml_from_json(json.dumps(scenario))
        doc = _native.simulate_toml(text, "<dict>")
    else:
        src, is_path = _source(scenario, "scenario")
        if is_path:
            doc = _native.simulate_file(src)
        else:
            doc = _native.simulate_toml(src, "<string>")
    return SimulationResult(json.loads(doc))


def trial(
    path_or_toml: Union[PathLike, Mapping[str, Any]],
    participants: Optional[int] = None,
    seed: Optional[int] = None,
) -> Dict[str, Any]:
    """Run a virtual clinical trial: the document of ``exoskin trial FILE --json``.

    ``path_or_toml`` is a trial file, its TOML text or an equivalent dict (arm scenario paths
    in text or a dict are relative to the working folder). ``participants`` (per arm in
    parallel designs) and ``seed`` override the file's, as ``--participants`` and ``--seed``.

    The document holds ``endpoints`` (per endpoint, visit and comparison: the estimate, its
    95 % CI, the test, ``p_value``, ``tost_p_value`` for equivalence or ``ni_p_value`` for
    non-inferiority, ``adjusted_p_value`` after the trial's multiplicity correction, ANCOVA
    in parallel designs, period and carryover in crossovers), ``tables`` (one per endpoint),
    ``flow`` (CONSORT: enrolled, randomised, allocated, dropped out, analysed) and
    ``repeated_measures`` (the mixed model over the visits); see docs/trials.md.
    """
    if isinstance(path_or_toml, Mapping):
        src, is_path = _native.toml_from_json(json.dumps(path_or_toml)), False
    else:
        src, is_path = _source(path_or_toml, "trial")
    return json.loads(_native.trial(src, is_path, participants, seed))


def power(
    path: PathLike,
    power: Optional[float] = None,
    replicates: Optional[int] = None,
    alpha: Optional[float] = None,
    max_participants: Optional[int] = None,
) -> Dict[str, Any]:
    """The sample size by simulation: the document of ``exoskin power FILE --json``.

    ``power`` is the target power (default: the file's ``[power] target``), ``replicates`` the
    simulated trials per sample size, ``alpha`` the significance level and
    ``max_participants`` the largest sample size searched; each checked against the CLI's
    range (``ExoskinError`` with ``.field`` set to the argument's name).
    """
    src, _ = _source(path, "path")
    return json.loads(_native.power(src, power, alpha, replicates, max_participants))


def label(text: str) -> Dict[str, Any]:
    """Decode an ingredient list as printed on a label: the document of
    ``exoskin label FILE --json`` (``ingredients``, ``flags``, ``evidence``, ``summary``)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string, got {type(text).__name__}")
    return json.loads(_native.label(text))


def verify(
    certificate: Union[PathLike, Mapping[str, Any]],
    pubkey: PathLike,
    revocations: Optional[PathLike] = None,
    at: Optional[str] = None,
) -> Dict[str, Any]:
    """Verify a signed batch certificate as ``exoskin batch verify`` does: signature, issuer,
    dates and, with ``revocations`` (a revocation list file), revocation.

    ``certificate`` is a ``certificate.json`` path, its JSON text or the parsed dict;
    ``pubkey`` is the trusted issuer's key file (PEM from ``exoskin batch keygen``), the PEM
    text or its ``did:key``. ``at`` verifies as of a time (RFC 3339 UTC or YYYY-MM-DD).

    Returns ``{"valid": True, "id", "gtin", "lot", "issuer_name", "issuer_did",
    "valid_from", "valid_until", "subject_uri", "assessment_pass"}`` or
    ``{"valid": False, "reason": ...}``; unreadable files or keys raise :class:`ExoskinError`.
    """
    if isinstance(certificate, Mapping):
        cert, cert_is_path = json.dumps(certificate), False
    else:
        cert, cert_is_path = _source(certificate, "certificate")
    key, key_is_path = _source(pubkey, "pubkey")
    if key_is_path and key.strip().startswith("did:key:"):
        key_is_path = False
    revs = None if revocations is None else _source(revocations, "revocations")[0]
    return json.loads(_native.verify(cert, cert_is_path, key, key_is_path, revs, at))
