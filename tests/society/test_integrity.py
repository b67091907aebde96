"""Integrity under faults: what a run reads back is verified before it is trusted."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from society_helpers import run_cli as cli

import society
from society.api import RunStopped
from society.tidy import comparable

OVER = {"record.checkpoint_every_days": 5, "days": 40, "outcomes.stop_on_catastrophe": False}


def _stopped_run(root: Path) -> Path:
    """A run of `tiny` stopped after day 20, with checkpoints every 5 days."""
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides=OVER,
            out=root / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 20 else None,
        )
    return root / "cut"


def _tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path.write_bytes(bytes(data))


def _rows_part(run: Path) -> list[Path]:
    """The first part of the metrics rows: every checkpoint reads it back."""
    return sorted((run / "checkpoint" / "rows").glob("metrics-*.arrow"))[:1]


def _state(run: Path) -> list[Path]:
    """The state of every checkpoint kept (a resume falls back to an older one that verifies)."""
    return sorted((run / "checkpoint").glob("day-*/state.json"))


def _arrays(run: Path) -> list[Path]:
    return sorted((run / "checkpoint").glob("day-*/arrays.npz"))


@pytest.mark.parametrize(
    ("damage", "target", "words"),
    [
        (_flip, _rows_part, "does not match the checksum"),
        (Path.unlink, _rows_part, "is missing"),
        (_flip, _state, "does not match the checksum"),
        (_flip, _arrays, "does not match the checksum"),
    ],
    ids=["flipped-rows", "deleted-rows", "flipped-state", "flipped-arrays"],
)
def test_a_damaged_checkpoint_is_refused_and_nothing_changes(
    tmp_path: Path,
    damage: Callable[[Path], None],
    target: Callable[[Path], list[Path]],
    words: str,
) -> None:
    run = _stopped_run(tmp_path)
    damaged = target(run)
    assert damaged
    for path in damaged:
        damage(path)
    before = _tree(run)
    r = cli("run", "--resume", run, "--quiet", "--no-report", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and words in r.stderr and damaged[0].name in r.stderr
    assert "--reproduce" in r.stderr
    assert _tree(run) == before


def test_an_intact_checkpoint_still_resumes(tmp_path: Path) -> None:
    run = _stopped_run(tmp_path)
    assert society.resume(run).manifest["status"] == "success"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 600 KiB tmpfs: a run of 2,000 instances fills it at its second checkpoint."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


FILLING = [
    "--set",
    "population.size=2000",
    "--set",
    "days=200",
    "--set",
    "record.checkpoint_every_days=20",
    "--quiet",
    "--no-report",
]


def test_a_full_disk_stops_cleanly_and_resumes_identically(
    small_disk: Path, tmp_path: Path
) -> None:
    import json
    import subprocess

    import polars as pl

    run = small_disk / "r"
    r = cli("run", "tiny", *FILLING, "--out", run, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "No space left on device" in r.stderr
    assert f"society run --resume {run}" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "error" and "ENOSPC" in manifest["error"]
    assert not list(run.rglob("*.tmp"))
    # Free space, resume: the outputs are those of a run that never met a full disk.
    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)
    assert cli("run", "--resume", run, "--quiet", "--no-report", cwd=tmp_path).returncode == 0
    whole = tmp_path / "whole"
    assert cli("run", "tiny", *FILLING, "--out", whole, cwd=tmp_path).returncode == 0
    for table in ("metrics", "events", "generations"):
        assert comparable(pl.read_parquet(run / f"{table}.parquet")).equals(
            comparable(pl.read_parquet(whole / f"{table}.parquet"))
        ), table


def test_a_full_disk_stops_a_sweep_cleanly_and_it_resumes(small_disk: Path, tmp_path: Path) -> None:
    import json
    import subprocess

    subprocess.run(["mount", "-o", "remount,size=150k", str(small_disk)], check=True)
    sweep = tmp_path / "small.toml"
    sweep.write_text(
        'name = "small"\nscenario = "tiny"\nreplicates = 4\nseed = 1\n'
        '[set]\n"population.size" = 400\n'
        '[grid]\n"lab.tax" = [0.25, 1.0]\n"lab.lead_days" = [30, 120]\n'
    )
    out = small_disk / "s"
    r = cli("sweep", sweep, "--out", out, "--quiet", "--no-report", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "No space left on device" in r.stderr
    assert f"society sweep --resume {out}" in r.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "error"
    assert not list(out.rglob("*.tmp"))
    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)
    r = cli("sweep", "--resume", out, "--quiet", "--no-report", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("edit", ["lab.tax", "population.size"])
def test_an_edited_manifest_scenario_is_refused_before_resuming(tmp_path: Path, edit: str) -> None:
    import json

    run = _stopped_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    section, key = edit.split(".")
    manifest["scenario"][section][key] = 0.9 if key == "tax" else 77
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = _tree(run)
    r = cli("run", "--resume", run, "--quiet", "--no-report", cwd=tmp_path)
    assert r.returncode == 2, r.stderr  # before: exit 0 with the old tax's results, or a segfault
    assert "was changed after the run wrote it" in r.stderr and "Traceback" not in r.stderr
    assert _tree(run) == before


def test_a_full_disk_while_drawing_keeps_the_run_and_says_how_to_draw_later(
    small_disk: Path, tmp_path: Path
) -> None:
    import json
    import subprocess

    subprocess.run(["mount", "-o", "remount,size=200k", str(small_disk)], check=True)
    run = small_disk / "r"
    r = cli("run", "tiny", "--set", "days=20", "--out", run, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "while drawing the figures" in r.stderr
    assert f"society report {run} --figures" in r.stderr
    assert json.loads((run / "manifest.json").read_text())["status"] == "success"
    assert not list(run.rglob("*.tmp"))
    assert all(f.stat().st_size > 0 for f in (run / "figures").glob("*.png"))  # none truncated
    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)
    assert cli("report", run, "--figures", cwd=tmp_path).returncode == 0
    assert (run / "report.html").is_file() and len(list((run / "figures").glob("*.png"))) >= 5
