"""Printing for every command: tables that survive pipes and narrow terminals."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table


def print_table(out: Console, table: Table) -> None:
    """Print ``table`` whole: into a file or pipe at its natural width (a grid sweep's tables
    are wider than the 80 columns rich assumes there), in a terminal with long cells wrapped
    rather than cut."""
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(max_width=100_000), table).maximum
    # Console.print clamps its width to the console's, so print through a wider console.
    wide = Console(
        file=out.file, width=max(out.width, natural), highlight=False, force_terminal=False
    )
    wide.print(table)
