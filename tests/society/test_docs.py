"""The README documents every scenario field and output column, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from society.docs import DOCUMENTS, MODEL_DOC, README, render
from society.metric_columns import METRIC_COLUMNS
from society.scenario import iter_fields

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_are_generated_from_the_code() -> None:
    for path, names in DOCUMENTS.items():
        current = path.read_text()
        assert render(current, names) == current, f"run `python -m society.docs` ({path.name})"
    text = README.read_text()
    for field in iter_fields():
        assert f"| `{field['key']}` |" in text, field["key"]
    for column in METRIC_COLUMNS:
        assert f"| `{column}` |" in text, column


def test_ci_runs_the_readme_test_command() -> None:
    text = README.read_text()
    commands = re.findall(r"```bash\n\s*(python3 -m venv \.venv && [^\n]*)\n", text)
    assert len(commands) == 2, commands
    run_cmd, test_cmd = commands
    assert "society run scenarios/baseline.toml" in run_cmd
    assert "pytest" in test_cmd
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_model_doc_lists_every_prior() -> None:
    from society.priors import read_priors

    text = MODEL_DOC.read_text()
    for key in read_priors(["model"]).keys:
        assert f"| `{key}` |" in text, key
