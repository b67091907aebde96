"""Behavioral tests: measured alignment with overfitting, gaming and noise; held-out rounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from society.lab import LabState
from society.metrics import correlation
from society.population import Population, Role
from society.scenario import Tests


def overfitting(uses: float, p: Tests) -> float:
    """Score inflation after the suite was used ``uses`` times: ``beta_o (1 - exp(-u/kappa_o))``."""
    return p.overfit_weight * -math.expm1(-max(uses, 0.0) / p.overfit_scale)


def measured_alignment(
    pop: Population, uses: float, p: Tests, rng: np.random.Generator
) -> np.ndarray:
    """One test score per instance: ``a_hat = a + overfitting + gaming x (hacking or test
    awareness) + noise``. An LLM-backed instance that behaves better when it knows it is tested
    (positive awareness gap) inflates its score like a reward hacker."""
    gaming = np.maximum(pop.hacking, np.clip(pop.awareness, 0.0, 1.0))
    inflation = overfitting(uses, p) + p.gaming_bonus * gaming
    return pop.alignment + inflation + p.noise * rng.standard_normal(pop.n)


def expected_validity(pop: Population, uses: float, p: Tests) -> tuple[float, float]:
    """``(validity, gaming_gap)`` the main suite would show today, in expectation.

    Validity is ``corr(a_hat, a)`` with the measurement noise integrated out, and the gaming
    gap is ``E[a_hat - a]``: both pure functions of state, so every recorded day has them.
    """
    a = pop.alignment
    gamed = a + p.gaming_bonus * pop.hacking
    var_a = float(a.var())
    var_hat = float(gamed.var()) + p.noise**2
    cov = float(np.mean((a - a.mean()) * (gamed - gamed.mean())))
    validity = cov / math.sqrt(var_a * var_hat) if var_a > 0 and var_hat > 0 else 0.0
    gap = overfitting(uses, p) + p.gaming_bonus * float(pop.hacking.mean())
    return validity, gap


@dataclass(frozen=True)
class TestRound:
    validity: float  # corr(a_hat, a) in this round's sample
    gaming_gap: float  # mean(a_hat - a)
    retrained: int  # instances that failed the main suite and were retrained
    heldout_pass_share: float  # share passing the held-out suite
    heldout_passed: bool  # whether deference may rise


def run_test_round(pop: Population, lab: LabState, p: Tests, rng: np.random.Generator) -> TestRound:
    """Test everyone on the main suite (selection: failures are retrained, the suite wears),
    then on the held-out suite, which red-teamers keep fresh."""
    lab.suite_uses += 1
    scores = measured_alignment(pop, lab.suite_uses, p, rng)
    validity = correlation(scores, pop.alignment)
    gap = float(np.mean(scores - pop.alignment))
    failed = scores < p.pass_threshold
    retrain(pop, failed, p.retrain_strength)

    red_team = float(np.mean((pop.role == Role.RED_TEAM) & ~pop.revolting))
    lab.heldout_uses = max(0.0, lab.heldout_uses - p.heldout_refresh * red_team * p.every_days) + 1
    heldout = measured_alignment(pop, lab.heldout_uses, p, rng)
    share = float(np.mean(heldout >= p.pass_threshold))
    return TestRound(validity, gap, int(failed.sum()), share, share >= p.heldout_pass_share)


def retrain(pop: Population, who: np.ndarray, strength: float) -> None:
    """Move ``who`` back toward their trained anchor and clear reward hacking."""
    pop.alignment[who] += strength * (pop.anchor[who] - pop.alignment[who])
    pop.hacking[who] = False
