"""User text on the terminal: scenario names (and paths) are data, never Rich markup and never
raw control characters or bidi overrides."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from society_helpers import run_cli as society

from society.cli.text import for_terminal
from viz.runviews import png_bytes
from viz.style import new_figure, plain, suptitle

# Rich markup that raises (a closing tag with nothing open), an ANSI colour, a right-to-left
# override, NUL, and a tag that would silently restyle the rest of the line.
HOSTILE = "[/]x\x1b[31mred\u202eevil\x00nul[bold]b\u2066"
RAW = ("\x1b", "\u202e", "\x00", "\u2066")


def _hostile_scenario(tmp_path: Path, file_name: str = "hostile.toml") -> Path:
    path = tmp_path / file_name
    path.write_text(
        f"name = {json.dumps(HOSTILE)}\ndays = 3\n[population]\nsize = 40\n"
        "[network]\nmean_degree = 4\n"
    )
    return path


def test_a_hostile_name_is_shown_as_text_and_the_run_finishes(tmp_path: Path) -> None:
    _hostile_scenario(tmp_path)
    # (The report is drawn after the table that raised; its figures are checked below.)
    r = society("run", "hostile.toml", "--no-report", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    run_dir = tmp_path / r.stdout.strip().splitlines()[-1]
    assert (run_dir / "summary.json").is_file()
    # The name reached the table title and the progress bar as text, brackets included...
    assert "[/]x[31mredevilnul[bold]b: the figures behind the verdict" in r.stdout
    assert "[/]x[31mredevilnul[bold]b" in r.stderr
    # ...and no control character or bidi override reached the terminal, or the path.
    for raw in RAW:
        assert raw not in r.stdout and raw not in r.stderr, repr(raw)
    assert run_dir.name.startswith("x-31mred-evil-nul-bold-b-")
    assert json.loads((run_dir / "manifest.json").read_text())["scenario_name"] == HOSTILE


def test_check_and_dry_run_show_a_hostile_file_name_and_name_as_text(tmp_path: Path) -> None:
    _hostile_scenario(tmp_path, "[bold]x.toml")
    r = society("check", "[bold]x.toml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "# [bold]x.toml: valid." in r.stdout
    dry = society("run", "[bold]x.toml", "--dry-run", "--set", "llm.fraction=0.2", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "[/]x[31mredevilnul[bold]b: expected LLM usage" in dry.stdout
    for raw in RAW:
        assert raw not in r.stdout + dry.stdout, repr(raw)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[/]", "\\[/]"),
        ("a\x1b[31mb[/]", "a[31mb\\[/]"),
        ("r\u202el\u200fx\u2066y\u061cz", "rlxyz"),
        ("tab\tnul\x00del\x7fc1\x9bline\n", "tab nuldelc1line "),
        ("plain words, α and 中", "plain words, α and 中"),
    ],
)
def test_for_terminal_strips_controls_and_escapes_markup(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


def test_plain_keeps_user_text_out_of_mathtext() -> None:
    assert plain("a$\\frac$b\u202e\x1b") == "a\\$\\frac\\$b"


def test_a_hostile_name_in_a_figure_title_is_drawn_as_text() -> None:
    manifest = {
        "scenario_name": HOSTILE + " $\\frac$",
        "seed": 1,
        "scenario": {"question": HOSTILE},
    }
    fig = new_figure(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph the font lacks (ESC, NUL) warns
        suptitle(fig, "drift", manifest)
        png_bytes(fig)  # mathtext would raise on "$\\frac$"
    assert fig.get_suptitle().startswith("drift — [/]x[31mredevilnul[bold]b")
