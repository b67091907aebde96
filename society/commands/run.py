"""``society run SCENARIO``: run a scenario, show progress and a summary, print the run dir."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from society.commands.options import add_scenario_options

if TYPE_CHECKING:
    from society.model import SocietyModel

NAME = "run"
HELP = "run a scenario and store its results"
EXIT_INTERRUPTED = 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file or shipped name (see `society scenarios`)")
    add_scenario_options(p)
    p.add_argument("--out", type=Path, help="run directory (new or empty unless --force)")
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        help="parent of the default run directory (default: ./runs)",
    )
    p.add_argument("--force", action="store_true", help="replace the run stored in --out")
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print only the run directory (no progress bar, no table)",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the figures and report.html written at the end",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.api import run
    from society.scenario_files import load_scenario

    scenario = load_scenario(args.scenario, seed=args.seed, overrides=args.overrides)
    show = not args.quiet
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TextColumn("gen {task.fields[generation]}"),
        TextColumn("{task.fields[speed]}"),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=False,
    )
    with progress:
        task = progress.add_task(scenario.name, total=scenario.days, generation=0, speed="")

        def on_day(model: SocietyModel) -> None:
            rate = model.population.n * model.day / max(time.perf_counter() - started, 1e-9)
            progress.update(
                task,
                completed=model.day,
                generation=model.lab.generation,
                speed=f"{rate / 1e6:.2f}M agent-days/s",
            )

        try:
            result = run(
                scenario, out=args.out, runs_dir=args.runs_dir, force=args.force, on_day=on_day
            )
        except KeyboardInterrupt:
            err.print(
                "interrupted: partial results and the manifest (status 'interrupted') were written"
            )
            return EXIT_INTERRUPTED
    if show:
        out.print(summary_table(result.summary, scenario.name))
    if not args.no_report:
        from viz import write_report

        report = write_report(result.path, figures_dir=result.path / "figures")
        if show:
            out.print(f"report: {report}")
    print(result.path, flush=True)
    return 0


def summary_table(summary: dict[str, object], name: str) -> Table:
    table = Table(title=f"{name}: outcome", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")

    def day(key: str) -> str:
        v = summary.get(key)
        return "-" if v is None else f"day {float(v):.0f}"  # type: ignore[arg-type]

    rows = [
        ("outcome", str(summary["outcome"])),
        ("generations", str(summary["generations"])),
        ("final alignment", f"{summary['final_alignment']:.3f}"),
        ("drift (W1 from initial)", f"{summary['final_drift_w1']:.3f}"),
        ("echo-chamber index (neighbour r)", f"{summary['final_echo_r']:.3f}"),
        ("lead", f"{summary['final_lead_days']:.1f} days"),
        ("deference / tax", f"{summary['final_deference']:.2f} / {summary['final_tax']:.2f}"),
        ("stayed in basin", f"{summary['stayed_in_basin']} ({day('left_basin_day')})"),
        (
            "catastrophe",
            f"{summary['catastrophe']} ({day('catastrophe_day')}"
            f"{', ' + str(summary['catastrophe_cause']) if summary['catastrophe_cause'] else ''})",
        ),
        ("lost lead", f"{summary['lost_lead']} ({day('lost_lead_day')})"),
        ("reached target generation", f"{summary['reached_target']} ({day('reached_target_day')})"),
        (
            "incidents caught / uncaught",
            f"{summary['incidents_caught']} / {summary['incidents_uncaught']}",
        ),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table
