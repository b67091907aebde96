"""Capability, alignment knowledge against difficulty, and the protection it buys.

Capability and knowledge are the two stocks of version 3 (docs/model.md, "Knowledge"):

* capability ``c = c0 (C_total / C_base)^epsilon`` grows with the capability work behind the
  model (``C_total``, work-days), and each work-day yields more as capability grows
  (``c^beta``, AI R&D feedback), while the workforce grows with compute
  (``W(t) = W0 exp(g_c t)``);
* alignment knowledge ``Z`` grows with quality-weighted alignment work ``w``:
  ``dZ/dt = A_Z (w / W_REF)^lambda Z^phi`` (``lambda <= 1``: parallel work steps on toes;
  ``phi < 1``: ideas get harder to find);
* the difficulty of aligning a system of capability ``c`` is ``D(c) = c^gamma``; the margin
  ``m = Z / D(c)`` sets the protection ``P = m / (1 + m)``, which lowers the hazards every day,
  and the ceiling ``a_max(m) = 1 - (1 - a_ref) m^-nu`` that fixes to deployed models and
  successor training approach.

If the work grows exponentially, ``C_total`` and ``w`` grow at the same rate, so ``c^gamma``
grows as ``exp(epsilon gamma g t)`` and ``Z`` as ``exp(lambda g t / (1 - phi))``: the margin
grows in the long run only if ``lambda / (1 - phi) > epsilon gamma``
(:func:`knowledge_outgrows_difficulty`).

The :class:`KnowledgeApplied` mechanism lifts deployed instances' anchors toward the ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.mechanisms.generations import faithfulness
from society.scenario import Capability, Knowledge, Scenario

#: Quality-weighted alignment work-days a day at which ``knowledge.rate`` is the growth of Z at
#: Z = 1 (a unit, not a parameter: ``knowledge.rate`` absorbs it).
W_REF = 1.0e4
#: The smallest capability work a lab can be behind (as a share of the base): a rival far
#: behind has a small but positive capability.
MIN_WORK_SHARE = 0.01


def workforce_growth(p: Capability, day: float) -> float:
    """``W(t) / W0 = exp(g_c t)``: the effective workforce grows with compute.

    >>> round(workforce_growth(Capability(compute_growth=math.log(4) / 365), 365.0), 6)
    4.0
    """
    return math.exp(p.compute_growth * day)


def capability_level(c0: float, work: float, p: Capability) -> float:
    """``c = c0 ((C_base + work) / C_base)^epsilon`` for capability work ``work`` (work-days
    since the start; negative for a lab behind the start), floored at
    :data:`MIN_WORK_SHARE` of the base.

    >>> p = Capability(returns=0.5, base_work=100.0)
    >>> capability_level(1.0, 300.0, p), capability_level(1.0, 0.0, p)
    (2.0, 1.0)
    """
    total = max(p.base_work + work, MIN_WORK_SHARE * p.base_work)
    return c0 * (total / p.base_work) ** p.returns


def difficulty(c: float, gamma: float) -> float:
    """``D(c) = c^gamma``: how hard it is to align a system of capability ``c`` (1 at c = 1)."""
    return c**gamma


def margin(z: float, c: float, p: Knowledge) -> float:
    """``m = Z / D(c)``: knowledge against difficulty."""
    d = difficulty(c, p.difficulty)
    # A difficulty that underflows to 0 (an extreme capability scale) leaves knowledge ahead.
    return z / d if d > 0.0 else math.inf


def protection(m: float) -> float:
    """``P = m / (1 + m)``: the share of the hazards the knowledge removes.

    >>> protection(1.0), protection(3.0)
    (0.5, 0.75)
    """
    return m / (1.0 + m) if m > 0 else 0.0


def ceiling(m: float, p: Knowledge) -> float:
    """``a_max(m) = 1 - (1 - a_ref) m^-nu`` in [0, 1]: the alignment the knowledge can train.

    >>> k = Knowledge(ceiling_at_parity=0.8, ceiling_exponent=1.0)
    >>> round(ceiling(1.0, k), 6), round(ceiling(2.0, k), 6), ceiling(0.1, k)
    (0.8, 0.9, 0.0)
    """
    if m <= 0:
        return 0.0
    return min(1.0, max(0.0, 1.0 - (1.0 - p.ceiling_at_parity) * m ** (-p.ceiling_exponent)))


def knowledge_step(z: float, work: float, p: Knowledge, dt: float = 1.0) -> float:
    """``Z`` after ``dt`` days of ``work`` quality-weighted work-days a day:
    ``Z + dt A_Z (work / W_REF)^lambda Z^phi`` (never below 0; no work, no growth).

    >>> k = Knowledge(rate=0.01, returns=1.0, ideas_harder=0.0)
    >>> knowledge_step(1.0, 2e4, k)
    1.02
    """
    if work <= 0 or z <= 0:
        return max(z, 0.0)
    return z + dt * p.rate * (work / W_REF) ** p.returns * z**p.ideas_harder


def knowledge_outgrows_difficulty(scenario: Scenario) -> bool:
    """Whether the margin grows in the long run under exponentially growing work:
    ``lambda / (1 - phi) > epsilon gamma`` (the run's *regime*)."""
    k, c = scenario.knowledge, scenario.capability
    return k.returns / (1.0 - k.ideas_harder) > c.returns * k.difficulty


def apply_knowledge(
    anchor: np.ndarray,
    alignment: np.ndarray,
    top: Any,
    rate: Any,
    dt: float = 1.0,
    floor: float = 0.0,
) -> None:
    """Fixes to deployed models: every anchor below the ceiling ``top`` closes ``rate x a`` of
    its gap a day (``1 - exp(-rate a dt)`` over ``dt`` days), ``a`` the instance's alignment: a
    model takes a fix as faithfully as it is aligned (a scheming one games its training).
    With a faithfulness ``floor`` (``knowledge.faith_floor``), ``a`` becomes
    :func:`~society.mechanisms.generations.faithfulness`: no fix takes at or below it.
    Anchors never fall."""
    step = -np.expm1(-rate * faithfulness(alignment, floor) * dt)
    gap = top - anchor
    anchor += step * np.maximum(gap, 0.0)


@register
class KnowledgeApplied(Mechanism):
    """Alignment knowledge applied to deployed models: each day the instances' anchors rise
    toward the ceiling ``a_max(m)`` at ``knowledge.apply_rate`` times their own alignment
    (values then follow their anchors). Off: deployed models are never fixed (successors still
    use the knowledge)."""

    name, phase, order, section = "knowledge", "society", 5, "knowledge"

    def step(self, model: Simulation) -> None:
        t = model.today
        pop = t.population
        p = self.params
        apply_knowledge(pop.anchor, pop.alignment, t.lab.ceiling, p.apply_rate, floor=p.faith_floor)

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p, pop = batch.params(mechanisms), batch.population
        if isinstance(p.faith_floor, np.ndarray):
            return False  # the floor decides a branch: run by run
        top = batch.per_run([t.lab.ceiling for t in batch.todays])
        apply_knowledge(pop.anchor, pop.alignment, top, p.apply_rate, floor=p.faith_floor)
        return True
