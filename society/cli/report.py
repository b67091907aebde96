"""``society report DIR``: write a self-contained report.html for a run or sweep directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

NAME = "report"
HELP = "write a self-contained HTML report (figures, tables, scenario, provenance)"
EXAMPLES = """\
examples:
  society report runs/baseline-...
  society report runs/sweeps/lead_vs_tax-... --figures
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (from `society run`) or sweep directory")
    p.add_argument("--out", type=Path, help="report file (default: DIR/report.html)")
    p.add_argument(
        "--figures",
        action="store_true",
        help="also write the figures as PNG files to DIR/figures (done anyway when that folder "
        "exists, so missing or empty figures are rebuilt)",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.store.outdir import OutputDir
    from viz.report import write_report

    figures = OutputDir(args.dir).figures
    # A run or sweep that drew figures gets them redrawn: one lost to a kill or a full disk
    # (missing, or empty from before figures were written atomically) comes back.
    figures_dir = figures if args.figures or figures.is_dir() else None
    print(write_report(args.dir, out=args.out, figures_dir=figures_dir), flush=True)
    return 0
