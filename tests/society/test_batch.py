"""The batched engine: every run of a batch gives the bits it gives alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from society_helpers import assert_identical

from society import load_scenario
from society.batch import Batch, batch_key
from society.batch.draws import RunDraws
from society.batch.layout import BlockNetwork, NotBatchable, RunParams
from society.fusion import fused
from society.model import SocietyModel
from society.network import small_world
from society.scenario import Scenario
from society.sweeps.engines import batch_size, run_points
from society.sweeps.runner import run_sweep
from society.sweeps.store import SweepStore

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()


def _scenario(name: str, **over: Any) -> Scenario:
    # One test cadence and stub awareness gap (the scenarios' own differ, and a batch whose
    # runs differ in them tests run by run: see the test of flags that differ), so the batch
    # runs its test rounds at once.
    base = {"population.size": 60, "days": 120, "tests.every_days": 5, "tests.awareness": 0.05}
    return load_scenario(name, overrides={**base, **over})


def mixed_runs() -> list[Scenario]:
    """Nineteen runs of one size that differ in every way a sweep makes them differ: seeds,
    scenarios, parameters of the batched mechanisms, the tax, the speed (so the number of
    value sub-steps), a term some runs switch off, a faithfulness
    floor (both: each run alone for that step), exponents that numpy computes exactly (the
    strategists' projections run together), horizons, hand-offs every few days, networks
    of other degrees (one with lone instances), their own rewiring and shared tasks, and a run
    that ends at a catastrophe on its
    first days."""
    return [
        *(_scenario("essay_one_month", seed=s) for s in range(4)),
        _scenario("baseline", seed=5),
        _scenario("rushed", seed=6),
        _scenario("echo_chamber", seed=7),
        _scenario("tiny", seed=8),  # a hand-off every 5% of capability growth
        _scenario(  # ends within days
            "tiny", seed=9, **{"hazards.loss_of_control": 5.0, "deference.initial": 1.0}
        ),
        _scenario("essay_one_month", seed=10, days=70),
        _scenario(
            "essay_one_month",
            seed=11,
            **{"values.influence": 0.3, "hacking.seed_rate": 0.002, "beliefs.coupling": 0.2},
        ),
        _scenario(
            "essay_one_month",
            seed=12,
            **{"lab.tax": 0.1, "population.speed": 5.0, "tests.noise": 0.2},
        ),
        _scenario("essay_one_month", seed=17, **{"network.kind": "random"}),
        _scenario("baseline", seed=18, **{"network.kind": "random", "network.mean_degree": 1}),
        _scenario("essay_one_month", seed=14, **{"values.misaligned_influence": 0.0}),
        _scenario("essay_one_month", seed=15, **{"knowledge.faith_floor": 0.5}),
        _scenario(  # exponents numpy takes exactly as floats (a square root, a square)
            "essay_one_month",
            seed=19,
            **{"knowledge.returns": 0.5, "hazards.capability_exponent": 2.0},
        ),
        _scenario("baseline", seed=16, **{"network.mean_degree": 3}),
        _scenario(  # its own rewiring and shared tasks (the batch finds what fails at once)
            "essay_one_month",
            seed=20,
            **{
                "network.disagreement": 0.05,
                "network.homophily_window": 3,
                "network.rewire_prob": 0.5,
                "work.task_rate": 0.9,
            },
        ),
    ]


def _solo(scenario: Scenario) -> SocietyModel:
    model = SocietyModel(scenario)
    model.run()
    return model


def _same(batched: SocietyModel, alone: SocietyModel) -> None:
    assert_identical(batched.metrics_frame(), alone.metrics_frame())
    assert str(batched.summary()) == str(alone.summary())  # as text: NaN equals NaN
    frames = (batched.recorder, alone.recorder)
    assert_identical(frames[0].events_frame(), frames[1].events_frame())
    assert_identical(frames[0].generations_frame(), frames[1].generations_frame())
    for field in ("alignment", "anchor", "beliefs", "hacking", "grievance", "generation"):
        assert np.array_equal(getattr(batched.population, field), getattr(alone.population, field))


def test_a_mixed_batch_gives_each_run_its_solo_bits() -> None:
    runs = mixed_runs()
    assert len({batch_key(s) for s in runs}) == 1
    batch = Batch(runs)
    batch.run()
    outcomes = set()
    for batched, scenario in zip(batch.models, runs, strict=True):
        alone = _solo(scenario)
        _same(batched, alone)
        outcomes.add((alone.summary()["outcome"], alone.summary()["days_simulated"]))
    # The batch really held runs that ended early and at their own horizons.
    assert any(days < 10 for _, days in outcomes)
    moved = [int(m.metrics_frame()["rewired_links"].sum()) for m in batch.models]
    assert moved[-1] > 2 * max(moved[:-1]) > 0  # runs rewired, each at its own rate
    assert {70, 120} <= {days for _, days in outcomes}
    assert any(m.lab.generation >= 3 for m in batch.models)  # hand-offs replaced arrays
    honest = [e for m in batch.models for e in m.recorder.events if e["kind"] == "advice"]
    assert sum('"honest": true' in e["details"] for e in honest) >= 10  # projected together
    assert any(
        m.summary()["final_lead_days"] != batch.models[0].summary()["final_lead_days"]
        for m in batch.models
    )


@pytest.mark.skipif(fused(10**9) is None, reason="numba not importable")
def test_the_fused_kernels_give_a_batch_the_same_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = mixed_runs()[:6]
    plain = Batch(runs)
    plain.run()
    monkeypatch.setattr("society.fusion._EVERYWHERE", {"on": True})
    fast = Batch(runs)
    fast.run()
    for a, b in zip(plain.models, fast.models, strict=True):
        _same(a, b)


def test_run_draws_give_each_run_its_own_stream() -> None:
    draws = RunDraws([np.random.default_rng(s) for s in (1, 2, 3)])
    both = draws.standard_normal((12, 2))
    for b, seed in enumerate((1, 2, 3)):
        assert np.array_equal(
            both[4 * b : 4 * b + 4], np.random.default_rng(seed).standard_normal((4, 2))
        )
    some = RunDraws([np.random.default_rng(s) for s in (1, 2)]).standard_normal(6, [1])
    assert np.array_equal(some[:3], np.zeros(3))
    assert np.array_equal(some[3:], np.random.default_rng(2).standard_normal(3))


def test_block_network_keeps_each_runs_mean_degree_and_follows_rewiring() -> None:
    nets = [small_world(30, 4, 0.1, np.random.default_rng(s)) for s in (1, 2)]
    nets[1].move_links(np.array([0]), np.array([0], dtype=np.int32), np.array([5], dtype=np.int32))
    block = BlockNetwork(nets)
    x = np.random.default_rng(0).standard_normal((60, 3))
    for b, net in enumerate(nets):
        assert np.array_equal(
            block.read(x)[30 * b : 30 * b + 30], net.read(x[30 * b : 30 * b + 30])
        )
    nets[0].move_links(np.array([1]), np.array([2], dtype=np.int32), np.array([9], dtype=np.int32))
    block.refresh()
    assert np.array_equal(block.neighbour_sum(x[:, 0])[:30], nets[0].neighbour_sum(x[:30, 0]))
    assert np.array_equal(block.degree[:30], nets[0].degree)


def test_run_params_repeat_what_differs_and_refuse_what_cannot() -> None:
    a, b = _scenario("baseline"), _scenario("baseline", **{"values.noise": 0.05})
    p = RunParams([a.values, b.values], 3)
    assert p.influence == a.values.influence
    assert p.noise.tolist() == [a.values.noise] * 3 + [0.05] * 3
    with pytest.raises(NotBatchable, match="kind"):
        RunParams([a.network, _scenario("baseline", **{"network.kind": "random"}).network], 3)


def test_runs_whose_flags_differ_step_those_mechanisms_alone_with_the_same_bits() -> None:
    # A test-awareness gap that differs (a branch of the test rounds, the rows' gaming mean)
    # and a test cadence that differs (the rounds on other days: each run's own clock).
    runs = [
        _scenario("essay_one_month", seed=20),
        _scenario("essay_one_month", seed=21, **{"tests.awareness": 0.1}),
        _scenario("essay_one_month", seed=22, **{"tests.every_days": 3}),
    ]
    batch = Batch(runs)
    batch.run()
    for batched, scenario in zip(batch.models, runs, strict=True):
        _same(batched, _solo(scenario))


def test_a_batch_of_runs_without_some_mechanisms_gives_their_solo_bits() -> None:
    off = {"mechanisms.off": ["beliefs", "revolt"]}
    runs = [_scenario("essay_one_month", seed=s, **off) for s in (13, 14)]
    batch = Batch(runs)
    batch.run()
    for batched, scenario in zip(batch.models, runs, strict=True):
        _same(batched, _solo(scenario))
    assert batch_key(runs[0]) != batch_key(_scenario("essay_one_month"))


def test_batches_are_refused_for_runs_that_need_their_own() -> None:
    assert batch_key(_scenario("baseline")) != batch_key(
        _scenario("baseline", **{"population.size": 61})
    )
    with pytest.raises(ValueError, match="one population size"):
        Batch([_scenario("baseline"), _scenario("baseline", **{"population.size": 61})])
    assert batch_size(200, 2, 1000) == 25
    assert batch_size(200, 2, 1_000_000) == 1


def test_run_points_reports_a_bad_run_alone_and_batches_the_rest() -> None:
    runs = mixed_runs()[:3]
    tasks = [
        {"point_id": f"p{i}", "arm": 0, "replicate": i, "scenario": s.model_dump(mode="json")}
        for i, s in enumerate(runs)
    ]
    tasks.append({**tasks[0], "point_id": "bad", "scenario": {**tasks[0]["scenario"], "days": -1}})
    results = run_points(tasks)
    assert [r["point_id"] for r in results] == ["p0", "p1", "p2", "bad"]
    assert [r["status"] for r in results] == ["success"] * 3 + ["error"]
    assert "ValidationError" in results[3]["error"]
    for result, scenario in zip(results[:3], runs, strict=True):
        assert_identical(result["metrics"], _solo(scenario).recorder.metrics_frame())


@pytest.mark.slow
def test_a_batched_sweep_stores_what_a_sweep_of_single_runs_stores(tmp_path: Path) -> None:
    sweep = tmp_path / "grid.toml"
    sweep.write_text(
        f'scenario = "{TINY}"\nreplicates = 4\nseed = 3\n[set]\ndays = 30\n"population.size" = 80\n'
        '[grid]\n"lab.tax" = [0.0, 1.0]\n"values.noise" = [0.01, 0.03]\n'
    )
    batched = run_sweep(sweep, out=tmp_path / "b", workers=2)
    assert batched.manifest["engine"]["batch"] == 4
    alone = _run_alone(sweep, tmp_path / "alone")
    assert alone.manifest["engine"]["batch"] == 1
    assert_identical(batched.points, alone.points)
    scan = [
        SweepStore(r.path).scan_metrics().collect().sort("arm", "replicate", "day")
        for r in (batched, alone)
    ]
    assert_identical(scan[0], scan[1])
    assert pl.read_parquet(batched.path / "points.parquet").height == 16


def _run_alone(sweep: Path, out: Path) -> Any:
    from society.sweeps.runner import execute, prepare

    spec, store, previous = prepare(sweep, out=out, workers=2)
    return execute(spec, store, previous, workers=2, batch=False)
