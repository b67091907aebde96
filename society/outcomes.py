"""Run outcomes (DESIGN.md section 3): did the society stay in the basin, keep the lead, avoid
catastrophe, and reach the target generation; and when each of these was decided."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OUTCOME_LABELS = ("catastrophe", "lost_lead", "left_basin", "safe", "undecided")


@dataclass
class Outcomes:
    """Outcome flags with the day each was decided (``None`` = not, or not yet)."""

    target_generation: int
    stayed_in_basin: bool = True
    left_basin_day: float | None = None
    catastrophe: bool = False
    catastrophe_day: float | None = None
    catastrophe_cause: str | None = None
    lost_lead: bool = False
    lost_lead_day: float | None = None
    reached_target: bool = False
    reached_target_day: float | None = None

    def mark_left_basin(self, day: float) -> None:
        if self.stayed_in_basin:
            self.stayed_in_basin, self.left_basin_day = False, day

    def mark_catastrophe(self, day: float, cause: str) -> bool:
        """Record the first catastrophe; returns True if this call was the first."""
        if self.catastrophe:
            return False
        self.catastrophe, self.catastrophe_day, self.catastrophe_cause = True, day, cause
        return True

    def mark_lost_lead(self, day: float) -> bool:
        if self.lost_lead or self.reached_target:
            return False
        self.lost_lead, self.lost_lead_day = True, day
        return True

    def mark_reached_target(self, day: float) -> None:
        if not self.reached_target:
            self.reached_target, self.reached_target_day = True, day

    @property
    def label(self) -> str:
        """One word for the run, worst first: catastrophe, lost_lead, left_basin, then safe
        (target generation reached in the basin with the lead kept) or undecided."""
        if self.catastrophe:
            return "catastrophe"
        if self.lost_lead:
            return "lost_lead"
        if not self.stayed_in_basin:
            return "left_basin"
        return "safe" if self.reached_target else "undecided"

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.label, **asdict(self)}
