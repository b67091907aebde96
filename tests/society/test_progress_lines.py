"""Progress for a log (society.cli.progress): a long command whose output is not a terminal
prints a line at each tenth of its runs, with the time left, as a real process does."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from society_helpers import run_cli

from society.cli.progress import TenthLines

WORKTREE = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\d+)/(\d+) runs \((\d+)%\), [^,]+(, about .+ left)?$", re.MULTILINE)


def _lines(quiet: bool = False, terminal: bool = False) -> tuple[TenthLines, io.StringIO]:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=terminal, width=200)
    return TenthLines(console, quiet=quiet), sink


def test_a_line_at_each_tenth_with_the_time_left_until_the_last() -> None:
    lines, sink = _lines()
    lines.start(25, 0)
    for _ in range(25):
        lines.advance()
    found = LINE.findall(sink.getvalue())
    # 25 runs: tenths are crossed at 3, 5, 8, 10, 13, 15, 18, 20, 23 and 25 runs.
    assert [int(done) for done, *_ in found] == [3, 5, 8, 10, 13, 15, 18, 20, 23, 25]
    assert all(left for *_, left in found[:-1]) and not found[-1][3]
    assert found[-1][2] == "100"


def test_a_resumed_command_reports_from_where_it_was_and_nothing_on_a_terminal() -> None:
    lines, sink = _lines()
    lines.start(10, 6)  # 6 of 10 done before: the next line is at 7, not at every tenth again
    lines.advance()
    assert [int(d) for d, *_ in LINE.findall(sink.getvalue())] == [7]
    for quiet, terminal in ((True, False), (False, True)):
        silent, sink = _lines(quiet=quiet, terminal=terminal)
        silent.start(4, 0)
        for _ in range(4):
            silent.advance()
        assert sink.getvalue() == ""


def test_a_sweep_into_a_log_says_how_far_it_is(tmp_path: Path) -> None:
    done = run_cli(
        "sweep", WORKTREE / "scenarios/sweeps/smoke.toml", "--out", tmp_path / "s",
        "--workers", "1", "--no-report", cwd=WORKTREE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = LINE.findall(done.stderr)
    assert [(int(d), int(t)) for d, t, *_ in found] == [(1, 4), (2, 4), (3, 4), (4, 4)]
