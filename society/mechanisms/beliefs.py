"""Beliefs about the research claims: coupling to neighbours and grounding in evidence."""

from __future__ import annotations

import numpy as np

from society.mechanisms.base import Mechanism, Simulation, register
from society.mechanisms.influence import coupled_belief_step
from society.network import Network
from society.population import Population
from society.scenario import Beliefs


def step_beliefs(
    pop: Population, net: Network, p: Beliefs, subjective_days: float, rng: np.random.Generator
) -> None:
    """Advance beliefs one simulated day (``rate * subjective_days`` of belief time).

    Each instance sees the day's evidence as truth plus its own noise, so grounding pulls it
    toward what it observed, not toward the hidden truth itself. Instances read their
    neighbours through :attr:`Network.reading` (mean of neighbours x mean degree).
    """
    evidence = p.truth + p.evidence_noise * rng.standard_normal(pop.beliefs.shape)
    pop.beliefs = coupled_belief_step(
        net,
        pop.beliefs,
        coupling=p.coupling,
        gain=p.gain,
        grounding=p.grounding * pop.quality,
        truth=evidence,
        h=p.rate * subjective_days,
    )


@register
class BeliefDynamics(Mechanism):
    """Off: beliefs about the research claims stay where they are."""

    name, phase, order, section = "beliefs", "society", 30, "beliefs"

    def step(self, model: Simulation) -> None:
        t = model.today
        step_beliefs(t.population, t.network, self.params, t.per_instance, self.rng)
