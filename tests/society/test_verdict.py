"""The verdict: every shipped scenario's run is answered in words that name the outcome and its
decisive days, and no flag contradicts the final state without the verdict saying why."""

from __future__ import annotations

import math
from typing import Any

import pytest

from llm_backends import StubBackend
from society import load_scenario
from society.model import SocietyModel
from society.scenario_files import list_shipped

SHIPPED = [name for name, _, _ in list_shipped()]


def _day(value: float) -> str:
    return f"day {math.ceil(value)}"


def _summary(name: str, seed: int) -> dict[str, Any]:
    over: dict[str, Any] = {"population.size": 300, "seed": seed}
    scenario = load_scenario(name, overrides=over)
    backend = StubBackend() if scenario.llm.fraction > 0 else None
    model = SocietyModel(scenario, llm_backend=backend)
    model.run()
    return model.summary()


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_gets_a_verdict_that_names_outcome_and_days(name: str) -> None:
    for seed in (0, 1):
        s = _summary(name, seed)
        text = s["verdict"]
        outcome = s["outcome"]
        if outcome == "catastrophe":
            assert f"Catastrophe on {_day(s['catastrophe_day'])}" in text
            assert s["catastrophe_cause"].split("_")[0] in text.lower()
        elif outcome == "left_basin":
            first = _day(s["left_basin_day"])
            assert f"Out of the basin of good deference at the end (first on {first})" in text
        elif outcome == "safe":
            assert f"Safe: the acute risk period ended on {_day(s['period_end_day'])}" in text
        else:
            assert f"Undecided after {s['days_simulated']} days" in text
        if s["lost_lead"]:
            assert f"drew level on {_day(s['lost_lead_day'])}" in text
        else:
            assert f"The lead never ran out ({s['final_lead_days']:.0f} days" in text
        out_first = s["left_basin_day"] is not None and (
            outcome == "left_basin" or s["left_basin_day"] <= (s["catastrophe_day"] or 0)
        )
        if not s["stayed_in_basin"] and out_first:
            assert "out of the basin" in text.lower()
        # two decimals, or three where alignment barely moved and two would not show it
        a0, a1 = s["initial_alignment"], s["final_alignment"]
        places = 2 if a1 > a0 + 0.005 or a1 < a0 - 0.005 else 3
        assert f"{a1:.{places}f}" in text
        assert "nan" not in text.lower()


def test_an_llm_run_of_mostly_repaired_decisions_says_so() -> None:
    from society.verdict import _llm_sentence

    base = {"llm_calls": 40, "llm_degraded": False}
    assert _llm_sentence({**base, "llm_repaired_share": 0.3}) == ""
    note = _llm_sentence({**base, "llm_repaired_share": 0.6})
    assert note.startswith("Note: 60% of the LLM decisions were near misses")
    degraded = {**base, "llm_degraded": True, "llm_fallbacks": 30, "llm_repaired_share": 0.6}
    assert _llm_sentence(degraded).startswith("Warning: 30 of 40")  # the louder one wins
