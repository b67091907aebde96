"""The ``society`` command line.

User errors (bad scenario, bad arguments, unwritable output) print one paragraph and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from society.errors import SocietyError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="society",
        description="Simulate AI societies for long-horizon deference.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and store its results")
    run.add_argument("scenario", help="scenario file or shipped name (see `society scenarios`)")
    _add_scenario_options(run)
    run.add_argument("--out", type=Path, help="run directory (new or empty unless --force)")
    run.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        help="parent of the default run directory (default: ./runs)",
    )
    run.add_argument("--force", action="store_true", help="replace the run stored in --out")
    run.add_argument(
        "--quiet",
        action="store_true",
        help="print only the run directory (no progress bar, no table)",
    )

    check = sub.add_parser("check", help="validate a scenario and print the resolved configuration")
    check.add_argument("scenario")
    _add_scenario_options(check)

    sub.add_parser("scenarios", help="list the shipped scenarios and the question each asks")

    fields = sub.add_parser("fields", help="list every scenario field with unit, range and meaning")
    fields.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field by dotted key, e.g. --set lab.tax=0.25 (repeatable)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        if args.command == "run":
            return _cmd_run(args, out, err)
        if args.command == "check":
            return _cmd_check(args, out)
        if args.command == "scenarios":
            return _cmd_scenarios(out)
        if args.command == "fields":
            return _cmd_fields(args, out)
    except SocietyError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED
    raise AssertionError(f"unhandled command {args.command}")


def _cmd_run(args: argparse.Namespace, out: Console, err: Console) -> int:
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

        def on_day(model: object) -> None:
            day = model.day  # type: ignore[attr-defined]
            rate = model.population.n * day / max(time.perf_counter() - started, 1e-9)  # type: ignore[attr-defined]
            progress.update(
                task,
                completed=day,
                generation=model.lab.generation,  # type: ignore[attr-defined]
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
        out.print(_summary_table(result.summary, scenario.name))
    print(result.path, flush=True)
    return 0


def _summary_table(summary: dict[str, object], name: str) -> Table:
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


def _cmd_check(args: argparse.Namespace, out: Console) -> int:
    from society.scenario_files import load_scenario, scenario_to_toml

    scenario = load_scenario(args.scenario, seed=args.seed, overrides=args.overrides)
    out.print(f"# {args.scenario}: valid. Resolved configuration (defaults filled in):")
    print(scenario_to_toml(scenario), end="")
    return 0


def _cmd_scenarios(out: Console) -> int:
    from society.scenario_files import list_shipped

    table = Table(title="Shipped scenarios (society run NAME)")
    table.add_column("name", style="bold")
    table.add_column("question")
    for name, _path, question in list_shipped():
        table.add_row(name, question)
    out.print(table)
    return 0


def _cmd_fields(args: argparse.Namespace, out: Console) -> int:
    from society.scenario import iter_fields

    fields = iter_fields()
    if args.markdown:
        print("| key | default | unit | range | meaning |")
        print("|---|---|---|---|---|")
        for f in fields:
            cells = [f"`{f['key']}`", _md_default(f["default"]), f["unit"], f["range"]]
            print("| " + " | ".join([*cells, f["description"]]) + " |")
        return 0
    table = Table(title="Scenario fields")
    for col in ("key", "default", "unit", "range", "meaning"):
        table.add_column(col)
    for f in fields:
        table.add_row(f["key"], _md_default(f["default"]), f["unit"], f["range"], f["description"])
    out.print(table)
    return 0


def _md_default(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value != "" else '""'


if __name__ == "__main__":
    sys.exit(main())
