"""Tidy tables for analysts: every row says which run it came from, and no name has a dot.

Two rules hold for every Parquet file society writes:

* **Identity.** A run's ``metrics``, ``events`` and ``generations`` tables, and each run's
  metrics in a sweep, start with :data:`IDENTITY`: ``run_id`` (the run directory's name, or
  the sweep's point id), ``scenario`` (its name), ``seed`` and ``outcome`` (``safe``,
  ``catastrophe``, ``left_basin``, ``undecided``; null for a run that did not finish). Tables
  of many runs can be stacked and filtered without a join. ``run_id`` is the only column that
  differs between two runs of the same scenario and seed, so reproductions compare the tables
  without it (:func:`comparable`).
* **Column names.** A scenario field used as a column (a swept or drawn value in a sweep) is
  named by its dotted key with each ``.`` replaced by ``__`` (:func:`column_name`):
  ``lab.tax`` becomes ``lab__tax``. No field name holds ``__``, so the rule is reversible
  (:func:`field_key`), and a sweep's manifest keeps the mapping (``sweep.columns``).

:func:`society.scanning.scan` stacks a table of many runs and sweeps into one lazy frame.

Examples
--------
>>> column_name("lab.tax"), field_key("lab__tax")
('lab__tax', 'lab.tax')
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: The columns every run table starts with, and their types.
IDENTITY: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "scenario": pl.String(),
    "seed": pl.UInt64(),
    "outcome": pl.String(),
}
#: The run tables that carry :data:`IDENTITY`.
RUN_TABLES = ("metrics", "events", "generations")
SEPARATOR = "__"


def column_name(key: str) -> str:
    """The column name of a dotted scenario key: ``.`` becomes ``__``."""
    return key.replace(".", SEPARATOR)


def field_key(column: str) -> str:
    """The dotted scenario key a column name stands for (the inverse of :func:`column_name`)."""
    return column.replace(SEPARATOR, ".")


def with_identity(
    frame: pl.DataFrame, run_id: str, scenario: str, seed: int, outcome: str | None
) -> pl.DataFrame:
    """``frame`` with :data:`IDENTITY` as its first columns (replacing any already there).

    >>> f = with_identity(pl.DataFrame({"day": [0, 1]}), "r1", "tiny", 7, "safe")
    >>> f.columns, f["seed"].to_list()
    (['run_id', 'scenario', 'seed', 'outcome', 'day'], [7, 7])
    """
    values = {"run_id": run_id, "scenario": scenario, "seed": seed, "outcome": outcome}
    rest = frame.drop([c for c in IDENTITY if c in frame.columns])
    ids = [pl.lit(values[name], dtype=dtype).alias(name) for name, dtype in IDENTITY.items()]
    return rest.select(*ids, pl.all())


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without ``run_id``: what two runs of one scenario and seed share exactly."""
    return frame.drop("run_id", strict=False)


#: The largest relative difference two float columns may show and still count as rounding
#: (numpy's vector maths on another CPU moves a few results by one unit in the last place,
#: about 2.2e-16 relative; a model difference is many orders of magnitude larger).
ROUNDING = 1e-12


def rounding_differences(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, float] | None:
    """The float columns in which ``after`` differs from ``before`` by rounding alone, each
    with its largest relative difference; ``None`` if the frames differ otherwise (schema,
    shape, any non-float value, nulls or NaN in other places, or a float difference above
    :data:`ROUNDING`). Equal frames give ``{}``.

    >>> a = pl.DataFrame({"day": [0, 1], "x": [0.1, 3.0]})
    >>> d = rounding_differences(a, a.with_columns(pl.col("x") * (1 + 2**-52)))
    >>> list(d), d["x"] < 1e-15
    (['x'], True)
    >>> rounding_differences(a, a.with_columns(pl.col("x") + 1e-9)) is None
    True
    """
    if before.schema != after.schema or before.shape != after.shape:
        return None
    out: dict[str, float] = {}
    for name, dtype in before.schema.items():
        x, y = before[name], after[name]
        if x.equals(y, null_equal=True):
            continue
        if not dtype.is_float():
            return None
        a, b = x.to_numpy(), y.to_numpy()
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        scale = np.maximum(np.abs(a), np.abs(b))
        with np.errstate(invalid="ignore"):
            rel = np.where(same, 0.0, np.abs(a - b) / scale)
        worst = float(rel.max())
        if not worst <= ROUNDING:  # NaN against a number, or a real difference
            return None
        out[name] = worst
    return out


__all__ = [
    "IDENTITY",
    "ROUNDING",
    "RUN_TABLES",
    "column_name",
    "comparable",
    "field_key",
    "rounding_differences",
    "with_identity",
]
