"""Rewiring: links across disagreements move to like-minded instances (echo chambers form).

The kernel is :func:`society.network.homophilous_rewire` (it edits the network's edge list,
which the network owns); this module makes it a mechanism of the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.network import homophilous_rewire


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
        # Each run rewires its own network from its own stream; the opinions are computed for
        # the whole batch at once. (Sorting every run's opinions at once costs more than
        # sorting, run by run, those of the runs that move a link.)
        opinion = batch.population.opinion().reshape(len(mechanisms), batch.n)
        for b, (m, t) in enumerate(zip(mechanisms, batch.todays, strict=True)):
            p = m.params
            t.rewired = homophilous_rewire(
                t.network,
                opinion[b],
                candidate_prob=p.interaction_rate * p.rewire_prob,
                disagreement=p.disagreement,
                window=p.homophily_window,
                rng=m.rng,
            )
        return True
