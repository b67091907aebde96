"""The strategists' projection (society.mechanisms.projection): what it prefers, and that
stepping knowledge and defence as one array gives the bits of stepping them apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from society import load_scenario
from society.mechanisms import projection
from society.mechanisms.strategy import outlook
from society.model import SocietyModel

TAXES = [0.025, 0.1, 0.5, 2.0, 10.0]


def _start(overrides: dict[str, object]) -> tuple[SocietyModel, projection.Outlook]:
    model = SocietyModel(load_scenario("baseline", overrides={"population.size": 200, **overrides}))
    model.run_until(60)
    return model, outlook(model)


@pytest.mark.parametrize("ideas_harder", [0.0, 0.3, 0.9])
def test_knowledge_and_defence_stepped_as_one_array_give_the_bits_of_two_steps(
    ideas_harder: float,
) -> None:
    # The projection steps knowledge (row 0) and defence (row 1) as one array: numpy's power
    # rounds each element alike wherever it sits in an array, so each row must equal its own
    # step, for any candidate count (SIMD blocks and their tails) and any stocks and work.
    k = load_scenario("baseline").knowledge.model_copy(update={"ideas_harder": ideas_harder})
    rng = np.random.default_rng(7)
    for n in (1, 7, 10, 17, 64):
        z = np.exp(rng.normal(0.0, 4.0, (2, n)))
        work = np.exp(rng.normal(9.0, 3.0, (2, n)))
        z[0, 0], work[1, -1] = 0.0, 0.0  # the edges _knowledge treats apart
        together = projection._knowledge(z, work, k, 10.0)
        for row in (0, 1):
            alone = projection._knowledge(z[row].copy(), work[row].copy(), k, 10.0)
            assert np.array_equal(together[row], alone)


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
