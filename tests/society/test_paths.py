"""Run directories: names cannot escape runs_dir, runs are not overwritten without --force, and an
unwritable --out is reported before anything is simulated."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from society_helpers import run_cli as society_cli

import society
from society.errors import RunDirectoryError
from society.store.rundir import default_run_dir, prepare_run_dir, safe_name

SAFE = re.compile(r"[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*")
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EVIL_NAMES = [
    "../../etc/x",
    "../escape",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a/../../b",
    "..\\..\\windows",
    "C:\\temp\\x",
    "~root",
    "-rf",
    "name\x00with-nul",
    "line\nbreak",
    "ünï/cödé",
    "\u202eexe.txt",
    "x" * 500,
]


def listing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- names cannot escape runs_dir ---------------------------------------------------------------
@pytest.mark.parametrize("name", EVIL_NAMES)
def test_safe_name_is_one_plain_path_component(name: str) -> None:
    cleaned = safe_name(name)
    assert SAFE.fullmatch(cleaned) or cleaned == "run", cleaned
    assert len(cleaned) <= 60 and not cleaned.startswith("-")
    root = Path("/runs")
    assert default_run_dir(root, name, 0, T0).parent == root


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=80), seed=st.integers(0, 2**63 - 1))
def test_any_name_gives_a_run_dir_directly_under_runs_dir(name: str, seed: int) -> None:
    cleaned = safe_name(name)
    assert SAFE.fullmatch(cleaned) or cleaned == "run", (name, cleaned)
    path = default_run_dir(Path("/runs"), name, seed, T0)
    assert path.parent == Path("/runs") and ".." not in path.parts
    assert path.name == f"{cleaned}-20260102T030405Z-s{seed}"


def test_run_with_evil_names_stays_inside_runs_dir(tmp_path: Path) -> None:
    runs = tmp_path / "deep" / "runs"
    for name in ("../../escape", "/tmp/abs", "a/../../b", ".."):
        result = society.run({"name": name, "days": 1, "population": {"size": 30}}, runs_dir=runs)
        assert result.path.parent == runs
        assert json.loads((result.path / "manifest.json").read_text())["scenario_name"] == name
    assert {p for p in listing(tmp_path) if not p.startswith("deep/runs/")} == {"deep", "deep/runs"}
    assert not Path("/tmp/abs").exists()


def test_cli_run_of_a_scenario_named_like_a_path_stays_inside_runs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "evil.toml").write_text('name = "../../escaped"\ndays = 1\n[population]\nsize = 30\n')
    r = society_cli("run", "evil.toml", "--quiet", "--no-report", cwd=work)
    assert r.returncode == 0, r.stderr
    run_dir = (work / r.stdout.strip()).resolve()
    assert run_dir.parent == (work / "runs").resolve()
    assert run_dir.name.startswith("escaped-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert sorted(p.name for p in work.iterdir()) == ["evil.toml", "runs"]


def test_default_run_dirs_never_collide(tmp_path: Path) -> None:
    first = default_run_dir(tmp_path, "x", 1, T0)
    first.mkdir()
    second = default_run_dir(tmp_path, "x", 1, T0)
    assert second != first and second.name == first.name + "-2"


# -- no overwrite without --force ---------------------------------------------------------------
def test_refused_overwrite_leaves_the_earlier_run_untouched(tmp_path: Path) -> None:
    out = tmp_path / "run"
    society.run("tiny", out=out, overrides={"days": 2})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="not empty.*--force"):
        society.run("tiny", out=out, overrides={"days": 3, "seed": 9})
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != "notes.txt"} == before
    again = society.run("tiny", out=out, overrides={"days": 3, "seed": 9}, force=True)
    assert again.metrics.height == 4
    assert (out / "notes.txt").read_text() == "mine"  # --force replaces the run, nothing else
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9
    assert not (out / ".write-probe").exists()


def test_a_directory_with_only_user_files_is_not_empty_either(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(RunDirectoryError, match="not empty"):
        prepare_run_dir(out, force=False)
    with pytest.raises(RunDirectoryError, match="holds no run"):  # --force replaces runs only
        prepare_run_dir(out, force=True)
    assert (out / "thesis.tex").read_text() == "precious"


def test_out_that_is_a_file_is_refused_even_with_force(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    target.write_text("keep me")
    for force in (False, True):
        with pytest.raises(RunDirectoryError, match="exists and is a file"):
            society.run("tiny", out=target, overrides={"days": 1}, force=force)
    assert target.read_text() == "keep me"


# -- unwritable output is reported before anything is simulated -------------------------------
def unwritable_outs(tmp_path: Path) -> dict[str, str]:
    """``--out`` values no user (root included) can create a directory at."""
    (tmp_path / "somefile.txt").write_text("a file, not a directory")
    return {
        "under_a_file": "somefile.txt/run",
        "deep_under_a_file": "somefile.txt/a/b/run",
        "proc": "/proc/self/society-run",
        "proc_file": "/proc/version/run",
        "dev_null": "/dev/null/run",
        "name_too_long": "r" * 5000,
    }


@pytest.mark.parametrize(
    "case",
    ["under_a_file", "deep_under_a_file", "proc", "proc_file", "dev_null", "name_too_long"],
)
def test_api_reports_unwritable_out_before_simulating(tmp_path: Path, case: str) -> None:
    out = unwritable_outs(tmp_path)[case]
    days: list[float] = []
    with pytest.raises(RunDirectoryError, match="Cannot write to output directory") as info:
        society.run(
            "tiny",
            out=out if out.startswith("/") else tmp_path / out,
            on_day=lambda m: days.append(m.day),
        )
    assert days == []  # nothing was simulated
    assert "choose a writable --out directory" in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    assert (tmp_path / "somefile.txt").read_text() == "a file, not a directory"


@pytest.mark.parametrize("case", ["under_a_file", "proc", "dev_null", "name_too_long"])
def test_cli_reports_unwritable_out_with_exit_2(tmp_path: Path, case: str) -> None:
    out = unwritable_outs(tmp_path)[case]
    r = society_cli("run", "tiny", "--out", out, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    before, _, message = r.stderr.partition("error:")
    assert "Cannot write to output directory" in message
    assert len(message.strip().splitlines()) <= 4
    assert "day 1/" not in before  # the progress bar never advanced: nothing was simulated
    assert r.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile.txt"]


def test_cli_reports_unwritable_runs_dir_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "somefile.txt").write_text("x")
    r = society_cli("run", "tiny", "--quiet", "--runs-dir", "somefile.txt", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Cannot write to output directory 'somefile.txt/tiny-" in r.stderr
    assert (tmp_path / "somefile.txt").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only directory")
def test_read_only_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(RunDirectoryError, match="Permission denied"):
            society.run("tiny", out=locked / "run", overrides={"days": 1})
    finally:
        locked.chmod(0o700)
