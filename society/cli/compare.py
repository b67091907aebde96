"""``society compare DIR DIR [...]``: what-if comparison of runs as figures and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

NAME = "compare"
HELP = "compare runs: drift curves overlaid, scenario differences, outcome differences"
EXAMPLES = """\
examples:
  society compare runs/baseline-... runs/rushed-...
  society compare runs/a runs/b --out runs/compare/a-vs-b --format svg
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="two or more run directories")
    p.add_argument(
        "--out",
        type=Path,
        help="output directory (default: RUNS_DIR/compare/<first>-vs-<last>)",
    )
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        help="parent of the default output directory (default: ./runs, which git ignores)",
    )
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("png", "svg", "pdf"),
        default="png",
        help="image format of the figure (the report embeds PNG; default: png)",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.errors import SocietyError
    from viz.compare import write_compare

    if len(args.dirs) < 2:
        raise SocietyError("compare needs at least two run directories.")
    target = args.out or args.runs_dir / "compare" / f"{args.dirs[0].name}-vs-{args.dirs[-1].name}"
    print(write_compare(args.dirs, target, fmt=args.fmt), flush=True)
    return 0
