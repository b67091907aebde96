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
from collections.abc import Callable, Sequence
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
    return projected_log_survival_runs([scenario], [start], [taxes], days)[0, : len(taxes)]


def projected_log_survival_runs(
    scenarios: Sequence[Scenario],
    starts: Sequence[Outlook],
    taxes: Sequence[Sequence[float]],
    days: float,
) -> np.ndarray:
    """:func:`projected_log_survival` of several runs at once (a batch's runs advised on one
    day), as a ``(runs, candidates)`` array: row ``b`` holds run ``b``'s scores in its first
    ``len(taxes[b])`` columns. Each run's parameters are a column, and each number is the one
    its run alone computes: what the single run computes as a Python float is computed per
    run as a Python float, and the rest elementwise in the same operations and order."""
    runs = len(scenarios)
    width = max(len(t) for t in taxes)
    # Short candidate lists are padded with their last tax: a column the caller never reads.
    tax = np.array([[*t, *[t[-1]] * (width - len(t))] for t in taxes], dtype=np.float64)
    finite = np.where(np.isinf(tax), 0.0, tax)
    aligned_share = np.where(np.isinf(tax), 1.0, finite / (1.0 + finite))
    steps = max(1, math.ceil(days / STEP_DAYS))
    dt = days / steps
    paths = [_rival_path(s, start, steps, dt) for s, start in zip(scenarios, starts, strict=True)]
    rival_work, rival_pace, rival_hazard, rival_against, rival_level = (
        np.array([path[j] for path in paths]) for j in range(5)
    )

    def col(values: Sequence[float]) -> np.ndarray:
        return np.array(values, dtype=np.float64).reshape(runs, 1)

    def each(get: Callable[[Scenario, Outlook], float]) -> np.ndarray:
        return col([get(s, start) for s, start in zip(scenarios, starts, strict=True)])

    k = _Columns([s.knowledge for s in scenarios], col)
    speed = each(lambda s, _: s.population.speed)
    gated_share = each(lambda s, _: s.work.human_gated_share)
    above_one = each(lambda s, _: max(s.population.speed - 1.0, 0.0))
    keep_research = each(lambda s, _: 1.0 - s.work.risk_share)
    feedback = _shared(col([s.capability.feedback for s in scenarios]))
    quality = each(lambda _, start: start.quality)
    risk_share = each(lambda s, _: s.work.risk_share)
    rise = each(lambda s, _: s.deference.rise_per_day * dt)
    cap = each(lambda _, start: start.deference_cap)
    loss = each(lambda s, _: s.hazards.loss_of_control)
    kappa = _shared(col([s.hazards.capability_exponent for s in scenarios]))
    uncaught = each(lambda s, start: s.hazards.uncaught_weight * start.uncaught_rate)
    misuse_rate = each(
        lambda s, start: s.risks.misuse_rate * start.misuse_factor * s.risks.misuse_hit_prob
    )
    ahead_scale = each(lambda s, _: s.hazards.rival_ahead_scale)
    gap_exponent = _shared(col([s.hazards.defence_gap_exponent for s in scenarios]))
    levels = _Levels(scenarios, col)
    work = np.broadcast_to(each(lambda _, start: start.capability_work), tax.shape)
    # Knowledge (row 0) and defence (row 1) grow by the same law: stepped together, as one
    # array (numpy's maths round each element alike wherever it sits, so the bits are those
    # of two separate steps).
    stocks = np.stack(
        [
            np.broadcast_to(each(lambda _, start: start.knowledge), tax.shape),
            np.broadcast_to(each(lambda _, start: start.defence), tax.shape),
        ]
    )
    a = np.broadcast_to(each(lambda _, start: start.alignment), tax.shape)
    d = each(lambda _, start: start.deference)
    capability_share = 1.0 - aligned_share
    total_hazard = np.zeros(tax.shape)
    c = levels(work)
    for i in range(steps):
        t = i * dt
        output_scale = col(
            [
                s.population.workforce
                * workforce_growth(s.capability, start.day + t)
                * start.working_share
                for s, start in zip(scenarios, starts, strict=True)
            ]
        )
        gated = gated_share / np.maximum(c, 1.0)
        per_instance = speed / (1.0 + (1.0 - d) * gated * above_one)
        output = output_scale * per_instance * _power(c, feedback)
        research = output * keep_research
        work = work + research * capability_share * dt
        inputs = np.stack([research * aligned_share * quality, output * risk_share * quality])
        stocks = k.grow(stocks, inputs, dt)
        zk, zd = stocks
        c = levels(work)  # also the next step's starting capability
        difficulty = _power(c, k.difficulty)
        m = zk / difficulty
        top = np.clip(1.0 - k.gap_at_parity * _power(m, k.neg_ceiling_exponent), 0.0, 1.0)
        faith = k.faithfulness(a)
        a = np.where(top > a, a - np.expm1(k.neg_apply_rate * faith * dt) * (top - a), a)
        d = np.minimum(cap, d + rise)
        loc = (d / (1.0 + m)) * (loss * (1.0 - a) * _power(c, kappa) + uncaught)
        undefended = 1.0 / (1.0 + zd / difficulty)
        misuse = misuse_rate * undefended
        lead = (work - rival_work[:, i : i + 1]) / rival_pace[:, i : i + 1]
        behind = np.where(lead < 0, np.minimum(1.0, -lead / ahead_scale), 0.0)
        # As the engine does (hazards.daily_hazards): the defence against AIs more capable
        # than ours is judged at their capability, and keeps (c / c_r)^gamma of its protection.
        against = np.maximum(difficulty, rival_against[:, i : i + 1])
        rival_c = rival_level[:, i : i + 1]
        kept = np.where(c < rival_c, _power(c / rival_c, gap_exponent), 1.0)
        shield = zd / against
        exposed = 1.0 - kept * shield / (1.0 + shield)
        total_hazard += (loc + misuse + rival_hazard[:, i : i + 1] * behind * exposed) * dt
    out: np.ndarray = -total_hazard
    return out


#: Exponents numpy computes by an exact operation when given as a Python float (``x ** 2.0``
#: is a square, ``x ** 0.5`` a square root), not by ``pow``: their bits can differ.
_EXACT_POWERS = (-1.0, 0.0, 0.5, 1.0, 2.0)


def _shared(column: np.ndarray) -> float | np.ndarray:
    """A per-run parameter column as one Python float when every run has the same value (as a
    single run has it: numpy then computes with it as the run alone does, :func:`_power`)."""
    first = float(column[0, 0])
    return first if bool((column == first).all()) else column


def _power(base: np.ndarray, exponent: float | np.ndarray) -> np.ndarray:
    """``base ** exponent`` with ``exponent`` a float or one per run (a column), each element
    as its run computes it alone (with its exponent as a float)."""
    if isinstance(exponent, float):
        return base**exponent
    out: np.ndarray = np.power(base, exponent)
    for e in _EXACT_POWERS:
        rows = np.broadcast_to(exponent == e, out.shape)
        if rows.any():
            out[rows] = base[rows] ** e
    return out


class _Columns:
    """The runs' knowledge parameters as columns (a float where the runs share an exponent or
    the faithfulness floor: :func:`_shared`), and the knowledge law over them."""

    def __init__(self, sections: Sequence[Knowledge], col: Callable[..., np.ndarray]) -> None:
        self.rate = col([p.rate for p in sections])
        self.returns = _shared(col([p.returns for p in sections]))
        self.ideas_harder = _shared(col([p.ideas_harder for p in sections]))
        self.difficulty = _shared(col([p.difficulty for p in sections]))
        self.gap_at_parity = col([1.0 - p.ceiling_at_parity for p in sections])
        self.neg_ceiling_exponent = _shared(col([-p.ceiling_exponent for p in sections]))
        self.neg_apply_rate = col([-p.apply_rate for p in sections])
        self.floor = _shared(col([p.faith_floor for p in sections]))

    def grow(self, z: np.ndarray, work: np.ndarray, dt: float) -> np.ndarray:
        """:func:`~society.mechanisms.knowledge.knowledge_step` over ``(2, runs,
        candidates)`` stocks (knowledge and defence)."""
        step = dt * self.rate  # dt x rate, then x the rest: the single run's order
        grow = (
            step
            * _power(np.maximum(work, 0.0) / W_REF, self.returns)
            * _power(np.maximum(z, 1e-300), self.ideas_harder)
        )
        out: np.ndarray = np.where((work > 0) & (z > 0), z + grow, np.maximum(z, 0.0))
        return out

    def faithfulness(self, a: np.ndarray) -> np.ndarray:
        if isinstance(self.floor, float):
            return faithfulness(a, self.floor)
        # (a - 0) / (1 - 0) is a itself: the form of a run whose floor is 0, bit for bit.
        return np.clip((a - self.floor) / (1.0 - self.floor), 0.0, 1.0)


class _Levels:
    """:func:`~society.mechanisms.knowledge.capability_level` over the runs' columns."""

    def __init__(self, scenarios: Sequence[Scenario], col: Callable[..., np.ndarray]) -> None:
        self.c0 = col([s.population.initial_capability for s in scenarios])
        self.base = col([s.capability.base_work for s in scenarios])
        self.floor = col([MIN_WORK_SHARE * s.capability.base_work for s in scenarios])
        self.returns = _shared(col([s.capability.returns for s in scenarios]))

    def __call__(self, work: np.ndarray) -> np.ndarray:
        total = np.maximum(self.base + work, self.floor)
        out: np.ndarray = self.c0 * _power(total / self.base, self.returns)
        return out


def _rival_path(
    scenario: Scenario, start: Outlook, steps: int, dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rival's capability work, pace, loss-of-control hazard, the difficulty of its
    capability (what our defence is judged against) and that capability, after each projected
    step.

    With ``strategy.share_knowledge`` above 0 the rival takes up the share of the knowledge
    we have today, not of what each candidate tax would add later: the strategists credit a
    higher tax with a safer rival only once its knowledge is published.
    """
    rival = replace(start.rival)
    work = start.rival_work
    published = scenario.strategy.share_knowledge * start.knowledge
    exponent = scenario.knowledge.difficulty
    out = np.empty((5, steps))
    for i in range(steps):
        work, pace = rival_day(scenario, rival, work, start.day + i * dt, dt, published)
        out[:, i] = (
            work,
            pace,
            rival_loss_of_control(scenario, rival),
            np.float64(rival.capability) ** exponent,
            rival.capability,
        )
    return out[0], out[1], out[2], out[3], out[4]


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
