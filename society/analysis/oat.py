"""One-at-a-time effects of an ``oat`` sweep: how far each assumption alone moves a target.

Arm 0 holds every key at its prior's median; arms ``1 + 2j`` and ``2 + 2j`` move key ``j`` alone
to its 5% and 95% quantile (:data:`society.sweeps.design.OAT_QUANTILES`). Replicate ``r`` runs
on the same seed in every arm, so each end's effect is the mean of the per-replicate
differences from arm 0, with its t interval (paired; much tighter than comparing two arms'
means). A key *moves* the target when either end's interval excludes 0.

This is a screen at one point of the priors: a key that moves nothing at the medians may
matter elsewhere (where another key is at its tail), which a Sobol or Morris design shows.

>>> import polars as pl
>>> from society.sweeps.design import Design
>>> d = Design("oat", 1, ("a", "b"), seed=0)
>>> runs = pl.DataFrame({
...     "arm": [0, 0, 1, 1, 2, 2, 3, 3, 4, 4],
...     "replicate": [0, 1] * 5,
...     "y": [0.5, 0.7, 0.1, 0.3, 0.9, 1.0, 0.5, 0.7, 0.5, 0.7],
... })
>>> values = {"a": (1.0, 9.0), "b": (0.2, 0.8)}
>>> table = oat_effects(d, runs, values)
>>> [(r[0], round(r[1], 9), round(r[2], 9), r[3])
...  for r in table.select("parameter", "low_diff", "high_diff", "moves").rows()]
[('a', -0.4, 0.35, True), ('b', 0.0, 0.0, False)]
"""

from __future__ import annotations

import math

import polars as pl

from society.analysis.data import AnalysisError
from society.sweeps.design import OAT_QUANTILES, Design
from society.sweeps.summary import paired_difference

SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "low_value": pl.Float64(),
    "high_value": pl.Float64(),
    "reference": pl.Float64(),
    "low": pl.Float64(),
    "high": pl.Float64(),
    "low_diff": pl.Float64(),
    "low_diff_lo": pl.Float64(),
    "low_diff_hi": pl.Float64(),
    "high_diff": pl.Float64(),
    "high_diff_lo": pl.Float64(),
    "high_diff_hi": pl.Float64(),
    "pairs": pl.Int64(),
    "effect": pl.Float64(),
    "moves": pl.Boolean(),
}


def oat_effects(
    design: Design,
    runs: pl.DataFrame,
    values: dict[str, tuple[float, float]],
    *,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """One row per key of ``design``, largest effect first.

    ``runs`` has one row per finished run: ``arm``, ``replicate`` and its value ``y``;
    ``values`` gives each key's ``(5% value, 95% value)`` as the sweep ran them. Columns:
    the two values; the target's mean at the medians (``reference``) and at each end
    (``low``, ``high``); each end's paired difference from the medians with its interval
    (``low_diff``, ``low_diff_lo``, ``low_diff_hi``, and the same for ``high``); ``pairs``, the
    replicates finished in all three arms; ``effect``, the larger absolute difference; and
    ``moves``, whether either interval excludes 0 (an end whose every difference is 0 moves
    nothing).
    """
    if design.method != "oat":
        raise AnalysisError(f"one-at-a-time effects need an oat design, not {design.method!r}.")
    by_arm = {
        int(arm[0]): dict(zip(part["replicate"].to_list(), part["y"].to_list(), strict=True))
        for arm, part in runs.group_by("arm")
    }
    reference = by_arm.get(0, {})
    if not reference:
        raise AnalysisError(
            "the medians' arm (arm 0) has no finished run with a value, and every effect is "
            "measured from it; rerun it with `society sweep --resume DIR`."
        )
    rows = []
    for j, key in enumerate(design.keys):
        low_runs, high_runs = by_arm.get(1 + 2 * j, {}), by_arm.get(2 + 2 * j, {})
        shared = sorted(set(reference) & set(low_runs) & set(high_runs))
        low = paired_difference([low_runs[r] - reference[r] for r in shared], confidence)
        high = paired_difference([high_runs[r] - reference[r] for r in shared], confidence)
        effect = max(abs(low[0]), abs(high[0])) if shared else math.nan
        rows.append(
            {
                "parameter": key,
                "low_value": values[key][0],
                "high_value": values[key][1],
                "reference": _mean([reference[r] for r in shared]),
                "low": _mean([low_runs[r] for r in shared]),
                "high": _mean([high_runs[r] for r in shared]),
                "low_diff": low[0],
                "low_diff_lo": low[1],
                "low_diff_hi": low[2],
                "high_diff": high[0],
                "high_diff_lo": high[1],
                "high_diff_hi": high[2],
                "pairs": len(shared),
                "effect": effect,
                "moves": _excludes_zero(low) or _excludes_zero(high),
            }
        )
    table = pl.DataFrame(rows, schema=SCHEMA)
    return table.sort("effect", descending=True, nulls_last=True, maintain_order=True)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _excludes_zero(diff: tuple[float, float, float]) -> bool:
    """Whether the interval lies on one side of 0 (every change 0 gives ``[0, 0]``: no; one
    pair gives no interval, NaN: no)."""
    _, lo, hi = diff
    return bool(lo > 0.0 or hi < 0.0)


def describe(
    table: pl.DataFrame, label: str, replicates: int, confidence: float = 0.95
) -> list[str]:
    """The result in sentences: which assumptions move the target, which do not."""
    moving = table.filter(pl.col("moves"))
    still = table.filter(~pl.col("moves"))
    q_low, q_high = (f"{q:.0%}" for q in OAT_QUANTILES)
    reference = _mean(table["reference"].drop_nans().to_list())
    words = [
        f"At the medians {label} is {show(reference)}; {moving.height} of {table.height} "
        f"assumptions move it on their own (the paired {confidence:.0%} interval of the change at "
        f"their {q_low} or {q_high} quantile excludes 0, over {replicates} replicates)."
    ]
    for r in moving.head(5).iter_rows(named=True):
        words.append(
            f"{r['parameter']}: {show(r['low'])} at {show(r['low_value'])} ({q_low}), "
            f"{show(r['high'])} at {show(r['high_value'])} ({q_high})."
        )
    if still.height:
        effects = still["effect"].drop_nans().to_list()
        largest = max(effects, default=0.0)
        words.append(
            f"The other {still.height} move it by at most {show(largest)} at either end, "
            f"within their intervals: at the medians, {label} does not depend on them alone."
        )
    return words


def show(x: float, *, signed: bool = False) -> str:
    """A value or change in three significant figures (``n/a`` for NaN).

    >>> show(0.98431), show(-0.0004), show(0.0, signed=True), show(126690.2), show(1.413e-05)
    ('0.984', '-0.0004', '+0', '126,690', '1.4e-05')
    """
    if math.isnan(x):
        return "n/a"
    sign = "+" if signed and x >= 0 else ""
    if x == 0:
        return f"{sign}0"
    if abs(x) >= 1000:
        text = f"{x:,.0f}"
    elif abs(x) >= 1e-3:
        text = f"{x:.3g}"
    else:
        text = f"{x:.2g}"
    return sign + text
