"""``society fields``: every scenario field with its default, unit, range and meaning."""

from __future__ import annotations

import argparse
import textwrap

from rich.console import Console
from rich.markup import escape
from rich.table import Table

NAME = "fields"
HELP = "list every scenario field with unit, range and meaning"
EXAMPLES = """\
examples:
  society fields
  society fields | grep lab.
  society fields --metrics
"""
WIDE = 140  # terminals at least this wide get a table; narrower ones a list (keys never cut)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument(
        "--metrics",
        action="store_true",
        help="list the metric columns instead (what an intervention's `when` trigger reads)",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.cli.output import print_table
    from society.scenario import format_default, iter_fields

    if args.metrics:
        from society.observe import METRIC_COLUMNS

        for name, meaning in METRIC_COLUMNS.items():
            out.print(f"[bold]{escape(name)}[/]  {escape(meaning)}", soft_wrap=True)
        return 0
    if args.markdown:
        from society.docs import fields_table

        print(fields_table())
        return 0
    fields = iter_fields()
    if out.is_terminal and out.width < WIDE:
        # One field per entry: the key and its numbers on one line, the meaning wrapped below.
        for f in fields:
            unit = "" if f["unit"] == "-" else f" {f['unit']}"
            span = "" if f["range"] == "-" else f"  range {f['range']}"
            out.print(
                f"[bold]{escape(f['key'])}[/] = {escape(format_default(f['default']))}"
                f"{escape(unit)}{escape(span)}  ({f['kind']})",
                soft_wrap=True,
            )
            for line in textwrap.wrap(f["description"], max(30, out.width - 4)):
                out.print(f"    {escape(line)}", soft_wrap=True)
        out.print("\nAs a Markdown table: society fields --markdown", style="dim")
        return 0
    table = Table(title="Scenario fields", caption="As a Markdown table: society fields --markdown")
    for col in ("key", "default", "unit", "range", "kind", "meaning"):
        table.add_column(col, no_wrap=col == "key", overflow="fold")
    for f in fields:
        table.add_row(
            f["key"],
            format_default(f["default"]),
            f["unit"],
            f["range"],
            f["kind"],
            f["description"],
        )
    print_table(out, table)  # into a pipe: whole rows at their natural width, for grep
    return 0
