"""Checkpoints, resume, signals and reproduction: runs survive interruption exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli as cli

import society
from society.api import RunStopped
from society.cli import main as cli_main
from society.errors import RunDirectoryError
from society.store.provenance import model_fingerprint
from society.tidy import comparable

OUTPUTS = ("metrics", "events", "generations", "network_nodes", "network_edges")


def assert_same_outputs(a: Path, b: Path) -> None:
    for name in OUTPUTS:
        # Identical but for run_id, the directory's name (society.tidy).
        assert comparable(pl.read_parquet(a / f"{name}.parquet")).equals(
            comparable(pl.read_parquet(b / f"{name}.parquet"))
        ), name


def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    over = {
        "record.checkpoint_every_days": 7,
        "risks.theft_rate": 0.02,
        "risks.excitation": 0.5,
        "outcomes.stop_on_catastrophe": False,
    }
    whole = society.run("tiny", overrides=over, out=tmp_path / "whole")
    with pytest.raises(RunStopped) as stop:
        society.run(
            "tiny",
            overrides=over,
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 30 else None,
        )
    assert stop.value.exit_code == 130 and "society run --resume" in str(stop.value)
    manifest = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert pl.read_parquet(tmp_path / "cut" / "metrics.parquet")["day"].max() == 31
    resumed = society.resume(tmp_path / "cut")
    assert (
        resumed.manifest["status"] == "success" and resumed.manifest["resumed_from"] == "day-00031"
    )
    assert_same_outputs(whole.path, resumed.path)
    assert resumed.summary == whole.summary
    assert not (tmp_path / "cut" / "checkpoint").exists()  # finished: checkpoints removed
    with pytest.raises(RunDirectoryError, match="already finished"):
        society.resume(tmp_path / "cut")


def test_llm_run_resumes_from_its_cache(tmp_path: Path) -> None:
    over = {
        "llm.backend": "stub",
        "days": 20,
        "record.checkpoint_every_days": 5,
        "tests.every_days": 4,
    }
    whole = society.run("llm_small", overrides=over, out=tmp_path / "whole")
    with pytest.raises(RunStopped):
        society.run(
            "llm_small",
            overrides=over,
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 12 else None,
        )
    resumed = society.resume(tmp_path / "cut")
    assert_same_outputs(whole.path, resumed.path)
    calls = pl.read_parquet(resumed.path / "llm_calls.parquet")
    assert calls.drop("cache_hit", "latency_s").equals(
        pl.read_parquet(whole.path / "llm_calls.parquet").drop("cache_hit", "latency_s")
    )


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_results(tmp_path: Path) -> None:
    args = [
        "run",
        "tiny",
        "--quiet",
        "--no-report",
        "--set",
        "days=1500",
        "--set",
        "record.checkpoint_every_days=50",
        "--set",
        "outcomes.stop_on_catastrophe=false",  # a long run, whatever happens in it
    ]
    assert cli(*args, "--out", "whole", cwd=tmp_path).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "society.cli", *args, "--out", "killed"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = tmp_path / "killed" / "checkpoint"
    deadline = time.time() + 120
    while time.time() < deadline and not any(checkpoints.glob("day-00[1-9]*")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((tmp_path / "killed" / "manifest.json").read_text())["status"] == "running"
    assert not list(checkpoints.glob(".*.tmp")) or any(checkpoints.glob("day-*"))
    resumed = cli("run", "--resume", "killed", "--quiet", "--no-report", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_outputs(tmp_path / "whole", tmp_path / "killed")


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_checkpoint_and_exits_with_resume_hint(
    tmp_path: Path, sig: int, code: int
) -> None:
    args = [
        "run",
        "tiny",
        "--quiet",
        "--no-report",
        "--set",
        "days=3000",
        "--set",
        "record.checkpoint_every_days=1000",
        "--set",
        "outcomes.stop_on_catastrophe=false",
        "--out",
        "run",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "society.cli", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics_seen = tmp_path / "run" / "manifest.json"
    deadline = time.time() + 60
    while time.time() < deadline and not metrics_seen.exists():
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "society run --resume" in stderr and "Traceback" not in stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    day = pl.read_parquet(tmp_path / "run" / "metrics.parquet")["day"].max()
    assert 0 < day < 3000
    assert (tmp_path / "run" / "checkpoint" / f"day-{day:05d}" / "state.json").is_file()
    assert cli("run", "--resume", "run", "--quiet", "--no-report", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["status"] == "success"


def test_reproduce_reports_a_match(tmp_path: Path) -> None:
    assert (
        cli(
            "run",
            "tiny",
            "--quiet",
            "--no-report",
            "--set",
            "days=15",
            "--out",
            "orig",
            cwd=tmp_path,
        ).returncode
        == 0
    )
    r = cli("run", "--reproduce", "orig", "--out", "again", "--no-report", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "reproduced: every output" in r.stdout and "note:" not in r.stderr
    manifest = json.loads((tmp_path / "orig" / "manifest.json").read_text())
    assert manifest["model"] == model_fingerprint()
    (tmp_path / "orig" / "manifest.json").write_text(json.dumps({**manifest, "model": "0" * 16}))
    r = cli("run", "--reproduce", "orig", "--out", "model", "--no-report", cwd=tmp_path)
    assert r.returncode == 0 and "reproduced: every output" in r.stdout
    note = "model fingerprints (the code that steps a run) differ from the original run's"
    assert f"{note} ({'0' * 16} -> {model_fingerprint()})" in " ".join(r.stderr.split())
    m = pl.read_parquet(tmp_path / "orig" / "metrics.parquet")
    m.with_columns(pl.col("alignment_mean") + 1e-9).write_parquet(
        tmp_path / "orig" / "metrics.parquet"
    )
    r = cli("run", "--reproduce", "orig", "--out", "third", "--no-report", cwd=tmp_path)
    assert r.returncode == 1 and "metrics.parquet differs" in r.stdout


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    r = cli(
        "run",
        "tiny",
        "--quiet",
        "--no-report",
        "--set",
        "days=3",
        "--set",
        "record.checkpoint_every_days=0",
        "--out",
        "x",
        cwd=tmp_path,
    )
    assert r.returncode == 0
    manifest = tmp_path / "x" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["status"] = "interrupted"
    manifest.write_text(json.dumps(data))
    r = cli("run", "--resume", "x", cwd=tmp_path)
    assert r.returncode == 2 and "has no checkpoint" in r.stderr


def test_a_checkpoint_from_another_model_is_refused_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A run stopped on day 10, then resumed by a society whose model code differs (what a
    # checkout of another commit is: its fingerprint differs). Continuing would finish the run
    # under other equations; the resume is refused and the checkpoint stays for that version.
    over = {"record.checkpoint_every_days": 5, "days": 40}
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides=over,
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 10 else None,
        )
    saved = json.loads(next((tmp_path / "cut" / "checkpoint").glob("day-*/state.json")).read_text())
    assert saved["model"] == model_fingerprint()
    monkeypatch.setattr("society.store.provenance.model_fingerprint", lambda: "0123456789abcdef")
    assert cli_main(["run", "--resume", str(tmp_path / "cut")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    message = " ".join(err.split())
    assert f"fingerprint {saved['model']}, this society's 0123456789abcdef" in message
    assert "Rerun the scenario, or resume with the version that wrote it" in message
    assert list((tmp_path / "cut" / "checkpoint").glob("day-*/state.json"))
    monkeypatch.undo()  # the version that wrote it resumes it
    assert society.resume(tmp_path / "cut").manifest["status"] == "success"
