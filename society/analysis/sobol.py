"""Sobol' indices of a Saltelli sweep: how much of a target's variance each swept key explains.

The first-order index ``S1`` of a key is the share of the variance of the target (over the
priors of every swept key) that the key explains alone; the total index ``ST`` adds every
interaction it takes part in, so ``1 - ST`` is the share left if the key were fixed. Estimates
follow Saltelli et al. (2010) and Jansen (1999) as SALib 1.6 implements them
(:func:`SALib.analyze.sobol.analyze`), with SALib's bootstrap confidence intervals (``conf`` is
the half-width: ``z * sd`` over resamples). ``S2`` (pairwise interactions) needs a design
sampled with ``second_order = true``.

>>> from society.sweeps.design import Design
>>> d = Design("saltelli", 256, ("x1", "x2"), seed=0)
>>> u = d.unit()
>>> table = sobol_indices(d, 3 * u[:, 0] + u[:, 1])  # variances 9/12 and 1/12: shares 0.9, 0.1
>>> [round(v, 2) for v in table.filter(pl.col("index") == "ST")["value"]]
[0.9, 0.1]
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl

from society.analysis.data import AnalysisError, require_every_arm
from society.sweeps.design import Design

#: Bootstrap resamples of SALib's confidence intervals (its default is 100: too few for
#: stable interval ends).
RESAMPLES = 1000

SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "index": pl.String(),
    "other": pl.String(),
    "value": pl.Float64(),
    "conf": pl.Float64(),
    "lo": pl.Float64(),
    "hi": pl.Float64(),
}


def sobol_indices(
    design: Design,
    y: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Sobol' indices of outputs ``y`` (one per row of ``design``, in its order).

    Returns one row per index: ``parameter``, ``index`` (``S1``, ``ST`` or ``S2``), ``other``
    (the second key of an ``S2``, else null), ``value``, ``conf`` (the interval's half-width)
    and ``lo``/``hi`` = value -/+ conf. The bootstrap is seeded: the same inputs give the same
    intervals.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=np.float64)
    if y.shape != (design.size(),):
        raise AnalysisError(
            f"Sobol indices need one output per arm of the Saltelli design ({design.size()}); "
            f"got {y.size}."
        )
    require_every_arm(y, "a Saltelli design")
    if float(np.var(y)) <= 1e-24:
        raise AnalysisError(
            f"the target is {y[0]:g} at every arm of the design, so it has no variance to "
            f"apportion among the swept keys. Choose a target that varies (e.g. "
            f"final_alignment), lengthen the scenario (`--set days=...` when sweeping), or "
            f"widen the priors."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # SALib warns on near-constant resamples
        result = sobol.analyze(
            design.problem(),
            y,
            calc_second_order=design.second_order,
            num_resamples=resamples,
            conf_level=confidence,
            # SALib 1.6 takes seed 0 as "no seed" (`if seed:`) and bootstraps from numpy's
            # global state: offset by one, so every seed, 0 included, repeats exactly.
            seed=seed + 1,
        )
    rows: list[tuple[str, str, str | None, float, float, float, float]] = []
    for j, key in enumerate(design.keys):
        for index in ("S1", "ST"):
            value, conf = float(result[index][j]), float(result[f"{index}_conf"][j])
            rows.append((key, index, None, value, conf, value - conf, value + conf))
    if design.second_order:
        for j, key in enumerate(design.keys):
            for k in range(j + 1, design.dimensions):
                value, conf = float(result["S2"][j, k]), float(result["S2_conf"][j, k])
                rows.append((key, "S2", design.keys[k], value, conf, value - conf, value + conf))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def describe(table: pl.DataFrame, label: str) -> list[str]:
    """The indices in plain sentences, the key that matters most first."""
    ranked = wide(table)
    if ranked.is_empty():
        return []
    lines = []
    top = ranked.row(0, named=True)
    lines.append(
        f"{top['parameter']} matters most for {label}: alone it explains "
        f"{_pct(top['S1'], top['S1_lo'], top['S1_hi'])} of its variance over the priors, and "
        f"{_pct(top['ST'], top['ST_lo'], top['ST_hi'])} with its interactions (total index)."
    )
    for row in list(ranked.iter_rows(named=True))[1:]:
        if row["ST_lo"] > 0.05:
            lines.append(
                f"{row['parameter']} matters too: total index "
                f"{_pct(row['ST'], row['ST_lo'], row['ST_hi'])}."
            )
        elif row["ST_hi"] < 0.05:
            lines.append(
                f"{row['parameter']} hardly matters (total index "
                f"{_pct(row['ST'], row['ST_lo'], row['ST_hi'])}): fixing it anywhere in its prior "
                f"would change little."
            )
        else:
            lines.append(
                f"{row['parameter']}: total index {_pct(row['ST'], row['ST_lo'], row['ST_hi'])}, "
                f"too uncertain at this size to call (a larger n narrows it)."
            )
    outside = table.filter((pl.col("value") < -0.05) | (pl.col("value") > 1.05))
    if outside.height:
        r = outside.row(0, named=True)
        lines.append(
            f"Some estimates fall outside 0-1 (e.g. {r['index']} of {r['parameter']} = "
            f"{r['value']:.2f}): the estimator's sampling error is large at this size; a larger "
            f"n (a power of two) makes the indices usable."
        )
    s1_sum = float(ranked["S1"].sum())
    if s1_sum < 0.8:
        lines.append(
            f"The first-order indices sum to {s1_sum:.2f}: the rest of the variance comes from "
            f"interactions between keys (and from seed noise left in the per-arm means)."
        )
    return lines


def wide(table: pl.DataFrame) -> pl.DataFrame:
    """One row per key with S1, ST and their bounds, by total index (largest first)."""
    parts = []
    for index in ("S1", "ST"):
        part = table.filter(pl.col("index") == index).select(
            "parameter",
            pl.col("value").alias(index),
            pl.col("lo").alias(f"{index}_lo"),
            pl.col("hi").alias(f"{index}_hi"),
        )
        parts.append(part)
    if parts[0].is_empty():
        return parts[0]
    return (
        parts[0]
        .join(parts[1], on="parameter", maintain_order="left")
        .sort("ST", descending=True, maintain_order=True)
    )


def _pct(value: float, lo: float, hi: float) -> str:
    """``52% [31, 73]``: an index and its interval as shares of the variance, as estimated
    (sampling error can put them outside 0-100)."""
    return f"{fixed(100 * value, 0)}% [{fixed(100 * lo, 0)}, {fixed(100 * hi, 0)}]"


def fixed(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, never ``-0`` (a tiny negative estimate rounds to 0).

    >>> fixed(-0.0001, 2), fixed(-0.02, 2), fixed(0.314, 0)
    ('0.00', '-0.02', '0')
    """
    text = f"{value:.{digits}f}"
    return text.lstrip("-") if float(text) == 0 else text


__all__ = ["RESAMPLES", "describe", "fixed", "sobol_indices", "wide"]
