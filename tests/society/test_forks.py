"""Forks: a branch with no change is the trunk again; a branch with a change is the trunk up
to day N and differs after; checkpoints and the LLM cache of the trunk are reused."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from society_helpers import assert_same_outputs
from society_helpers import run_cli as cli

import society
from society.api import RunStopped
from society.errors import ScenarioError
from society.forks import fork, nearest_checkpoint
from society.tidy import comparable

OVER = {"days": 60, "record.checkpoint_every_days": 7}


@pytest.fixture(scope="module")
def trunk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return society.run("tiny", overrides=OVER, out=tmp_path_factory.mktemp("t") / "trunk").path


def test_a_fork_with_no_change_reproduces_the_trunk_exactly(trunk: Path, tmp_path: Path) -> None:
    (branch,) = fork(trunk, 30, out=tmp_path / "same")
    assert_same_outputs(trunk, branch.path)
    assert branch.summary == json.loads((trunk / "summary.json").read_text())


def test_a_fork_from_a_stopped_trunk_starts_at_its_checkpoint_before_day_n(
    trunk: Path, tmp_path: Path
) -> None:
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides=OVER,
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 40 else None,
        )
    start = nearest_checkpoint(tmp_path / "cut", 45)
    assert start is not None and start.name == "day-00041"
    assert nearest_checkpoint(tmp_path / "cut", 41).name == "day-00035"  # type: ignore[union-attr]
    before = sorted(p.name for p in (tmp_path / "cut" / "checkpoint").rglob("*"))
    (branch,) = fork(tmp_path / "cut", 45, out=tmp_path / "branch")
    assert branch.manifest["resumed_from"] == "cut/checkpoint/day-00041"
    # The stopped trunk's continuation is the uninterrupted run; its folder is left as it was.
    assert_same_outputs(trunk, branch.path)
    assert sorted(p.name for p in (tmp_path / "cut" / "checkpoint").rglob("*")) == before


def test_a_fork_with_a_change_is_the_trunk_until_day_n(trunk: Path, tmp_path: Path) -> None:
    (branch,) = fork(trunk, 30, changes={"lab.tax": 3.0, "lab.tax_floor": 3.0}, out=tmp_path / "b")
    a = comparable(pl.read_parquet(trunk / "metrics.parquet"))
    b = comparable(branch.metrics)
    assert a.filter(pl.col("day") <= 30).equals(b.filter(pl.col("day") <= 30))
    assert (b.filter(pl.col("day") > 30)["tax"] >= 3.0).all()
    assert not a.filter(pl.col("day") > 30).equals(b.filter(pl.col("day") > 30))
    (event,) = branch.events.filter(pl.col("kind") == "intervention").iter_rows(named=True)
    assert event["day"] == 30.0
    assert json.loads(event["details"])["label"] == "fork of tiny at day 30"
    # The branch stores its own scenario: it reproduces from its manifest.
    assert branch.scenario.interventions[0].set == {"lab.tax": 3.0, "lab.tax_floor": 3.0}


def test_fork_seeds_draw_other_futures(trunk: Path, tmp_path: Path) -> None:
    one, two = fork(trunk, 30, seeds=[1, 2], out=tmp_path / "s")
    assert one.path.name == "seed-1" and two.path.name == "seed-2"
    a, b = comparable(one.metrics), comparable(two.metrics)
    assert a.filter(pl.col("day") <= 30).equals(b.filter(pl.col("day") <= 30))
    assert not a.equals(b)
    (again,) = fork(trunk, 30, seeds=[1], out=tmp_path / "again")
    assert_same_outputs(one.path, again.path)  # a branch seed is as deterministic as a seed


def test_an_llm_fork_serves_the_shared_prefix_from_the_trunks_cache(tmp_path: Path) -> None:
    over = {"days": 8, "llm.backend": "stub", "population.size": 60, "llm.archetypes": 4}
    trunk = society.run("llm_small", overrides=over, out=tmp_path / "trunk")
    (branch,) = fork(trunk.path, 4, changes={"lab.tax": 1.0}, out=tmp_path / "b")
    calls = pl.read_parquet(branch.path / "llm_calls.parquet")
    trunk_calls = pl.read_parquet(trunk.path / "llm_calls.parquet")
    assert calls.height > 0 and trunk_calls.height > 0
    assert not trunk_calls["cache_hit"].any()
    prefix = calls.filter(pl.col("day") < 4)  # the calls of days 1-4 (day is the 0-based time)
    assert prefix.height > 0 and prefix["cache_hit"].all()


def test_fork_errors_are_one_paragraph(trunk: Path, tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"--day must be between 1 and 59"):
        fork(trunk, 60)
    with pytest.raises(ScenarioError, match=r"'population.size' cannot change during a run"):
        fork(trunk, 10, changes={"population.size": 10})
    done = cli("fork", trunk, "--day", "10", "--set", "lab.tax=500", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--set lab.tax = 500" in done.stderr and "allowed range [0, 100]" in done.stderr
    done = cli("fork", trunk, "--day", "10", "--seeds", "1,x", cwd=tmp_path)
    assert done.returncode == 2 and "--seeds '1,x' is not a list of seeds" in done.stderr
    done = cli("fork", trunk, "--day", "50", "--out", tmp_path / "c", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"society compare {trunk} {tmp_path / 'c'}" in done.stderr.replace("\n", "")


@pytest.mark.slow
def test_compare_shows_a_branch_against_the_trunk(trunk: Path, tmp_path: Path) -> None:
    (branch,) = fork(trunk, 30, changes={"lab.tax": 3.0}, out=tmp_path / "b")
    done = cli("compare", trunk, branch.path, "--out", tmp_path / "cmp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = pl.read_csv(tmp_path / "cmp" / "runs.csv")
    assert table.height == 2
