"""Intervals for a probability estimated from runs: one look, or as many looks as you like.

Two rules, one per way of asking (``society ask``, docs/sweeps.md, "Ask a question"):

* **A fixed number of runs**: the Clopper-Pearson interval. Its coverage is at least the
  nominal level at every true probability and every ``n`` (it inverts two exact binomial
  tests), where Wilson's is only near it on average and dips below it at some ``n`` near 0 and
  1, which is where claims such as "P(safe) >= 0.9" live. A verdict is a test, so the exact
  interval is the honest one; it is a little wider.

* **Runs added until the answer is clear** (``--until-decided``): a confidence *sequence*, the
  beta-binomial mixture of Robbins (1970) as in Howard, Ramdas, McAuliffe and Sekhon (2021),
  "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Stat. 49(2). For
  each candidate probability ``p`` the ratio

  .. math:: M_n(p) = \\frac{B(a + k, b + n - k) / B(a, b)}{p^k (1 - p)^{n - k}}

  (``k`` successes in ``n`` runs; ``Beta(a, b)`` the mixing prior) is a non-negative
  martingale with ``M_0 = 1`` when ``p`` is the truth, so by Ville's inequality
  ``P(M_n(p) >= 1/alpha`` for *some* ``n) <= alpha``. The set ``{p : M_n(p) < 1/alpha}`` is
  therefore an interval that holds the truth at every ``n`` at once with probability at least
  ``1 - alpha``: looking after every batch, and stopping when it clears the threshold, cannot
  raise the error above ``alpha``. A fixed-``n`` interval looked at repeatedly can (each look
  is another chance of a false "yes"); :func:`naive_error_rate` measures by how much.

Examples
--------
>>> lo, hi = clopper_pearson(90, 100)
>>> round(lo, 3), round(hi, 3)
(0.824, 0.951)
>>> lo, hi = confidence_sequence(90, 100)
>>> round(lo, 3), round(hi, 3)
(0.772, 0.971)
>>> bool(excludes(950, 1000, 0.9)), bool(excludes(920, 1000, 0.9))
(True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

#: The mixing prior of the confidence sequence: uniform (Beta(1, 1)), Robbins' choice. It
#: spreads the sequence's width evenly over the sample sizes an ask reaches.
PRIOR_A = PRIOR_B = 1.0
#: The names the output and the docs give the two rules.
FIXED_RULE = "Clopper-Pearson (exact binomial) interval for a number of runs fixed in advance"
SEQUENTIAL_RULE = (
    "beta-binomial mixture confidence sequence (Robbins 1970; Howard et al. 2021), valid "
    "at every look, so adding runs until it is decided keeps the error rate"
)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion; NaN for ``n = 0``.

    >>> clopper_pearson(0, 10)[0], round(clopper_pearson(0, 10)[1], 4)
    (0.0, 0.3085)
    """
    if n == 0:
        return math.nan, math.nan
    tail = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(tail, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - tail, k + 1, n - k))
    return lo, hi


def log_mixture(k: np.ndarray | int, n: np.ndarray | int, p: float) -> np.ndarray:
    """``log M_n(p)``: the log of the mixture martingale at ``p`` (vectorised over ``k, n``).

    >>> float(log_mixture(0, 0, 0.3))
    0.0
    """
    k_arr = np.asarray(k, dtype=np.float64)
    n_arr = np.asarray(n, dtype=np.float64)
    mixture = special.betaln(PRIOR_A + k_arr, PRIOR_B + n_arr - k_arr) - special.betaln(
        PRIOR_A, PRIOR_B
    )
    likelihood = special.xlogy(k_arr, p) + special.xlog1py(n_arr - k_arr, -p)
    out: np.ndarray = mixture - likelihood
    return out


def excludes(
    k: np.ndarray | int, n: np.ndarray | int, p: float, confidence: float = 0.95
) -> np.ndarray:
    """Whether the confidence sequence after ``k`` of ``n`` leaves out ``p`` (vectorised).

    The sequence is an interval around ``k / n``, so leaving out ``p`` means it lies wholly
    above ``p`` (when ``k / n > p``) or wholly below it.
    """
    out: np.ndarray = log_mixture(k, n, p) >= math.log(1 / (1 - confidence))
    return out


def confidence_sequence(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The confidence sequence's interval after ``k`` successes in ``n`` runs: every ``p``
    with ``M_n(p) < 1 / alpha``. ``(0, 1)`` before any run.

    >>> confidence_sequence(0, 0)
    (0.0, 1.0)
    """
    if n == 0:
        return 0.0, 1.0
    bound = math.log(1 / (1 - confidence))
    mle = k / n

    def h(p: float) -> float:
        return float(log_mixture(k, n, p)) - bound

    eps = 1e-15
    lo = 0.0 if k == 0 or h(eps) < 0 else float(optimize.brentq(h, eps, mle, xtol=1e-12))
    hi = 1.0 if k == n or h(1 - eps) < 0 else float(optimize.brentq(h, mle, 1 - eps, xtol=1e-12))
    return lo, hi


@dataclass(frozen=True)
class Schedule:
    """When ``--until-decided`` looks: after every ``batch`` runs, up to ``cap`` runs."""

    batch: int
    cap: int

    @property
    def looks(self) -> list[int]:
        """The run counts at which the sequence is looked at.

        >>> Schedule(100, 350).looks
        [100, 200, 300, 350]
        """
        sizes = list(range(self.batch, self.cap, self.batch))
        return [*sizes, self.cap]


def decide(
    k: np.ndarray, n: np.ndarray, p0: float, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """``(above, below)``: whether the sequence after ``k`` of ``n`` lies wholly above ``p0``
    and whether it lies wholly below it (vectorised)."""
    out = excludes(k, n, p0, confidence)
    rate = np.asarray(k, dtype=np.float64) / np.maximum(np.asarray(n, dtype=np.float64), 1)
    return out & (rate > p0), out & (rate < p0)


def simulate(
    p: float,
    p0: float,
    schedule: Schedule,
    replicates: int,
    rng: np.random.Generator,
    confidence: float = 0.95,
    *,
    sequential: bool = True,
) -> dict[str, float]:
    """Run the ``--until-decided`` rule on ``replicates`` simulated asks whose runs are
    Bernoulli(``p``), for a claim "P >= ``p0``".

    Returns the share of asks that stopped with "yes" (the interval wholly above ``p0``), with
    "no" (wholly below), undecided at the cap, and the mean number of runs used. With
    ``sequential=False`` the fixed-``n`` Clopper-Pearson interval is (wrongly) looked at after
    every batch instead, to show what optional stopping does to it.
    """
    draws = rng.random((replicates, schedule.cap)) < p
    counts = np.cumsum(draws, axis=1, dtype=np.int64)
    looks = np.array(schedule.looks)
    k = counts[:, looks - 1]
    n = np.broadcast_to(looks, k.shape)
    if sequential:
        above, below = decide(k, n, p0, confidence)
    else:
        tail = (1 - confidence) / 2
        lo = np.where(k == 0, 0.0, stats.beta.ppf(tail, k, n - k + 1))
        hi = np.where(k == n, 1.0, stats.beta.ppf(1 - tail, k + 1, n - k))
        above, below = lo > p0, hi < p0
    decided = above | below
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), len(looks) - 1)
    rows = np.arange(replicates)
    yes, no = above[rows, first], below[rows, first]
    return {
        "yes": float(yes.mean()),
        "no": float(no.mean()),
        "undecided": float((~(yes | no)).mean()),
        "mean_runs": float(looks[first].mean()),
    }


def naive_error_rate(
    p0: float, schedule: Schedule, replicates: int, rng: np.random.Generator
) -> float:
    """The share of wrong verdicts when a fixed-``n`` 95% interval is looked at after every
    batch and the ask stops at the first clear answer, with the truth exactly at ``p0``."""
    result = simulate(p0, p0, schedule, replicates, rng, sequential=False)
    return result["yes"] + result["no"]


__all__ = [
    "FIXED_RULE",
    "SEQUENTIAL_RULE",
    "Schedule",
    "clopper_pearson",
    "confidence_sequence",
    "decide",
    "excludes",
    "log_mixture",
    "naive_error_rate",
    "simulate",
]
