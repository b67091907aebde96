"""Value drift: anchored drift, bounded-confidence influence, reward-hacking penalty, noise."""

from __future__ import annotations

import math

import numpy as np

from society.influence import bounded_confidence_drift
from society.network import Network
from society.population import Population
from society.scenario import Values


def step_values(
    pop: Population, net: Network, p: Values, h: float, rng: np.random.Generator
) -> None:
    """Advance alignment by ``h`` subjective days (DESIGN.md section 3, values equation).

    ``da = [lambda (a_s - a) - delta_r + mu * BC(a) - kappa_h h_i] dt + sigma sqrt(dt) xi``,
    split into sub-steps short enough for explicit Euler to stay stable at any speed.
    """
    substeps = max(1, math.ceil(h * (p.anchor_rate + p.influence) / 0.5))
    dt = h / substeps
    a = pop.alignment
    for _ in range(substeps):
        pull = bounded_confidence_drift(net, a, pop.openness)
        pull[pop.llm_social] = 0.0  # an LLM already read this instance's peer today
        da = p.anchor_rate * (pop.anchor - a) + p.influence * pull - p.reflection_drift
        da -= p.hack_penalty * pop.hacking
        a += dt * da + p.noise * math.sqrt(dt) * rng.standard_normal(a.shape[0])
        np.clip(a, 0.0, 1.0, out=a)
