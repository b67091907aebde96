"""Write locks: one process writes a run or sweep directory at a time, the second stops with
exit 2 naming the first one's PID, readers need no lock, and a killed writer leaves none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import society
from society.cli import main as cli_main
from society.errors import SocietyError
from society.store.lock import DirectoryLocked, DirLock
from society.store.rundir import RunDir
from society.sweeps.runner import run_sweep

WORKTREE = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(WORKTREE)}
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
SWEEP = f'scenario = "{TINY}"\nreplicates = 1\nseed = 1\n[grid]\n"lab.tax" = [0.0, 0.5]\n'
#: A process that takes a directory's write lock (as a run does) and keeps it until killed.
HOLD = (
    "import sys, time\n"
    "from society.store.rundir import RunDir\n"
    "RunDir(sys.argv[1]).acquire()\n"
    "print('locked', flush=True)\n"
    "time.sleep(300)\n"
)


@contextmanager
def held_by_another_process(directory: Path) -> Iterator[subprocess.Popen[str]]:
    """``directory`` locked by a child process for the ``with`` block (then SIGKILLed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=30)


def listing(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but the lock file, with its contents."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != RunDir.LOCK
    }


# -- the lock itself ---------------------------------------------------------------------------
def test_a_second_lock_on_the_same_directory_fails_naming_the_holder(tmp_path: Path) -> None:
    first = DirLock(tmp_path / ".lock", what="run", advice="Or use another directory.")
    with first:
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
        second = DirLock(tmp_path / ".lock", what="run", advice="Or use another directory.")
        with pytest.raises(DirectoryLocked) as err:
            second.acquire()
        assert err.value.holder == os.getpid() and err.value.exit_code == 2
        text = str(err.value)
        assert f"process {os.getpid()} is writing a run" in text and str(tmp_path) in text
        assert f"kill {os.getpid()}" in text and text.endswith("Or use another directory.")
        assert "\n" not in text
        assert not second.held
    assert not (tmp_path / ".lock").exists()  # a clean release leaves no lock file
    with DirLock(tmp_path / ".lock", what="run", advice=""):
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with pytest.raises(KeyError), run.writing():
        raise KeyError("boom")
    run.acquire()  # would raise DirectoryLocked if the lock were still held
    run.release()
    assert not run.lock_path.exists()


def test_a_killed_holder_leaves_no_lock_behind(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    with held_by_another_process(out) as holder:
        with pytest.raises(DirectoryLocked) as err:
            society.run("tiny", out=out, overrides={"days": 2})
        assert err.value.holder == holder.pid and f"process {holder.pid}" in str(err.value)
    # SIGKILLed: the OS dropped its flock; its lock file (and dead PID) stays until reused.
    assert (out / ".lock").read_text().strip() == str(holder.pid)
    result = society.run("tiny", out=out, overrides={"days": 2})  # empty but for the lock file
    assert result.metrics.height == 3
    assert not (out / ".lock").exists()


def test_a_stale_lock_file_does_not_count_as_an_earlier_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("999999999\n")  # a PID no process has
    assert society.run("tiny", out=out, overrides={"days": 1}).metrics.height == 2  # no --force
    assert not (out / ".lock").exists()


# -- runs --------------------------------------------------------------------------------------
def test_writers_of_a_locked_run_stop_and_readers_do_not(tmp_path: Path) -> None:
    out = society.run("tiny", out=tmp_path / "run", overrides={"days": 5}).path
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    before = listing(out)
    with held_by_another_process(out) as holder:
        pid = str(holder.pid)
        for attempt in (
            lambda: society.run("tiny", out=out, overrides={"days": 2}),
            lambda: society.run("tiny", out=out, overrides={"days": 2}, force=True),
            lambda: society.resume(out),
            lambda: society.replay(out, out=out, force=True),
        ):
            with pytest.raises(DirectoryLocked, match=f"process {pid} is writing a run"):
                attempt()
        assert listing(out) == before  # --force removed nothing: the lock comes first
        assert society.load(out).metrics.height == 6  # readers take no lock


def test_cli_writers_of_a_locked_run_exit_2_naming_the_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = society.run("tiny", out=tmp_path / "original", overrides={"days": 3}).path
    out = tmp_path / "busy"
    out.mkdir()
    with held_by_another_process(out) as holder:
        for argv in (
            ["run", "tiny", "--out", str(out), "--quiet", "--no-report"],
            ["run", "tiny", "--out", str(out), "--force", "--quiet", "--no-report"],
            ["run", "--reproduce", str(original), "--out", str(out), "--quiet"],
        ):
            assert cli_main(argv) == 2, argv
            err = capsys.readouterr().err
            assert f"process {holder.pid}" in err and f"kill {holder.pid}" in err, err
            assert "Traceback" not in err
        assert [p.name for p in out.iterdir()] == [".lock"]
    with held_by_another_process(original) as holder:
        assert cli_main(["report", str(original)]) == 0  # a reader
        assert cli_main(["plot", str(original), "--view", "drift"]) == 0
        capsys.readouterr()
        (original / "manifest.json").write_text(
            (original / "manifest.json").read_text().replace('"success"', '"interrupted"')
        )
        assert cli_main(["run", "--resume", str(original), "--quiet", "--no-report"]) == 2
        err = capsys.readouterr().err
        assert f"process {holder.pid}" in err and "--resume continues" in err, err


# -- sweeps ------------------------------------------------------------------------------------
def test_writers_of_a_locked_sweep_exit_2_naming_the_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_file = tmp_path / "two.toml"
    sweep_file.write_text(SWEEP)
    done = run_sweep(sweep_file, out=tmp_path / "sweep", workers=1).path
    assert not (done / ".lock").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    with held_by_another_process(busy) as holder:
        with pytest.raises(DirectoryLocked, match=f"process {holder.pid}"):
            run_sweep(sweep_file, out=busy, workers=1)
        assert [p.name for p in busy.iterdir()] == [".lock"]
    with held_by_another_process(done) as holder:
        assert cli_main(["sweep", "--resume", str(done), "--quiet", "--no-report"]) == 2
        err = capsys.readouterr().err
        assert f"process {holder.pid} is writing a sweep" in err and "--resume runs" in err
        assert cli_main(["sweep-summary", str(done)]) == 0  # a reader
    assert cli_main(["sweep", "--resume", str(done), "--quiet", "--no-report"]) == 0
    assert not (done / ".lock").exists()


def test_a_refused_sweep_directory_is_left_unlocked(tmp_path: Path) -> None:
    sweep_file = tmp_path / "two.toml"
    sweep_file.write_text(SWEEP)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(SocietyError, match="not empty"):
        run_sweep(sweep_file, out=out, workers=1)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


# -- real concurrent writers -------------------------------------------------------------------
PAIRS = 8
PAIRS_AT_ONCE = 2
#: Long enough (about 0.4 s of simulation) to outlast the writers' difference in start-up
#: (at 30 days, a third of the pairs still meet at the lock).
DAYS = 150


def writer(out: Path) -> subprocess.Popen[str]:
    """``society run`` of a tiny scenario, simulating for :data:`DAYS` days."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "society.cli",
            "run",
            "tiny",
            "--set",
            f"days={DAYS}",
            "--set",
            "outcomes.stop_on_catastrophe=false",
            "--out",
            str(out),
            "--quiet",
            "--no-report",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        start_new_session=True,
    )


@pytest.mark.slow
def test_concurrent_writers_of_one_directory_never_both_succeed(tmp_path: Path) -> None:
    """Eight pairs of real `society run --out D` processes started together on one D each."""
    results: list[tuple[Path, list[tuple[int, int, str]]]] = []
    for first in range(0, PAIRS, PAIRS_AT_ONCE):
        batch = []
        for k in range(first, first + PAIRS_AT_ONCE):
            out = tmp_path / f"pair-{k:02d}"
            batch.append((out, [writer(out), writer(out)]))
        for out, procs in batch:
            finished = []
            for proc in procs:
                stdout, stderr = proc.communicate(timeout=120)
                finished.append((proc.pid, proc.returncode, stdout + stderr))
            results.append((out, finished))

    collided = 0
    for out, finished in results:
        codes = sorted(code for _, code, _ in finished)
        assert codes == [0, 2], (out, finished)  # never both 0, never a crash
        (winner, _, _), (_, _, lost) = sorted(finished, key=lambda f: f[1])
        assert "Traceback" not in lost and lost.startswith("error:"), lost
        if "is locked" in lost:
            collided += 1
            assert f"process {winner} is writing a run" in lost, (winner, lost)
            assert f"kill {winner}" in lost
        else:  # it started after the winner had finished: the run was there already
            assert "is not empty" in lost, lost
        assert society.load(out).manifest["status"] == "success"
        assert not (out / ".lock").exists()
    # Both writers of a pair start at once and a run lasts far longer than their start-up
    # differs, so nearly every pair meets at the lock.
    assert collided >= PAIRS // 2, f"only {collided} of {PAIRS} pairs overlapped"
