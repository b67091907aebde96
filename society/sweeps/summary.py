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
from typing import TYPE_CHECKING, Any

import polars as pl

from society.errors import printable
from society.outcome_columns import CAUSES, outcome_flags
from society.sweeps.spec import SweepError
from society.sweeps.store import SweepStore

if TYPE_CHECKING:
    from society.claims import Claim

#: (flag column derived from points.parquet, short label) of the outcomes summarised per arm,
#: the answer first.
OUTCOMES = (
    ("safe", "safe"),
    ("catastrophe", "catastrophe"),
    ("left_basin", "left_basin"),
    ("lost_lead", "lost_lead"),
)
#: The catastrophe's cause, one flag each (``catastrophe_cause == cause``).
CAUSE_OUTCOMES = tuple((f"cause_{c}", f"cause_{c}") for c in CAUSES)


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


#: The long summary table's columns besides the arm's swept values.
LONG_SCHEMA: dict[str, pl.DataType] = {
    "arm": pl.Int64(),
    "reference": pl.Boolean(),
    "runs": pl.Int64(),
    "failed": pl.Int64(),
    "statistic": pl.String(),
    "outcome": pl.String(),
    "estimate": pl.Float64(),
    "low": pl.Float64(),
    "high": pl.Float64(),
    "n": pl.Int64(),
    "method": pl.String(),
    "verdict": pl.String(),
}


def long_table(
    wide: pl.DataFrame,
    columns: list[str],
    answers: list[Any] | None = None,
    claim_event: str | None = None,
) -> pl.DataFrame:
    """The summary as a long table: one row per arm x statistic x outcome.

    ``statistic`` is ``probability`` (Wilson interval, ``n`` runs), ``paired_difference``
    (against the reference arm, t interval, ``n`` pairs) or ``claim`` (the claim's event,
    Clopper-Pearson interval or, for ``society ask --until-decided``, the confidence sequence,
    with ``verdict``). Where there is no estimate or no interval
    (no runs; one pair; every pair alike), ``estimate``, ``low`` and ``high`` are null, not 0
    or NaN. ``columns`` are the swept values' columns, kept on every row.
    """
    rows: list[dict[str, Any]] = []
    by_arm = {a.arm: a.answer for a in answers or []}
    for row in wide.iter_rows(named=True):
        head = {c: row[c] for c in columns}
        head.update(
            arm=row["arm"], reference=row["reference"], runs=row["runs"], failed=row["failed"]
        )
        n = row["runs"] - row["failed"]
        for _, label in OUTCOMES + CAUSE_OUTCOMES:
            p, lo, hi = row[f"p_{label}"], row[f"p_{label}_lo"], row[f"p_{label}_hi"]
            rows.append(
                {**head, "statistic": "probability", "outcome": label, "method": "wilson"}
                | _interval(p, lo, hi, n)
            )
            d, dlo, dhi = row[f"d_{label}"], row[f"d_{label}_lo"], row[f"d_{label}_hi"]
            if not _finite(dlo) or dhi - dlo < 1e-12:  # one pair, or every pair alike
                dlo = dhi = math.nan
            rows.append(
                {**head, "statistic": "paired_difference", "outcome": label, "method": "paired_t"}
                | _interval(d, dlo, dhi, row["n_paired"])
            )
        answer = by_arm.get(row["arm"])
        if answer is not None:
            rows.append(
                {
                    **head,
                    "statistic": "claim",
                    "outcome": claim_event,
                    "method": "confidence_sequence"
                    if answer.rule == "sequential"
                    else "clopper_pearson",
                    "verdict": answer.verdict,
                }
                | _interval(answer.estimate, answer.low, answer.high, answer.n)
            )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "arm": pl.Int64(),
        **{c: wide.schema[c] for c in columns},
        **{k: v for k, v in LONG_SCHEMA.items() if k != "arm"},
    }
    return pl.DataFrame(rows, schema=schema)


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _interval(estimate: float, low: float, high: float, n: int) -> dict[str, Any]:
    def value(x: float) -> float | None:
        return float(x) if _finite(x) else None

    return {"estimate": value(estimate), "low": value(low), "high": value(high), "n": n}


def swept_columns(manifest: dict[str, Any]) -> dict[str, str]:
    """Column name -> dotted key of a sweep's swept fields (``lab__tax`` -> ``lab.tax``);
    sweeps written before columns lost their dots name them by the key itself."""
    info = manifest.get("sweep", {})
    keys = list(info.get("keys", []))
    mapping = info.get("columns")
    if isinstance(mapping, dict):
        return {c: k for c, k in mapping.items() if k in keys}
    return {k: k for k in keys}


def summarise_dir(
    root: str | Path, reference_arm: int | None = None, confidence: float = 0.95
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Summarise a sweep directory; write ``summary.parquet`` (long: :func:`long_table`)
    there; return the per-arm (wide) table and the manifest."""
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
    columns = swept_columns(manifest)
    points = store.read_points(list(columns))
    ref = info.get("reference_arm", 0) if reference_arm is None else reference_arm
    try:
        table = summarise(points, list(columns), ref, confidence)
    except SweepError as err:  # say which sweep
        raise SweepError(f"{store.root}: {err}") from None
    claim = sweep_claim(manifest)
    answers = None
    if claim is not None:
        from society.sweeps.answers import arm_answers, claim_rule

        answers = arm_answers(points, columns, claim, confidence, claim_rule(manifest))
    from society.store.rundir import write_parquet

    long = long_table(table, list(columns), answers, claim.event if claim else None)
    write_parquet(long, store.summary_path)
    return table, manifest


def sweep_claim(manifest: dict[str, Any]) -> Claim | None:
    """The claim a sweep directory answers (its own, else its scenario's), if any."""
    from pydantic import ValidationError

    from society.claims import Claim

    info = manifest.get("sweep", {})
    stored = info.get("claim")
    if stored is None and "claim" not in info:  # written before sweeps recorded their claim
        stored = (info.get("scenario_doc") or {}).get("claim")
    if not stored:
        return None
    try:
        claim = Claim.model_validate(stored)
    except (ValidationError, TypeError, ValueError, RecursionError) as err:
        detail = err.errors()[0]["msg"] if isinstance(err, ValidationError) else type(err).__name__
        raise SweepError(
            f"The sweep's {SweepStore.MANIFEST} cannot be read: its claim is not one this "
            f"version reads ({printable(detail, 80)}). Rerun `society sweep` to recreate the sweep."
        ) from None
    return claim if claim.active else None
