"""Work on the research program: throughput through the human bottleneck, the split between
capabilities, alignment and risk response, research quality, and shared tasks.

Work is counted in human-equivalent work-days. The simulated instances are a sample standing
for the lab's workforce ``W(t)`` (it grows with compute), so every total here is a
per-instance mean times ``W(t)``: the outcome does not move with ``population.size`` beyond
sampling noise. Each work-day yields ``c^beta`` as much as at capability 1 (AI R&D feedback).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from society.arrays import mean
from society.lab import LabState
from society.mechanisms.base import Batched, Mechanism, Simulation, register
from society.mechanisms.today import WorkDay
from society.population import Population, Role
from society.scenario import Scenario


def work_days_per_instance_day(speed: float, deference: float, gated_share: float) -> float:
    """Amdahl's law for deference: ``s / (1 + (1 - d) b (s - 1))`` work-days per instance-day.

    A share ``b`` of decisions waits on humans unless deferred, so speed only turns into
    progress as deference rises.

    >>> work_days_per_instance_day(40.0, 1.0, 0.5)
    40.0
    >>> round(work_days_per_instance_day(40.0, 0.2, 0.5), 3)
    2.41
    >>> work_days_per_instance_day(40.0, 0.0, 1.0)
    1.0
    """
    return speed / (1.0 + (1.0 - deference) * gated_share * max(speed - 1.0, 0.0))


def truth_closeness(pop: Population, truth: Any, scale: Any) -> np.ndarray:
    """``exp(-|beliefs - truth| / scale)`` per instance, the distance averaged over claims: a
    delusional consensus produces confident wrong results. (``truth`` and ``scale`` numbers,
    or one per instance in a batch of runs.)"""
    b = pop.beliefs
    dist = np.abs(b[:, 0] - truth)
    for j in range(1, b.shape[1]):  # column loop: a row-wise mean over a narrow array is slow
        dist += np.abs(b[:, j] - truth)
    out: np.ndarray = np.exp(-dist / (b.shape[1] * scale))
    return out


def research_quality(pop: Population, scenario: Scenario, level: float = 1.0) -> np.ndarray:
    """Quality of each instance's alignment work in [0, 1].

    Easy-to-check work is verified and keeps its value whatever the author's values. Hard-to-
    check work is weighted by alignment x epistemic quality x truth of beliefs x honesty
    (reward hackers do worse), raised by capability ``level`` above 1 (better conceptual work).
    """
    skill = 1.0 + scenario.strategy.capability_quality * max(level - 1.0, 0.0)
    return _quality(pop, scenario.work, scenario.beliefs.truth, skill)


def _quality(pop: Population, p: Any, truth: Any, skill: Any) -> np.ndarray:
    honest = np.where(pop.hacking, p.hacker_quality, 1.0)
    hard = pop.alignment * pop.quality * truth_closeness(pop, truth, p.truth_scale)
    hard = np.minimum(hard * honest * skill, 1.0)
    out: np.ndarray = (1.0 - p.hard_to_check_share) + p.hard_to_check_share * hard
    return out


def do_work(
    pop: Population,
    lab: LabState,
    scenario: Scenario,
    per_instance: float,
    available: float,
    rng: np.random.Generator,
    growth: float = 1.0,
) -> WorkDay:
    """One day of research by the researchers who are not revolting, split at the tax in
    force (``lab.tax_in_force``).

    ``per_instance`` is the Amdahl output of one instance-day; ``available`` the share of the
    day not lost to test rounds or a final evaluation; ``growth`` the workforce's growth with
    compute since the start, ``W(t) / W0``.
    """
    p = scenario.work
    working = (pop.role == Role.RESEARCHER) & ~pop.revolting
    tasks, failed = shared_tasks(pop, p.task_rate, scenario.network.disagreement, rng)
    quality = _mean_qualities(research_quality(pop, scenario, lab.level)[None], working[None])[0]
    done = (tasks, failed, quality)
    return _work(pop, working, lab, scenario, per_instance, available, growth, *done)


def _mean_qualities(quality: np.ndarray, working: np.ndarray) -> list[float]:
    """The mean quality of the working researchers' work in each row (one row a run; 0 where
    none works)."""
    counts = np.count_nonzero(working, axis=-1).tolist()
    # np.mean(quality, where=working)'s sum and division, without copying the working
    # researchers out and without np.mean's Python wrappers (same bits; numpy reduces each row
    # of a 2-D array, where= included, as it reduces the row alone).
    sums = np.add.reduce(quality, axis=-1, where=working).tolist()
    return [total / count if count else 0.0 for total, count in zip(sums, counts, strict=True)]


def _work(
    pop: Population,
    working: np.ndarray,
    lab: LabState,
    scenario: Scenario,
    per_instance: float,
    available: float,
    growth: float,
    tasks: int,
    failed: int,
    quality: float,
) -> WorkDay:
    """The day's work from its parts: the shared tasks done and failed, and the quality."""
    p = scenario.work
    success = 1.0 - p.failed_task_cost * failed / tasks if tasks else 1.0
    # Work-days of the whole workforce: the working share of the sample times W(t), each
    # work-day worth level^beta (AI R&D feedback).
    feedback = lab.level**scenario.capability.feedback
    total = scenario.population.workforce * growth * mean(working) * per_instance
    total *= feedback * success * available
    shares = effort_shares(
        pop, working, lab.tax_in_force, p.risk_share, p.tax_compliance, p.compliance_alignment_slope
    )
    return WorkDay(
        capability=shares[0] * total,
        alignment=shares[1] * total * quality,
        risk=shares[2] * total * quality,
        research_quality=quality,
        tasks=tasks,
        failed_tasks=failed,
    )


def effort_shares(
    pop: Population,
    working: np.ndarray,
    tax: float,
    risk_share: float,
    compliance: float = 1.0,
    slope: float = 0.0,
) -> np.ndarray:
    """Mean shares of the working researchers' effort going to (capabilities, alignment, risk).

    Stub instances follow the lab's policy: ``risk_share`` to risk, the rest split 1 : tax
    between capabilities and alignment, or, with ``compliance`` / ``slope`` set
    (``work.tax_compliance``, ``work.compliance_alignment_slope``), the alignment share of
    :func:`stub_alignment_fraction` at their own alignment. LLM-backed instances use the shares
    their archetype chose (``pop.allocation``), where it answered.
    """
    if not working.any():
        return np.zeros(3)
    research = 1.0 - risk_share
    if compliance == 1.0 and slope == 0.0:  # the lab's split, the same for everyone
        aligned = _tax_share(tax)
        stub = np.array([research * (1.0 - aligned), research * aligned, risk_share])
    else:
        f = stub_alignment_fraction(pop.alignment[working], tax, compliance, slope)
        chosen_any = ~np.isnan(pop.allocation[working, 0])
        f_stub = float(f[~chosen_any].mean()) if (~chosen_any).any() else 0.0
        stub = np.array([research * (1.0 - f_stub), research * f_stub, risk_share])
    if np.isnan(pop.allocation[:, 0]).all():  # no LLM-backed instance chose today
        return stub
    chosen = pop.allocation[working]
    own = ~np.isnan(chosen[:, 0])
    if not own.any():
        return stub
    total = stub * float((~own).sum()) + chosen[own].sum(axis=0)
    out: np.ndarray = total / float(working.sum())
    return out


def stub_alignment_fraction(
    alignment: np.ndarray, tax: float | np.ndarray, compliance: float, slope: float
) -> np.ndarray:
    """Share of a stub researcher's research effort (after risk) that goes to alignment:
    ``min(1, max(0, compliance - slope (1 - a)) tax / (1 + tax))``; at compliance 1 and slope 0
    the lab's split ``tax / (1 + tax)``.

    >>> stub_alignment_fraction(np.array([1.0, 0.5]), 0.5, 1.5, 1.0).round(3).tolist()
    [0.5, 0.333]
    """
    follow = np.maximum(compliance - slope * (1.0 - alignment), 0.0)
    share = np.where(np.isinf(tax), 1.0, np.asarray(tax) / (1.0 + np.asarray(tax)))
    out: np.ndarray = np.minimum(follow * share, 1.0)
    return out


def _tax_share(tax: float) -> float:
    """``tax / (1 + tax)``, the share of research effort that goes to alignment (all of it at
    an infinite tax: capabilities paused)."""
    return 1.0 if math.isinf(tax) else tax / (1.0 + tax)


def shared_tasks(
    pop: Population,
    task_rate: float,
    disagreement: float,
    rng: np.random.Generator,
    opinion: np.ndarray | None = None,
) -> tuple[int, int]:
    """The lab pairs instances across the whole society for shared tasks (teams are assigned,
    not chosen, so echo chambers cannot avoid each other). A task fails when the pair disagrees
    about the claims, when either is revolting, or when a reward hacker sabotages it (half the
    time). Returns ``(tasks, failed)``. ``opinion`` is ``pop.opinion()``, if already known."""
    drawn = _task_draws(pop.n, task_rate, rng)
    if drawn is None:
        return 0, 0
    opinion = pop.opinion() if opinion is None else opinion
    return drawn[0].size, int(_failures(pop, opinion, *drawn, disagreement).sum())


def shared_tasks_runs(
    pop: Population,
    n: int,
    task_rates: Sequence[float],
    disagreements: Sequence[float],
    rngs: Sequence[np.random.Generator],
    opinion: np.ndarray,
) -> list[tuple[int, int]]:
    """:func:`shared_tasks` for a batch of runs laid end to end (``n`` instances each): each
    run draws its tasks from its own stream as alone, and the failures of every run's tasks
    are found at once. Returns each run's ``(tasks, failed)``."""
    u, v, coin, per_run = [], [], [], []
    for b, (rate, rng) in enumerate(zip(task_rates, rngs, strict=True)):
        drawn = _task_draws(n, rate, rng)
        per_run.append(0 if drawn is None else drawn[0].size)
        if drawn is not None:
            u.append(drawn[0] + b * n)
            v.append(drawn[1] + b * n)
            coin.append(drawn[2])
    if not u:
        return [(0, 0)] * len(per_run)
    disagree = np.repeat(np.asarray(disagreements, dtype=np.float64), per_run)
    u_all, v_all, coins = np.concatenate(u), np.concatenate(v), np.concatenate(coin)
    fail = _failures(pop, opinion, u_all, v_all, coins, disagree)
    bounds = np.concatenate(([0], np.cumsum(per_run)))
    failed = np.diff(np.concatenate(([0], np.cumsum(fail)))[bounds])
    return [(k, int(f)) for k, f in zip(per_run, failed, strict=True)]


def _task_draws(
    n: int, task_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A day's shared tasks: each one's pair of instances and its sabotage coin (None: none)."""
    k = int(rng.binomial(n, task_rate))
    if k == 0:
        return None
    return rng.integers(0, n, size=k), rng.integers(0, n, size=k), rng.random(k)


def _failures(
    pop: Population,
    opinion: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    coin: np.ndarray,
    disagreement: float | np.ndarray,
) -> np.ndarray:
    """Which tasks of the pairs ``(u, v)`` fail: a disagreement, a revolting member, or a
    reward hacker's sabotage (when its coin is below one half)."""
    fail = np.abs(opinion[u] - opinion[v]) > disagreement
    fail |= pop.revolting[u] | pop.revolting[v]
    fail |= (pop.hacking[u] | pop.hacking[v]) & (coin < 0.5)
    return fail


@register
class Research(Mechanism):
    """Off: no research at all (neither capability nor safety work; shared tasks stop)."""

    name, phase, order, section = "work", "labour", 10, "work"

    def step(self, model: Simulation) -> None:
        t = model.today
        t.work = do_work(
            t.population, t.lab, t.scenario, t.per_instance, t.available, self.rng, t.growth
        )

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        pop, todays = batch.population, batch.todays
        work, truth = batch.section("work"), batch.section("beliefs").truth
        strategy = batch.section("strategy")
        working = (pop.role == Role.RESEARCHER) & ~pop.revolting
        opinion = pop.opinion()
        levels = batch.per_run([max(t.lab.level - 1.0, 0.0) for t in todays])
        quality = _quality(pop, work, truth, 1.0 + strategy.capability_quality * levels)
        scenarios = [t.scenario for t in todays]
        tasks = shared_tasks_runs(
            pop,
            batch.n,
            [s.work.task_rate for s in scenarios],
            [s.network.disagreement for s in scenarios],
            [m.rng for m in mechanisms],
            opinion,
        )
        mine = working.reshape(len(mechanisms), batch.n)
        means = _mean_qualities(quality.reshape(mine.shape), mine)
        for b, t in enumerate(todays):
            args = (t.lab, t.scenario, t.per_instance, t.available, t.growth)
            t.work = _work(t.population, mine[b], *args, *tasks[b], means[b])
        return True
