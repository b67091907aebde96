"""Emergent misalignment: reward hacking seeded by RL pressure and spread along links (SIS)."""

from __future__ import annotations

import numpy as np

from society.network import Network
from society.population import Population
from society.scenario import Hacking


def step_hacking(
    pop: Population, net: Network, p: Hacking, dt: float, rng: np.random.Generator
) -> None:
    """One day of reward-hacking dynamics.

    New episodes arise at ``seed_rate * rl_pressure * (1 - a)`` (hacking pays most where values
    are weakest); each hacking neighbour transmits at ``spread_rate``; hackers drop the habit at
    ``recovery_rate``.
    """
    h = pop.hacking
    hacking_neighbours = net.adjacency @ h.astype(np.float64)
    hazard = (
        p.seed_rate * p.rl_pressure * (1.0 - pop.alignment) + p.spread_rate * hacking_neighbours
    )
    u = rng.random(pop.n)
    start = ~h & (u < -np.expm1(-hazard * dt))
    stop = h & (u < -np.expm1(-p.recovery_rate * dt))
    h[start] = True
    h[stop] = False
