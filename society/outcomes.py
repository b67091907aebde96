"""Run outcomes (docs/model.md, "Outcome"): a catastrophe, leaving the basin, or reaching safety,
each with the day it was decided; losing the lead is a flag, not an ending.

Safe follows the seed texts: the deferred-to society manages the risks until the acute risk
period ends, which is when the safety work is done (``S >= outcomes.safety_work``) and the
capability to use it is there (generation ``generations.target`` reached), while in the basin
and before any catastrophe. Safe is absorbing: once reached, hazards stop and no flag changes
any more. Before that, every flag keeps updating until the run ends, even after a catastrophe
when ``outcomes.stop_on_catastrophe`` is false: so a comparison of runs can count each flag on
its own, and one outcome pre-empting another does not hide an effect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from society.state import DataclassState

OUTCOME_LABELS = ("catastrophe", "left_basin", "safe", "undecided")


@dataclass
class Outcomes(DataclassState):
    """Outcome flags with the day each was decided (``None`` = not, or not yet)."""

    target_generation: int
    stayed_in_basin: bool = True
    left_basin_day: float | None = None
    left_basin_reason: str | None = None  # "boundary" (below a*_eff) or "falling" (3 falls)
    catastrophe: bool = False
    catastrophe_day: float | None = None
    catastrophe_cause: str | None = None
    lost_lead: bool = False
    lost_lead_day: float | None = None
    reached_target: bool = False
    reached_target_day: float | None = None
    safety_done: bool = False
    safety_done_day: float | None = None
    safe: bool = False
    safe_day: float | None = None

    @property
    def decided(self) -> bool:
        """True once the run's story is over: safe or a catastrophe."""
        return self.safe or self.catastrophe

    def mark_left_basin(self, day: float, reason: str) -> None:
        if self.stayed_in_basin and not self.safe:
            self.stayed_in_basin, self.left_basin_day = False, day
            self.left_basin_reason = reason

    def mark_catastrophe(self, day: float, cause: str) -> bool:
        """Record the first catastrophe; returns True if this call was the first."""
        if self.decided:  # safe is absorbing; only the first catastrophe counts
            return False
        self.catastrophe, self.catastrophe_day, self.catastrophe_cause = True, day, cause
        return True

    def mark_lost_lead(self, day: float) -> bool:
        if self.lost_lead or self.safe:
            return False
        self.lost_lead, self.lost_lead_day = True, day
        return True

    def mark_reached_target(self, day: float) -> None:
        if not self.reached_target and not self.safe:
            self.reached_target, self.reached_target_day = True, day

    def mark_safety_done(self, day: float) -> None:
        if not self.safety_done and not self.safe:
            self.safety_done, self.safety_done_day = True, day

    def check_safe(self, day: float) -> bool:
        """Mark safe if every condition holds now; returns True on the day it is reached."""
        if self.decided or not self.stayed_in_basin:
            return False
        if self.reached_target and self.safety_done:
            self.safe, self.safe_day = True, day
            return True
        return False

    @property
    def label(self) -> str:
        """One word for the run, worst first: catastrophe, left_basin, safe, undecided."""
        if self.catastrophe:
            return "catastrophe"
        if not self.stayed_in_basin:
            return "left_basin"
        return "safe" if self.safe else "undecided"

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.label, **asdict(self)}
