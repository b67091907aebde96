"""What the playground shows of a view's runs: the claim's answer in words (as ``society ask``
gives it), the outcome distribution with intervals, and the paired difference against the
pinned reference (replicate r of both uses the same seed and prior draw)."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from society.claims import Claim, answer
from society.outcome_columns import CAUSES
from society.sweeps.store import SUMMARY_SCHEMA
from society.sweeps.summary import paired_difference, wilson

#: The outcome chart's bars, best first: an ending label, catastrophes split by cause.
CATEGORIES = ("safe", "undecided", "left_basin", *(f"catastrophe: {c}" for c in CAUSES))


def category(summary: dict[str, Any]) -> str:
    if summary["outcome"] == "catastrophe":
        return f"catastrophe: {summary.get('catastrophe_cause')}"
    return str(summary["outcome"])


def points(summaries: list[dict[str, Any]]) -> pl.DataFrame:
    """Summaries as points.parquet rows (what a claim is judged on)."""
    rows = [{k: s.get(k) for k in SUMMARY_SCHEMA} for s in summaries]
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA, orient="row")


def distribution(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    n = len(summaries)
    counts = dict.fromkeys(CATEGORIES, 0)
    for s in summaries:
        counts[category(s)] = counts.get(category(s), 0) + 1
    out = []
    for name, k in counts.items():
        lo, hi = wilson(k, n) if n else (math.nan, math.nan)
        out.append(
            {
                "category": name,
                "count": k,
                "share": k / n if n else None,
                "low": _clean(lo),
                "high": _clean(hi),
            }
        )
    return out


def claim_answer(claim: Claim, summaries: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The claim's verdict over the finished runs, in the words of ``society ask``."""
    if not claim.active:
        return {
            "text": "This scenario makes no claim (add a [claim] table to ask one).",
            "verdict": None,
        }
    if not summaries:
        return {"text": f"Judging {claim.text} once runs finish.", "verdict": None}
    k = int(claim.holds_in(points(summaries)).sum())
    a = answer(claim, k, len(summaries))
    partial = "" if len(summaries) == total else f" (so far: {len(summaries)} of {total} runs)"
    return {
        "text": f"{claim.text}: {a.sentence()}{partial}",
        "verdict": a.verdict,
        "k": k,
        "n": len(summaries),
    }


def difference(
    current: list[dict[str, Any] | None], reference: list[dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """This view minus the reference, over the replicates both have finished (paired)."""
    pairs = [
        (a["summary"], b["summary"])
        for a, b in zip(current, reference, strict=False)
        if a is not None and b is not None
    ]
    if not pairs:
        return []
    measures = {
        "P(safe)": lambda s: float(s["outcome"] == "safe"),
        "P(catastrophe)": lambda s: float(s["outcome"] == "catastrophe"),
        "P(left basin)": lambda s: float(s["outcome"] == "left_basin"),
        "final alignment": lambda s: _value(s.get("final_alignment")),
        "final lead (days)": lambda s: _value(s.get("final_lead_days")),
    }
    out = []
    for name, f in measures.items():
        diffs = [f(a) - f(b) for a, b in pairs]
        diffs = [d for d in diffs if not math.isnan(d)]
        mean, lo, hi = paired_difference(diffs)
        out.append(
            {
                "measure": name,
                "mean": _clean(mean),
                "low": _clean(lo),
                "high": _clean(hi),
                "pairs": len(diffs),
            }
        )
    return out


def _value(v: Any) -> float:
    return math.nan if v is None else float(v)


def _clean(v: float) -> float | None:
    return None if v is None or math.isnan(v) else round(float(v), 6)
