"""Beliefs about the research claims: coupling to neighbours and grounding in evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.mechanisms.influence import coupled_belief_step
from society.network import Network
from society.population import Population
from society.scenario import Beliefs


def step_beliefs(pop: Population, net: Network, p: Beliefs, subjective_days: Any, rng: Any) -> None:
    """Advance beliefs one simulated day (``rate * subjective_days`` of belief time).

    Each instance sees the day's evidence as truth plus its own noise, so grounding pulls it
    toward what it observed, not toward the hidden truth itself. Instances read their
    neighbours through :attr:`Network.reading` (mean of neighbours x mean degree).
    """
    noise = _column(p.evidence_noise) * rng.standard_normal(pop.beliefs.shape)
    pop.beliefs = coupled_belief_step(
        net,
        pop.beliefs,
        coupling=_column(p.coupling),
        gain=_column(p.gain),
        grounding=p.grounding * pop.quality,
        truth=_column(p.truth) + noise,
        h=_column(p.rate * subjective_days),
    )


def _column(x: Any) -> Any:
    """A value per instance (a batch of runs) as a column against the claims; a number as is."""
    return x[:, None] if isinstance(x, np.ndarray) else x


@register
class BeliefDynamics(Mechanism):
    """Off: beliefs about the research claims stay where they are."""

    name, phase, order, section = "beliefs", "society", 30, "beliefs"

    def step(self, model: Simulation) -> None:
        t = model.today
        step_beliefs(t.population, t.network, self.params, t.per_instance, self.rng)

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p = batch.params(mechanisms)
        days = batch.per_run([t.per_instance for t in batch.todays])
        step_beliefs(batch.population, batch.network, p, days, batch.draws(mechanisms))
        return True
