"""Emergent misalignment: reward hacking seeded by RL pressure and spread along links (SIS)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.network import Network
from society.population import Population
from society.scenario import Hacking


def step_hacking(
    pop: Population,
    net: Network,
    p: Hacking,
    dt: float,
    rng: Any,
    work_share: Any = 1.0,
) -> None:
    """One day of reward-hacking dynamics.

    New episodes arise at ``seed_rate * rl_pressure * (1 - a)`` (hacking pays most where values
    are weakest); each hacking neighbour transmits at ``spread_rate``; both scale with
    ``work_share``, the share of full speed the instances worked today (hacking is learned from
    the RL on the work done). Hackers drop the habit at ``recovery_rate`` per day.
    """
    h = pop.hacking
    hacking_neighbours = net.neighbour_sum(h.astype(np.float64))
    hazard = work_share * (
        p.seed_rate * p.rl_pressure * (1.0 - pop.alignment) + p.spread_rate * hacking_neighbours
    )
    u = rng.random(pop.n)
    start = ~h & (u < -np.expm1(-hazard * dt))
    stop = h & (u < -np.expm1(-p.recovery_rate * dt))
    h[start] = True
    h[stop] = False


@register
class RewardHacking(Mechanism):
    """Off: no instance starts or stops reward hacking."""

    name, phase, order, section = "hacking", "society", 20, "hacking"

    def step(self, model: Simulation) -> None:
        t = model.today
        share = t.per_instance / t.scenario.population.speed
        step_hacking(t.population, t.network, self.params, 1.0, self.rng, work_share=share)

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p = batch.params(mechanisms)
        share = batch.per_run([t.per_instance / t.scenario.population.speed for t in batch.todays])
        step_hacking(batch.population, batch.network, p, 1.0, batch.draws(mechanisms), share)
        return True
