"""Value drift: anchored drift, bounded-confidence influence, reward-hacking penalty, noise."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.mechanisms.influence import bounded_confidence_drift
from society.network import Network
from society.population import Population
from society.scenario import Values

if TYPE_CHECKING:
    from society.batch.draws import RunDraws


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
    n_steps = substeps(h, p)
    dt = h / n_steps
    a = pop.alignment
    degree = _degree(net, p)
    for _ in range(n_steps):
        a += _increment(pop, net, p, dt, h, rng.standard_normal(a.shape[0]), degree)
        np.clip(a, 0.0, 1.0, out=a)


def substeps(h: float, p: Values) -> int:
    """Euler sub-steps for ``h`` subjective days: explicit Euler is monotone while dt x (total
    pull rate) stays below 1; 0.6 keeps a margin and lets a full-speed day (40 subjective days
    at the default rates) run in one step."""
    return max(1, math.ceil(h * (p.anchor_rate + p.influence + p.misaligned_influence) / 0.6))


def _degree(net: Network, p: Any) -> np.ndarray | None:
    """Each node's degree (at least 1) where the asymmetric pull of memes acts, else None."""
    acts = np.any(np.asarray(p.misaligned_influence) > 0)
    return np.maximum(net.degree, 1).astype(np.float64) if acts else None


def _increment(
    pop: Population,
    net: Network,
    p: Any,
    dt: Any,
    h: Any,
    z: Any,
    degree: np.ndarray | None,
) -> np.ndarray:
    """One Euler sub-step's change of alignment: ``dt da + sigma sqrt(dt) z``. Parameters and
    step lengths are numbers, or arrays with one value per instance (a batch of runs)."""
    a = pop.alignment
    pull = p.influence * bounded_confidence_drift(net, a, pop.openness)
    if degree is not None:
        pull += p.misaligned_influence * np.minimum(net.neighbour_sum(a) / degree - a, 0.0)
    pull[pop.llm_social] = 0.0  # an LLM already read this instance's peer today
    da = p.anchor_rate * (pop.anchor - a) + pull - p.reflection_drift
    da -= p.hack_penalty * pop.hacking
    if p.peer_shift != 0.0 and h > 0:  # per day of reading peers, spread over the work
        da += np.where(pop.llm_social, 0.0, p.peer_shift / h)
    root = np.sqrt(dt) if isinstance(dt, np.ndarray) else math.sqrt(dt)
    increment: np.ndarray = dt * da + p.noise * root * z
    return increment


def step_values_runs(
    pop: Population,
    net: Network,
    p: Any,
    params: Sequence[Values],
    h: Sequence[float],
    draws: RunDraws,
) -> None:
    """:func:`step_values` for a batch of runs laid end to end in ``pop`` and ``net`` (``h``,
    ``params`` and ``draws`` one per run; ``p`` their parameters, per instance where they
    differ). Each run takes its own sub-steps, as alone; a run with fewer sits out the rest."""
    counts = [substeps(hb, pb) for hb, pb in zip(h, params, strict=True)]
    n = pop.n // len(counts)
    dt = np.repeat([hb / c for hb, c in zip(h, counts, strict=True)], n)
    a = pop.alignment
    degree = _degree(net, p)
    for r in range(max(counts)):
        taking = [b for b, c in enumerate(counts) if c > r]
        z = draws.standard_normal(a.shape[0], taking)
        if len(taking) == len(counts):
            a += _increment(pop, net, p, dt, 0.0, z, degree)
            np.clip(a, 0.0, 1.0, out=a)
            continue
        moved = np.clip(a + _increment(pop, net, p, dt, 0.0, z, degree), 0.0, 1.0)
        for b in taking:
            a[b * n : (b + 1) * n] = moved[b * n : (b + 1) * n]


@register
class ValueDrift(Mechanism):
    """Off: values neither drift, nor move toward peers, nor pay the hacking penalty."""

    name, phase, order, section = "values", "society", 10, "values"

    def step(self, model: Simulation) -> None:
        t = model.today
        step_values(t.population, t.network, self.params, t.per_instance, self.rng)

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p = batch.params(mechanisms)
        memes = p.misaligned_influence
        mixed = isinstance(memes, np.ndarray) and bool((memes == 0).any())
        if isinstance(p.peer_shift, np.ndarray) or p.peer_shift != 0.0 or mixed:
            return False  # peers an LLM read, or a term some runs switch off: run by run
        step_values_runs(
            batch.population,
            batch.network,
            p,
            [m.params for m in mechanisms],
            [t.per_instance for t in batch.todays],
            batch.draws(mechanisms),
        )
        return True
