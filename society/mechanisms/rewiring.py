"""Rewiring: links across disagreements move to like-minded instances (echo chambers form).

The kernel is :func:`society.network.homophilous_rewire` (it edits the network's edge list,
which the network owns); this module makes it a mechanism of the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.network import RewireRule, homophilous_rewire, homophilous_rewire_runs


@register
class Rewiring(Mechanism):
    """Off: the network keeps its initial links."""

    name, phase, order, section = "rewiring", "society", 40, "network"

    def step(self, model: Simulation) -> None:
        t, p = model.today, self.params
        t.rewired = homophilous_rewire(
            t.network,
            t.population.opinion(),
            candidate_prob=p.interaction_rate * p.rewire_prob,
            disagreement=p.disagreement,
            window=p.homophily_window,
            rng=self.rng,
        )

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        # Each run rewires its own network from its own stream; what lies between the draws is
        # computed for the whole batch at once.
        block = batch.network
        rules = [
            RewireRule(p.interaction_rate * p.rewire_prob, p.disagreement, p.homophily_window)
            for p in (m.params for m in mechanisms)
        ]
        moved = homophilous_rewire_runs(
            [t.network for t in batch.todays],
            block.u,
            block.v,
            batch.first_links(),
            batch.population.opinion().reshape(len(mechanisms), batch.n),
            rules,
            [m.rng for m in mechanisms],
        )
        for t, count in zip(batch.todays, moved, strict=True):
            t.rewired = count
        return True
