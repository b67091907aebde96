"""``society fork RUN_DIR --day N``: continue a run from its day-N state into counterfactuals."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from society.cli.options import add_set_options

NAME = "fork"
HELP = (
    "continue a run from the end of day N into counterfactual branches (--set changes, "
    "--seeds other futures, neither: the trunk again); compare them with society compare"
)
EXAMPLES = """\
examples:
  society fork runs/baseline-... --day 90 --set lab.tax=1.0 --set lab.tax_floor=1.0
  society fork runs/baseline-... --day 90 --seeds 1,2,3
  society fork runs/baseline-... --day 90 --out runs/same-as-trunk
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the trunk: a run directory")
    p.add_argument(
        "--day",
        type=int,
        required=True,
        help="the branches continue from the end of this day (the trunk's state then)",
    )
    add_set_options(
        p,
        set_help="change a lever or assumption from day N on, e.g. --set lab.tax=1.0 (repeatable; "
        "lab.deference sets the deference now)",
    )
    p.add_argument(
        "--seeds",
        help="one branch per seed, e.g. 1,2,3: the randomness after day N is drawn from it "
        "(default: one branch that keeps the trunk's randomness)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="branch directory (with several seeds: its seed-S subfolders; default: beside the "
        "trunk, RUN_DIR-fork-dN[-sS])",
    )
    p.add_argument("--force", action="store_true", help="replace branches stored there before")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.forks import fork, parse_changes, parse_seeds

    seeds = parse_seeds(args.seeds) if args.seeds is not None else []
    results = fork(
        args.run_dir,
        args.day,
        changes=parse_changes(args.overrides),
        seeds=seeds,
        out=args.out,
        force=args.force,
    )
    for result in results:
        out.print(
            f"{escape(str(result.path))}  outcome {escape(str(result.summary.get('outcome')))}",
            soft_wrap=True,
        )
    dirs = " ".join(shlex.quote(str(p)) for p in [args.run_dir, *(r.path for r in results)])
    err.print(f"compare with the trunk: society compare {escape(dirs)}", soft_wrap=True)
    return 0
