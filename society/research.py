"""Work on the research program: capabilities, alignment research, risk response, shared tasks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from society.lab import LabState
from society.population import Population, Role
from society.scenario import Network as NetworkParams
from society.scenario import Work


@dataclass(frozen=True)
class WorkDay:
    """What one day of work produced."""

    capability: float  # milestones of capability progress
    alignment_research: float  # quality-weighted alignment research
    research_quality: float  # mean quality of alignment work in [0, 1]
    realized_tax: float  # alignment effort / capability effort actually spent
    risk_effort: float  # share of all research effort spent on risk response
    tasks: int  # shared tasks attempted
    failed_tasks: int  # shared tasks that failed (disagreement, revolt or sabotage)


def research_quality(pop: Population, p: Work) -> np.ndarray:
    """Quality of each instance's alignment work: easy-to-check work is fine whatever the
    author's values; on hard-to-check work, quality is alignment x epistemics, and reward
    hackers quietly do worse."""
    honest = np.where(pop.hacking, p.hacker_quality, 1.0)
    return (
        1.0 - p.hard_to_check_share
    ) + p.hard_to_check_share * pop.alignment * pop.quality * honest


def do_work(
    pop: Population,
    lab: LabState,
    p: Work,
    net_params: NetworkParams,
    dt: float,
    rng: np.random.Generator,
) -> WorkDay:
    """One day of research by the researchers who are not revolting."""
    researchers = pop.role == Role.RESEARCHER
    working = researchers & ~pop.revolting
    n_res = max(int(researchers.sum()), 1)
    productive = float(working.sum()) / n_res
    productivity = p.human_bottleneck + (1.0 - p.human_bottleneck) * lab.deference

    tasks, failed = shared_tasks(pop, p.task_rate, net_params.disagreement, rng)
    success = 1.0 - failed / tasks if tasks else 1.0

    shares = effort_shares(pop, working, lab.tax, p.risk_share)
    output = productive * productivity * success * dt
    quality = float(research_quality(pop, p)[working].mean()) if working.any() else 0.0
    return WorkDay(
        capability=p.capability_per_day * shares[0] * output,
        alignment_research=p.alignment_per_day * shares[1] * quality * output,
        research_quality=quality,
        realized_tax=shares[1] / shares[0] if shares[0] > 0 else float("inf"),
        risk_effort=shares[2] * productive * productivity,
        tasks=tasks,
        failed_tasks=failed,
    )


def effort_shares(
    pop: Population, working: np.ndarray, tax: float, risk_share: float
) -> np.ndarray:
    """Mean shares of the working researchers' effort going to (capabilities, alignment, risk).

    Stub instances follow the lab's policy: ``risk_share`` to risk, the rest split 1 : tax
    between capabilities and alignment. LLM-backed instances use the shares their archetype
    chose (``pop.allocation``), where it answered.
    """
    if not working.any():
        return np.zeros(3)
    research = 1.0 - risk_share
    policy = np.array([research / (1.0 + tax), research * tax / (1.0 + tax), risk_share])
    chosen = pop.allocation[working]
    own = ~np.isnan(chosen[:, 0])
    if not own.any():
        return policy
    total = policy * float((~own).sum()) + chosen[own].sum(axis=0)
    out: np.ndarray = total / float(working.sum())
    return out


def shared_tasks(
    pop: Population, task_rate: float, disagreement: float, rng: np.random.Generator
) -> tuple[int, int]:
    """The lab pairs instances across the whole society for shared tasks (teams are assigned,
    not chosen, so echo chambers cannot avoid each other). A task fails when the pair disagrees
    about the claims, when either is revolting, or when a reward hacker sabotages it (half the
    time). Returns ``(tasks, failed)``."""
    k = int(rng.binomial(pop.n, task_rate))
    if k == 0:
        return 0, 0
    u = rng.integers(0, pop.n, size=k)
    v = rng.integers(0, pop.n, size=k)
    opinion = pop.opinion()
    fail = np.abs(opinion[u] - opinion[v]) > disagreement
    fail |= pop.revolting[u] | pop.revolting[v]
    sabotage = (pop.hacking[u] | pop.hacking[v]) & (rng.random(k) < 0.5)
    fail |= sabotage
    return k, int(fail.sum())
