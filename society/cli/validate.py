"""``society validate [--quick]``: the kernels against published and analytic results."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

NAME = "validate"
HELP = (
    "run the reference suite (DeGroot, Deffuant, HK, voter, Holme-Newman, basin, metrics, "
    "Sobol indices of Ishigami, PRIM)"
)
EXAMPLES = """\
examples:
  society validate --quick
  society validate --seed 1
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="CI sizes (under a minute)")
    p.add_argument("--seed", type=int, default=0, help="seed of the reference runs")
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        help="where runs/validation-<UTC time>/validation.parquet goes (default: ./runs)",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.validation import print_table, run_suite, write_validation

    frame = run_suite(quick=args.quick, seed=args.seed)
    print_table(frame, out)
    path = write_validation(frame, args.runs_dir)
    failed = frame.filter(~frame["passed"])
    if failed.height:
        err.print(f"{failed.height} of {frame.height} cases failed: {', '.join(failed['case'])}")
    print(path, flush=True)
    return 1 if failed.height else 0
