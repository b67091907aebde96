"""Rewiring: links across disagreements move to like-minded instances (echo chambers form).

The kernel is :func:`society.network.homophilous_rewire` (it edits the network's edge list,
which the network owns); this module makes it a mechanism of the day.
"""

from __future__ import annotations

from society.mechanisms.base import Mechanism, Simulation, register
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
