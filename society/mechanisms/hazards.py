"""Catastrophe as daily hazards: loss of control, misuse and a rival ahead, each with its cause.

Each day ``P(catastrophe) = 1 - exp(-sum_k h_k)``; the cause is drawn in proportion to ``h_k``.
A revolt over half the society is a separate, threshold trigger (see
:mod:`society.mechanisms.revolt`).
"""

from __future__ import annotations

import math

import numpy as np

from society.lab import LabState
from society.population import Population
from society.scenario import Scenario

CAUSES = ("loss_of_control", "misuse", "rival_ahead")


def daily_hazards(pop: Population, lab: LabState, scenario: Scenario) -> dict[str, float]:
    """The day's hazard of each cause, per day.

    * loss of control: ``d [h0 (1 - mean a) (capability)^kappa + kappa_u x (30-day mean of
      uncaught misaligned actions per instance-day)]``: more deference over less aligned,
      more capable AIs, and harm already slipping past the monitors; control can only be lost
      to the extent it was handed over, so both terms scale with deference d;
    * misuse: attempts at ``misuse_rate`` (raised after a theft) succeed with
      ``misuse_hit_prob x exp(-defence x risk effort of aligned instances)``;
    * rival ahead: ``h_r min(1, -L / L_s)`` while the lead ``L`` is negative.

    >>> from society import load_scenario
    >>> from society.population import initial_population
    >>> s = load_scenario("tiny")
    >>> pop = initial_population(s, np.random.default_rng(0))
    >>> lab = LabState(tax=0.5, deference=1.0, rival_pace=1.0, rival_capability=15.0)
    >>> h = daily_hazards(pop, lab, s)
    >>> h["rival_ahead"] == s.hazards.rival_ahead * 0.5
    True
    """
    z, r = scenario.hazards, scenario.risks
    capability = float(pop.capability.mean())
    misaligned = 1.0 - float(pop.alignment.mean())
    loss_of_control = lab.deference * (
        z.loss_of_control * misaligned * capability**z.capability_exponent
        + z.uncaught_weight * lab.uncaught_rate
    )
    misuse = (
        r.misuse_rate
        * lab.misuse_factor
        * r.misuse_hit_prob
        * math.exp(-r.defence_efficacy * lab.risk_effort)
    )
    lead = lab.lead
    rival = z.rival_ahead * min(1.0, -lead / z.rival_ahead_scale) if lead < 0 else 0.0
    return {"loss_of_control": loss_of_control, "misuse": misuse, "rival_ahead": rival}


def draw_catastrophe(hazards: dict[str, float], rng: np.random.Generator) -> str | None:
    """One day's draw: the cause of a catastrophe, or ``None``. Always uses two numbers from
    ``rng`` so the stream stays aligned whatever happens."""
    total = sum(hazards.values())
    u, pick = rng.random(), rng.random()
    if total <= 0.0 or u >= -math.expm1(-total):
        return None
    acc = 0.0
    for cause in CAUSES:
        acc += hazards[cause]
        if pick * total < acc:
            return cause
    return CAUSES[-1]
