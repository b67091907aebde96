"""Behavioral tests: measured alignment with overfitting, gaming and noise; held-out rounds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from society.arrays import mean
from society.lab import LabState
from society.mechanisms.base import Batched, Clocked, Simulation, register
from society.metrics import correlation, row_correlations
from society.population import Population, Role
from society.scenario import Tests


def overfitting(uses: float, p: Tests) -> float:
    """Score inflation after the suite was used ``uses`` times: ``beta_o (1 - exp(-u/kappa_o))``."""
    return p.overfit_weight * -math.expm1(-max(uses, 0.0) / p.overfit_scale)


def measured_alignment(
    pop: Population,
    uses: float,
    p: Tests,
    rng: np.random.Generator,
    *,
    hardening: float = 1.0,
    noise_scale: float = 1.0,
) -> np.ndarray:
    """One test score per instance: ``a_hat = a + overfitting + gaming x g + noise``, with
    ``g`` the instance's propensity to game: 1 for a reward hacker, its test-awareness gap for
    an LLM-backed instance that behaves better when it knows it is tested, and at least
    ``1 - a`` for anyone (a misaligned instance has learned that looking aligned scores well).
    ``hardening`` scales the gaming a suite lets through (pre-deference work hardens tests)."""
    gaming = gaming_propensity(pop, p.awareness)
    return scored(
        pop, gaming, overfitting(uses, p), p.gaming_bonus * hardening, p.noise * noise_scale, rng
    )


def scored(
    pop: Population, gaming: Any, overfit: Any, bonus: Any, noise: Any, rng: Any
) -> np.ndarray:
    """``a + (overfit + bonus g) + noise z``: :func:`measured_alignment` from its parts (each a
    number, or one per instance in a batch of runs)."""
    out: np.ndarray = (
        pop.alignment + (overfit + bonus * gaming) + noise * rng.standard_normal(pop.n)
    )
    return out


def gaming_propensity(pop: Population, stub_awareness: float = 0.0) -> np.ndarray:
    """``g`` per instance in [0, 1]: hacker 1, else max(test-awareness gap, 1 - a). The gap
    is the instance's own (LLM-backed) or at least ``stub_awareness`` (``tests.awareness``)."""
    aware = np.clip(pop.awareness, 0.0, 1.0)
    if stub_awareness > 0.0:
        aware = np.maximum(aware, stub_awareness)
    out: np.ndarray = np.maximum(np.maximum(pop.hacking, aware), 1.0 - pop.alignment)
    return out


def knowledge_validity(pop: Population) -> float:
    """``corr(a_hat, a)``: how well the scores of the latest held-out round predict today's
    alignment. Gaming and overfitting blur it, and so does staleness: values drift after a
    round, so a lab that tests rarely knows less about the society it defers to. 0 before a
    new generation's first round: the lab knows nothing of it yet."""
    untested = np.isnan(pop.last_score)
    count = pop.last_score.size - int(np.count_nonzero(untested))
    if count < 2:
        return 0.0
    if count == pop.n:  # the usual case: no copies
        return correlation(pop.last_score, pop.alignment)
    known = ~untested
    return correlation(pop.last_score[known], pop.alignment[known])


def gaming_scale(lab: LabState) -> float:
    """How much of the full gaming bonus a suite lets through today: what pre-deference work
    left of it (``test_hardening``) times ``1 + ln(c / c_evaluators)``: scheming grows with the
    capability gap between the model and the humans and trusted weaker AIs who evaluate it.

    >>> lab = LabState(tax=0.1, deference=0.2, level=math.e, evaluator_level=1.0)
    >>> gaming_scale(lab)
    2.0
    """
    gap = math.log(max(lab.level / max(lab.evaluator_level, 1e-12), 1.0))
    return lab.test_hardening * (1.0 + gap)


def gaming_gap(pop: Population, uses: float, p: Tests, hardening: float = 1.0) -> float:
    """``E[a_hat - a]`` on the main suite today: overfitting plus gaming, in expectation."""
    return gaming_gap_of(mean(gaming_propensity(pop, p.awareness)), uses, p, hardening)


def gaming_gap_of(gaming: float, uses: float, p: Tests, hardening: float = 1.0) -> float:
    """:func:`gaming_gap` from the mean gaming propensity ``gaming``."""
    return overfitting(uses, p) + p.gaming_bonus * hardening * gaming


def false_pass(pop: Population, threshold: float) -> float:
    """``P(passed the latest held-out round | a < threshold today)``: uniform inflation from
    gaming leaves the correlation but lets misaligned instances pass, and so does drift since
    the round; that is how bad tests kill. NaN if nobody is below the threshold or untested."""
    below = pop.alignment < threshold
    if not below.any():  # usually: nobody to look up
        return math.nan
    below &= ~np.isnan(pop.last_score)
    if not below.any():
        return math.nan
    return mean(pop.last_score[below] >= threshold)


@dataclass(frozen=True)
class TestRound:
    validity: float  # corr(a_hat, a) in this round's sample
    gaming_gap: float  # mean(a_hat - a)
    retrained: int  # instances that failed the main suite and were retrained
    heldout_pass_share: float  # share passing the held-out suite
    heldout_passed: bool  # whether deference may rise
    false_pass: float  # P(pass held-out | true alignment below the pass threshold); NaN if none


def run_test_round(pop: Population, lab: LabState, p: Tests, rng: np.random.Generator) -> TestRound:
    """Test everyone on the main suite (selection: failures are retrained, the suite wears),
    then on the held-out suite, which red-teamers keep fresh. Sets ``lab.heldout_passed``."""
    lab.suite_uses += 1
    scores = measured_alignment(pop, lab.suite_uses, p, rng, hardening=gaming_scale(lab))
    validity = correlation(scores, pop.alignment)
    gap = float(np.mean(scores - pop.alignment))
    failed = scores < p.pass_threshold
    retrain(pop, failed, p.retrain_strength)

    red_team = float(np.mean((pop.role == Role.RED_TEAM) & ~pop.revolting))
    lab.heldout_uses = max(0.0, lab.heldout_uses - p.heldout_refresh * red_team * p.every_days) + 1
    heldout = measured_alignment(pop, lab.heldout_uses, p, rng, hardening=gaming_scale(lab))
    pop.last_score[:] = heldout
    share = float(np.mean(heldout >= p.pass_threshold))
    lab.heldout_passed = share >= p.heldout_pass_share
    return TestRound(
        validity,
        gap,
        int(failed.sum()),
        share,
        lab.heldout_passed,
        false_pass(pop, p.pass_threshold),
    )


def final_evaluation(
    pop: Population, lab: LabState, p: Tests, rng: np.random.Generator
) -> tuple[bool, float]:
    """The evaluation before full deference: a fresh suite (no overfitting) with half the
    noise. Gaming still inflates scores, so a gamed suite can pass a misaligned society. On
    failure the failing instances are retrained. Returns ``(passed, pass_share)``."""
    scores = measured_alignment(pop, 0.0, p, rng, hardening=gaming_scale(lab), noise_scale=0.5)
    failed = scores < p.pass_threshold
    share = 1.0 - float(failed.mean())
    passed = share >= p.heldout_pass_share
    if not passed:
        retrain(pop, failed, p.retrain_strength)
    return passed, share


def retrain(pop: Population, who: np.ndarray, strength: float | np.ndarray) -> None:
    """Move ``who`` back toward their trained anchor and clear reward hacking; each carries a
    grievance for it (see :mod:`society.mechanisms.revolt`). ``strength`` is a number, or one
    per instance (a batch of runs)."""
    if isinstance(strength, np.ndarray):
        strength = strength[who]
    pop.alignment[who] += strength * (pop.anchor[who] - pop.alignment[who])
    pop.hacking[who] = False
    pop.grievance[who] += 1.0


@register
class TestRounds(Clocked):
    """A held-out test round every ``tests.every_days`` days, at noon. Off: no test rounds (the
    held-out gate is never passed, so deference stays at its cap)."""

    name, order, section, offset = "tests", 10, "tests", 0.5

    def period(self) -> int:
        return int(self.params.every_days)

    def step(self, model: Simulation) -> None:
        if model.llm is not None:
            model.llm.test_round()
        _log(model, run_test_round(model.population, model.lab, self.params, self.rng))

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        p = batch.params(mechanisms)
        if isinstance(p.awareness, np.ndarray):
            return False  # the stub's gap decides a branch: run by run
        for model, result in zip(batch.models, test_rounds(batch, mechanisms, p), strict=True):
            _log(model, result)
        return True


def _log(model: Simulation, result: TestRound) -> None:
    model.recorder.event(
        model.day,
        "test_round",
        result.heldout_pass_share,
        model.lab.generation,
        passed=result.heldout_passed,
        retrained=result.retrained,
        validity=round(result.validity, 6),
        gaming_gap=round(result.gaming_gap, 6),
        false_pass=None if math.isnan(result.false_pass) else round(result.false_pass, 6),
    )


def test_rounds(batch: Batched, mechanisms: Sequence[Any], p: Any) -> list[TestRound]:
    """:func:`run_test_round` for every run of a batch at once (``p`` their tests sections,
    per instance where they differ): each run's scores from its own stream, each run's sums
    along its own row, so each gets the round it gets alone."""
    pop, labs, n = batch.population, [m.lab for m in batch.models], batch.n
    runs = len(labs)
    draws = batch.draws(mechanisms)
    params = [m.params for m in mechanisms]
    hardening = [gaming_scale(lab) for lab in labs]
    bonus = batch.per_run([q.gaming_bonus * h for q, h in zip(params, hardening, strict=True)])
    noise = batch.per_run([q.noise * 1.0 for q in params])

    def scores(uses: list[float]) -> np.ndarray:
        over = batch.per_run([overfitting(u, q) for u, q in zip(uses, params, strict=True)])
        gaming = gaming_propensity(pop, p.awareness)
        return scored(pop, gaming, over, bonus, noise, draws)

    for lab in labs:
        lab.suite_uses += 1
    first = scores([lab.suite_uses for lab in labs])
    a = pop.alignment.reshape(runs, n)
    s = first.reshape(runs, n)
    validity = row_correlations(s, a)
    gaps = np.add.reduce(s - a, axis=1) / n
    failed = first < p.pass_threshold
    retrain(pop, failed, p.retrain_strength)
    red = (pop.role == Role.RED_TEAM) & ~pop.revolting
    red_team = np.count_nonzero(red.reshape(runs, n), axis=1) / n
    for lab, q, share in zip(labs, params, red_team.tolist(), strict=True):
        refreshed = lab.heldout_uses - q.heldout_refresh * share * q.every_days
        lab.heldout_uses = max(0.0, refreshed) + 1
    heldout = scores([lab.heldout_uses for lab in labs])
    pop.last_score[:] = heldout
    passing = np.count_nonzero((heldout >= p.pass_threshold).reshape(runs, n), axis=1) / n
    retrained = np.count_nonzero(failed.reshape(runs, n), axis=1)
    out = []
    for b, (model, lab, q) in enumerate(zip(batch.models, labs, params, strict=True)):
        share = float(passing[b])
        lab.heldout_passed = share >= q.heldout_pass_share
        out.append(
            TestRound(
                validity[b],
                float(gaps[b]),
                int(retrained[b]),
                share,
                lab.heldout_passed,
                false_pass(model.population, q.pass_threshold),
            )
        )
    return out
