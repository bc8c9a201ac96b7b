"""exoskin from Python: simulate scenarios, run virtual trials and power analyses, decode
ingredient labels and verify batch certificates.

Every function returns the document the CLI prints with ``--json`` (the same JSON, parsed), so
``exoskin.simulate("scenarios/in_vivo_microneedling.toml")`` equals
``json.loads(`exoskin simulate scenarios/in_vivo_microneedling.toml --json`)``. The runs
release the GIL, so threads run them in parallel. Errors raise a subclass of
:class:`ExoskinError` (a ``ValueError``) by their kind: :class:`InputError` (bad input),
:class:`SolverError`, :class:`InternalError` or :class:`CancelledError`, with the CLI's
message, ``.kind`` and ``.field``, the key it is about.

>>> import exoskin
>>> r = exoskin.simulate("scenarios/in_vivo_microneedling.toml")
>>> r["transport"]["reached_dermis_fraction"]            # doctest: +SKIP
>>> frames = r.to_pandas()                               # doctest: +SKIP
>>> frames["outcomes"].plot(x="times_d", y="collagen_pct")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

#: A progress callback: ``progress(done, total, message)``, called as long work goes on
#: (``total`` 0 when not known in advance; ``message`` a phase or an intermediate result in
#: words, or None for a count). An exception it raises stops the work and is raised again
#: by the function that was running.
Progress = Callable[[int, int, Optional[str]], None]

from . import _native
from ._native import (
    CancelledError,
    ExoskinError,
    InputError,
    InternalError,
    SolverError,
    __version__,
)
from ._result import SimulationResult

__all__ = [
    "CancelledError",
    "ExoskinError",
    "InputError",
    "InternalError",
    "Progress",
    "SolverError",
    "SimulationResult",
    "__version__",
    "export_sbml",
    "label",
    "plot_effect",
    "power",
    "sensitivity",
    "simulate",
    "simulate_certificate",
    "summary",
    "trial",
    "uncertainty",
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
    progress: Optional[Progress] = None,
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
    ``progress`` hears the phases and the participants done (see :data:`Progress`).
    """
    if isinstance(path_or_toml, Mapping):
        src, is_path = _native.toml_from_json(json.dumps(path_or_toml)), False
    else:
        src, is_path = _source(path_or_toml, "trial")
    return json.loads(_native.trial(src, is_path, participants, seed, progress))


def power(
    path: PathLike,
    power: Optional[float] = None,
    replicates: Optional[int] = None,
    alpha: Optional[float] = None,
    max_participants: Optional[int] = None,
    assurance_draws: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Dict[str, Any]:
    """The sample size by simulation: the document of ``exoskin power FILE --json``.

    ``power`` is the target power (default: the file's ``[power] target``), ``replicates`` the
    simulated trials per sample size, ``alpha`` the significance level,
    ``max_participants`` the largest sample size searched and ``assurance_draws`` the model
    draws behind the assurance (default 16, as the CLI's ``--assurance-draws``; 0 for none);
    each checked against the CLI's range (``ExoskinError`` with ``.field`` set to the
    argument's name). The document says which effect it powers for and its sign
    (``difference_estimate``, ``difference_unit``, ``treated_better``). ``progress`` hears
    the phases and each sample size as it is finished (see :data:`Progress`).
    """
    src, _ = _source(path, "path")
    return json.loads(
        _native.power(
            src, power, alpha, replicates, max_participants, assurance_draws, progress
        )
    )


def summary(path: PathLike) -> str:
    """The readable summary of ``exoskin simulate FILE``: what the vesicles add over the
    control first (in words, with the 90 % interval and the probability that the vesicle arm
    is better), then the outcomes at 2, 4 and 12 weeks, delivery and the mass balance."""
    src, _ = _source(path, "path")
    return _native.summary(src)


def uncertainty(
    path: PathLike,
    members: int,
    seed: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> SimulationResult:
    """An ensemble over every uncertain quantity: the document of ``exoskin simulate FILE
    --uncertainty MEMBERS [--seed SEED] --json`` (``outcomes.bands``, ``transport.bands`` and
    the ``effect`` over the members). ``progress`` hears the members done (see
    :data:`Progress`)."""
    src, _ = _source(path, "path")
    return SimulationResult(json.loads(_native.uncertainty(src, members, seed, progress)))


def sensitivity(
    path: PathLike,
    output: str,
    method: str = "screened",
    samples: Optional[int] = None,
    bootstrap: int = 1000,
    trajectories: int = 20,
    levels: int = 4,
    seed: Optional[int] = None,
    keep: int = 8,
    progress: Optional[Progress] = None,
) -> Dict[str, Any]:
    """Global sensitivity of one output (``NAME[@DAY]``, e.g. ``collagen_pct@84``): the
    document of ``exoskin sensitivity FILE --output OUTPUT --method METHOD ... --json``.
    ``screened`` (the default) screens every parameter with Morris, then estimates Sobol
    indices (with bootstrap intervals) of at most ``keep`` influential ones; ``sobol`` does
    every parameter, ``morris`` screens only (``mu_star``). ``samples``: Sobol base rows
    (default 256 screened, 64 for ``sobol``). ``progress`` hears the model runs done (see
    :data:`Progress`)."""
    src, _ = _source(path, "path")
    return json.loads(
        _native.sensitivity(
            src, output, method, samples, bootstrap, trajectories, levels, seed, keep, progress
        )
    )


def export_sbml(path: PathLike) -> str:
    """The SBML Level 3 text of an in-vivo scenario's response model, as ``exoskin export sbml
    FILE --out model.xml`` writes it."""
    src, _ = _source(path, "path")
    return _native.export_sbml(src)


def plot_effect(result: Mapping[str, Any], ax: Any = None, outcomes: Any = None) -> Any:
    """Draw what the vesicles add (``result["effect"]``: median and 90 % band, percentage
    points) on a matplotlib axis (made when not given) and return the axis. Needs
    matplotlib, which the package does not require."""
    import matplotlib.pyplot as plt  # optional dependency

    e = result.get("effect")
    if not e:
        raise ExoskinError("this result has no effect: a product without vesicles, or not in vivo")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    names = outcomes or ["collagen_pct", "elasticity_pct", "wrinkle_pct", "pore_area_pct"]
    t = e["times_d"]
    for name in names:
        b = e["outcomes"].get(name)
        if b is None:
            continue
        line, = ax.plot(t, b["p50"], label=f"{name.replace('_pct', '').replace('_', ' ')} (median)")
        ax.fill_between(t, b["p05"], b["p95"], color=line.get_color(), alpha=0.2,
                        label="90 % band")
    ax.axhline(0.0, color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel("time (d)")
    ax.set_ylabel("vesicle minus control (percentage points)")
    ax.set_title("What the vesicles add over the control")
    ax.legend(fontsize=9)
    return ax


def label(text: str) -> Dict[str, Any]:
    """Decode an ingredient list as printed on a label: the document of
    ``exoskin label FILE --json`` (``ingredients``, ``flags``, ``evidence``, ``summary``)."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string, got {type(text).__name__}")
    return json.loads(_native.label(text))


def simulate_certificate(
    certificate: Union[PathLike, Mapping[str, Any]],
    scenario: Optional[PathLike] = None,
    pubkey: Optional[PathLike] = None,
    revocations: Optional[PathLike] = None,
    on: Optional[str] = None,
    members: Optional[int] = None,
    seed: Optional[int] = None,
    allow_unverified: bool = False,
    allow_expired: bool = False,
    progress: Optional[Progress] = None,
) -> SimulationResult:
    """Simulate the batch of a signed certificate: the document of ``exoskin simulate
    [SCENARIO] --certificate CERT [--pubkey KEY] [--revocations FILE] [--on DATE]
    [--uncertainty MEMBERS] [--seed SEED] --json``, with its ``batch`` block.

    ``certificate`` is a ``certificate.json`` path, its JSON text or the parsed dict;
    ``pubkey`` the trusted issuer's key file, PEM text or ``did:key`` (without it the
    signature is checked against the issuer's own ``did:key``); ``scenario`` a scenario
    file (default: the bundled one); ``on`` the day of use (YYYY-MM-DD, default today).
    ``members`` defaults to 64. A certificate that does not verify, is revoked or expired
    raises :class:`InputError` (``allow_unverified`` / ``allow_expired`` simulate anyway).
    ``progress`` hears the members done (see :data:`Progress`).
    """
    if isinstance(certificate, Mapping):
        cert = json.dumps(certificate)
    else:
        cert, cert_is_path = _source(certificate, "certificate")
        if cert_is_path:
            cert = _read_text(cert, "certificate")
    key = None
    if pubkey is not None:
        key, key_is_path = _source(pubkey, "pubkey")
        if key_is_path and not key.strip().startswith("did:key:"):
            key = _read_text(key, "pubkey")
    revs = None
    if revocations is not None:
        revs, revs_is_path = _source(revocations, "revocations")
        if revs_is_path:
            revs = _read_text(revs, "revocations")
    scen = None if scenario is None else _source(scenario, "scenario")[0]
    return SimulationResult(
        json.loads(
            _native.simulate_certificate(
                cert,
                scen,
                key,
                revs,
                on,
                members,
                seed,
                allow_unverified,
                allow_expired,
                progress,
            )
        )
    )


def _read_text(path: str, field: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        err = InputError(f"{path}: cannot read the {field} file: {e}")
        err.field, err.message, err.kind = field, str(err), "input"
        raise err from None


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
