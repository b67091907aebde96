"""Claims and their intervals: validation at the edge, verdicts, Clopper-Pearson, the sequence."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from society.claims import Claim, answer, metric_names, outcome_names
from society.errors import ScenarioError
from society.outcomes import Outcomes
from society.scenario_files import load_scenario
from society.sequential import (
    Schedule,
    clopper_pearson,
    confidence_sequence,
    excludes,
    log_mixture,
    simulate,
)
from society.sweeps.store import SUMMARY_SCHEMA


@pytest.mark.parametrize(
    ("claim", "words"),
    [
        ({"outcome": "sae", "p": 0.9}, "Did you mean 'safe'? Allowed outcomes: safe,"),
        ({"metric": "final_alignmnt", "threshold": 0.7, "p": 0.9}, "Allowed metrics: "),
        ({"metric": "final_alignment", "p": 0.9}, "needs threshold"),
        ({"outcome": "safe", "metric": "final_alignment", "p": 0.9}, "not both"),
        ({"outcome": "safe"}, "p = the probability the claim states is required"),
        ({"outcome": "safe", "p": 1.0}, "strictly between 0 and 1"),
        ({"outcome": "safe", "p": 0.9, "op": ">"}, "claim.op"),
    ],
)
def test_a_bad_claim_is_one_paragraph_naming_the_fix(claim: dict, words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario({"claim": claim})
    text = str(err.value)
    assert words in text and "\n" not in text
    if "Allowed outcomes" in words:  # the whole list, and the metrics as the alternative
        assert all(name in text for name in outcome_names())
        assert "final_alignment" in text


def test_every_outcome_flag_of_the_model_can_be_claimed() -> None:
    # A Boolean flag the model adds to its outcomes must reach points.parquet (SUMMARY_SCHEMA)
    # to be claimable; the allowed list is derived from there.
    flags = {f.name for f in dataclasses.fields(Outcomes) if f.type in (bool, "bool")}
    assert flags <= set(outcome_names())
    assert {k for k, t in SUMMARY_SCHEMA.items() if t == pl.Boolean()} <= set(outcome_names())
    assert {"left_basin", "cause_loss_of_control", "cause_revolt"} <= set(outcome_names())
    assert "final_alignment" in metric_names() and "safe_day" not in metric_names()


@pytest.mark.parametrize(
    ("op", "k", "n", "verdict", "sentence"),
    [
        (">=", 990, 1000, "yes", "yes: P(safe) = 0.99 [0.98, 1.00] >= 0.9"),
        (">=", 500, 1000, "no", "no: P(safe) = 0.50 [0.47, 0.53] < 0.9"),
        (">=", 9, 10, "not established", "not established at this n: P(safe) = 0.90 "),
        ("<=", 500, 1000, "yes", "yes: P(safe) = 0.50 [0.47, 0.53] <= 0.9"),
        ("<=", 990, 1000, "no", "no: P(safe) = 0.99 [0.98, 1.00] > 0.9"),
    ],
)
def test_verdicts_in_words(op: str, k: int, n: int, verdict: str, sentence: str) -> None:
    a = answer(Claim(outcome="safe", op=op, p=0.9), k, n)
    assert a.verdict == verdict
    assert a.sentence().startswith(sentence)
    assert a.low <= k / n <= a.high


def test_bounds_get_the_decimals_that_keep_them_apart_from_p() -> None:
    # 9340 of 10000: [0.92896, 0.93879]. Against 0.9 two decimals show it; against 0.93 they
    # would show "0.93 [0.93, 0.94] straddles 0.93", so three are used.
    far = answer(Claim(outcome="safe", p=0.9), 9340, 10000).sentence()
    assert far == "yes: P(safe) = 0.93 [0.93, 0.94] >= 0.9"
    close = answer(Claim(outcome="safe", p=0.93), 9340, 10000).sentence()
    assert close.startswith("not established at this n: P(safe) = 0.934 [0.929, 0.939] straddles")
    text = answer(Claim(outcome="safe", p=0.9), 0, 0).sentence()
    assert text.startswith("not established: no finished run")


def test_a_metric_claim_counts_the_runs_past_its_threshold() -> None:
    points = pl.DataFrame(
        {
            "final_alignment": [0.6, 0.7, 0.8, None],
            "safe": [True, False, True, None],
            "stayed_in_basin": [True, True, False, True],
            "catastrophe_cause": [None, "misuse", None, None],
        }
    )
    at_least = Claim(metric="final_alignment", metric_op=">=", threshold=0.7, p=0.5)
    assert at_least.holds_in(points).to_list() == [False, True, True, False]
    assert at_least.text == "P(final_alignment >= 0.7) >= 0.5"
    below = Claim(metric="final_alignment", metric_op="<", threshold=0.7, p=0.5)
    assert below.holds_in(points).to_list() == [True, False, False, False]
    assert Claim(outcome="left_basin", p=0.5).holds_in(points).to_list() == [0, 0, 1, 0]
    assert Claim(outcome="cause_misuse", p=0.5).holds_in(points).to_list() == [0, 1, 0, 0]


@pytest.mark.parametrize(("k", "n"), [(0, 10), (5, 10), (10, 10), (93, 100), (1, 1000)])
def test_clopper_pearson_is_scipys_exact_interval(k: int, n: int) -> None:
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((ref.low, ref.high), abs=1e-9)
    assert all(math.isnan(x) for x in clopper_pearson(0, 0))


@pytest.mark.parametrize(("k", "n"), [(0, 10), (7, 10), (10, 10), (920, 1000), (3, 500)])
def test_the_confidence_sequence_is_the_set_where_the_mixture_stays_below_1_over_alpha(
    k: int, n: int
) -> None:
    lo, hi = confidence_sequence(k, n)
    assert lo <= k / n <= hi
    # Its ends are where log M_n(p) reaches log(1/alpha) (or 0 and 1 where it never does).
    for end in (lo, hi):
        if 0 < end < 1:
            assert float(log_mixture(k, n, end)) == pytest.approx(math.log(20), abs=1e-6)
    grid = np.linspace(0.001, 0.999, 999)
    inside = (grid > lo) & (grid < hi)
    assert np.array_equal(~excludes(k, n, 0.0 + grid), inside | ((grid == lo) | (grid == hi)))
    # Wider than the fixed-n interval: the price of validity at every n at once.
    cp = clopper_pearson(k, n)
    assert lo <= cp[0] and hi >= cp[1]


def test_the_sequence_keeps_its_level_under_looks_where_a_fixed_interval_does_not() -> None:
    rng = np.random.default_rng(5)
    schedule = Schedule(10, 400)  # 40 looks: a hard case for optional stopping
    sequential = simulate(0.9, 0.9, schedule, 3000, rng)
    naive = simulate(0.9, 0.9, schedule, 3000, np.random.default_rng(5), sequential=False)
    assert sequential["yes"] + sequential["no"] <= 0.05
    assert naive["yes"] + naive["no"] > 0.15  # the same data, a fixed-n interval at each look
    # And it decides when the truth is clear of the threshold.
    clear = simulate(0.97, 0.9, Schedule(100, 1000), 1000, rng)
    assert clear["yes"] > 0.95 and clear["no"] == 0.0 and clear["mean_runs"] < 600


def test_a_validate_case_fails_when_the_rule_breaks_its_level(monkeypatch) -> None:
    from society import sequential
    from society.validation import CASES, case_rng

    case = CASES["ask_sequential_at_threshold"]
    assert case(True, case_rng("x", 0)).passed
    # A rule that judges each look with a fixed-n interval errs often: the case must see it.

    def fixed_n_at_each_look(k, n, p0, confidence=0.95):  # type: ignore[no-untyped-def]
        lo = stats.beta.ppf(0.025, np.maximum(k, 1e-9), n - k + 1)
        hi = stats.beta.ppf(0.975, k + 1, np.maximum(n - k, 1e-9))
        return lo > p0, hi < p0

    monkeypatch.setattr(sequential, "decide", fixed_n_at_each_look)
    broken = case(True, case_rng("x", 0))
    assert broken.measured > 0.05 and not broken.passed
