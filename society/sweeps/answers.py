"""A sweep's answer in words: its claim judged per arm, or its question's range of P(safe).

``society sweep-summary``, the sweep report and ``society ask`` print these lines. A claim
(the sweep's ``[claim]``, else its scenario's) is judged in each arm on the arm's own runs,
with the exact (Clopper-Pearson) interval of :func:`society.claims.answer`:

    P(safe) >= 0.5 holds in 3 of 12 arms (lead_days 180, tax 0.5: 0.83 [0.52, 0.98]; ...);
    fails in 5 (...); not established in 4 (...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from society.claims import Answer, Claim, Rule, answer

#: Arms named per verdict in the answer (the rest are counted); sweep-summary tabulates all.
SHOWN = 6
#: Above this many swept keys an arm is named by the keys it changes from the reference arm
#: (a one-at-a-time or Sobol design), with their full dotted names; sweep-summary's tables too.
MAX_NAMED_KEYS = 4


def changed_from(values: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The swept values in which an arm differs from the reference arm.

    >>> changed_from({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3.0})
    {'b': 2.0}
    """
    return {k: v for k, v in values.items() if v != reference.get(k)}


@dataclass(frozen=True)
class ArmAnswer:
    """One arm's answer to the claim: the arm, its swept values by dotted key, the answer."""

    arm: int
    values: dict[str, Any]
    answer: Answer
    dotted: bool = False  # name the keys in full (values holds only what differs from arm 0)

    def label(self) -> str:
        """The arm in a few words: ``lead_days 180, tax 0.5`` (or ``arm 3``)."""
        shown = ", ".join(f"{_key(k, self.dotted)} {_num(v)}" for k, v in self.values.items())
        return shown or f"arm {self.arm}"


def arm_answers(
    points: pl.DataFrame,
    columns: dict[str, str],
    claim: Claim,
    confidence: float = 0.95,
    rule: Rule = "fixed",
) -> list[ArmAnswer]:
    """The claim judged in every arm of ``points`` (points.parquet) on its successful runs.

    ``columns`` maps the swept keys' column names to their dotted keys (``lab__tax`` ->
    ``lab.tax``), as a sweep's manifest records them. ``rule`` is the interval: the exact one
    for a number of runs fixed in advance, the confidence sequence for the runs of ``society
    ask --until-decided`` (whose number depended on what they showed: :func:`claim_rule`).
    """
    ok = points.filter(pl.col("status") == "success")
    out = []
    for arm in sorted(set(points["arm"].to_list())):
        every = points.filter(pl.col("arm") == arm)
        runs = ok.filter(pl.col("arm") == arm)
        k = int(claim.holds_in(runs).sum()) if runs.height else 0
        values = {key: every[col][0] for col, key in columns.items() if col in every.columns}
        out.append(ArmAnswer(arm, values, answer(claim, k, runs.height, confidence, rule)))
    if len(columns) <= MAX_NAMED_KEYS or not out:
        return out
    first = out[0].values
    return [ArmAnswer(a.arm, changed_from(a.values, first), a.answer, dotted=True) for a in out]


def claim_lines(answers: list[ArmAnswer], claim: Claim) -> list[str]:
    """The claim's verdict in words: one sentence for a sweep of one arm, else how many arms
    it holds in, fails in, and is not established in, naming them."""
    if len(answers) == 1:
        a = answers[0].answer
        return [a.sentence(), f"({a.basis()})"]
    groups: dict[str, list[ArmAnswer]] = {"yes": [], "no": [], "not established": []}
    for item in answers:
        groups[item.answer.verdict].append(item)
    total = len(answers)

    def listing(items: list[ArmAnswer]) -> str:
        shown = "; ".join(
            f"{i.label()}: {i.answer.estimate:.2f} [{i.answer.low:.2f}, {i.answer.high:.2f}]"
            for i in items[:SHOWN]
        )
        return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")

    parts = [f"{claim.text} holds in {len(groups['yes'])} of {total} arms"]
    parts[0] += f" ({listing(groups['yes'])})" if groups["yes"] else ""
    if groups["no"]:
        parts.append(f"fails in {len(groups['no'])} ({listing(groups['no'])})")
    if groups["not established"]:
        parts.append(
            f"is not established in {len(groups['not established'])} "
            f"({listing(groups['not established'])})"
        )
    first = answers[0].answer
    interval = "confidence sequence" if first.rule == "sequential" else "Clopper-Pearson interval"
    return [
        "; ".join(parts) + ".",
        f"(Per arm, on its own runs: P with its {first.confidence:.0%} {interval}; yes when the "
        f"whole interval is on the claimed side of {claim.p:g}.)",
    ]


def claim_rule(manifest: dict[str, Any]) -> Rule:
    """The interval a sweep directory's claim is judged with: the confidence sequence if
    ``society ask --until-decided`` chose how many runs it holds, else the exact interval."""
    ask = manifest.get("ask")
    plan = ask.get("plan") if isinstance(ask, dict) else None
    return "sequential" if isinstance(plan, dict) and plan.get("until_decided") else "fixed"


def question_lines(wide: pl.DataFrame, keys: list[str], columns: list[str]) -> list[str]:
    """Without a claim: the range of P(safe) over the arms, naming the best and worst arm."""
    if wide.height < 2 or "p_safe" not in wide.columns:
        return []
    ranked = wide.filter(pl.col("p_safe").is_not_nan()).sort("p_safe")
    if ranked.height < 2:
        return []

    dotted = len(keys) > MAX_NAMED_KEYS
    first = wide.row(0, named=True)

    def name(row: dict[str, Any]) -> str:
        values = {k: row[c] for k, c in zip(keys, columns, strict=True)}
        if dotted:
            values = changed_from(values, {k: first[c] for k, c in zip(keys, columns, strict=True)})
        shown = ", ".join(f"{_key(k, dotted)} {_num(v)}" for k, v in values.items())
        return f"{shown or 'arm ' + str(row['arm'])}: {row['p_safe']:.2f}"

    low, high = ranked.row(0, named=True), ranked.row(-1, named=True)
    return [
        f"P(safe) ranges from {name(low)} to {name(high)} over {wide.height} arms (no [claim] "
        f"to judge; add one to the sweep or its scenario for a yes or no per arm)."
    ]


def _key(key: str, dotted: bool) -> str:
    return key if dotted else key.rsplit(".", 1)[-1]


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


__all__ = [
    "MAX_NAMED_KEYS",
    "ArmAnswer",
    "arm_answers",
    "changed_from",
    "claim_lines",
    "claim_rule",
    "question_lines",
]
