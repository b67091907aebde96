"""Model v2's outcome rules: safe, the basin judged from realized generations, the lead as a
flag, hazards with causes, and resolution-only population size."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from society_helpers import run_cli

from society import load_scenario
from society.errors import ScenarioError
from society.model import SocietyModel


def run_model(seed: int = 0, **overrides: object) -> SocietyModel:
    model = SocietyModel(load_scenario("baseline", seed=seed, overrides=overrides))
    model.run()
    return model


def falling_three_in_a_row(means: list[float], tol: float) -> bool:
    return any(
        all(b < a - tol for a, b in itertools.pairwise(means[i : i + 4]))
        for i in range(len(means) - 3)
    )


@pytest.mark.slow
def test_no_run_whose_generations_fall_three_times_in_a_row_is_safe_or_in_the_basin() -> None:
    """Sweep knobs that make generations fall (low tax, drift, hacking) and check the label."""
    arms = [
        {"lab.tax": 0.05},
        {"lab.tax": 0.15},
        {"values.reflection_drift": 2e-4},
        {"hacking.rl_pressure": 6.0},
        {"lab.tax": 0.3, "values.misaligned_influence": 0.004},
    ]
    falling_runs = 0
    for arm, seed in itertools.product(arms, range(3)):
        model = run_model(
            seed,
            **{
                "population.size": 300,
                "outcomes.stop_on_catastrophe": False,
                "generations.milestone_work": 2e6,
                **arm,
            },
        )
        gens = model.recorder.generations_frame().filter("completed")
        means = gens["mean_alignment"].to_list()
        summary = model.summary()
        if falling_three_in_a_row(means, model.scenario.generations.fall_tolerance):
            falling_runs += 1
            assert not summary["stayed_in_basin"], (arm, seed, means)
            assert summary["outcome"] != "safe", (arm, seed, means)
    assert falling_runs >= 5  # the sweep really produced falling ladders to check


def test_losing_the_lead_is_a_flag_and_raises_the_rival_hazard() -> None:
    model = run_model(
        **{
            "population.size": 200,
            "lab.lead_days": 0.0,
            "days": 60,
            "outcomes.stop_on_catastrophe": False,
        }
    )
    summary = model.summary()
    assert summary["lost_lead"] and summary["lost_lead_day"] <= 2
    assert summary["days_simulated"] == 60  # the run goes on
    metrics = model.metrics_frame()
    behind = metrics.filter(metrics["lead_days"] < 0)
    assert behind.height > 30
    assert (behind["hazard_rival_ahead"] > 0).all()
    assert (metrics.filter(metrics["lead_days"] > 0)["hazard_rival_ahead"] == 0).all()


def test_safe_is_absorbing_hazards_stop_and_flags_freeze() -> None:
    model = run_model(
        seed=1,
        **{
            "population.size": 300,
            "population.initial_alignment": 0.9,
            "deference.initial": 1.0,
            "deference.evaluated_at_start": True,
            "hazards.loss_of_control": 0.0,
            "hazards.uncaught_weight": 0.0,
            "risks.misuse_rate": 0.0,
        },
    )
    summary = model.summary()
    assert summary["outcome"] == "safe"
    assert summary["safety_done_day"] <= summary["safe_day"]
    assert summary["reached_target_day"] <= summary["safe_day"]
    metrics = model.metrics_frame()
    after = metrics.filter(metrics["day"] > summary["safe_day"])
    assert after.height > 0
    for cause in ("loss_of_control", "misuse", "rival_ahead"):
        assert (after[f"hazard_{cause}"] == 0).all()


def test_catastrophe_records_its_cause_and_the_hazards_that_day() -> None:
    model = run_model(
        **{"population.size": 200, "hazards.rival_ahead": 50.0, "lab.lead_days": 0.0, "days": 30}
    )
    summary = model.summary()
    assert summary["outcome"] == "catastrophe"
    assert summary["catastrophe_cause"] == "rival_ahead"
    events = model.recorder.events_frame().filter(kind="catastrophe")
    assert events.height == 1 and "hazard_rival_ahead" in events["details"][0]


def test_population_size_sets_resolution_not_outcomes() -> None:
    """Output is per-instance mean x workforce: 300 or 1,200 simulated instances give the same
    capability and safety progress within sampling noise."""
    progress = {}
    for size in (300, 1200):
        metrics = run_model(
            **{"population.size": size, "days": 120, "outcomes.stop_on_catastrophe": False}
        ).metrics_frame()
        last = metrics.row(-1, named=True)
        progress[size] = (last["capability"], last["safety_work"])
    for a, b in zip(progress[300], progress[1200], strict=True):
        assert a == pytest.approx(b, rel=0.1)


def test_workforce_scales_output_and_nothing_else() -> None:
    """The instances stand for W: doubling W doubles the work-days done (before the first
    hand-off, with no pressure event whose timing depends on the lead) and leaves the
    society's own dynamics untouched."""
    settings = {"population.size": 200, "days": 30, "risks.pressure_rate": 0.0}
    base = run_model(**settings).metrics_frame()
    twice = run_model(**settings, **{"population.workforce": 20000.0}).metrics_frame()
    assert twice["capability"][-1] == pytest.approx(2 * base["capability"][-1], rel=1e-9)
    assert twice["safety_work"][-1] == pytest.approx(2 * base["safety_work"][-1], rel=1e-9)
    assert twice["alignment_mean"].equals(base["alignment_mean"])


def test_old_scenario_keys_name_their_replacement(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"generations\.milestone_work"):
        load_scenario({"work": {"capability_per_day": 0.08}})
    with pytest.raises(ScenarioError, match=r"lab\.rival_pace"):
        load_scenario("tiny", overrides={"lab.rival_speed": 1.0})
    proc = run_cli("check", "tiny", "--set", "deference.step_up=0.1", cwd=tmp_path)
    assert proc.returncode == 2
    assert "deference.rise_per_day" in proc.stderr and "Traceback" not in proc.stderr


def test_essay_scenario_states_the_claim_it_tests() -> None:
    s = load_scenario("essay_one_month")
    assert s.lab.lead_days == 30 and s.deference.initial == 1.0 and s.deference.evaluated_at_start
    assert s.tests.gaming_bonus == 0 and s.tests.overfit_weight == 0 and s.risks.poisoning_rate == 0
    assert s.population.initial_alignment >= 0.85


def test_same_seed_same_v2_results() -> None:
    a = run_model(seed=4, **{"population.size": 200, "days": 80}).metrics_frame()
    b = run_model(seed=4, **{"population.size": 200, "days": 80}).metrics_frame()
    assert a.equals(b)
    assert np.isfinite(a["hazard_loss_of_control"].to_numpy()).all()
