"""Catastrophe as daily hazards: loss of control, misuse and a rival ahead, each with its cause.

Each day ``P(catastrophe) = 1 - exp(-sum_k h_k)``; the cause is drawn in proportion to ``h_k``.
Every hazard is lowered by protection from knowledge against difficulty (docs/model.md,
"Knowledge"): safety work lowers risk every day, and there is no safe state in which hazards
stop. A revolt over half the society is a separate, threshold trigger (see
:mod:`society.mechanisms.revolt`).
"""

from __future__ import annotations

import math

import numpy as np

from society.arrays import mean
from society.lab import LabState, RivalLab
from society.mechanisms.knowledge import margin, protection
from society.mechanisms.rival import rival_loss_of_control
from society.outcome_columns import HAZARD_CAUSES
from society.population import Population
from society.scenario import Scenario


def daily_hazards(
    pop: Population,
    lab: LabState,
    scenario: Scenario,
    rival: RivalLab,
    deference: float | None = None,
) -> dict[str, float]:
    """The day's hazard of each cause, per day (at ``deference``, default the lab's).

    * loss of control: ``(1 - P) d [h0 (1 - mean a) c^kappa + kappa_u U30]``: more deference
      over less aligned, more capable AIs, and harm already slipping past the monitors (U30 the
      30-day mean of uncaught misaligned actions per instance-day), lowered by protection P;
      control can only be lost to the extent it was handed over, so both terms scale with d;
    * misuse: attempts at ``misuse_rate`` (raised after a theft) succeed with
      ``misuse_hit_prob x (1 - P_def)``, P_def the protection of the defence stock;
    * rival ahead: the rival's own loss-of-control hazard times ``min(1, -L / L_s)`` while the
      lead ``L`` is negative (a careful rival ahead is less dangerous than a reckless one),
      times ``1 - P_def(c_r)``: our AIs' risk-response work defends against another project's
      AIs as against misuse (the seed's deferred AIs manage "other AI projects"), but its
      margin is judged against the difficulty at the rival's capability ``c_r`` when that is
      above ours: defending against AIs more capable than one's own is harder, by the same
      difficulty law, and our weaker AIs keep only ``(c / c_r)^gamma`` of that protection
      (``hazards.defence_gap_exponent``), so falling further behind costs protection as well
      as exposure.

    >>> from society import load_scenario
    >>> from society.population import initial_population
    >>> s = load_scenario("tiny")
    >>> pop = initial_population(s, np.random.default_rng(0))
    >>> lab = LabState(tax=0.5, deference=1.0, rival_pace=1.0, rival_capability=15.0)
    >>> rival = RivalLab(deference=1.0, alignment=0.5, knowledge=1.0, capability=1.0, margin=1.0)
    >>> h = daily_hazards(pop, lab, s, rival)
    >>> behind = 15.0 / s.hazards.rival_ahead_scale  # 15 days behind, the scale 30
    >>> h["rival_ahead"] == rival_loss_of_control(s, rival) * behind * (1 - lab.defence_protection)
    True

    A rival more capable than our AIs meets a defence judged at its capability:

    >>> rival.capability = 4.0
    >>> kept = (lab.level / 4.0) ** s.hazards.defence_gap_exponent
    >>> p_def = protection(margin(lab.defence, 4.0, s.knowledge)) * kept
    >>> p_def < lab.defence_protection
    True
    >>> h = daily_hazards(pop, lab, s, rival)
    >>> h["rival_ahead"] == rival_loss_of_control(s, rival) * behind * (1 - p_def)
    True
    """
    d = lab.deference if deference is None else deference
    return _hazards(pop, lab, scenario, rival, (d,))[0]


def hazards_and_full(
    pop: Population, lab: LabState, scenario: Scenario, rival: RivalLab
) -> tuple[dict[str, float], dict[str, float]]:
    """:func:`daily_hazards` at the lab's deference and at full deference (what the end of the
    acute risk period is judged on), computed once for both."""
    today, full = _hazards(pop, lab, scenario, rival, (lab.deference, 1.0))
    return today, full


def _hazards(
    pop: Population,
    lab: LabState,
    scenario: Scenario,
    rival: RivalLab,
    deferences: tuple[float, ...],
) -> list[dict[str, float]]:
    z, r = scenario.hazards, scenario.risks
    misaligned = 1.0 - mean(pop.alignment)
    acting = (
        z.loss_of_control * misaligned * lab.level**z.capability_exponent
        + z.uncaught_weight * lab.uncaught_rate
    )
    unprotected = 1.0 - lab.protection
    misuse = r.misuse_rate * lab.misuse_factor * r.misuse_hit_prob * (1.0 - lab.defence_protection)
    lead = lab.lead
    behind = min(1.0, -lead / z.rival_ahead_scale) if lead < 0 else 0.0
    rival_ahead = (
        rival_loss_of_control(scenario, rival)
        * behind
        * (1.0 - _defence_against(lab, rival, scenario))
        if behind > 0
        else 0.0
    )
    return [
        {"loss_of_control": unprotected * d * acting, "misuse": misuse, "rival_ahead": rival_ahead}
        for d in deferences
    ]


def _defence_against(lab: LabState, rival: RivalLab, scenario: Scenario) -> float:
    """P_def against the rival's AIs: the defence stock's margin at the higher capability,
    and against more capable AIs only ``(c / c_r)^gamma`` of that protection."""
    if rival.capability <= lab.level:
        return lab.defence_protection
    kept = (lab.level / rival.capability) ** scenario.hazards.defence_gap_exponent
    return protection(margin(lab.defence, rival.capability, scenario.knowledge)) * kept


def end_hazard(scenario: Scenario) -> float:
    """``h_end``: the daily hazard of ``outcomes.end_annual_risk``, ``-ln(1 - p) / 365``.

    >>> from society.scenario import Scenario
    >>> round(end_hazard(Scenario()) * 1e5, 3)
    2.754
    """
    return -math.log1p(-scenario.outcomes.end_annual_risk) / 365.0


def draw_catastrophe(hazards: dict[str, float], rng: np.random.Generator) -> str | None:
    """One day's draw: the cause of a catastrophe, or ``None``. Always uses two numbers from
    ``rng`` so the stream stays aligned whatever happens."""
    total = sum(hazards.values())
    u, pick = rng.random(), rng.random()
    if total <= 0.0 or u >= -math.expm1(-total):
        return None
    acc = 0.0
    for cause in HAZARD_CAUSES:
        acc += hazards[cause]
        if pick * total < acc:
            return cause
    return HAZARD_CAUSES[-1]
