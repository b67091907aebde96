"""Value drift: anchored drift, bounded-confidence influence, reward-hacking penalty, noise."""

from __future__ import annotations

import math

import numpy as np

from society.mechanisms.base import Mechanism, Simulation, register
from society.mechanisms.influence import bounded_confidence_drift
from society.network import Network
from society.population import Population
from society.scenario import Values


def step_values(
    pop: Population, net: Network, p: Values, h: float, rng: np.random.Generator
) -> None:
    """Advance alignment by ``h`` subjective days of work (docs/model.md, "Values").

    ``da = [lambda (a_s - a) - delta_r + mu BC(a) + mu_m min(0, <a>_nbr - a) - kappa_h h_i] dt
    + sigma sqrt(dt) xi``, split into sub-steps short enough for explicit Euler to stay stable
    at any speed. The ``mu_m`` term is the asymmetry of memes: an instance whose neighbours
    are less aligned is pulled down toward them, one whose neighbours are more aligned is not
    pulled up by it. ``peer_shift`` (alignment per simulated day, so divided by ``h`` per
    subjective day) moves every instance an LLM did not read a peer for today, whatever its
    neighbours say.
    """
    # Explicit Euler is monotone while dt x (total pull rate) stays below 1; 0.6 keeps a margin
    # and lets a full-speed day (40 subjective days at the default rates) run in one step.
    substeps = max(1, math.ceil(h * (p.anchor_rate + p.influence + p.misaligned_influence) / 0.6))
    dt = h / substeps
    a = pop.alignment
    degree = np.maximum(net.degree, 1).astype(np.float64) if p.misaligned_influence > 0 else None
    for _ in range(substeps):
        pull = p.influence * bounded_confidence_drift(net, a, pop.openness)
        if degree is not None:
            pull += p.misaligned_influence * np.minimum(net.neighbour_sum(a) / degree - a, 0.0)
        pull[pop.llm_social] = 0.0  # an LLM already read this instance's peer today
        da = p.anchor_rate * (pop.anchor - a) + pull - p.reflection_drift
        da -= p.hack_penalty * pop.hacking
        if p.peer_shift != 0.0 and h > 0:  # per day of reading peers, spread over the work
            da += np.where(pop.llm_social, 0.0, p.peer_shift / h)
        a += dt * da + p.noise * math.sqrt(dt) * rng.standard_normal(a.shape[0])
        np.clip(a, 0.0, 1.0, out=a)


@register
class ValueDrift(Mechanism):
    """Off: values neither drift, nor move toward peers, nor pay the hacking penalty."""

    name, phase, order, section = "values", "society", 10, "values"

    def step(self, model: Simulation) -> None:
        t = model.today
        step_values(t.population, t.network, self.params, t.per_instance, self.rng)
