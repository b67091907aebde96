"""Reference cases for ``society ask --until-decided``: the sequential rule keeps its error rate.

The rule (:mod:`society.sequential`) is run as the command runs it (batches of
:data:`~society.asking.DEFAULT_SEEDS` runs up to :data:`~society.asking.DEFAULT_MAX_SEEDS`, a
claim "P >= 0.9") on simulated Bernoulli runs, many times over, in pure numpy:

* with the truth at the threshold, any verdict is wrong: the share of asks that end in "yes"
  or "no" must stay within ``alpha = 0.05``;
* with the truth slightly below (0.88), "yes" is wrong; slightly above (0.92), "no" is wrong;
* a fixed-n interval looked at after every batch instead (the rule ``--until-decided`` must not
  be) breaks the level at the threshold: the simulation is able to see an inflated error.

Importing this module registers the cases in :data:`society.validation.CASES`.
"""

from __future__ import annotations

import numpy as np

from society.validation_cases import CaseFn, CaseResult, _case

THRESHOLD = 0.9
ALPHA = 0.05
OFFSET = 0.02


def _schedule() -> tuple[int, int]:
    from society.asking import DEFAULT_MAX_SEEDS, DEFAULT_SEEDS

    return DEFAULT_SEEDS, DEFAULT_MAX_SEEDS


def _sequential_case(offset: float) -> CaseFn:
    def case(quick: bool, rng: np.random.Generator) -> CaseResult:
        from society.sequential import Schedule, simulate

        batch, cap = _schedule()
        replicates = 2_000 if quick else 20_000
        truth = THRESHOLD + offset
        result = simulate(truth, THRESHOLD, Schedule(batch, cap), replicates, rng)
        wrong = {0.0: result["yes"] + result["no"]}.get(
            offset, result["yes"] if offset < 0 else result["no"]
        )
        which = {0.0: "'yes' or 'no'"}.get(offset, "'yes'" if offset < 0 else "'no'")
        right = f"decided right: {result['no' if offset < 0 else 'yes']:.3f}, " if offset else ""
        return CaseResult(
            "ask --until-decided (beta-binomial confidence sequence)",
            f"{replicates} simulated asks, runs Bernoulli({truth:g}), claim P >= {THRESHOLD}, "
            f"a look every {batch} runs up to {cap}; measured: share ending in {which} "
            f"({right}mean runs {result['mean_runs']:.0f})",
            f"error rate <= alpha = {ALPHA} at any stopping time (Ville's inequality; Howard "
            f"et al. 2021)",
            wrong,
            f"<= {ALPHA}",
            wrong <= ALPHA,
        )

    return case


for _name, _offset in (("at", 0.0), ("below", -OFFSET), ("above", OFFSET)):
    _case(f"ask_sequential_{_name}_threshold")(_sequential_case(_offset))


@_case("ask_repeated_fixed_looks")
def _naive(quick: bool, rng: np.random.Generator) -> CaseResult:
    from society.sequential import Schedule, naive_error_rate

    batch, cap = _schedule()
    replicates = 2_000 if quick else 20_000
    rate = naive_error_rate(THRESHOLD, Schedule(batch, cap), replicates, rng)
    return CaseResult(
        "contrast: a fixed-n 95% Clopper-Pearson interval looked at after every batch",
        f"{replicates} simulated asks, runs Bernoulli({THRESHOLD}), a look every {batch} runs "
        f"up to {cap}; measured: share ending in a (wrong) verdict",
        f"above alpha = {ALPHA}: optional stopping inflates a fixed-n interval's error, which "
        f"is why --until-decided uses the confidence sequence",
        rate,
        f"> {ALPHA}",
        rate > ALPHA,
    )
