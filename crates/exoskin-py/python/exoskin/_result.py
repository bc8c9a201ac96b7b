"""The result of :func:`exoskin.simulate`: the CLI's JSON document as a dict, with its time
series as pandas DataFrames or Arrow tables."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

# The time axis of each section of the document.
_TIME_AXES = {"transport": "times_h", "outcomes": "times_d"}


def _columns(section: Dict[str, Any], time_key: str) -> List[Tuple[str, List[float]]]:
    """The section's time series: the time axis first, then every list of the same length,
    with one level of nesting named ``outer.inner`` (``compartments_per_cm2.dermis``)."""
    times = section[time_key]
    n = len(times)
    cols: List[Tuple[str, List[float]]] = [(time_key, times)]

    def is_series(v: Any) -> bool:
        return isinstance(v, list) and len(v) == n and all(
            isinstance(x, (int, float)) or x is None for x in v
        )

    for key, value in section.items():
        if key == time_key:
            continue
        if is_series(value):
            cols.append((key, value))
        elif isinstance(value, dict):
            for inner, series in value.items():
                if is_series(series):
                    cols.append((f"{key}.{inner}", series))
    return cols


class SimulationResult(dict):
    """The document of ``exoskin simulate --json`` (a dict: ``scenario``, ``transport``,
    ``outcomes``), with its time series as tables.

    The ``transport`` table has ``times_h`` and one column per compartment and cumulative
    amount (per cm2); the ``outcomes`` table has ``times_d`` and the outcome curves (percent
    change from baseline). A Franz cell has no outcomes, a cell culture no transport.
    """

    def series(self) -> Dict[str, List[Tuple[str, List[float]]]]:
        """Each section's time series as ``(column name, values)`` pairs, time axis first."""
        out = {}
        for section, time_key in _TIME_AXES.items():
            value = self.get(section)
            if isinstance(value, dict) and time_key in value:
                out[section] = _columns(value, time_key)
        return out

    def to_pandas(self) -> Dict[str, Any]:
        """The time series as pandas DataFrames: ``{"transport": df, "outcomes": df}`` (the
        sections the scenario has). Needs pandas."""
        import pandas as pd

        return {
            section: pd.DataFrame({name: values for name, values in cols})
            for section, cols in self.series().items()
        }

    def to_arrow(self) -> Dict[str, Any]:
        """The time series as Arrow tables (float64 columns), keyed like :meth:`to_pandas`.
        Needs pyarrow."""
        import pyarrow as pa

        return {
            section: pa.table(
                {name: pa.array(values, type=pa.float64()) for name, values in cols}
            )
            for section, cols in self.series().items()
        }
