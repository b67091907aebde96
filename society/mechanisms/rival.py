"""The rival: a lab run by the same aggregate equations as ours, without instances.

The rival has its own workforce and speed (as ratios to ours), its own deference (rising
daily without a test gate or cap), tax, mean alignment, alignment knowledge and protection.
Its capability work per day (its *pace*) follows from its throughput and feedback, so it
speeds up and slows down; the lead is measured in days of its current pace. Breakthroughs are
jumps in its progress; a theft copies our capability and alignment, not our knowledge.

Its loss-of-control hazard uses our formula with its own protection,
``(1 - P_r) d_r [h0 (1 - a_r) c_r^kappa + kappa_u U_r]``, where none of its misaligned
actions is caught (``U_r``: it runs no monitors); while it is ahead this is the rival-ahead
hazard, times ``min(1, -L / L_s)`` and times what our defence leaves (``1 - P_def``): a
careful rival ahead is less dangerous than a reckless one.
"""

from __future__ import annotations

import math
import sys

from scipy.optimize import brentq

from society.lab import RivalLab
from society.mechanisms.generations import faithfulness, knowledge_return, trained_alignment
from society.mechanisms.knowledge import (
    capability_level,
    ceiling,
    knowledge_step,
    margin,
    protection,
    workforce_growth,
)
from society.mechanisms.research import work_days_per_instance_day
from society.scenario import Scenario


def rival_output(
    scenario: Scenario, rival: RivalLab, day: float, deference: float | None = None
) -> tuple[float, float]:
    """``(capability work, quality-weighted alignment work)`` of the rival per day, in
    work-days, at its deference (or at ``deference``), its research split at its own tax."""
    return _split(scenario, *_research(scenario, rival, day, deference))


def _research(
    scenario: Scenario, rival: RivalLab, day: float, deference: float | None = None
) -> tuple[float, float]:
    """``(research work-days a day, quality of its alignment work)`` of the rival."""
    s, r = scenario, scenario.rival
    c = rival.capability
    gated = s.work.human_gated_share / max(c, 1.0)
    per_instance = work_days_per_instance_day(
        s.population.speed * r.speed_ratio,
        rival.deference if deference is None else deference,
        gated,
    )
    total = (
        s.population.workforce
        * r.workforce_ratio
        * r.research_share
        * workforce_growth(s.capability, day)
        * (1.0 - s.work.risk_share)
        * per_instance
        * c**s.capability.feedback
    )
    hc = s.work.hard_to_check_share
    skill = 1.0 + s.strategy.capability_quality * max(c - 1.0, 0.0)
    hard = min(1.0, rival.alignment * s.population.epistemic_quality * skill)
    return total, (1.0 - hc) + hc * hard


def _split(
    scenario: Scenario, total: float, quality: float, aligned_share: float | None = None
) -> tuple[float, float]:
    """``(capability work, quality-weighted alignment work)`` from the rival's research: split
    at its own tax, or with ``aligned_share`` on alignment (a coordinated slowdown)."""
    if aligned_share is not None:
        return total * (1.0 - aligned_share), total * aligned_share * quality
    tax = scenario.rival.tax
    return total / (1.0 + tax), total * tax / (1.0 + tax) * quality


def coordinated_share(scenario: Scenario, our_tax: float) -> float:
    """The rival's share of research on alignment while it follows our slowdown at
    ``our_tax`` (the slowdown's tax, infinite = capabilities paused) to the extent
    ``strategy.rival_slowdown``; never below its own share.

    >>> from society.scenario import Scenario
    >>> s = Scenario(strategy={"rival_slowdown": 1.0})
    >>> coordinated_share(s, math.inf), round(coordinated_share(s, 1.0), 3)
    (1.0, 0.5)
    """
    own = scenario.rival.tax / (1.0 + scenario.rival.tax)
    ours = 1.0 if math.isinf(our_tax) else our_tax / (1.0 + our_tax)
    return own + scenario.strategy.rival_slowdown * max(0.0, ours - own)


def new_rival(scenario: Scenario) -> tuple[RivalLab, float, float]:
    """The rival at the start, its capability work and its pace.

    It is ``lab.lead_days`` days behind us: stepped as the engine steps it (its deference
    rising, its workforce growing, its capability feeding back, no breakthrough or theft), it
    reaches our starting capability that many days later. That is what a strategist means by a
    lead of three months. A gap of ``lab.lead_days`` days of its *starting* pace would not be: a
    rival that starts at low deference and low capability speeds up severalfold within weeks, so
    a "year" of its starting pace would be closed in about two months.
    """
    r = scenario.rival
    rival = RivalLab(
        deference=r.initial_deference,
        alignment=r.initial_alignment,
        knowledge=scenario.knowledge.initial,
        workforce=scenario.population.workforce * r.workforce_ratio,
    )
    work = work_behind(scenario, scenario.lab.lead_days)
    rival.capability = capability_level(
        scenario.population.initial_capability, work, scenario.capability
    )
    pace = max(rival_output(scenario, rival, 0.0)[0], 1e-9)
    rival.margin = margin(rival.knowledge, rival.capability, scenario.knowledge)
    return rival, work, pace


def work_behind(scenario: Scenario, days: float) -> float:
    """The rival's capability work (negative) from which it reaches ours at the start (0) after
    ``days`` days, stepped day by day as :func:`rival_day` steps it, without breakthroughs.

    Integrated backward from 0: each day's work ``w`` solves ``w + pace(w, day) = w_next``
    (Brent's method on the bracket ``[w_next - pace(w_next), w_next]``: pace rises with work,
    and near the capability floor it rises too steeply for a fixed-point iteration), so
    stepping forward from the result lands on 0 within rounding; a fractional lead's first day
    is a part day.

    >>> from society.scenario import Scenario
    >>> s = Scenario()
    >>> work = work_behind(s, 90.0)
    >>> rival = new_rival(s)[0]
    >>> for day in range(90):
    ...     work, _ = rival_day(s, rival, work, float(day))
    >>> abs(work) < 1e-9 * s.capability.base_work
    True
    """
    s, r = scenario, scenario.rival
    c0 = s.population.initial_capability
    probe = RivalLab(deference=r.initial_deference, alignment=r.initial_alignment, knowledge=1.0)

    def pace(work: float, day: int) -> float:
        probe.capability = capability_level(c0, work, s.capability)
        return max(rival_output(s, probe, float(day))[0], 1e-9)

    whole = math.ceil(days)
    work = 0.0
    for day in range(whole - 1, -1, -1):
        dt = 1.0 if day > 0 else days - (whole - 1)
        probe.deference = min(1.0, r.initial_deference + r.deference_rise * (day + 1))
        target = work
        low = target - pace(target, day) * dt
        if low + pace(low, day) * dt >= target:  # pace flat below (the capability floor)
            work = low
            continue
        work = brentq(
            lambda w, t=target, d=day, step=dt: w + pace(w, d) * step - t,
            low,
            target,
            xtol=1e-13 * max(abs(low), 1.0),
            rtol=4 * sys.float_info.epsilon,
        )
    return work


def rival_day(
    scenario: Scenario,
    rival: RivalLab,
    work: float,
    day: float,
    dt: float = 1.0,
    published: float = 0.0,
    aligned_share: float | None = None,
) -> tuple[float, float]:
    """Advance the rival by ``dt`` days from ``day``: its deference rises, it works, its
    knowledge grows and is applied, and a successor is trained at each capability milestone.
    Returns its new capability work and its pace (capability work-days a day: the unit of
    the lead).

    ``published`` is the alignment knowledge of ours that reaches it
    (``strategy.share_knowledge`` times ours): its knowledge never falls below that, so
    shared safety work raises its margin, its alignment and its protection. With
    ``aligned_share`` (a coordinated slowdown, :func:`coordinated_share`) it works at that
    split, and the pace returned is still that of its own split: the lead is what it would
    need to catch up if it stopped following.

    >>> from society.scenario import Scenario
    >>> s = Scenario()
    >>> kept, shared = new_rival(s)[0], new_rival(s)[0]
    >>> _ = rival_day(s, kept, 0.0, 0.0)
    >>> _ = rival_day(s, shared, 0.0, 0.0, published=5.0)
    >>> shared.knowledge, shared.margin > kept.margin
    (5.0, True)
    """
    s = scenario
    rival.deference = min(1.0, rival.deference + s.rival.deference_rise * dt)
    rival.workforce = (
        s.population.workforce * s.rival.workforce_ratio * workforce_growth(s.capability, day)
    )
    total, quality = _research(s, rival, day)
    own, aligned_work = _split(s, total, quality)
    pace = max(own, 1e-9)
    if aligned_share is None:
        work += pace * dt
    else:  # it works at the coordinated split; the lead stays in days of its own pace
        progress, aligned_work = _split(s, total, quality, aligned_share)
        work += progress * dt
    rival.knowledge = max(knowledge_step(rival.knowledge, aligned_work, s.knowledge, dt), published)
    rival.capability = capability_level(s.population.initial_capability, work, s.capability)
    m = margin(rival.knowledge, rival.capability, s.knowledge)
    rival.margin = m
    top = ceiling(m, s.knowledge)
    if top > rival.alignment:  # taken as faithfully as its models are aligned, as ours
        rate = s.knowledge.apply_rate * faithfulness(rival.alignment, s.knowledge.faith_floor)
        rival.alignment += -math.expm1(-rate * dt) * (top - rival.alignment)
    milestone = s.population.initial_capability * s.generations.capability_ratio ** (
        rival.generation + 1
    )
    if rival.capability >= milestone:
        rival.generation += 1
        rho = knowledge_return(m, s.generations.rho_max)
        rival.alignment = trained_alignment(
            rival.alignment, rho, s.generations.decay, top, s.knowledge.faith_floor
        )
    return work, pace


def rival_uncaught_rate(scenario: Scenario, rival: RivalLab) -> float:
    """Misaligned actions per rival instance-day, all uncaught (it runs no monitors): our
    action rate at its capability, deference and alignment (plus the test-awareness gap)."""
    s = scenario
    c = rival.capability
    ungated = 1.0 - (1.0 - rival.deference) * s.work.human_gated_share / max(c, 1.0)
    rate = s.monitoring.action_rate * c**s.monitoring.capability_exponent * ungated
    return rate * min(1.0, 1.0 - rival.alignment + s.tests.awareness)


def rival_loss_of_control(scenario: Scenario, rival: RivalLab) -> float:
    """The rival's own loss-of-control hazard,
    ``(1 - P_r) d_r [h0 (1 - a_r) c_r^kappa + kappa_u U_r]``."""
    z = scenario.hazards
    return (
        (1.0 - protection(rival.margin))
        * rival.deference
        * (
            z.loss_of_control * (1.0 - rival.alignment) * rival.capability**z.capability_exponent
            + z.uncaught_weight * rival_uncaught_rate(scenario, rival)
        )
    )
