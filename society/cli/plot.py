"""``society plot DIR``: write a run's or a sweep's figures as image files."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

NAME = "plot"
HELP = "write the figures of a run or sweep directory (png, svg or pdf)"
EXAMPLES = """\
examples:
  society plot runs/baseline-...
  society plot runs/sweeps/lead_vs_tax-... --format svg
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (from `society run`) or sweep directory")
    p.add_argument(
        "--view",
        dest="views",
        action="append",
        metavar="NAME",
        help="view to draw (repeatable; default: all). Runs: drift, ladder, echo, network, "
        "coordination, lab, tests. Sweeps: basin, forest, drift.",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("png", "svg", "pdf"),
        default="png",
        help="image format (default: png)",
    )
    p.add_argument("--out", type=Path, help="directory for the figures (default: DIR/figures)")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from viz.load import kind_of

    kind = kind_of(args.dir)
    if kind == "sweep":
        from viz.sweep import write_sweep_figures

        paths = write_sweep_figures(args.dir, args.views, args.fmt, args.out)
    else:
        from viz.runviews import write_run_figures

        paths = write_run_figures(args.dir, args.views, args.fmt, args.out)
    if not paths:
        err.print("no figure could be drawn for this directory")
    for path in paths:
        print(path, flush=True)
    return 0
