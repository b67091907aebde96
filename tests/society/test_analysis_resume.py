"""A Saltelli sweep killed mid-way and resumed gives the same Sobol indices as one that ran
straight through (D = 3, N = 8: 40 arms x 2 replicates of a 5-day, 50-instance society)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import polars as pl
import pytest
from society_helpers import assert_identical
from test_sweep_resume import start_sweep, wait_for_points

from society.analysis.run import analyze
from society.cli import main as cli_main
from society.sweeps.runner import run_sweep

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
BODY = (
    f'scenario = "{TINY}"\nreplicates = 2\nseed = 9\n[set]\ndays = 5\n"population.size" = 50\n'
    '[sample]\nmethod = "saltelli"\nn = 8\nranges = { "values.reflection_drift" = [0.0, 0.01], '
    '"values.noise" = [0.0, 0.01], "lab.tax" = [0.0, 2.0] }\n'
)


@pytest.mark.slow
def test_killed_and_resumed_saltelli_sweep_gives_identical_indices(tmp_path: Path) -> None:
    sweep_file = tmp_path / "sensitivity.toml"
    sweep_file.write_text(BODY)
    straight = tmp_path / "straight"
    assert run_sweep(sweep_file, out=straight, workers=2).failed == 0
    expected = analyze(straight, "sobol", "final_alignment", figure=False).table

    killed = tmp_path / "killed"
    proc = start_sweep(sweep_file, killed, 1, "--no-report")
    try:
        wait_for_points(proc, killed, 10)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    done = len(list((killed / "points").glob("*.json")))
    assert 10 <= done < 80, "the kill should land mid-way"
    assert cli_main(["sweep", "--resume", str(killed), "--quiet", "--no-report"]) == 0
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["sessions"][-1]["resumed"] and manifest["sessions"][-1]["runs"] == 80 - done

    resumed = analyze(killed, "sobol", "final_alignment", figure=False).table
    assert_identical(resumed, expected)
    total = dict(resumed.filter(pl.col("index") == "ST").select("parameter", "value").rows())
    assert total["values.reflection_drift"] > total["values.noise"] > abs(total["lab.tax"])
