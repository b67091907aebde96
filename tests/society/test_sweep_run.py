"""Running sweeps: identical results across engines and worker counts, failures, layout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from society_helpers import assert_identical

from society.cli import main as cli_main
from society.sweeps.engines import LocalEngine, bounded_map, run_point
from society.sweeps.runner import run_sweep
from society.sweeps.spec import Sweep, load_sweep
from society.sweeps.store import SUMMARY_SCHEMA, SweepStore

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
BODY = (
    f'scenario = "{TINY}"\nreplicates = 3\nseed = 3\n[set]\ndays = 25\n'
    '[grid]\n"lab.lead_days" = [10, 60]\n"lab.tax" = [0.0, 1.0]\n'
)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sweep") / "grid.toml"
    path.write_text(BODY)
    return path


@pytest.fixture(scope="module")
def one_worker(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("w1") / "sweep"
    result = run_sweep(sweep_file, out=out, workers=1)
    assert result.failed == 0
    return out


def metrics(out: Path) -> pl.DataFrame:
    return SweepStore(out).scan_metrics().collect().sort("arm", "replicate", "day")


def test_layout_and_points_table(one_worker: Path) -> None:
    points = pl.read_parquet(one_worker / "points.parquet")
    assert points.height == 12
    assert points["point_id"].to_list() == sorted(points["point_id"].to_list())
    assert set(points["status"]) == {"success"}
    for column in ["point_id", "arm", "replicate", "seed", "lab__lead_days", "lab__tax"]:
        assert column in points.columns
    assert not any("." in c for c in points.columns)
    assert set(SUMMARY_SCHEMA) <= set(points.columns)
    assert not any("second" in c or "time" in c for c in points.columns)
    # Common random numbers: a replicate has one seed across all arms.
    assert points.group_by("replicate").agg(pl.col("seed").n_unique())["seed"].max() == 1
    manifest = json.loads((one_worker / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["n_success"] == 12
    assert manifest["sessions"][0]["wall_seconds"] > 0
    frame = metrics(one_worker)
    assert frame.select("arm", "replicate").unique().height == 12
    assert frame.filter(pl.col("arm") == 0, pl.col("replicate") == 0).height == 26
    # Each partition carries its run's identity and swept values: a scan needs no join.
    per_run = frame.select("arm", "replicate", "run_id", "seed", "outcome", "lab__tax").unique()
    joined = per_run.join(
        points.select("arm", "replicate", "point_id", "seed", "outcome", "lab__tax"),
        on=["arm", "replicate"],
    )
    assert joined.height == 12
    assert (joined["run_id"] == joined["point_id"]).all()
    assert (joined["seed"] == joined["seed_right"]).all()
    assert (joined["outcome"] == joined["outcome_right"]).all()
    assert (joined["lab__tax"] == joined["lab__tax_right"]).all()
    assert manifest["sweep"]["columns"] == {
        "lab__lead_days": "lab.lead_days",
        "lab__tax": "lab.tax",
    }
    assert len(list((one_worker / "points").glob("*.json"))) == 12


def test_two_workers_give_identical_results(
    sweep_file: Path, one_worker: Path, tmp_path: Path
) -> None:
    out = tmp_path / "w2"
    result = run_sweep(sweep_file, out=out, workers=2)
    assert_identical(result.points, pl.read_parquet(one_worker / "points.parquet"))
    assert_identical(metrics(out), metrics(one_worker))


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(
    sweep_file: Path,
    one_worker: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = Sweep.task

    def broken(self: Sweep, point: Any) -> dict[str, Any]:
        task = original(self, point)
        if point.arm == 1 and point.replicate == 2:
            task["scenario"]["population"] = {**task["scenario"]["population"], "size": -5}
        return task

    monkeypatch.setattr(Sweep, "task", broken)
    out = tmp_path / "failing"
    code = cli_main(["sweep", str(sweep_file), "--out", str(out), "--workers", "2"])
    assert code == 1
    captured = capsys.readouterr()
    assert "run a000001-r00002 failed" in captured.err
    assert "11 of 12 runs succeeded" in captured.err
    assert captured.out.strip() == str(out)
    points = pl.read_parquet(out / "points.parquet")
    bad = points.filter(pl.col("status") != "success")
    assert bad["point_id"].to_list() == ["a000001-r00002"]
    assert "ValidationError" in bad["error"][0]
    assert bad["outcome"][0] is None
    good = pl.read_parquet(one_worker / "points.parquet")
    assert_identical(
        points.filter(pl.col("status") == "success"),
        good.filter(pl.col("point_id") != "a000001-r00002"),
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["n_failed"]) == ("failed", 1)
    # The report leaves the failed run out of the outcomes: 11 finished runs are used.
    report = (out / "report.html").read_text()
    assert '<td>finished runs used</td><td class="num">11</td>' in report
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "basin.png",
        "drift.png",
        "forest.png",
    ]

    # Resuming retries the failed point; with the cause gone, the sweep completes.
    monkeypatch.setattr(Sweep, "task", original)
    assert cli_main(["sweep", "--resume", str(out), "--workers", "1", "--quiet"]) == 0
    assert_identical(pl.read_parquet(out / "points.parquet"), good)


def test_run_point_reports_errors_instead_of_raising() -> None:
    result = run_point({"point_id": "x", "arm": 0, "replicate": 0, "scenario": {"days": -1}})
    assert result["status"] == "error"
    assert result["metrics"] is None
    assert result["error"].startswith("ValidationError")


def test_bounded_map_keeps_a_window_of_results_in_flight() -> None:
    """A sweep of any size holds at most `window` runs' results at once."""
    in_flight: list[int] = []
    peak = 0

    def submit(task: dict[str, Any]) -> int:
        nonlocal peak
        in_flight.append(task["i"])
        peak = max(peak, len(in_flight))
        return int(task["i"])

    def next_done(pending: list[int]) -> tuple[dict[str, Any], list[int]]:
        in_flight.remove(pending[0])
        return {"i": pending[0]}, pending[1:]

    tasks = ({"i": i} for i in range(10_000))
    seen = [r["i"] for r in bounded_map(submit, next_done, tasks, window=4)]
    assert seen == list(range(10_000))
    assert peak == 4


def test_existing_output_is_not_overwritten(
    sweep_file: Path, one_worker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sweep", str(sweep_file), "--out", str(one_worker)]) == 2
    assert f"--resume {one_worker}" in " ".join(capsys.readouterr().err.split())


def test_resume_refuses_a_different_sweep(
    tmp_path: Path, one_worker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.toml"
    other.write_text(BODY.replace("[0.0, 1.0]", "[0.0, 2.0]"))
    assert cli_main(["sweep", str(other), "--resume", str(one_worker)]) == 2
    assert "differs from" in capsys.readouterr().err
    assert (
        load_sweep(other).fingerprint()
        != json.loads((one_worker / "manifest.json").read_text())["sweep"]["fingerprint"]
    )


def crash_on_arm_1_replicate_0(task: dict[str, Any]) -> dict[str, Any]:
    """A run that kills its worker process (as an out-of-memory kill or a segfault would)."""
    if (task["arm"], task["replicate"]) == (1, 0):
        os._exit(3)
    return run_point(task)


def test_a_dying_worker_fails_only_its_point(sweep_file: Path, one_worker: Path) -> None:
    sweep = load_sweep(sweep_file)
    engine = LocalEngine(workers=2, fn=crash_on_arm_1_replicate_0)
    try:
        results = {r["point_id"]: r for r in engine.map(sweep.task(p) for p in sweep.points)}
    finally:
        engine.close()
    assert sorted(results) == [p.point_id for p in sweep.points]
    failed = {k for k, r in results.items() if r["status"] != "success"}
    assert failed == {"a000001-r00000"}
    assert results["a000001-r00000"]["error"].startswith("WorkerDied")
    good = pl.read_parquet(one_worker / "points.parquet")
    for point_id, result in results.items():
        if point_id not in failed:
            row = good.filter(pl.col("point_id") == point_id).row(0, named=True)
            assert result["summary"]["final_alignment"] == row["final_alignment"]
