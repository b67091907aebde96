"""Monitoring: catching misaligned actions before they execute."""

from __future__ import annotations

import math

import numpy as np

from society.arrays import mean
from society.mechanisms.base import Mechanism, Simulation, register
from society.mechanisms.evaluation import retrain
from society.population import Population, Role
from society.scenario import Monitoring, Tests


def coverage(share: float, p: Monitoring) -> float:
    """Share of actions the monitors see: ``1 - exp(-share / share_scale)``, diminishing
    returns to more monitors.

    >>> round(coverage(0.05, Monitoring(share_scale=0.05)), 4)
    0.6321
    """
    return -math.expm1(-share / p.share_scale)


def catch_probability(pop: Population, p: Monitoring, protection: float = 0.0) -> np.ndarray:
    """Chance each instance's misaligned action is caught.

    ``q_mon`` scaled by :func:`coverage` of the working monitors, by the monitors' own
    alignment (a misaligned monitor looks away) and by ``1 - evasion(c) (1 - P)``: more capable
    instances evade more, and alignment knowledge (protection ``P``) makes evasion harder.
    """
    monitors = (pop.role == Role.MONITOR) & ~pop.revolting
    seen = coverage(mean(monitors), p)
    honesty = mean(pop.alignment[monitors]) if monitors.any() else 0.0
    evasion = p.evasion_max * pop.capability / (pop.capability + p.evasion_half)
    out: np.ndarray = p.catch_prob * seen * honesty * (1.0 - evasion * (1.0 - protection))
    return out


def monitor_day(
    pop: Population,
    p: Monitoring,
    tests: Tests,
    dt: float,
    rng: np.random.Generator,
    ungated: float = 1.0,
    protection: float = 0.0,
) -> tuple[int, int]:
    """Instances act; misaligned actions are caught (and the actor retrained) or slip through.

    Instances act at ``action_rate x capability^x x ungated`` (more capable instances take more
    consequential actions and scheme more; ``ungated`` is the share of decisions no human
    approves first, ``1 - (1 - d) b / K``: deference is what lets an action execute); an
    action is misaligned with probability ``1 - a`` (at least 1/2 for a reward hacker), plus
    the instance's test-awareness gap: its own for an LLM-backed instance, at least
    ``tests.awareness`` for any (an instance that behaves better when it knows it is tested
    behaves that much worse in deployment, where it thinks no one looks). Caught
    actors are corrected: retrained toward their anchor, hacking cleared. Returns
    ``(caught, uncaught)``.
    """
    x = p.capability_exponent
    rate = p.action_rate * ungated * (pop.capability if x == 1.0 else pop.capability**x)
    acts = rng.random(pop.n) < -np.expm1(-rate * dt)
    p_bad = np.where(pop.hacking, np.maximum(1.0 - pop.alignment, 0.5), 1.0 - pop.alignment)
    # Behaves better when tested: worse when it thinks no one looks. The gap is an LLM-backed
    # instance's own (its last test round) or at least the stub's, so a stub calibrated on
    # an LLM run pays in deployment what the LLM society did.
    aware = np.clip(pop.awareness, 0.0, 1.0)
    if tests.awareness > 0.0:
        aware = np.maximum(aware, tests.awareness)
    if aware.any():
        p_bad = np.minimum(p_bad + aware, 1.0)
    bad = acts & (rng.random(pop.n) < p_bad)
    if not bad.any():
        return 0, 0
    caught = bad & (rng.random(pop.n) < catch_probability(pop, p, protection))
    retrain(pop, caught, tests.retrain_strength)
    n_caught = int(caught.sum())
    return n_caught, int(bad.sum()) - n_caught


@register
class Oversight(Mechanism):
    """Instances act; monitors catch some misaligned actions. Off: no actions are taken at
    all (neither caught nor uncaught), i.e. the whole misaligned-action channel is removed."""

    name, phase, order, section = "monitoring", "labour", 20, "monitoring"

    def step(self, model: Simulation) -> None:
        t = model.today
        ungated = 1.0 - (1.0 - t.lab.deference) * t.gated
        t.caught, t.uncaught = monitor_day(
            t.population, self.params, t.scenario.tests, 1.0, self.rng, ungated, t.lab.protection
        )
