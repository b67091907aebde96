"""The mechanism table on the site: rows generated from the code, results from a recorded run
with the command and commit that produced them, and no table quoted without its record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from society_helpers import run_cli

from society.docsite import mechanisms as page
from society.sweeps.ablation import MECHANISMS

WORKTREE = Path(__file__).resolve().parents[2]


def test_the_rows_page_lists_every_row_the_command_runs_with_its_checks() -> None:
    rows = page.fill("<!-- mechanisms: rows -->")
    for m in MECHANISMS:
        assert f"| {m.name} | `{m.knob}` |" in rows, m.name
        for check in m.checks:
            assert f"`{check.measure}`" in rows
    assert "`rival_ahead_risk`: down" in rows
    assert "`safe_chance`: up or `rival_ahead_risk`: down" in rows  # an any-of row says "or"


def test_a_recorded_run_renders_with_its_command_commit_and_verdicts(tmp_path: Path) -> None:
    done = run_cli(
        "mechanisms", "--only", "theft", "--only", "memetic drift", "--seeds", "2",
        "--size", "40", "--days", "15", "--runs-dir", tmp_path, cwd=WORKTREE,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    (run_dir,) = tmp_path.glob("mechanisms-*")
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["command"] == (
        "society mechanisms --seeds 2 --size 40 --days 15 --only theft --only 'memetic drift'"
    )
    assert meta["seeds"] == 2 and meta["wall_seconds"] > 0

    record = page.record(run_dir)
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / page.RECORD).write_text(json.dumps(record))
    text = page.fill("<!-- mechanisms: results -->", tmp_path / "answers")
    assert "Recorded from `society mechanisms --seeds 2 --size 40 --days 15" in text
    assert f"`{str(meta['git']['commit'])[:9]}" in text or "`unknown" in text
    theft = next(line for line in text.splitlines() if line.startswith("| theft"))
    assert "`catastrophe_risk` up:" in theft and "`mean_lead` down:" in theft
    assert theft.endswith(("| yes |", "| **no** |"))
    assert "checked rows hold" in text


def test_no_table_is_quoted_without_its_record(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="python -m society.docsite.mechanisms"):
        page.fill("<!-- mechanisms: results -->", tmp_path)
    (tmp_path / "mechanisms.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match="no run.json"):
        page.record(tmp_path)


def test_the_site_quotes_a_recorded_table() -> None:
    text = (WORKTREE / "docs" / "mechanisms.md").read_text()
    assert "<!-- mechanisms: rows -->" in text and "<!-- mechanisms: results -->" in text
    record = json.loads((WORKTREE / "docs" / "answers" / page.RECORD).read_text())
    assert record["seeds"] >= 8 and record["rows"]
