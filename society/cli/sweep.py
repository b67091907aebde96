"""``society sweep SWEEP``: run every point of a sweep file, with a progress bar over runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from society.cli.options import add_set_options
from society.cli.progress import TenthLines
from society.cli.text import for_terminal

NAME = "sweep"
HELP = "run a parameter sweep (grid or sample x replicates) and store every run"
EXAMPLES = """\
examples:
  society sweep scenarios/sweeps/lead_vs_tax.toml --dry-run
  society sweep scenarios/sweeps/lead_vs_tax.toml --set population.size=200 --replicates 2
  society sweep --resume runs/sweeps/lead_vs_tax-...
"""
EXIT_FAILED_POINTS = 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "sweep",
        nargs="?",
        help="sweep file (TOML), e.g. scenarios/sweeps/lead_vs_tax.toml; optional with --resume",
    )
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="local process pool (default) or Ray tasks",
    )
    p.add_argument(
        "--workers", type=int, help="parallel runs (default: the cores here, or Ray's CPUs)"
    )
    p.add_argument(
        "--no-batch",
        action="store_true",
        help="run each run alone in its worker (default: a worker steps several runs of one "
        "population size as one batch; the results are the same)",
    )
    p.add_argument(
        "--address",
        help="Ray cluster address ('auto' for the cluster `ray start --head` started); "
        "default: a local Ray instance",
    )
    p.add_argument(
        "--out", type=Path, help="new sweep directory (default: runs/sweeps/<name>-<UTC>)"
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the sweep in DIR: finished runs are kept, the rest are run",
    )
    add_set_options(
        p,
        set_help="set a scenario field at every point (added to the file's [set]; repeatable), "
        "e.g. --set population.size=300 to scale a sweep down",
        file_help="set every field of a TOML fragment at every point (e.g. the calibrated.toml of "
        "`society calibrate`); repeatable, later --set and --set-file win",
    )
    p.add_argument(
        "--replicates", type=int, metavar="N", help="seeds per arm (replaces the file's)"
    )
    p.add_argument("--quiet", action="store_true", help="print only the sweep directory")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the runs, the wall time estimated from a short calibration run here, and "
        "(LLM scenarios) the expected calls and tokens; run nothing else",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the figures and report.html written at the end",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.cli.options import expand_overrides
    from society.sweeps.runner import execute, prepare

    args.overrides = expand_overrides(args.overrides)
    if args.dry_run:
        return _dry_run(args, out)
    sweep, store, previous = prepare(
        args.sweep,
        out=args.out,
        resume=args.resume,
        overrides=args.overrides,
        replicates=args.replicates,
        engine=args.engine,
        workers=args.workers,
    )
    progress = Progress(
        TextColumn(f"[bold]{for_terminal(sweep.name)}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TextColumn("{task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=args.quiet,
    )
    failures: list[dict[str, Any]] = []
    lines = TenthLines(err, quiet=args.quiet)
    with progress:
        task = progress.add_task("sweep", total=None, failed="")

        def on_start(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)
            lines.start(total, done)
            if done:
                progress.console.print(f"resuming: {done} of {total} runs already done")

        def on_point(record: dict[str, Any]) -> None:
            if record["status"] != "success":
                failures.append(record)
                progress.console.print(
                    f"[red]run {record['point_id']} failed[/] ({for_terminal(record['params'])},"
                    f" seed {record['seed']}): {for_terminal(record['error'])}"
                )
            progress.update(
                task, advance=1, failed=f"[red]{len(failures)} failed[/]" if failures else ""
            )
            lines.advance()

        try:
            result = execute(
                sweep,
                store,
                previous,
                engine=args.engine,
                workers=args.workers,
                address=args.address,
                on_start=on_start,
                on_point=on_point,
                batch=not args.no_batch,
            )
        except KeyboardInterrupt:
            err.print(
                f"interrupted: finished runs are stored; continue with "
                f"`society sweep --resume {for_terminal(store.root)}`"
            )
            raise
    if not args.quiet:
        n = result.points.height
        err.print(
            f"{n - result.failed} of {n} runs succeeded; summarise with "
            f"`society sweep-summary {for_terminal(result.path)}`"
        )
    if not args.no_report:
        from society.cli.figures import draw_report

        report = draw_report(result.path, result.store.figures, "sweep")
        if not args.quiet:
            err.print(f"report: {for_terminal(report)}", soft_wrap=True, highlight=False)
    print(result.path, flush=True)
    return EXIT_FAILED_POINTS if result.failed else 0


def _dry_run(args: argparse.Namespace, out: Console) -> int:
    from society.sweeps.dryrun import estimate
    from society.sweeps.spec import SweepError, load_sweep

    if args.resume is not None or args.sweep is None:
        raise SweepError("--dry-run estimates a sweep file: give the file, without --resume.")
    sweep = load_sweep(args.sweep, args.overrides, args.replicates, allow_llm=True)
    out.print(
        f"{for_terminal(sweep.name)}: nothing is written; a calibration run measures this machine"
    )
    for line in estimate(sweep, args.workers).lines():
        out.print(for_terminal(line), soft_wrap=True)
    return 0
