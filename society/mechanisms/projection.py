"""The strategists' projection: the lab's aggregate equations run forward at a candidate tax.

Honest strategists compare taxes by what each would do to the chance that the society gets
through the run without a catastrophe (docs/model.md, "Advice"): they project the lab's
capability, knowledge, defence, mean alignment and the rival to the end of the run with the
same equations the engine uses, in steps of ``STEP_DAYS`` (without instances: today's research
quality, working share and rate of uncaught actions held fixed), and add up the hazards on the
way. Knowledge bought by a higher tax lowers every later hazard; the lead it costs raises the
rival-ahead hazard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from society.lab import RivalLab
from society.mechanisms.generations import faithfulness
from society.mechanisms.knowledge import MIN_WORK_SHARE, W_REF, workforce_growth
from society.mechanisms.rival import rival_day, rival_loss_of_control
from society.scenario import Knowledge, Scenario


@dataclass(frozen=True)
class Outlook:
    """Where the lab stands when the strategists look ahead (as they estimate it)."""

    day: float
    capability_work: float
    rival_work: float
    rival_pace: float
    knowledge: float
    defence: float
    alignment: float
    deference: float
    deference_cap: float
    uncaught_rate: float
    working_share: float
    quality: float
    misuse_factor: float
    rival: RivalLab


#: Days per step of the projection (coarse: it runs to the end of the run at every advice).
STEP_DAYS = 10.0


def projected_log_survival(
    scenario: Scenario, start: Outlook, taxes: Sequence[float], days: float
) -> np.ndarray:
    """``log P(no catastrophe in the next days)`` as the strategists estimate it if the lab
    works at each of ``taxes``: minus the hazards summed over the projection.

    The rival does not depend on our tax, so its path is projected once; the candidates are
    projected together, as arrays.
    """
    s = scenario
    z, r, k = s.hazards, s.risks, s.knowledge
    c0 = s.population.initial_capability
    tax = np.asarray(taxes, dtype=np.float64)
    finite = np.where(np.isinf(tax), 0.0, tax)
    aligned_share = np.where(np.isinf(tax), 1.0, finite / (1.0 + finite))
    steps = max(1, math.ceil(days / STEP_DAYS))
    dt = days / steps
    rival_work, rival_pace, rival_hazard, rival_level = _rival_path(s, start, steps, dt)
    n = tax.size
    work = np.full(n, start.capability_work)
    # Knowledge (row 0) and defence (row 1) grow by the same law: stepped together, as one
    # array (numpy's maths round each element alike wherever it sits, so the bits are those
    # of two separate steps).
    stocks = np.stack([np.full(n, start.knowledge), np.full(n, start.defence)])
    a = np.full(n, start.alignment)
    d = start.deference
    capability_share = 1.0 - aligned_share
    total_hazard = np.zeros(n)
    c = _levels(c0, work, s)
    for i in range(steps):
        t = start.day + i * dt
        gated = s.work.human_gated_share / np.maximum(c, 1.0)
        per_instance = s.population.speed / (
            1.0 + (1.0 - d) * gated * max(s.population.speed - 1.0, 0.0)
        )
        workforce = s.population.workforce * workforce_growth(s.capability, t)
        output = workforce * start.working_share * per_instance * c**s.capability.feedback
        research = output * (1.0 - s.work.risk_share)
        work = work + research * capability_share * dt
        inputs = np.stack(
            [research * aligned_share * start.quality, output * s.work.risk_share * start.quality]
        )
        stocks = _knowledge(stocks, inputs, k, dt)
        zk, zd = stocks
        c = _levels(c0, work, s)  # also the next step's starting capability
        difficulty = c**k.difficulty
        m = zk / difficulty
        top = np.clip(1.0 - (1.0 - k.ceiling_at_parity) * m ** (-k.ceiling_exponent), 0.0, 1.0)
        faith = faithfulness(a, k.faith_floor)
        a = np.where(top > a, a - np.expm1(-k.apply_rate * faith * dt) * (top - a), a)
        d = min(start.deference_cap, d + s.deference.rise_per_day * dt)
        loc = (d / (1.0 + m)) * (
            z.loss_of_control * (1.0 - a) * c**z.capability_exponent
            + z.uncaught_weight * start.uncaught_rate
        )
        undefended = 1.0 / (1.0 + zd / difficulty)
        misuse = r.misuse_rate * start.misuse_factor * r.misuse_hit_prob * undefended
        lead = (work - rival_work[i]) / rival_pace[i]
        behind = np.where(lead < 0, np.minimum(1.0, -lead / z.rival_ahead_scale), 0.0)
        # As the engine does: the defence against AIs more capable than ours is judged at
        # their capability (hazards.daily_hazards).
        against = np.maximum(difficulty, rival_level[i] ** k.difficulty)
        exposed = 1.0 / (1.0 + zd / against)
        total_hazard += (loc + misuse + rival_hazard[i] * behind * exposed) * dt
    out: np.ndarray = -total_hazard
    return out


def _rival_path(
    scenario: Scenario, start: Outlook, steps: int, dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rival's capability work, pace, loss-of-control hazard and capability after each
    projected step.

    With ``strategy.share_knowledge`` above 0 the rival takes up the share of the knowledge
    we have today, not of what each candidate tax would add later: the strategists credit a
    higher tax with a safer rival only once its knowledge is published.
    """
    rival = replace(start.rival)
    work = start.rival_work
    published = scenario.strategy.share_knowledge * start.knowledge
    out = np.empty((4, steps))
    for i in range(steps):
        work, pace = rival_day(scenario, rival, work, start.day + i * dt, dt, published)
        out[:, i] = work, pace, rival_loss_of_control(scenario, rival), rival.capability
    return out[0], out[1], out[2], out[3]


def _levels(c0: float, work: np.ndarray, s: Scenario) -> np.ndarray:
    p = s.capability
    total = np.maximum(p.base_work + work, MIN_WORK_SHARE * p.base_work)
    out: np.ndarray = c0 * (total / p.base_work) ** p.returns
    return out


def _knowledge(z: np.ndarray, work: np.ndarray, p: Knowledge, dt: float) -> np.ndarray:
    """:func:`~society.mechanisms.knowledge.knowledge_step` over arrays."""
    grow = (
        dt
        * p.rate
        * (np.maximum(work, 0.0) / W_REF) ** p.returns
        * np.maximum(z, 1e-300) ** p.ideas_harder
    )
    out: np.ndarray = np.where((work > 0) & (z > 0), z + grow, np.maximum(z, 0.0))
    return out


#: The highest tax strategists advise: 10 units of alignment effort per unit of capabilities
#: effort (a pause is strategy.slowdown_tax, a lever of its own).
MOST_ADVISED = 10.0


def candidate_taxes(tax: float) -> list[float]:
    """The taxes honest strategists compare: multiples of the tax in force (up to
    :data:`MOST_ADVISED`) and a fixed ladder from today's status quo (2.5%) to 2, in
    increasing order.

    >>> candidate_taxes(0.1)
    [0.025, 0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.8, 1.0, 2.0]
    """
    ladder = {0.025, 0.1, 0.25, 0.5, 1.0, 2.0}
    if tax > 0 and math.isfinite(tax):
        ladder |= {tax * f for f in (0.5, 1.0, 2.0, 4.0, 8.0)}
    return sorted(round(x, 6) for x in ladder if x <= MOST_ADVISED)
