"""The Python API and the run store: files, manifest, reload, refusal to overwrite."""

from __future__ import annotations

import json

import pytest

import society
from society.errors import RunDirectoryError, ScenarioError


def test_run_writes_the_run_store_and_load_reads_it_back(tiny_run: society.RunResult) -> None:
    files = {p.name for p in tiny_run.path.iterdir()}
    assert {
        "manifest.json",
        "metrics.parquet",
        "events.parquet",
        "generations.parquet",
        "summary.json",
        "network_nodes.parquet",
        "network_edges.parquet",
    } <= files
    manifest = json.loads((tiny_run.path / "manifest.json").read_text())
    assert manifest["status"] == "success"
    assert manifest["seed"] == 7 and manifest["scenario"]["population"]["size"] == 200
    assert manifest["versions"]["numpy"] and manifest["wall_seconds"] > 0
    assert tiny_run.path.name.startswith("tiny-") and tiny_run.path.name.endswith("-s7")
    back = society.load(tiny_run.path)
    assert back.metrics.equals(tiny_run.metrics)
    assert back.summary == tiny_run.summary
    assert back.scenario.name == "tiny"


def test_out_must_be_new_or_empty_unless_forced(tmp_path) -> None:
    out = tmp_path / "run"
    society.run("tiny", out=out, overrides={"days": 2})
    with pytest.raises(RunDirectoryError, match="not empty"):
        society.run("tiny", out=out, overrides={"days": 2})
    again = society.run("tiny", out=out, overrides={"days": 3}, force=True)
    assert again.metrics.height == 4


def test_bad_scenario_leaves_no_run_directory(tmp_path) -> None:
    with pytest.raises(ScenarioError):
        society.run("tiny", runs_dir=tmp_path, overrides={"lab.tax": -1.0})
    assert list(tmp_path.iterdir()) == []


def test_an_error_during_a_run_is_recorded_and_keeps_what_was_written(tmp_path) -> None:
    def boom(model: society.SocietyModel) -> None:
        if model.day >= 5:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        society.run("tiny", out=tmp_path / "err", on_day=boom)
    manifest = json.loads((tmp_path / "err" / "manifest.json").read_text())
    assert manifest["status"] == "error" and "disk on fire" in manifest["error"]
    import polars as pl

    assert pl.read_parquet(tmp_path / "err" / "metrics.parquet").height >= 5


def test_load_names_the_missing_file(tiny_run: society.RunResult, tmp_path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_run.path, broken)
    (broken / "events.parquet").unlink()
    with pytest.raises(RunDirectoryError, match="events.parquet is missing"):
        society.load(broken)
    with pytest.raises(RunDirectoryError, match="not a directory"):
        society.load(tmp_path / "nowhere")
