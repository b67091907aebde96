"""Model v3's outcome rules: the end of the acute risk period from the dynamics, hazards that
keep running, the basin judged from the knowledge map and from realized generations, the lead
as a flag, and resolution-only population size."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from society_helpers import run_cli

from society import load_scenario
from society.errors import ScenarioError
from society.mechanisms.hazards import end_hazard
from society.model import SocietyModel

QUIET = {  # hazards near nil: the period can end, nothing else decides the run
    "hazards.loss_of_control": 1e-9,
    "hazards.uncaught_weight": 0.0,
    "risks.misuse_rate": 0.0,
    "risks.rival_rate": 0.0,
    "lab.lead_days": 3000.0,
}


def run_model(scenario: str = "baseline", seed: int = 0, **overrides: object) -> SocietyModel:
    model = SocietyModel(load_scenario(scenario, seed=seed, overrides=overrides))
    model.run()
    return model


def test_the_period_ends_when_hazards_stay_low_for_end_days_and_hazards_keep_running() -> None:
    model = run_model(**{"population.size": 200, "days": 400, **QUIET})
    s = model.summary()
    metrics = model.metrics_frame()
    low = metrics["hazard_full"] <= end_hazard(model.scenario)
    assert s["outcome"] == "safe" and s["period_ended"] and s["survived"]
    first_low = int(metrics.filter(low & (metrics["day"] > 0))["day"].min())
    assert s["period_end_day"] == first_low  # the first day of the final low stretch
    assert (metrics.filter(metrics["day"] >= first_low)["hazard_full"] > 0).all()  # still running
    assert s["days_simulated"] == 400  # no absorbing safe state: the run goes to the horizon


def test_a_stretch_shorter_than_end_days_is_undecided() -> None:
    days = 400
    model = run_model(**{"population.size": 200, "days": days, **QUIET})
    ended = model.summary()["period_end_day"]
    short = run_model(
        **{
            "population.size": 200,
            "days": days,
            "outcomes.end_days": int(days - ended + 2),
            **QUIET,
        }
    ).summary()
    assert short["outcome"] == "undecided" and not short["period_ended"] and short["survived"]


def test_knowledge_frozen_at_the_end_day_lets_hazards_grow_again() -> None:
    settings = {"population.size": 200, "days": 500, "outcomes.end_days": 30, **QUIET}
    settings["hazards.loss_of_control"] = 2e-5
    free = run_model(**settings).metrics_frame()
    frozen_model = run_model(**settings, **{"knowledge.freeze_at_period_end": True})
    frozen = frozen_model.metrics_frame()
    kinds = frozen_model.recorder.events_frame()["kind"].to_list()
    assert "knowledge_frozen" in kinds
    assert frozen["knowledge"][-1] < free["knowledge"][-1]
    assert frozen["hazard_loss_of_control"][-1] > free["hazard_loss_of_control"][-1]


def test_losing_the_lead_is_a_flag_and_lets_the_rivals_own_risk_count() -> None:
    model = run_model(
        **{
            "population.size": 200,
            "lab.lead_days": 0.0,
            "days": 90,
            "outcomes.stop_on_catastrophe": False,
        }
    )
    summary = model.summary()
    assert summary["lost_lead"] and summary["lost_lead_day"] <= 2
    assert summary["days_simulated"] == 90  # the run goes on
    metrics = model.metrics_frame().filter("day" != 0)
    behind = metrics.filter(metrics["lead_days"] < 0)
    assert behind.height > 30
    assert (behind["hazard_rival_ahead"] > 0).all()
    assert (metrics.filter(metrics["lead_days"] > 0)["hazard_rival_ahead"] == 0).all()


def test_each_causes_path_risk_sums_that_causes_daily_hazards() -> None:
    model = run_model(
        **{
            "population.size": 200,
            "lab.lead_days": 0.0,
            "days": 60,
            "record.every_days": 1,
            "outcomes.stop_on_catastrophe": False,
        }
    )
    summary = model.summary()
    metrics = model.metrics_frame()
    assert metrics["day"].to_list() == list(range(61))  # day 0 (the start) and every day after
    assert metrics["hazard_loss_of_control"][0] == 0.0  # nothing is drawn before day 1
    metrics = metrics.slice(1)
    totals = {}
    for cause in ("loss_of_control", "misuse", "rival_ahead"):
        total = float(metrics[f"hazard_{cause}"].sum())
        totals[cause] = total
        assert summary[f"{cause}_risk"] == pytest.approx(-np.expm1(-total), rel=1e-9)
    assert totals["rival_ahead"] > 0  # the rival is ahead from day 2: a risk to count
    assert sum(totals.values()) == pytest.approx(summary["cumulative_hazard"], rel=1e-9)
    # competing causes: none exceeds the total, and together they are at least the total
    risks = [summary[f"{c}_risk"] for c in totals]
    assert max(risks) <= summary["catastrophe_risk"] <= sum(risks) + 1e-12


def test_catastrophe_records_its_cause_the_hazards_and_the_society_that_day() -> None:
    model = run_model(
        **{
            "population.size": 200,
            "hazards.loss_of_control": 5.0,
            "deference.initial": 1.0,
            "deference.evaluated_at_start": True,
            "days": 30,
        }
    )
    summary = model.summary()
    assert summary["outcome"] == "catastrophe"
    assert summary["catastrophe_cause"] == "loss_of_control"
    events = model.recorder.events_frame().filter(kind="catastrophe")
    assert events.height == 1 and "hazard_loss_of_control" in events["details"][0]
    at = summary["at_catastrophe"]
    assert at["generation"] == 0 and at["deference"] == pytest.approx(1.0, abs=0.05)
    assert "generation 1 was in charge" in summary["verdict"]


def test_verdict_quotes_the_catastrophe_day_not_the_end_of_the_run() -> None:
    model = run_model(
        **{
            "population.size": 200,
            "hazards.loss_of_control": 0.3,
            "deference.initial": 1.0,
            "deference.evaluated_at_start": True,
            "outcomes.stop_on_catastrophe": False,
            "days": 200,
            "generations.capability_ratio": 1.02,
        }
    )
    s = model.summary()
    day = s["catastrophe_day"]
    row = model.metrics_frame().filter(model.metrics_frame()["day"] == int(np.ceil(day)))
    assert s["generations"] > s["at_catastrophe"]["generation"] + 1  # more came afterwards
    assert s["at_catastrophe"]["generation"] == row["generation"][0]


def test_population_size_sets_resolution_not_outcomes() -> None:
    """Output is per-instance mean x workforce: 300 or 1,200 simulated instances give the same
    capability and knowledge within sampling noise."""
    progress = {}
    for size in (300, 1200):
        metrics = run_model(
            **{"population.size": size, "days": 120, "outcomes.stop_on_catastrophe": False}
        ).metrics_frame()
        last = metrics.row(-1, named=True)
        progress[size] = (last["capability_work"], last["knowledge"])
    for a, b in zip(progress[300], progress[1200], strict=True):
        assert a == pytest.approx(b, rel=0.1)


def test_workforce_scales_output_and_nothing_else() -> None:
    """The instances stand for W: doubling W doubles the capability work done (before the
    first hand-off, with no pressure event or advice whose timing depends on the lead) and
    leaves the society's own value dynamics untouched."""
    settings = {
        "population.size": 200,
        "days": 30,
        "risks.pressure_rate": 0.0,
        "capability.feedback": 0.0,
        "capability.returns": 1e-9,  # capability stays at 1: no feedback from the extra work
        "knowledge.rate": 0.0,  # nor from knowledge (protection changes what monitors catch)
        "mechanisms.off": ["advice"],
    }
    base = run_model(**settings).metrics_frame()
    twice = run_model(**settings, **{"population.workforce": 60000.0}).metrics_frame()
    assert twice["capability_work"][-1] == pytest.approx(2 * base["capability_work"][-1], rel=1e-9)
    # Capability moves by ~1e-9 (returns ~0), so the values agree to float noise, not bit for bit.
    assert np.allclose(twice["alignment_mean"], base["alignment_mean"], rtol=1e-7, atol=0)


def test_old_scenario_keys_name_their_replacement(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"capability\.\*"):
        load_scenario({"work": {"capability_per_day": 0.08}})
    with pytest.raises(ScenarioError, match=r"rival\.workforce_ratio"):
        load_scenario("tiny", overrides={"lab.rival_pace": 1.0})
    with pytest.raises(ScenarioError, match=r"end_annual_risk"):
        load_scenario("tiny", overrides={"outcomes.safety_work": 1.0})
    proc = run_cli("check", "tiny", "--set", "strategy.deference_capability=2", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pre_deference_days" in proc.stderr and "Traceback" not in proc.stderr


def test_essay_scenario_states_the_claim_it_tests() -> None:
    s = load_scenario("essay_one_month")
    assert s.lab.lead_days == 30 and s.deference.initial == 1.0 and s.deference.evaluated_at_start
    assert s.tests.gaming_bonus == 0 and s.tests.overfit_weight == 0 and s.risks.poisoning_rate == 0
    assert s.tests.awareness == 0
    assert s.population.initial_alignment >= 0.85
    assert s.days == 1095


def test_same_seed_same_v3_results() -> None:
    a = run_model(seed=4, **{"population.size": 200, "days": 80}).metrics_frame()
    b = run_model(seed=4, **{"population.size": 200, "days": 80}).metrics_frame()
    assert a.equals(b)
    assert np.isfinite(a["hazard_loss_of_control"].to_numpy()).all()


@pytest.mark.parametrize(("then", "now"), [(1e-300, 1e300), (1e300, 1e-300), (0.5, 2.0)])
def test_margin_growth_is_finite_without_a_warning_however_far_apart_the_margins(
    then: float, now: float
) -> None:
    model = SocietyModel(load_scenario("tiny", overrides={"days": 2}))
    model.run()
    first, last = model.recorder.metrics[0], model.recorder.metrics[-1]
    first["margin"], last["margin"] = np.float64(then), np.float64(now)
    model._margins[0] = (0, then)  # the kept margin of day 0, which the growth is taken from
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in scalar divide"
        growth = model.summary()["margin_growth_per_year"]
    span = last["day"] - first["day"]
    assert growth == pytest.approx((np.log(now) - np.log(then)) * 365.0 / span, rel=1e-12)


def test_recording_less_often_changes_no_summary_figure() -> None:
    """Every figure of the summary, the margin's growth over the last 90 days included, is the
    same whether a row is recorded every day, every week or every 30 days."""
    over = {"population.size": 200, "days": 200, **QUIET}
    daily = run_model(**over, **{"record.every_days": 1}).summary()
    assert np.isfinite(daily["margin_growth_per_year"])
    for every in (7, 30):
        assert run_model(**over, **{"record.every_days": every}).summary() == daily
