"""The mechanism table on the site: rows generated from the code, results from a recorded run
with the command and commit that produced them, and no table quoted without its record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
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
    # Not a terminal: a line at each tenth of the runs, with the time left, then the total.
    lines = list(re.finditer(r"^(\d+)/(\d+) runs \((\d+)%\), .*$", done.stderr, re.MULTILINE))
    last = lines[-1]
    assert len(lines) >= 4 and last[1] == last[2] and last[3] == "100"
    assert "left" in lines[0][0] and "left" not in last[0]
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


def _fake_run(root: Path, command: str, rows: list[tuple[str, str, float]], seeds: int = 8) -> Path:
    """A finished table as `society mechanisms` writes it: run.json and mechanisms.parquet."""
    root.mkdir()
    meta = {
        "command": command, "seeds": seeds, "size": 300, "days": None,
        "git": {"commit": "abc1234def", "dirty": False}, "versions": {"society": "0.1.0"},
        "finished_utc": "2026-12-06T14:00:00+00:00", "wall_seconds": 60.0,
    }  # fmt: skip
    (root / "run.json").write_text(json.dumps(meta))
    names, measures, diffs = zip(*rows, strict=True)
    columns = {
        "mechanism": names, "knob": "k", "condition": "", "expected_effect": "e",
        "measure": measures, "low_arm": "low", "high_arm": "high", "diff": diffs,
        "ci_low": [d - 0.1 for d in diffs], "ci_high": [d + 0.1 for d in diffs],
        "pairs": seeds, "expected_sign": 1, "floor": None, "any_of": False,
        "passed": [d - 0.1 > 0 for d in diffs],
    }  # fmt: skip
    frame = pl.DataFrame(columns, schema_overrides={"floor": pl.Float64})
    frame.write_parquet(root / "mechanisms.parquet")
    return root


def test_a_rerun_of_some_rows_replaces_their_results_in_place_and_is_named(
    tmp_path: Path,
) -> None:
    table = _fake_run(
        tmp_path / "table",
        "society mechanisms --seeds 8 --size 300",
        [("theft", "catastrophe_risk", 0.5), ("AI speed", "progress_per_day", 0.0),
         ("AI speed", "safe_chance", 0.5), ("memetic drift", "final_alignment", 0.5)],
    )  # fmt: skip
    rerun = _fake_run(
        tmp_path / "rerun",
        "society mechanisms --seeds 8 --size 300 --only 'AI speed'",
        [("AI speed", "log_progress", 0.7), ("AI speed", "safe_chance", 0.6)],
    )
    rec = page.record(table, rerun)
    assert [(r["mechanism"], r["measure"]) for r in rec["rows"]] == [
        ("theft", "catastrophe_risk"), ("AI speed", "log_progress"), ("AI speed", "safe_chance"),
        ("memetic drift", "final_alignment"),
    ]  # fmt: skip
    assert rec["reruns"][0]["mechanisms"] == ["AI speed"]
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / page.RECORD).write_text(json.dumps(rec))
    text = page.fill("<!-- mechanisms: results -->", tmp_path / "answers")
    assert "The rows 'AI speed' are from a rerun at the same seeds" in text
    assert "`society mechanisms --seeds 8 --size 300 --only 'AI speed'`" in text
    assert "progress_per_day" not in text and "`log_progress` up: +0.7" in text

    other = _fake_run(
        tmp_path / "other", "society mechanisms --seeds 4 --only theft",
        [("theft", "catastrophe_risk", 0.5)], seeds=4,
    )  # fmt: skip
    with pytest.raises(ValueError, match="ran at seeds = 4, the table at 8"):
        page.record(table, other)


def test_a_new_row_is_added_onto_the_recorded_table_without_its_first_run(
    tmp_path: Path,
) -> None:
    # The recorded table's own run directory is long gone (runs/ is not kept); a new row run
    # at the table's seeds and size joins the record at the end, named as a rerun.
    table = _fake_run(
        tmp_path / "table",
        "society mechanisms --seeds 8 --size 300",
        [("theft", "catastrophe_risk", 0.5)],
    )
    recorded = page.record(table)
    new_row = _fake_run(
        tmp_path / "new",
        "society mechanisms --seeds 8 --size 300 --only 'rival sharing'",
        [("rival sharing", "rival_ahead_risk", -0.3)],
    )
    rec = page.merged(recorded, new_row)
    assert [r["mechanism"] for r in rec["rows"]] == ["theft", "rival sharing"]
    assert rec["reruns"][0]["mechanisms"] == ["rival sharing"]
    assert recorded["reruns"] == [] and len(recorded["rows"]) == 1  # the record is not changed
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / page.RECORD).write_text(json.dumps(rec))
    text = page.fill("<!-- mechanisms: results -->", tmp_path / "answers")
    assert "The row 'rival sharing' was added later at the same seeds" in text
    assert "replaced" not in text
    # Run again, the row's newer results replace the first addition, which is no longer named.
    again = _fake_run(
        tmp_path / "again",
        "society mechanisms --seeds 8 --size 300 --only 'rival sharing' --show end_gap",
        [("rival sharing", "rival_ahead_risk", -0.4)],
    )
    rec = page.merged(rec, again)
    assert [r["mechanism"] for r in rec["rows"]] == ["theft", "rival sharing"]
    assert len(rec["reruns"]) == 1 and rec["reruns"][0]["command"].endswith("--show end_gap")
    text = page.results_markdown(_write(tmp_path / "answers", rec))
    assert text.count("The row 'rival sharing'") == 1 and "was added later" in text


def test_the_readme_quotes_the_recorded_tables_count_of_rows_that_hold() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    quoted = re.search(r"(\d+) of (\d+) checked\s+rows hold", readme)
    assert quoted, "README names how many rows of the recorded table hold"
    recorded = re.match(r"(\d+) of (\d+) checked rows hold", page.results_markdown())
    assert recorded and quoted.groups() == recorded.groups()


def test_a_failing_check_names_how_many_seeds_rose_and_fell_where_the_table_counted_them(
    tmp_path: Path,
) -> None:
    command = "society mechanisms --seeds 8"
    old = _fake_run(tmp_path / "old", command, [("lead time", "p_safe", 0.05)])
    new = _fake_run(tmp_path / "new", command, [("theft", "p_safe", 0.05)])
    table = pl.read_parquet(new / "mechanisms.parquet")
    table.with_columns(up=pl.lit(5), down=pl.lit(0)).write_parquet(new / "mechanisms.parquet")
    rec = page.merged(page.record(old), new)
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / page.RECORD).write_text(json.dumps(rec))
    text = page.fill("<!-- mechanisms: results -->", tmp_path / "answers")
    theft = next(line for line in text.splitlines() if line.startswith("| theft"))
    lead = next(line for line in text.splitlines() if line.startswith("| lead time"))
    assert "(5 up, 0 down)" in theft and "**no**" in theft
    assert " up, " not in lead  # a table from before the counts
    # 12 of 12 seeds that moved went up: a clear direction, counted apart from the rows that hold
    table.with_columns(up=pl.lit(12), down=pl.lit(0)).write_parquet(new / "mechanisms.parquet")
    rec = page.merged(page.record(old), new)
    (tmp_path / "answers" / page.RECORD).write_text(json.dumps(rec))
    text = page.fill("<!-- mechanisms: results -->", tmp_path / "answers")
    theft = next(line for line in text.splitlines() if line.startswith("| theft"))
    assert "(12 up, 0 down; sign test p = 0.0005) | direction only |" in theft
    assert text.startswith("0 of 2 checked rows hold; 1 more holds in direction only.")


def _write(answers: Path, rec: dict[str, object]) -> Path:
    (answers / page.RECORD).write_text(json.dumps(rec))
    return answers
