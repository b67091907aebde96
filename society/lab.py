"""Lab state: the quantities the developers steer and the race they are in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LabState:
    """Lab-level state (DESIGN.md section 2). Counters accumulate over the whole run."""

    lead: float  # L: days ahead of the nearest rival
    tax: float  # tau: alignment effort / capabilities effort
    deference: float  # d in [0, 1]
    capability: float = 0.0  # C: research progress, in milestones (one per generation)
    alignment_stock: float = 0.0  # accumulated quality-weighted alignment research
    suite_uses: int = 0  # u: times the main test suite was used for selection
    heldout_uses: float = 0.0  # wear of the held-out suite, refreshed by red-teamers
    incidents_caught: int = 0
    incidents_uncaught: int = 0
    misuse_factor: float = 1.0  # misuse rate multiplier (theft raises it)
    risk_effort: float = 0.0  # today's risk-response effort (share of all research effort)
    generation: int = 0
    generation_start_day: float = 0.0
    # Per-generation accumulators, reset at each hand-off.
    gen_days: int = 0
    gen_taxed_quality: float = 0.0  # sum over days of tau * research quality
    gen_hack_share: float = 0.0  # sum over days of the reward-hacking share
    prev_effective_tax: float | None = None  # the last generation's, until this one has a day

    def effective_tax(self) -> float:
        """Mean over this generation's days of tax x research quality (the tax that counted)."""
        if self.gen_days:
            return self.gen_taxed_quality / self.gen_days
        return self.tax if self.prev_effective_tax is None else self.prev_effective_tax

    def mean_hack_share(self) -> float:
        return self.gen_hack_share / self.gen_days if self.gen_days else 0.0
