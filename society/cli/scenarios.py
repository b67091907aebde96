"""``society scenarios``: the shipped scenarios and the question each asks."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

NAME = "scenarios"
HELP = "list the shipped scenarios and the question each asks"
EXAMPLES = """\
examples:
  society scenarios
  society scenarios | grep -i lead
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.cli.text import for_terminal
    from society.scenario_files import list_shipped, shipped_dir

    table = Table(
        title="Shipped scenarios (society run NAME; society ask NAME answers a claim)",
        title_justify="left",
    )
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("question")
    table.add_column("claim", no_wrap=True)
    for name, path, question in list_shipped():
        table.add_row(for_terminal(name), for_terminal(question), for_terminal(claim_text(path)))
    out.print(table)
    sweeps = Table(
        title="Shipped sweeps (society sweep scenarios/sweeps/NAME.toml)", title_justify="left"
    )
    sweeps.add_column("name", style="bold", no_wrap=True)
    sweeps.add_column("question")
    sweeps.add_column("runs", justify="right")
    for path in sorted((shipped_dir() / "sweeps").glob("*.toml")):
        doc = read_doc(path)
        question = for_terminal(doc.get("question", ""))
        sweeps.add_row(for_terminal(path.stem), question, sweep_runs(doc))
    out.print(sweeps)
    return 0


def read_doc(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, OSError):
        return {"question": "(unreadable)"}


def claim_text(path: Path) -> str:
    """The scenario's claim in symbols (``P(safe) >= 0.9``), ``-`` without one."""
    from pydantic import ValidationError

    from society.claims import Claim

    raw = read_doc(path).get("claim")
    if not isinstance(raw, dict):
        return "-"
    try:
        claim = Claim.model_validate(raw)
    except ValidationError:
        return "(invalid: society check NAME)"
    return claim.text if claim.active else "-"


def sweep_runs(doc: dict[str, Any]) -> str:
    """Arms x replicates of a grid sweep file (``?`` when it samples)."""
    grid = doc.get("grid") or {}
    if doc.get("sample") or not isinstance(grid, dict):
        return "?"
    arms = 1
    for values in grid.values():
        arms *= len(values) if isinstance(values, list) else 1
    return f"{arms * int(doc.get('replicates', 1)):,}"
