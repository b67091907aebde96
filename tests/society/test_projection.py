"""The strategists' projection (society.mechanisms.projection): what it prefers, and that
stepping knowledge and defence, and several runs, as one array gives the bits of stepping them
apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from society import load_scenario
from society.mechanisms import projection
from society.mechanisms.strategy import outlook
from society.model import SocietyModel
from society.scenario import Knowledge

TAXES = [0.025, 0.1, 0.5, 2.0, 10.0]


def _start(overrides: dict[str, object]) -> tuple[SocietyModel, projection.Outlook]:
    model = SocietyModel(load_scenario("baseline", overrides={"population.size": 200, **overrides}))
    model.run_until(60)
    return model, outlook(model)


def _columns(sections: list[Knowledge]) -> projection._Columns:
    return projection._Columns(sections, lambda v: np.array(v, dtype=np.float64).reshape(-1, 1))


@pytest.mark.parametrize("ideas_harder", [0.0, 0.3, 0.9])
def test_knowledge_and_defence_stepped_as_one_array_give_the_bits_of_two_steps(
    ideas_harder: float,
) -> None:
    # The projection steps knowledge and defence of several runs as one (2, runs, candidates)
    # array: numpy's power rounds each element alike wherever it sits in an array, so each row
    # of each run must equal its own step, for any candidate count (SIMD blocks and their
    # tails), any stocks and work, and runs whose exponents differ.
    base = load_scenario("baseline").knowledge
    runs = [
        base.model_copy(update={"ideas_harder": ideas_harder}),
        base.model_copy(update={"ideas_harder": ideas_harder / 2, "returns": 0.5}),
        base.model_copy(update={"rate": base.rate * 3}),
    ]
    together_law = _columns(runs)
    assert isinstance(together_law.returns, np.ndarray)  # the runs' exponents differ
    rng = np.random.default_rng(7)
    for n in (1, 7, 10, 17, 64):
        z = np.exp(rng.normal(0.0, 4.0, (2, len(runs), n)))
        work = np.exp(rng.normal(9.0, 3.0, (2, len(runs), n)))
        z[0, 0, 0], work[1, 2, -1] = 0.0, 0.0  # the edges the law treats apart
        together = together_law.grow(z, work, 10.0)
        for b, k in enumerate(runs):
            law = _columns([k])
            assert isinstance(law.returns, float)  # one run: its exponents as floats
            for row in (0, 1):
                alone = law.grow(z[row, b][None].copy(), work[row, b][None].copy(), 10.0)[0]
                assert np.array_equal(together[row, b], alone)


def test_a_batch_of_projections_gives_each_run_its_own_scores() -> None:
    # Runs with differing knowledge, hazards and speeds, and candidate lists of differing
    # lengths, projected together: each row is the run's projection alone, bit for bit.
    starts = [
        _start({}),
        _start({"knowledge.ideas_harder": 0.6, "knowledge.returns": 0.4}),
        _start({"knowledge.faith_floor": 0.5, "population.speed": 25.0}),
        _start({"lab.lead_days": 0.0, "hazards.capability_exponent": 1.7}),
        _start({"lab.lead_days": 0.0, "hazards.defence_gap_exponent": 2.0}),
    ]
    taxes = [TAXES, TAXES[:3], [0.025], TAXES[1:], TAXES]
    for days in (5.0, 300.0):
        together = projection.projected_log_survival_runs(
            [m.scenario for m, _ in starts], [s for _, s in starts], taxes, days
        )
        for (model, start), t, row in zip(starts, taxes, together, strict=True):
            alone = projection.projected_log_survival(model.scenario, start, t, days)
            assert np.array_equal(row[: len(t)], alone)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"knowledge.ideas_harder": 0.6, "knowledge.returns": 0.4}, {"lab.lead_days": 0.0}],
)
def test_a_projection_is_finite_and_its_log_survival_negative(overrides: dict[str, object]) -> None:
    model, start = _start(overrides)
    for days in (5.0, 300.0, 1000.0):
        scores = projection.projected_log_survival(model.scenario, start, TAXES, days)
        assert scores.shape == (len(TAXES),) and np.all(np.isfinite(scores) & (scores < 0))


def test_far_ahead_more_tax_projects_more_survival_and_a_reckless_rival_costs_more_of_it() -> None:
    # Far ahead of the rival, a higher tax buys knowledge and only costs lead that is not
    # needed: survival rises with the tax.
    model, start = _start({"lab.lead_days": 3000.0})
    far = projection.projected_log_survival(model.scenario, start, TAXES, 1000.0)
    assert np.all(np.diff(far) > 0)
    # Level with a rival whose own AIs are dangerous, the lead each tax gives up lets a rival
    # ahead whose AIs outgrow our defence (judged at their capability, as the engine does): the
    # higher the tax, the more survival the same rival costs, and the status quo projects best.
    reckless = replace(start.rival, alignment=0.0, deference=1.0)
    level = replace(start, rival_work=start.capability_work, rival=reckless)
    close = projection.projected_log_survival(model.scenario, level, TAXES, 1000.0)
    cost = far - close
    assert np.all(cost > 0) and np.all(np.diff(cost) > 0)
    assert np.argmax(close) == 0
