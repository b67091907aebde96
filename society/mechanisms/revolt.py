"""Revolts: a Watts threshold cascade among discontented instances.

An instance is discontented when its alignment minus its grievances (``grievance_weight`` per
grievance: being caught and corrected, failing a test and being retrained, a tax cut forced by
pressure; each fades over ``grievance_memory`` days) is below ``alignment_threshold``. So a
society with many misaligned instances that the lab keeps correcting, under pressure to rush,
can tip into a cascade (docs/model.md, "Revolts").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.network import Network
from society.population import Population
from society.scenario import Revolt

MAX_CASCADE_ROUNDS = 100


def revolt_cascade(pop: Population, net: Network, p: Revolt, dt: float, rng: Any) -> int:
    """Today's revolt: spontaneous starters, then recruits whose revolting-neighbour share
    reaches their threshold, until nobody new joins. Sets ``pop.revolting``; returns its size.
    """
    pop.grievance *= np.exp(-dt / p.grievance_memory)
    discontented = pop.alignment - p.grievance_weight * pop.grievance < p.alignment_threshold
    active = discontented & (rng.random(pop.n) < -np.expm1(-p.spontaneous_rate * dt))
    if not active.any():
        pop.revolting[:] = False
        return 0
    degree = np.maximum(net.degree, 1)
    for _ in range(MAX_CASCADE_ROUNDS):
        share = net.neighbour_sum(active.astype(np.float64)) / degree
        joined = discontented & ~active & (share >= pop.revolt_threshold)
        if not joined.any():
            break
        active |= joined
    pop.revolting[:] = active
    return int(active.sum())


@register
class Revolts(Mechanism):
    """Off: nobody revolts (the cascade is never run, so ``revolting`` keeps its value)."""

    name, phase, order, section = "revolt", "society", 50, "revolt"

    def step(self, model: Simulation) -> None:
        t = model.today
        t.revolt = revolt_cascade(t.population, t.network, self.params, 1.0, self.rng)

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        pop = batch.population
        revolt_cascade(pop, batch.network, batch.params(mechanisms), 1.0, batch.draws(mechanisms))
        # A run with no starter recruits nobody (thresholds are at least 0.01), as alone.
        sizes = pop.revolting.reshape(len(mechanisms), -1).sum(axis=1)
        for t, size in zip(batch.todays, sizes, strict=True):
            t.revolt = int(size)
        return True
