"""The README documents every scenario field and output column, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from society.docs import README, render
from society.observe import METRIC_COLUMNS
from society.scenario import iter_fields

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tables_are_generated_from_the_code() -> None:
    text = README.read_text()
    assert render(text) == text, "run `python -m society.docs` to refresh README tables"
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
