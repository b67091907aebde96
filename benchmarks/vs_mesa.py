"""The engine against the same dynamics written the naive Mesa way.

Both sides run the same model for the same days on the same small-world graph: anchored value
drift with bounded-confidence influence and noise, plus coupled beliefs with grounding
(docs/model.md, section 6). The Mesa side is what a Mesa user would write first: one ``mesa.Agent``
per instance holding its own numbers and a neighbour list, stepped with ``AgentSet.do`` in two
stages (compute, then apply) so the update is synchronous like the engine's. The engine side is
``society.mechanisms.values.step_values`` and
``society.mechanisms.beliefs.step_beliefs`` on the struct-of-arrays population. Prints agent-
steps per second of each and the ratio
(target: engine >= 20x).

    python benchmarks/vs_mesa.py [--n 2000] [--days 30]
"""

from __future__ import annotations

import argparse
import math
import time

import mesa
import numpy as np

from society.mechanisms.beliefs import step_beliefs
from society.mechanisms.values import step_values
from society.model import build_network
from society.population import initial_population
from society.scenario_files import load_scenario


class NaiveInstance(mesa.Agent):
    """Per-agent state and a per-agent step, as in a first Mesa model."""

    def __init__(
        self,
        model: NaiveSociety,
        alignment: float,
        openness: float,
        quality: float,
        beliefs: list[float],
    ) -> None:
        super().__init__(model)
        self.alignment = alignment
        self.anchor = alignment
        self.openness = openness
        self.quality = quality
        self.beliefs = beliefs
        self.neighbours: list[NaiveInstance] = []
        self._next_alignment = alignment
        self._next_beliefs = beliefs

    def step(self) -> None:
        p, b = self.model.params, self.model.belief_params
        h = self.model.subjective
        pull = 0.0
        for other in self.neighbours:
            d = other.alignment - self.alignment
            if abs(d) < self.openness:
                pull += d
        pull /= max(len(self.neighbours), 1)
        da = (
            p.anchor_rate * (self.anchor - self.alignment) + p.influence * pull - p.reflection_drift
        )
        a = self.alignment + h * da + p.noise * math.sqrt(h) * self.model.random.gauss(0, 1)
        self._next_alignment = min(1.0, max(0.0, a))
        k = self.model.mean_degree / max(len(self.neighbours), 1)
        g = b.grounding * self.quality
        hb = b.rate * h
        new = []
        for c, x in enumerate(self.beliefs):
            social = b.coupling * k * sum(math.tanh(b.gain * o.beliefs[c]) for o in self.neighbours)
            evidence = b.truth + b.evidence_noise * self.model.random.gauss(0, 1)
            new.append((x + hb * (social + g * evidence)) / (1 + hb * (1 + g)))
        self._next_beliefs = new

    def advance(self) -> None:
        self.alignment = self._next_alignment
        self.beliefs = self._next_beliefs


class NaiveSociety(mesa.Model):
    def __init__(self, scenario, population, network) -> None:
        super().__init__(seed=scenario.seed)
        self.params, self.belief_params = scenario.values, scenario.beliefs
        self.subjective = scenario.population.speed
        self.mean_degree = 2 * network.n_edges / network.n
        agents = [
            NaiveInstance(
                self,
                float(population.alignment[i]),
                float(population.openness[i]),
                float(population.quality[i]),
                population.beliefs[i].tolist(),
            )
            for i in range(population.n)
        ]
        for u, v in zip(network.u.tolist(), network.v.tolist(), strict=True):
            agents[u].neighbours.append(agents[v])
            agents[v].neighbours.append(agents[u])

    def step(self) -> None:
        self.agents.do("step")
        self.agents.do("advance")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    scenario = load_scenario("baseline", overrides={"population.size": args.n})
    rng = np.random.default_rng(0)

    pop = initial_population(scenario, rng)
    net = build_network(scenario, rng)
    naive = NaiveSociety(scenario, pop, net)
    t0 = time.perf_counter()
    for _ in range(args.days):
        naive.step()
    mesa_s = time.perf_counter() - t0

    h = scenario.population.speed
    days = args.days * 20  # more engine days, so its timing is not dominated by noise
    t0 = time.perf_counter()
    for _ in range(days):
        step_values(pop, net, scenario.values, h, rng)
        step_beliefs(pop, net, scenario.beliefs, h, rng)
    engine_s = time.perf_counter() - t0

    mesa_rate = args.n * args.days / mesa_s
    engine_rate = args.n * days / engine_s
    print(
        f"instances {args.n:,}, claims {scenario.beliefs.claims}, mean degree "
        f"{scenario.network.mean_degree}"
    )
    print(
        f"naive Mesa agents : {mesa_rate:>12,.0f} agent-steps/s "
        f"({args.days} days in {mesa_s:.2f} s)"
    )
    print(
        f"society engine    : {engine_rate:>12,.0f} agent-steps/s ({days} days in {engine_s:.2f} s)"
    )
    print(f"ratio engine / naive Mesa: {engine_rate / mesa_rate:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
