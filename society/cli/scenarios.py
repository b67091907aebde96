"""``society scenarios``: the shipped scenarios and the question each asks."""

from __future__ import annotations

import argparse

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
    from society.scenario_files import list_shipped

    table = Table(title="Shipped scenarios (society run NAME)")
    table.add_column("name", style="bold")
    table.add_column("question")
    for name, _path, question in list_shipped():
        table.add_row(for_terminal(name), for_terminal(question))
    out.print(table)
    return 0
