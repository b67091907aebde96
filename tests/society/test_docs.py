"""The documentation: generated reference pages list every command, option, scenario field,
output column, prior and shipped scenario; recorded answers name their command and n; the site
builds with --strict; CI runs the README's test command and builds the site."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from society.docs import DOCUMENTS, MODEL_DOC, render
from society.docsite import answers
from society.docsite.cli_reference import commands, option_names
from society.docsite.pages import PAGES
from society.metric_columns import METRIC_COLUMNS
from society.recorder import (
    EDGE_SCHEMA,
    EVENT_SCHEMA,
    GENERATION_SCHEMA,
    METRIC_SCHEMA,
    NODE_SCHEMA,
)
from society.scenario import iter_fields
from society.scenario_files import list_shipped, shipped_dir
from society.sweeps.store import SUMMARY_SCHEMA
from society.tidy import IDENTITY

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def page(path: str) -> str:
    return PAGES[path]()


def test_scenario_fields_page_lists_every_field() -> None:
    text = page("reference/scenario-fields.md")
    for field in iter_fields():
        assert f"| `{field['key']}` |" in text, field["key"]


def test_output_columns_page_lists_every_column_of_every_schema() -> None:
    text = page("reference/output-columns.md")
    schemas = [
        METRIC_SCHEMA,
        EVENT_SCHEMA,
        GENERATION_SCHEMA,
        NODE_SCHEMA,
        EDGE_SCHEMA,
        SUMMARY_SCHEMA,
        IDENTITY,
    ]
    for schema in schemas:
        for column in schema:
            assert f"| `{column}` |" in text, column
    assert set(METRIC_COLUMNS) == set(METRIC_SCHEMA)


def test_cli_page_lists_every_command_and_option() -> None:
    text = page("reference/cli.md")
    names = [name for name, _ in commands()]
    assert "society run" in names and "society llm check" in names
    sections = re.split(r"\n(?=#{2,3} `society )", text)
    by_name = {re.match(r"#{2,3} `([^`]+)`", s).group(1): s for s in sections[1:]}  # type: ignore[union-attr]
    assert list(by_name) == names
    for name, parser in commands():
        for option in option_names(parser):
            assert option in by_name[name], (name, option)


def test_priors_and_scenarios_pages_list_every_prior_and_shipped_file() -> None:
    from society.priors import read_priors

    priors = page("reference/priors.md")
    for key in read_priors(["model", "settings"]).keys:
        assert f"| `{key}` |" in priors, key
    shipped = page("reference/scenarios.md")
    for name, _, _ in list_shipped():
        assert f"| `{name}` |" in shipped, name
    for path in (shipped_dir() / "sweeps").glob("*.toml"):
        assert f"| `{path.stem}` |" in shipped, path.stem


def test_a_generated_page_is_not_a_file_under_docs() -> None:
    for path in PAGES:
        assert not (ROOT / "docs" / path).exists(), path


def test_model_doc_keeps_its_priors_table_current() -> None:
    for path, names in DOCUMENTS.items():
        current = path.read_text()
        assert render(current, names) == current, f"run `python -m society.docs` ({path.name})"
    from society.priors import read_priors

    text = MODEL_DOC.read_text()
    for key in read_priors(["model", "settings"]).keys:
        assert f"| `{key}` |" in text, key


def test_every_quoted_answer_is_recorded_with_its_command_and_n() -> None:
    quoted = {
        name
        for doc in (ROOT / "docs").rglob("*.md")
        for name in answers.MARKER.findall(doc.read_text())
    }
    assert "essay_one_month-priors" in quoted
    for name in quoted:
        block = answers.render(name)
        record = json.loads((answers.ANSWERS_DIR / f"{name}.json").read_text())
        shown = " ".join(block.replace("\\\n", " ").split())  # the command, one option a line
        assert record["command"].startswith("society ask ") and record["command"] in shown
        assert f"{record['k']} of {record['n']} runs" in block
        assert record["sentence"] in block and len(record["commit"]) == 40


def test_an_answer_without_its_command_or_n_is_refused(tmp_path: Path) -> None:
    source = answers.ANSWERS_DIR / "essay_one_month-priors.json"
    record = json.loads(source.read_text())
    del record["n"]
    (tmp_path / "bad.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="lacks n"):
        answers.fill("before <!-- answer: bad --> after", tmp_path)
    with pytest.raises(FileNotFoundError, match="no recorded answer"):
        answers.fill("<!-- answer: absent -->", tmp_path)


def test_ci_runs_the_readme_test_command_and_builds_the_site() -> None:
    text = README.read_text()
    commands_ = re.findall(r"```bash\n\s*(python3 -m venv \.venv && [^\n]*)\n", text)
    assert len(commands_) == 2, commands_
    run_cmd, test_cmd = commands_
    assert "society run scenarios/baseline.toml" in run_cmd
    assert "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci
    assert ".venv/bin/mkdocs build --strict" in ci


@pytest.mark.slow
def test_site_builds_strict_with_every_generated_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    for path in PAGES:
        assert (site / Path(path).with_suffix("") / "index.html").is_file(), path
    essay = (site / "explanation" / "essay" / "index.html").read_text()
    record = json.loads((answers.ANSWERS_DIR / "essay_one_month-priors.json").read_text())
    assert "Recorded answer" in essay and f"of {record['n']} runs" in essay


def test_every_figure_the_docs_show_is_drawn_by_named_commands() -> None:
    from society.docsite.figures import FIGURES, FIGURES_DIR

    drawn = {figure.name for figure in FIGURES}
    # Screenshots are taken by the test that checks the page they show.
    shots = {"playground.png": ROOT / "tests" / "app" / "test_playground_browser.py"}
    for name, test in shots.items():
        assert name in test.read_text(), (name, test)
    assert {p.name for p in FIGURES_DIR.glob("*.png")} == drawn | set(shots)
    shown = README.read_text() + "".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    for figure in FIGURES:
        assert f"figures/{figure.name}" in shown, figure.name
        assert all(line.startswith("society ") for line in figure.command_lines())
