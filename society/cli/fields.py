"""``society fields``: every scenario field with its default, unit, range and meaning."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

NAME = "fields"
HELP = "list every scenario field with unit, range and meaning"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.scenario import format_default, iter_fields

    if args.markdown:
        from society.docs import fields_table

        print(fields_table())
        return 0
    table = Table(title="Scenario fields")
    for col in ("key", "default", "unit", "range", "meaning"):
        table.add_column(col)
    for f in iter_fields():
        table.add_row(
            f["key"], format_default(f["default"]), f["unit"], f["range"], f["description"]
        )
    out.print(table)
    return 0
