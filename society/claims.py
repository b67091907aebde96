"""Claims: a scenario's (or a sweep's) question in a form the runs can answer.

A claim names an event of one run and a probability, and says the event's probability is at
least (or at most) that much::

    [claim]                              [claim]
    outcome = "safe"                     metric = "final_alignment"
    op = ">="                            metric_op = ">="
    p = 0.9                              threshold = 0.7
                                         op = ">="
                                         p = 0.9

reads "P(safe) >= 0.9" and "P(final_alignment >= 0.7) >= 0.9". The event is an outcome flag
of the run summary (:func:`outcome_names`) or a comparison of one of its figures
(:func:`metric_names`) with a threshold. Both lists come from the columns of ``points.parquet``
(:data:`society.sweeps.store.SUMMARY_SCHEMA`), so an outcome the model adds there (a Boolean
column) can be claimed at once.

An :class:`Answer` holds the runs' count, the interval and the verdict: "yes" when the whole
interval lies on the claimed side of ``p``, "no" when it lies wholly on the other side, "not
established" otherwise (:mod:`society.sequential` has the intervals).

Examples
--------
>>> claim = Claim(outcome="safe", op=">=", p=0.9)
>>> claim.text
'P(safe) >= 0.9'
>>> answer(claim, 95, 100).sentence()
'not established at this n: P(safe) = 0.95 [0.89, 0.98] straddles 0.9 (100 runs)'
>>> answer(claim, 990, 1000).sentence()
'yes: P(safe) = 0.99 [0.98, 1.00] >= 0.9'
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import polars as pl

Verdict = Literal["yes", "no", "not established"]
Rule = Literal["fixed", "sequential"]


def _field(
    default: Any, doc: str, unit: str = "-", *, ge: float | None = None, le: float | None = None
) -> Any:
    return Field(
        default, description=doc, json_schema_extra={"unit": unit, "kind": "question"}, ge=ge, le=le
    )


class Claim(BaseModel):
    """``[claim]``: the probability of one run's event that the scenario's question claims."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, validate_default=True, allow_inf_nan=False
    )

    outcome: str = _field(
        "",
        "Outcome flag the claim is about (e.g. safe; `society ask --help` lists them); empty and "
        "no metric: the scenario makes no claim.",
    )
    metric: str = _field(
        "",
        "Or a summary figure (e.g. final_alignment), compared with claim.threshold by "
        "claim.metric_op.",
    )
    metric_op: Literal[">=", ">", "<=", "<"] = _field(
        ">=", "How the metric is compared with the threshold."
    )
    threshold: float = _field(
        0.0,
        "The metric's threshold (required with claim.metric).",
        "the metric's",
        ge=-1e15,
        le=1e15,
    )
    op: Literal[">=", "<="] = _field(
        ">=", "The claim: the event's probability is at least (>=) or at most (<=) claim.p."
    )
    p: float = _field(
        0.0, "The probability claimed (required with a claim).", "probability", ge=0, le=1
    )

    @model_validator(mode="after")
    def _known(self) -> Claim:
        if not self.outcome and not self.metric:
            return self
        if self.outcome and self.metric:
            raise ValueError(
                f"give outcome or metric, not both (outcome = '{self.outcome}', metric = "
                f"'{self.metric}')"
            )
        if self.outcome and self.outcome not in outcome_names():
            raise ValueError(_unknown("outcome", self.outcome, outcome_names()))
        if self.metric and self.metric not in metric_names():
            raise ValueError(_unknown("metric", self.metric, metric_names()))
        if self.metric and "threshold" not in self.model_fields_set:
            raise ValueError(
                f"metric = '{self.metric}' needs threshold = the value it is compared with "
                f"(e.g. threshold = 0.7)"
            )
        if not 0 < self.p < 1:
            raise ValueError(
                "p = the probability the claim states is required, strictly between 0 and 1 "
                "(e.g. p = 0.9)"
            )
        return self

    @property
    def active(self) -> bool:
        """Whether there is a claim at all."""
        return bool(self.outcome or self.metric)

    @property
    def event(self) -> str:
        """The run's event in words: ``safe`` or ``final_alignment >= 0.7``."""
        return self.outcome or f"{self.metric} {self.metric_op} {self.threshold:g}"

    @property
    def text(self) -> str:
        """The claim in symbols: ``P(safe) >= 0.9``."""
        return f"P({self.event}) {self.op} {self.p:g}"

    def holds_in(self, points: pl.DataFrame) -> pl.Series:
        """Per row of ``points`` (successful runs, points.parquet columns): whether the event
        happened. A run without the figure (null) counts as without the event."""
        import polars as pl

        from society.outcome_columns import outcome_flags

        flags = outcome_flags(points)
        if self.outcome:
            column = pl.col(self.outcome)
        else:
            value = pl.col(self.metric)
            column = {
                ">=": value >= self.threshold,
                ">": value > self.threshold,
                "<=": value <= self.threshold,
                "<": value < self.threshold,
            }[self.metric_op]
        return flags.select(column.fill_null(False).alias(self.event)).to_series()


def _unknown(what: str, name: str, allowed: tuple[str, ...]) -> str:
    hint = difflib.get_close_matches(name, allowed, n=1)
    mean = f" Did you mean '{hint[0]}'?" if hint else ""
    other = (
        f"or give metric = one of {', '.join(metric_names())} with a threshold"
        if what == "outcome"
        else f"or give outcome = one of {', '.join(outcome_names())}"
    )
    return (
        f"{what} = '{name}' is not one the runs record.{mean} Allowed {what}s: "
        f"{', '.join(allowed)}; {other}"
    )


def outcome_names() -> tuple[str, ...]:
    """The outcomes a claim may name: every Boolean column of the run summary in
    points.parquet, ``left_basin`` (not ``stayed_in_basin``) and one ``cause_<cause>`` flag
    per catastrophe cause.

    >>> {"safe", "catastrophe", "left_basin", "cause_misuse"} <= set(outcome_names())
    True
    """
    import polars as pl

    from society.outcome_columns import DERIVED_FLAGS, SUMMARY_SCHEMA

    flags = [k for k, t in SUMMARY_SCHEMA.items() if t == pl.Boolean()]
    return tuple(dict.fromkeys([*flags, *DERIVED_FLAGS]))


def metric_names() -> tuple[str, ...]:
    """The figures a claim may compare with a threshold: every numeric column of the run
    summary in points.parquet except the days flags were set (null when they were not).

    >>> "final_alignment" in metric_names(), "safe_day" in metric_names()
    (True, False)
    """
    import polars as pl

    from society.outcome_columns import SUMMARY_SCHEMA

    return tuple(
        k
        for k, t in SUMMARY_SCHEMA.items()
        if t in (pl.Float64(), pl.Int64()) and not k.endswith("_day")
    )


@dataclass(frozen=True)
class Answer:
    """What the runs say about a claim: ``k`` of ``n`` runs had the event; the interval
    ``[low, high]`` of its probability at ``confidence``, by the ``rule`` named."""

    claim: Claim
    k: int
    n: int
    low: float
    high: float
    confidence: float
    rule: Rule

    @property
    def estimate(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def verdict(self) -> Verdict:
        """``yes`` when the interval lies wholly on the claimed side of ``p``, ``no`` when
        wholly on the other side, else ``not established``."""
        if self.n == 0:
            return "not established"
        above, below = self.low > self.claim.p, self.high < self.claim.p
        if self.claim.op == ">=":
            return "yes" if above else "no" if below else "not established"
        return "yes" if below else "no" if above else "not established"

    def sentence(self) -> str:
        """The verdict in one line, e.g. ``yes: P(safe) = 0.93 [0.91, 0.95] >= 0.9``."""
        c = self.claim
        if self.n == 0:
            return f"not established: no finished run to estimate P({c.event}) from"
        d = _decimals(self.low, self.high, c.p)
        shown = f"P({c.event}) = {self.estimate:.{d}f} [{_num(self.low, d)}, {_num(self.high, d)}]"
        if self.verdict == "yes":
            return f"yes: {shown} {c.op} {c.p:g}"
        if self.verdict == "no":
            return f"no: {shown} {'<' if c.op == '>=' else '>'} {c.p:g}"
        return f"not established at this n: {shown} straddles {c.p:g} ({self.n:,} runs)"

    def basis(self) -> str:
        """How the interval was made, for the line under the verdict."""
        from society.sequential import FIXED_RULE, SEQUENTIAL_RULE

        rule = SEQUENTIAL_RULE if self.rule == "sequential" else FIXED_RULE
        return f"{self.k:,} of {self.n:,} runs; {self.confidence:.0%} {rule}"


def _decimals(low: float, high: float, p: float) -> int:
    """2 decimals, or more where 2 would show a bound equal to ``p`` that is not."""
    d = 2
    while d < 4 and any(round(b, d) == p and b != p for b in (low, high)):
        d += 1
    return d


def _num(x: float, d: int) -> str:
    """A bound with at most ``d`` decimals, trailing zeros kept to 2."""
    text = f"{x:.{d}f}"
    while d > 2 and text.endswith("0"):
        text, d = text[:-1], d - 1
    return text


def answer(claim: Claim, k: int, n: int, confidence: float = 0.95, rule: Rule = "fixed") -> Answer:
    """The answer ``k`` events in ``n`` runs give: a Clopper-Pearson interval (``fixed``) or
    the confidence sequence's (``sequential``)."""
    from society.sequential import clopper_pearson, confidence_sequence

    if n == 0:
        return Answer(claim, 0, 0, math.nan, math.nan, confidence, rule)
    interval = confidence_sequence if rule == "sequential" else clopper_pearson
    low, high = interval(k, n, confidence)
    return Answer(claim, k, n, low, high, confidence, rule)


__all__ = ["Answer", "Claim", "answer", "metric_names", "outcome_names"]
