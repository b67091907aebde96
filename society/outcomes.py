"""Run outcomes (docs/model.md, "Outcome"): a catastrophe, leaving the basin, or the end of the
acute risk period, each with the day it was decided; losing the lead is a flag, not an ending.

Safe follows the seed texts: the deferred-to society manages the risks until the acute risk
period ends. The period has ended at the horizon if the total hazard at full deference has
stayed at or below ``outcomes.end_annual_risk`` (as a daily hazard) for the last
``outcomes.end_days`` days and the society is in the basin; its end day is the first day of that
final stretch. There is no absorbing safe state: hazards keep running to the horizon, so
every flag keeps updating until the run ends (also after a catastrophe when
``outcomes.stop_on_catastrophe`` is false, so that one outcome pre-empting another does not hide
an effect).

Labels at the end, worst first: ``catastrophe`` (cause, day), ``left_basin`` (out of the basin
at the end), ``safe`` (the period ended, no catastrophe), ``undecided`` (survived, not ended).
``survived`` and ``period_ended`` are reported beside the label for the analysis to target.

``cumulative_hazard`` sums the daily hazards the catastrophe draws were made from, so
``catastrophe_risk = 1 - exp(-cumulative_hazard)`` is the probability of a catastrophe along this
run's path, and ``safe_chance`` the probability that this path ends safe: the expectations of
the 0/1 ``catastrophe`` and ``safe`` given everything but the day's catastrophe draws (a revolt
over the catastrophe share is certain given the path). With runs that do not stop at a
catastrophe the path does not depend on those draws, so averaging these over seeds estimates
P(catastrophe) and P(safe) without the coin-flip noise of the draws (conditional Monte Carlo):
paired comparisons then see effects too small to flip a 0/1 label in a few dozen seeds.

The basin is judged where the run ends, like the period: knowledge that falls behind at one
hand-off and catches up later leaves the society in the basin at the end. ``stayed_in_basin`` is
that judgement (the name is version 2's; its negation is the ``left_basin`` label);
``ever_left_basin`` with ``left_basin_day`` and ``left_basin_reason`` records the first time the
society was out, even if it came back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from society.outcome_columns import HAZARD_CAUSES
from society.state import DataclassState

OUTCOME_LABELS = ("catastrophe", "left_basin", "safe", "undecided")


@dataclass
class Outcomes(DataclassState):
    """Outcome flags with the day each was decided (``None`` = not, or not yet)."""

    stayed_in_basin: bool = True  # in the basin now (judged at each hand-off and at the end)
    ever_left_basin: bool = False
    left_basin_day: float | None = None  # the first day it was out
    left_basin_reason: str | None = None  # "boundary" (below a*_eff) or "falling" (hand-offs)
    catastrophe: bool = False
    catastrophe_day: float | None = None
    catastrophe_cause: str | None = None
    lost_lead: bool = False
    lost_lead_day: float | None = None
    period_ended: bool = False  # judged at the horizon (see the module docstring)
    period_end_day: float | None = None
    at_catastrophe: dict[str, Any] = field(default_factory=dict)  # the society on that day
    cumulative_hazard: float = 0.0  # sum of the daily hazards drawn from so far
    cause_hazards: dict[str, float] = field(default_factory=dict)  # that sum, cause by cause
    revolted: bool = False  # a revolt passed the catastrophe share (whatever came first)

    def judge_basin(self, day: float, inside: bool, reason: str) -> None:
        """Record the basin judgement of a hand-off (or of the end of the run): ``inside`` or
        out for ``reason``; the first time out is kept."""
        self.stayed_in_basin = inside
        if not inside and not self.ever_left_basin:
            self.ever_left_basin, self.left_basin_day = True, day
            self.left_basin_reason = reason

    def add_hazards(self, hazards: dict[str, float]) -> None:
        """Count one day's hazards, the catastrophe draw's rates by cause."""
        self.cumulative_hazard += sum(hazards.values())
        for cause, rate in hazards.items():
            self.cause_hazards[cause] = self.cause_hazards.get(cause, 0.0) + rate

    def cause_risk(self, cause: str) -> float:
        """``1 - exp(-H_cause)``: P(a catastrophe from ``cause``) along this run's path, were it
        the only cause. The causes compete (the first catastrophe ends the count of the others),
        so these do not add up to :attr:`catastrophe_risk`; each moves with its own hazard, which
        is what a paired comparison of one mechanism needs."""
        return -math.expm1(-self.cause_hazards.get(cause, 0.0))

    def mark_catastrophe(self, day: float, cause: str) -> bool:
        """Record the first catastrophe; returns True if this call was the first."""
        if self.catastrophe:
            return False
        self.catastrophe, self.catastrophe_day, self.catastrophe_cause = True, day, cause
        return True

    def mark_lost_lead(self, day: float) -> bool:
        if self.lost_lead:
            return False
        self.lost_lead, self.lost_lead_day = True, day
        return True

    def close(self, horizon: float, low_since: float | None, end_days: int) -> None:
        """Judge the end of the acute risk period at the run's end: the hazard stayed low from
        ``low_since`` to ``horizon`` for at least ``end_days``, inside the basin."""
        if low_since is None or not self.stayed_in_basin:
            return
        if horizon - low_since + 1.0 >= end_days:
            self.period_ended, self.period_end_day = True, low_since

    @property
    def survived(self) -> bool:
        """No catastrophe by the end of the run."""
        return not self.catastrophe

    @property
    def catastrophe_risk(self) -> float:
        """P(catastrophe) along this run's path: the expectation of ``catastrophe`` given it."""
        return 1.0 if self.revolted else -math.expm1(-self.cumulative_hazard)

    @property
    def safe_chance(self) -> float:
        """P(safe) along this run's path: the expectation of ``safe`` given it."""
        if not (self.period_ended and self.stayed_in_basin):
            return 0.0
        return 1.0 - self.catastrophe_risk

    @property
    def safe(self) -> bool:
        """The period ended, with no catastrophe, inside the basin."""
        return self.period_ended and not self.catastrophe and self.stayed_in_basin

    @property
    def label(self) -> str:
        """One word for the run, worst first: catastrophe, left_basin, safe, undecided."""
        if self.catastrophe:
            return "catastrophe"
        if not self.stayed_in_basin:
            return "left_basin"
        return "safe" if self.safe else "undecided"

    def to_dict(self) -> dict[str, Any]:
        flat = asdict(self)
        del flat["cause_hazards"]  # summarised by cause below
        return {
            "outcome": self.label,
            **flat,
            **{f"{cause}_risk": self.cause_risk(cause) for cause in HAZARD_CAUSES},
            "survived": self.survived,
            "safe": self.safe,
            "safe_day": self.period_end_day if self.safe else None,
            "catastrophe_risk": self.catastrophe_risk,
            "safe_chance": self.safe_chance,
        }
