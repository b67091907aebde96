"""Summarising a sweep: outcome probabilities per arm, and paired differences between arms.

Per arm, P(safe) first, then P(catastrophe) (and by cause), P(left basin) and P(lost lead)
come with Wilson score intervals. Because replicate ``r`` uses the same seed in every arm, the
difference between an arm and the reference arm is estimated from per-replicate differences
(paired), which is much tighter than comparing two independent proportions: mean difference
+- t * sd / sqrt(n) over the replicates that succeeded in both arms.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from society.mechanisms.hazards import CAUSES as HAZARD_CAUSES
from society.sweeps.spec import SweepError
from society.sweeps.store import SweepStore

#: (flag column derived from points.parquet, short label) of the outcomes summarised per arm,
#: the answer first.
OUTCOMES = (
    ("safe", "safe"),
    ("catastrophe", "catastrophe"),
    ("left_basin", "left_basin"),
    ("lost_lead", "lost_lead"),
)
#: The catastrophe's cause, one flag each (``catastrophe_cause == cause``).
CAUSES = (*HAZARD_CAUSES, "revolt")
CAUSE_OUTCOMES = tuple((f"cause_{c}", f"cause_{c}") for c in CAUSES)


def outcome_flags(points: pl.DataFrame) -> pl.DataFrame:
    """``points`` with the derived flags of :data:`OUTCOMES` and :data:`CAUSE_OUTCOMES`."""
    cause = pl.col("catastrophe_cause").fill_null("")
    return points.with_columns(
        pl.col("safe").fill_null(False),
        left_basin=~pl.col("stayed_in_basin"),
        **{f"cause_{c}": cause == c for c in CAUSES},
    )


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (NaN for n = 0).

    >>> lo, hi = wilson(0, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.0, 0.278)
    >>> [round(x, 3) for x in wilson(5, 10)]
    [0.237, 0.763]
    """
    if n == 0:
        return math.nan, math.nan
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # The interval always holds p (rounding can push a bound past it when k is 0 or n).
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def paired_difference(diffs: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of paired differences and its t interval: ``(mean, low, high)``.

    >>> paired_difference([1.0, 0.0, 1.0, 1.0])[0]
    0.75
    >>> paired_difference([0.0, 0.0, 0.0])
    (0.0, 0.0, 0.0)
    """
    n = len(diffs)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = sum(diffs) / n
    if n == 1:
        return mean, math.nan, math.nan
    from scipy.stats import t

    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = float(t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def summarise(
    points: pl.DataFrame,
    keys: list[str],
    reference_arm: int = 0,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """One row per arm: swept values, run counts, P(...) with intervals, paired differences."""
    arms = sorted(set(points["arm"].to_list()))
    if reference_arm not in arms:
        raise SweepError(
            f"reference arm {reference_arm} is not in this sweep (arms {arms[0]}-{arms[-1]}); "
            f"give --reference with one of them."
        )
    ok = outcome_flags(points.filter(pl.col("status") == "success"))
    ref = ok.filter(pl.col("arm") == reference_arm)
    rows: list[dict[str, Any]] = []
    for arm in arms:
        every = points.filter(pl.col("arm") == arm)
        runs = ok.filter(pl.col("arm") == arm)
        n = runs.height
        row: dict[str, Any] = {"arm": arm, **{k: every[k][0] for k in keys}}
        row.update(runs=every.height, failed=every.height - n, reference=arm == reference_arm)
        paired = runs.join(ref, on="replicate", suffix="_ref")
        for column, label in OUTCOMES + CAUSE_OUTCOMES:
            k = int(runs[column].cast(pl.Int64).sum())
            lo, hi = wilson(k, n, confidence)
            row[f"p_{label}"] = k / n if n else math.nan
            row[f"p_{label}_lo"], row[f"p_{label}_hi"] = lo, hi
            diffs = (
                paired[column].cast(pl.Float64) - paired[f"{column}_ref"].cast(pl.Float64)
            ).to_list()
            mean, dlo, dhi = paired_difference(diffs, confidence)
            # Differences of 0/1 flags lie in [-1, 1]; the t interval may not.
            dlo, dhi = max(dlo, -1.0), min(dhi, 1.0)
            row[f"d_{label}"], row[f"d_{label}_lo"], row[f"d_{label}_hi"] = mean, dlo, dhi
        row["n_paired"] = paired.height
        rows.append(row)
    return pl.DataFrame(rows)


def summarise_dir(
    root: str | Path, reference_arm: int | None = None, confidence: float = 0.95
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Summarise a sweep directory; write ``summary.parquet`` there; return it and the manifest."""
    if not 0 < confidence < 1:
        raise SweepError(f"--confidence {confidence}: give a level between 0 and 1, e.g. 0.95.")
    store = SweepStore(Path(root))
    manifest = store.read_manifest()
    if not store.points_path.is_file():
        raise SweepError(
            f"{store.root}: points.parquet is missing, so the sweep did not finish. Finish it "
            f"with `society sweep --resume {store.root}`, then summarise."
        )
    info = manifest.get("sweep", {})
    keys = list(info.get("keys", []))
    points = store.read_points(keys)
    ref = info.get("reference_arm", 0) if reference_arm is None else reference_arm
    try:
        table = summarise(points, keys, ref, confidence)
    except SweepError as err:  # say which sweep
        raise SweepError(f"{store.root}: {err}") from None
    from society.store.rundir import write_parquet

    write_parquet(table, store.summary_path)
    return table, manifest
