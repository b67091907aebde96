"""Monitoring: catching misaligned actions before they execute."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from society.arrays import mean
from society.mechanisms.base import Batched, Mechanism, Simulation, register
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
    monitors = working_monitors(pop)
    return _catching(pop, p, *_oversight(pop.alignment, monitors, p), protection)


def working_monitors(pop: Population) -> np.ndarray:
    return (pop.role == Role.MONITOR) & ~pop.revolting


def _oversight(alignment: np.ndarray, monitors: np.ndarray, p: Monitoring) -> tuple[float, float]:
    """The monitors' coverage of the society's actions and their honesty (mean alignment)."""
    honesty = mean(alignment[monitors]) if monitors.any() else 0.0
    return coverage(mean(monitors), p), honesty


def _catching(pop: Population, p: Any, seen: Any, honesty: Any, protection: Any) -> np.ndarray:
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
    bad = _misaligned_actions(pop, p, tests, dt, rng, ungated)
    if not bad.any():
        return 0, 0
    caught = bad & (rng.random(pop.n) < catch_probability(pop, p, protection))
    retrain(pop, caught, tests.retrain_strength)
    n_caught = int(caught.sum())
    return n_caught, int(bad.sum()) - n_caught


def _misaligned_actions(
    pop: Population, p: Any, tests: Any, dt: float, rng: Any, ungated: Any
) -> np.ndarray:
    """Which instances took a misaligned action today (parameters and ``ungated`` numbers, or
    one per instance in a batch of runs)."""
    x = p.capability_exponent
    plain = not isinstance(x, np.ndarray) and x == 1.0
    rate = p.action_rate * ungated * (pop.capability if plain else pop.capability**x)
    acts = rng.random(pop.n) < -np.expm1(-rate * dt)
    p_bad = np.where(pop.hacking, np.maximum(1.0 - pop.alignment, 0.5), 1.0 - pop.alignment)
    # Behaves better when tested: worse when it thinks no one looks. The gap is an LLM-backed
    # instance's own (its last test round) or at least the stub's, so a stub calibrated on
    # an LLM run pays in deployment what the LLM society did.
    aware = np.clip(pop.awareness, 0.0, 1.0)
    if np.any(tests.awareness > 0.0):
        aware = np.maximum(aware, tests.awareness)
    if aware.any():
        p_bad = np.minimum(p_bad + aware, 1.0)
    bad: np.ndarray = acts & (rng.random(pop.n) < p_bad)
    return bad


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

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p, tests, pop, todays = (
            batch.params(mechanisms),
            batch.section("tests"),
            batch.population,
            batch.todays,
        )
        draws = batch.draws(mechanisms)
        ungated = batch.per_run([1.0 - (1.0 - t.lab.deference) * t.gated for t in todays])
        bad = _misaligned_actions(pop, p, tests, 1.0, draws, ungated)
        runs = [batch.rows(b) for b in range(len(mechanisms))]
        by_run = (len(runs), batch.n)
        acting = np.flatnonzero(bad.reshape(by_run).any(axis=1)).tolist()
        if acting:  # the runs where something was done draw who is caught, as alone
            u = draws.random(pop.n, acting)
            monitors = working_monitors(pop)
            seen, honesty = zip(
                *(
                    _oversight(pop.alignment[rows], monitors[rows], m.params)
                    for rows, m in zip(runs, mechanisms, strict=True)
                ),
                strict=True,
            )
            protection = batch.per_run([t.lab.protection for t in todays])
            catch = _catching(pop, p, batch.per_run(seen), batch.per_run(honesty), protection)
            caught = bad & (u < catch)
            retrain(pop, caught, tests.retrain_strength)
            n_caught = np.count_nonzero(caught.reshape(by_run), axis=1).tolist()
        else:
            n_caught = [0] * len(runs)
        n_bad = np.count_nonzero(bad.reshape(by_run), axis=1).tolist()
        for t, c, k in zip(todays, n_caught, n_bad, strict=True):
            t.caught, t.uncaught = c, k - c
        return True
