"""What society writes and removes stays inside the directory it was given: no write through a
symbolic link (a ``.lock`` link or any other), and ``--force`` removes the stored run's files
and nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import society
from society.api import RunStopped
from society.cli import main as cli_main
from society.errors import RunDirectoryError
from society.store.lock import DirLock
from society.store.rundir import RunDir, write_json, write_parquet

SWEEP = 'scenario = "tiny"\nreplicates = 1\nseed = 1\n[grid]\n"lab.tax" = [0.0, 0.5]\n'
PRECIOUS = "precious, not society's\n"


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``: a file's text, a link's target, ``/`` for a folder."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {path.readlink()}"
        elif path.is_dir():
            found[key] = "/"
        else:
            found[key] = path.read_bytes().hex()
    return found


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    """``society ARGS`` in this process (the exit code and stderr), as a user would run it."""
    code = cli_main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_paragraph(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    text = stderr.strip()
    assert text.startswith("error:") and len(text.splitlines()) <= 6, text
    return " ".join(text.split())


def stopped_run(out: Path) -> Path:
    """A tiny run stopped after day 10, with checkpoints every 4 days (resumable)."""
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides={"days": 30, "record.checkpoint_every_days": 4},
            out=out,
            on_day=lambda m: m.request_stop() if m.day >= 10 else None,
        )
    return out


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file outside every run directory that a link will point to."""
    path = tmp_path / "victim.txt"
    path.write_text(PRECIOUS)
    return path


# -- 1. no write through a link ----------------------------------------------------------------
def test_a_lock_link_is_refused_by_run_and_its_target_left_intact(
    tmp_path: Path, victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    code, stderr = cli(capsys, "run", "tiny", "--out", out, "--quiet", "--no-report")
    assert code == 2, stderr  # before: exit 0, the victim overwritten with the PID
    text = one_paragraph(stderr)
    assert "is a symbolic link" in text and str(out / ".lock") in text and "rm " in text
    assert victim.read_text() == PRECIOUS
    assert tree(out) == {".lock": f"-> {victim}"}  # nothing written, the link left as found


def test_a_lock_link_is_refused_by_resume(
    tmp_path: Path, victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = stopped_run(tmp_path / "run")
    (run / ".lock").symlink_to(victim)
    before = tree(run)
    code, stderr = cli(capsys, "run", "--resume", run, "--quiet", "--no-report")
    assert code == 2, stderr
    assert "is a symbolic link" in one_paragraph(stderr)
    assert victim.read_text() == PRECIOUS and tree(run) == before


def test_a_lock_link_is_refused_by_sweep(
    tmp_path: Path, victim: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "two.toml").write_text(SWEEP)
    out = tmp_path / "s"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    code, stderr = cli(capsys, "sweep", tmp_path / "two.toml", "--out", out, "--quiet")
    assert code == 2, stderr
    assert "is a symbolic link" in one_paragraph(stderr)
    assert victim.read_text() == PRECIOUS and tree(out) == {".lock": f"-> {victim}"}


def test_the_lock_itself_never_opens_a_link(tmp_path: Path, victim: Path) -> None:
    dangling = tmp_path / "nowhere"
    for target in (victim, dangling):
        link = tmp_path / "d" / ".lock"
        link.parent.mkdir(exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        with pytest.raises(RunDirectoryError, match="is a symbolic link"):
            DirLock(link, what="run", advice="").acquire()
    assert victim.read_text() == PRECIOUS and not dangling.exists()


@pytest.mark.parametrize(
    "planted",
    ["checkpoint", "figures", "metrics.parquet", "checkpoint/rows", "manifest.json.tmp"],
)
def test_a_link_anywhere_in_a_run_directory_stops_resume_and_force(
    tmp_path: Path, victim: Path, planted: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "day-00001").mkdir()  # what a checkpoint writer would prune, were it followed
    (elsewhere / "keep.txt").write_text(PRECIOUS)
    run = stopped_run(tmp_path / "run")
    link = run / planted
    if link.is_dir():
        shutil.rmtree(link)
    link.unlink(missing_ok=True)
    link.symlink_to(victim if "." in planted else elsewhere)
    outside = tree(tmp_path / "elsewhere")
    before = tree(run)
    with pytest.raises(RunDirectoryError, match="is a symbolic link") as resumed:
        society.resume(run)
    assert str(link) in str(resumed.value)
    with pytest.raises(RunDirectoryError, match="is a symbolic link"):
        society.run("tiny", out=run, overrides={"days": 3}, force=True)
    assert tree(run) == before and tree(elsewhere) == outside
    assert victim.read_text() == PRECIOUS


@pytest.mark.parametrize("write", ["json", "parquet"])
def test_a_link_at_a_temporary_name_is_replaced_not_written_through(
    tmp_path: Path, victim: Path, write: str
) -> None:
    target = tmp_path / f"out.{write}"
    Path(f"{target}.tmp").symlink_to(victim)  # where the atomic write puts its bytes first
    if write == "json":
        write_json({"a": 1}, target)
        assert json.loads(target.read_text()) == {"a": 1}
    else:
        write_parquet(pl.DataFrame({"a": [1, 2]}), target)
        assert pl.read_parquet(target)["a"].to_list() == [1, 2]
    assert victim.read_text() == PRECIOUS
    assert not Path(f"{target}.tmp").exists() and not target.is_symlink()


# -- 2. --force removes the run, nothing else ---------------------------------------------------
def foreign_files(root: Path) -> None:
    """What the issue found deleted: a table, a figure and a checkpoint-like file, not a run's."""
    (root / "figures").mkdir(parents=True)
    (root / "checkpoint").mkdir()
    (root / "data.parquet").write_text(PRECIOUS)
    (root / "figures" / "myplot.png").write_text(PRECIOUS)
    (root / "checkpoint" / "mine.bin").write_text(PRECIOUS)


def test_force_refuses_a_directory_that_holds_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    foreign_files(out)
    before = tree(out)
    code, stderr = cli(capsys, "run", "tiny", "--out", out, "--force", "--quiet", "--no-report")
    assert code == 2, stderr  # before: exit 0, all three files deleted
    text = one_paragraph(stderr)
    assert "holds no run" in text and "has no manifest.json" in text and "data.parquet" in text
    assert "Nothing was removed" in text
    assert tree(out) == before


def test_force_refuses_a_directory_whose_manifest_is_not_a_run_manifest(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    foreign_files(out)
    (out / "manifest.json").write_text('{"project": "not a society run"}')
    before = tree(out)
    with pytest.raises(RunDirectoryError, match="is not a valid run manifest"):
        society.run("tiny", out=out, overrides={"days": 2}, force=True)
    assert tree(out) == before


def test_force_through_an_out_link_never_deletes_what_it_points_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sales.parquet").write_text(PRECIOUS)
    link = tmp_path / "link"
    link.symlink_to(outside)
    code, stderr = cli(capsys, "run", "tiny", "--out", link, "--force", "--quiet", "--no-report")
    assert code == 2, stderr  # before: exit 0 and sales.parquet gone
    assert "holds no run" in one_paragraph(stderr)
    assert tree(outside) == {"sales.parquet": PRECIOUS.encode().hex()}


@pytest.mark.parametrize("listed", [True, False], ids=["files-listed", "older-manifest"])
def test_force_replaces_the_stored_run_and_keeps_everything_else(
    tmp_path: Path, listed: bool
) -> None:
    run = stopped_run(tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["files"] == sorted(f"{t}.parquet" for t in RunDir.REPRODUCIBLE)
    if not listed:  # written before manifests listed their files
        del manifest["files"]
        (run / "manifest.json").write_text(json.dumps(manifest))
    foreign_files_in_run = {
        "notes.txt": PRECIOUS,
        "llm_cache.sqlite": "paid for",
        "figures/myplot.png": PRECIOUS,
        "checkpoint/mine.bin": PRECIOUS,
        "checkpoint/rows/mine.arrow": PRECIOUS,
    }
    (run / "figures").mkdir()
    for name, text in foreign_files_in_run.items():
        (run / name).write_text(text)
    for drawn in ("figures/drift.png", "figures/echo.svg", "report.html"):
        (run / drawn).write_text("drawn from the old run")
    assert any((run / "checkpoint").glob("day-*"))
    result = society.run("tiny", out=run, overrides={"days": 3, "seed": 9}, force=True)
    assert result.metrics.height == 4 and result.manifest["seed"] == 9
    kept = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}
    assert kept == {*RunDir.REQUIRED, *(f"{t}.parquet" for t in RunDir.REPRODUCIBLE)} | set(
        foreign_files_in_run
    )
    for name, text in foreign_files_in_run.items():
        assert (run / name).read_text() == text, name
