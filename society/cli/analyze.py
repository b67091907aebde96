"""``society analyze SWEEP_DIR --method ...``: which assumptions decide a sweep's outcome."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from society.cli.output import print_table
from society.cli.text import for_terminal
from society.errors import StorageError, io_text, storage_cause
from society.sweeps.store import SweepStore

NAME = "analyze"
HELP = (
    "which assumptions matter: Sobol, Morris, one at a time, PRIM boxes or the frontier of a "
    "finished sweep"
)
EXAMPLES = """\
examples:
  society analyze runs/sweeps/sensitivity-... --method sobol --target safe
  society analyze runs/sweeps/oat_baseline-... --method oat --target safe_chance
  society analyze runs/sweeps/lead_vs_tax-... --method frontier --by lab.tax --p 0.9
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from society.analysis import prim
    from society.analysis.results import METHODS

    p.add_argument("dir", type=Path, help="sweep directory (printed by `society sweep`)")
    p.add_argument(
        "--method",
        required=True,
        choices=METHODS,
        help='sobol (a sweep with [sample] method = "saltelli"), morris (method = "morris"), '
        'oat (method = "oat": each key alone at its 5%% and 95%% quantile), '
        "prim (any sweep of 20 arms or more) or frontier (a [grid] of two keys); with "
        "replicates each arm's value is its mean (P(target) for a yes/no target); results go "
        "to DIR/analysis/<method>-<target>.{parquet,png,json}",
    )
    p.add_argument(
        "--target",
        default="safe",
        help="per-run column of points.parquet to explain (default: safe), e.g. catastrophe, "
        "left_basin, final_alignment; an unknown name lists those recorded",
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="make a numeric target yes/no: runs with target >= X (prim, frontier; optional "
        "for sobol and morris)",
    )
    p.add_argument("--below", action="store_true", help="with --threshold: target < X instead")
    p.add_argument("--by", metavar="KEY", help="frontier: one row per value of this grid key")
    p.add_argument("--along", metavar="KEY", help="frontier: the grid key whose value is needed")
    p.add_argument(
        "--p", type=float, default=0.9, help="frontier: the probability to reach (default 0.9)"
    )
    p.add_argument(
        "--direction",
        choices=["increasing", "decreasing"],
        help="frontier: whether P(target) rises or falls along --along (default: from the data)",
    )
    p.add_argument(
        "--min-density",
        type=float,
        default=prim.MIN_DENSITY,
        help=f"prim: the density a reported box must reach (default {prim.MIN_DENSITY})",
    )
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="sobol, morris: bootstrap resamples of the intervals (default 1000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="do not rewrite SWEEP_DIR/report.html with the analysis section",
    )
    p.add_argument("--quiet", action="store_true", help="print only the result file")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.analysis.run import Options, analyze

    options = Options(
        threshold=args.threshold,
        below=args.below,
        confidence=args.confidence,
        resamples=args.resamples,
        seed=args.seed,
        by=args.by,
        along=args.along,
        p=args.p,
        direction=args.direction,
        min_density=args.min_density,
    )
    try:
        result = analyze(args.dir, args.method, args.target, options)
    except Exception as failure:
        cause = storage_cause(failure)
        if cause is None:
            raise
        raise StorageError(
            f"{io_text(cause)} while writing the analysis into {SweepStore(args.dir).analysis_dir}:"
            f" the sweep's own files are untouched (an analysis only reads them). Free space or "
            f"make the directory writable, then run the same command again."
        ) from None
    if not args.quiet:
        out.print(for_terminal(result.heading), soft_wrap=False)
        table = Table(box=box.SIMPLE_HEAD, title_justify="left")
        for i, name in enumerate(result.header):
            table.add_column(name, justify="left" if i == 0 else "right", overflow="fold")
        for row in result.rows:
            table.add_row(*(for_terminal(str(c)) for c in row))
        print_table(out, table)
        for line in result.words:
            out.print(f"- {for_terminal(line)}")
        for path in result.files:
            err.print(f"wrote {path}", soft_wrap=True, highlight=False)
    store = SweepStore(args.dir)
    if not args.no_report and store.report.is_file():
        from society.cli.figures import draw_report

        report = draw_report(args.dir, store.figures, "analysis")
        if not args.quiet:
            err.print(f"report: {report}", soft_wrap=True, highlight=False)
    print(result.files[0], flush=True)
    return 0
