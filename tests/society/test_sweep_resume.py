"""Resume: a sweep killed with SIGKILL, then resumed, equals an uninterrupted sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from society_helpers import assert_identical

from society.cli import main as cli_main
from society.store.provenance import model_fingerprint
from society.sweeps.runner import run_sweep
from society.sweeps.store import SweepStore

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
BODY = (
    f'scenario = "{TINY}"\nreplicates = 4\nseed = 1\n'
    '[grid]\n"lab.tax" = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]\n'
)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "kill.toml"
    path.write_text(BODY)
    return path


@pytest.fixture(scope="module")
def uninterrupted(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full") / "sweep"
    assert run_sweep(sweep_file, out=out, workers=2).failed == 0
    return out


def metrics(out: Path) -> pl.DataFrame:
    return SweepStore(out).scan_metrics().collect().sort("arm", "replicate", "day")


def assert_same_sweep(a: Path, b: Path) -> None:
    assert_identical(pl.read_parquet(a / "points.parquet"), pl.read_parquet(b / "points.parquet"))
    assert_identical(metrics(a), metrics(b))


def start_sweep(sweep_file: Path, out: Path, workers: int, *extra: str) -> subprocess.Popen[str]:
    """``society sweep`` in a subprocess, in its own process group (a kill or a terminal's
    SIGINT reaches its workers too)."""
    return subprocess.Popen(
        [sys.executable, "-m", "society.cli", "sweep", str(sweep_file), "--out", str(out),
         "--workers", str(workers), "--quiet", *extra],
        env={**os.environ, "PYTHONPATH": str(WORKTREE)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip


def wait_for_points(proc: subprocess.Popen[str], out: Path, count: int) -> None:
    """Until the sweep has stored ``count`` points (failing if it dies or stalls)."""
    deadline = time.monotonic() + 120
    while len(list((out / "points").glob("*.json"))) < count:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(
    sweep_file: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    proc = start_sweep(sweep_file, out, 1)
    try:
        wait_for_points(proc, out, 5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = len(list((out / "points").glob("*.json")))
    assert 5 <= done_at_kill < 24, "the kill should land mid-way"
    assert not (out / "points.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    assert cli_main(["sweep", str(sweep_file), "--resume", str(out), "--quiet"]) == 0
    assert_same_sweep(out, uninterrupted)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    session = manifest["sessions"][-1]
    assert session["resumed"] is True
    assert session["already_done"] >= done_at_kill
    assert session["runs"] == 24 - session["already_done"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_finishes_running_points_marks_interrupted_and_resumes(
    sweep_file: Path, uninterrupted: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "signalled"
    proc = start_sweep(sweep_file, out, 2, "--no-report")
    wait_for_points(proc, out, 3)
    # SIGINT as a terminal sends it: to the whole process group, workers included.
    os.killpg(proc.pid, sig) if sig == signal.SIGINT else proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr
    assert f"society sweep --resume {out}" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    done = len(list((out / "points").glob("*.json")))
    assert 3 <= done < 24
    # The points running when the signal came were finished, not abandoned: none failed.
    assert all(
        json.loads(f.read_text())["status"] == "success" for f in (out / "points").glob("*.json")
    )
    assert cli_main(["sweep", "--resume", str(out), "--quiet", "--no-report"]) == 0
    assert_same_sweep(out, uninterrupted)


def test_half_written_files_never_count_as_done(
    sweep_file: Path, uninterrupted: Path, tmp_path: Path
) -> None:
    """What a kill can leave behind: temp files, metrics without a point file, junk."""
    out = tmp_path / "partial"
    assert run_sweep(sweep_file, out=out, workers=2).failed == 0
    points, store = out / "points", SweepStore(out)
    # Killed after writing a run's metrics but before its point file.
    (points / "a000002-r00001.json").unlink()
    # Killed while writing a point file / a metrics file (the rename never happened).
    (points / "a000003-r00000.json").rename(points / "a000003-r00000.json.tmp")
    tmp_metrics = store.metrics_path(4, 2).with_name("part.parquet.tmp")
    tmp_metrics.write_bytes(b"PAR1 half")
    # A point file whose metrics vanished, and an unreadable point file.
    store.metrics_path(5, 3).unlink()
    (points / "a000001-r00003.json").write_text('{"status": "succ')
    (out / "points.parquet").unlink()
    assert store.done_ids() == {p for p in (f.stem for f in points.glob("*.json"))} - {
        "a000005-r00003",
        "a000001-r00003",
    }

    assert cli_main(["sweep", "--resume", str(out), "--workers", "1", "--quiet"]) == 0
    assert_same_sweep(out, uninterrupted)
    assert not list(out.rglob("*.tmp"))
    assert json.loads((out / "manifest.json").read_text())["sessions"][-1]["runs"] == 4


def test_resume_needs_a_sweep_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["sweep", "--resume", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def two_point_sweep(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A finished sweep of two points of ``tiny`` and its manifest, as written."""
    path = tmp_path / "two.toml"
    path.write_text(f'scenario = "{TINY}"\nreplicates = 1\nseed = 1\n[grid]\n"lab.tax" = [0, 1]\n')
    out = tmp_path / "sweep"
    assert run_sweep(path, out=out, workers=1).failed == 0
    return out, json.loads((out / "manifest.json").read_text())


def test_a_sweep_made_by_another_model_is_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A sweep whose manifest names another model's fingerprint (what a sweep started before an
    # upgrade has): the runs still to do would not be comparable with those done, so resume
    # is refused, nothing in the directory is touched, and the message says what to do.
    out, manifest = two_point_sweep(tmp_path)
    assert manifest["model"] == model_fingerprint()
    next((out / "points").glob("*.json")).unlink()
    manifest["model"] = "0123456789abcdef"
    (out / "manifest.json").write_text(json.dumps(manifest))
    before = sorted(p.name for p in out.rglob("*"))
    assert cli_main(["sweep", "--resume", str(out), "--quiet"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "made by a different model (its code's fingerprint 0123456789abcdef" in message
    commit = manifest["git"]["commit"]
    assert f"resume with the version that started it (commit {commit})" in message
    assert sorted(p.name for p in out.rglob("*")) == before
    assert cli_main(["ask", "--resume", str(out)]) == 2  # an ask's resume checks it too


def test_a_sweep_whose_plan_rebuilds_differently_is_not_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same model, but the sweep rebuilt from the manifest is not the one that ran (as
    # after a scipy upgrade that changes the prior draws): its stored fingerprint no longer
    # matches, and the resume is refused before anything runs.
    out, manifest = two_point_sweep(tmp_path)
    real = manifest["sweep"]["fingerprint"]
    manifest["sweep"]["fingerprint"] = "0" * 16
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert cli_main(["sweep", "--resume", str(out), "--quiet"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert f"fingerprint {real} against the stored {'0' * 16}" in message
    assert "numpy or scipy changed since" in message
