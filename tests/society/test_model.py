"""The engine end to end: required outputs, determinism, Mesa view, outcomes."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

import society
from society.model import SocietyModel
from society.scenario_files import load_scenario
from society.tidy import comparable

REQUIRED_METRICS = (
    "day generation n_instances alignment_mean alignment_p05 alignment_p50 alignment_p95 "
    "drift_w1_initial drift_w1_spec belief_mean belief_truth_distance polarization_variance "
    "bimodality echo_r modularity active_link_density n_opinion_clusters "
    "coordination_failure_rate revolt_size reward_hack_share test_validity gaming_gap deference "
    "tax lead_days capability capability_work knowledge margin protection ceiling "
    "defence_protection rival_capability rival_pace hazard_full incidents_caught "
    "incidents_uncaught work_per_instance uncaught_rate hazard_loss_of_control hazard_misuse "
    "hazard_rival_ahead"
).split()


def test_tiny_yields_every_required_column_with_finite_values(tiny_run: society.RunResult) -> None:
    m = tiny_run.metrics
    assert set(REQUIRED_METRICS) <= set(m.columns)
    assert m.height == 61 and m["day"].to_list() == list(range(61))
    for col in REQUIRED_METRICS:
        values = m[col].cast(pl.Float64).to_numpy()
        assert np.isfinite(values).all(), col
    identity = ["run_id", "scenario", "seed", "outcome"]
    assert tiny_run.events.columns == [
        *identity,
        "day",
        "kind",
        "magnitude",
        "generation",
        "details",
    ]
    assert m.columns[:4] == identity and tiny_run.generations.columns[:4] == identity
    assert m.select(identity).unique().rows() == [
        (tiny_run.path.name, "tiny", 7, tiny_run.summary["outcome"])
    ]
    g = tiny_run.generations
    assert {"generation", "start_day", "mean_alignment", "a_star", "in_basin", "size"} <= set(
        g.columns
    )
    assert g["generation"].to_list() == list(range(g.height))
    assert tiny_run.summary["generations"] == g.height


def test_same_seed_same_results_other_seed_differs(tmp_path) -> None:
    a = society.run("tiny", out=tmp_path / "a")
    b = society.run("tiny", out=tmp_path / "b")
    c = society.run("tiny", seed=8, out=tmp_path / "c")
    for name in ("metrics", "events", "generations", "network_nodes", "network_edges"):
        fa = pl.read_parquet(a.path / f"{name}.parquet")
        fb = pl.read_parquet(b.path / f"{name}.parquet")
        assert comparable(fa).equals(comparable(fb)), name
    assert a.summary == b.summary
    assert not comparable(a.metrics).equals(comparable(c.metrics))


def test_stepping_day_by_day_equals_running_at_once() -> None:
    s = load_scenario("tiny", overrides={"days": 20})
    whole = SocietyModel(s)
    whole.run()
    stepped = SocietyModel(s)
    for _ in range(20):
        stepped.step()
    assert stepped.day == 20
    assert whole.metrics_frame().equals(stepped.metrics_frame())


def test_mesa_agents_are_live_views_of_the_arrays() -> None:
    model = SocietyModel(load_scenario("tiny", overrides={"days": 3}))
    agents = model.agents
    assert len(agents) == 200
    first = agents[0]
    model.population.alignment[first.index] = 0.123
    assert first.alignment == pytest.approx(0.123)
    monitors = agents.select(lambda a: a.role == "monitor")
    assert len(monitors) == round(0.05 * 200)
    assert sorted(first.neighbors) == sorted(model.network.to_networkx().neighbors(first.index))


def test_catastrophe_ends_the_run_and_is_recorded(tmp_path) -> None:
    result = society.run(
        "tiny",
        out=tmp_path / "cat",
        overrides={"risks.misuse_rate": 5.0, "risks.misuse_hit_prob": 1.0},
    )
    s = result.summary
    assert s["catastrophe"] and s["catastrophe_cause"] == "misuse" and s["outcome"] == "catastrophe"
    assert s["catastrophe_day"] < 2
    assert result.metrics["day"].max() <= math.ceil(s["catastrophe_day"])
    assert "catastrophe" in result.events["kind"].to_list()


def test_careful_buys_knowledge_and_alignment_that_rushed_does_not(tmp_path) -> None:
    """With the levers held (no advice taken), paying for safety buys knowledge against
    difficulty, alignment and protection; rushing under pressure buys speed."""
    small = {
        "population.size": 1000,
        "outcomes.stop_on_catastrophe": False,
        "strategy.accept_advice": 0.0,
    }
    rushed = society.run("rushed", out=tmp_path / "r", overrides=small)
    careful = society.run("careful", out=tmp_path / "c", overrides=small)
    r, c = rushed.summary, careful.summary
    assert c["final_margin"] > 2 * r["final_margin"]
    assert c["final_protection"] > r["final_protection"]
    assert c["final_alignment"] > r["final_alignment"]
    assert r["final_capability"] > c["final_capability"]  # rushing is faster
    assert rushed.metrics["tax"].mean() < careful.metrics["tax"].mean()


def test_echo_chamber_is_delusional_and_fails_to_coordinate(tmp_path) -> None:
    small = {"population.size": 2000, "days": 120}
    echo = society.run("echo_chamber", out=tmp_path / "e", overrides=small).metrics
    base = society.run("baseline", out=tmp_path / "b", overrides=small).metrics
    last = -1
    assert echo["echo_r"][last] > 0.9 > base["echo_r"][last]
    assert echo["belief_truth_distance"][last] > 3 * base["belief_truth_distance"][last]
    assert echo["coordination_failure_rate"].mean() > 3 * base["coordination_failure_rate"].mean()
