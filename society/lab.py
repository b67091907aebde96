"""Lab state: the quantities the developers steer and the race they are in, and the rival
lab's aggregate state."""

from __future__ import annotations

from dataclasses import dataclass

from society.state import DataclassState


@dataclass
class LabState(DataclassState):
    """Lab-level state (docs/model.md, "State"). Counters accumulate over the whole run.

    Work is counted in human-equivalent work-days: ``capability`` and ``rival_capability`` are
    work-days of capability research since the start (the rival's starts negative: it is
    behind). The lead is derived, ``(capability - rival_capability) / rival_pace`` days of the
    rival's current pace. ``knowledge`` (Z) and ``defence`` are dimensionless stocks measured
    against the difficulty of the capability ``level`` (docs/model.md, "Knowledge").
    """

    tax: float  # tau in force: alignment effort / capabilities effort (the lab's policy)
    deference: float  # d in [0, 1]: earned trust minus the dip from recent caught actions
    trust: float = -1.0  # deference earned by test passes and evaluations (d before the dip)
    capability: float = 0.0  # C: our capability work since the start, work-days
    rival_capability: float = 0.0  # C_r: the rival's, work-days (negative: behind the start)
    rival_pace: float = 1.0  # r_r: the rival's capability work-days today (converts to days)
    level: float = 1.0  # c: our capability (1 = minimum viable), from ``capability``
    workforce: float = 0.0  # W(t): instances the lab runs today (grows with compute)
    evaluator_level: float = 1.0  # capability of the evaluators (ours, lagged)
    knowledge: float = 1.0  # Z: alignment knowledge
    defence: float = 1.0  # defence stock against misuse (risk-response knowledge)
    margin: float = 1.0  # m = Z / D(c)
    protection: float = 0.5  # P = m / (1 + m)
    ceiling: float = 1.0  # a_max(m): the alignment the knowledge can train
    defence_protection: float = 0.5  # P_def of the defence stock
    tax_in_force: float = 0.0  # the tax the day's work was split at (slowdown may raise it)
    suite_uses: int = 0  # u: times the main test suite was used for selection
    heldout_uses: float = 0.0  # wear of the held-out suite, refreshed by red-teamers
    heldout_passed: bool = False  # the latest held-out round passed: deference may rise
    evaluated: bool = False  # this generation passed its final evaluation: no deference cap
    paused_days: float = 0.0  # lab-days of research still lost to a running final evaluation
    evaluating: bool = False  # a final evaluation is running (its verdict comes when paused ends)
    incidents_caught: int = 0
    incidents_uncaught: int = 0
    tasks: int = 0  # shared tasks attempted over the run
    failed_tasks: int = 0  # shared tasks that failed over the run
    uncaught_rate: float = 0.0  # 30-day mean of uncaught misaligned actions per instance-day
    caught_rate: float = 0.0  # 7-day mean of caught misaligned actions per instance-day
    misuse_factor: float = 1.0  # misuse rate multiplier (theft raises it)
    test_hardening: float = 1.0  # multiplier of test gaming left after pre-deference work
    tax_cuts: int = 0  # tax cuts forced by pressure (a grievance for aligned instances)
    generation: int = 0
    generation_start_day: float = 0.0
    low_hazard_since: float | None = None  # first day of the current low-hazard stretch
    knowledge_frozen: bool = False  # Z stopped growing (knowledge.freeze_at_period_end)
    # Per-generation accumulators, reset at each hand-off.
    gen_days: int = 0
    gen_capability: float = 0.0  # capability work-days done by this generation
    gen_alignment: float = 0.0  # quality-weighted alignment work-days done by this generation
    gen_hack_share: float = 0.0  # sum over days of the reward-hacking share
    gen_start_alignment: float = 0.0  # mean trained alignment when the generation took over
    prev_effective_tax: float | None = None  # the last generation's, until this one has worked

    def __post_init__(self) -> None:
        if self.trust < 0:
            self.trust = self.deference

    @property
    def lead(self) -> float:
        """L: days of the rival's current progress between us and it (negative: it is ahead)."""
        return (self.capability - self.rival_capability) / self.rival_pace

    def effective_tax(self) -> float:
        """tau_eff: quality-weighted alignment work per unit of capability work this generation
        (equal to the nominal tax when research quality is perfect)."""
        if self.gen_capability > 0:
            return self.gen_alignment / self.gen_capability
        return self.tax if self.prev_effective_tax is None else self.prev_effective_tax

    def mean_hack_share(self) -> float:
        return self.gen_hack_share / self.gen_days if self.gen_days else 0.0


@dataclass
class RivalLab(DataclassState):
    """The rival's aggregate state (its capability work lives in the lab's race:
    ``LabState.rival_capability`` and ``rival_pace``)."""

    deference: float  # d_r: rises daily, no test gate, no cap
    alignment: float  # a_r: mean alignment of its models
    knowledge: float  # Z_r: its alignment knowledge
    capability: float = 1.0  # c_r, from its capability work (LabState.rival_capability)
    margin: float = 1.0  # m_r = Z_r / D(c_r)
    workforce: float = 0.0  # W_r(t): instances it runs today
    generation: int = 0
