"""``society run SCENARIO``: run a scenario, show progress and a summary, print the run dir."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from society.cli.options import add_scenario_options
from society.scenario import Scenario
from society.store.rundir import RunDir

if TYPE_CHECKING:
    from society.model import SocietyModel

NAME = "run"
HELP = "run a scenario and store its results"
EXIT_INTERRUPTED = 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario", nargs="?", help="scenario file or shipped name (see `society scenarios`)"
    )
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
        "--dry-run",
        action="store_true",
        help="print the expected LLM calls and tokens, then stop before anything is spent",
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue an interrupted or killed run from its last checkpoint",
    )
    p.add_argument(
        "--reproduce",
        type=Path,
        metavar="RUN_DIR",
        help="rerun a finished run from its manifest and report whether the results match",
    )
    p.add_argument(
        "--replay",
        type=Path,
        metavar="RUN_DIR",
        help="rerun a recorded run from its LLM cache, with zero network calls",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the figures and report.html written at the end",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.api import resume, run
    from society.errors import ScenarioError
    from society.scenario_files import load_scenario

    if args.reproduce is not None:
        return _reproduce(args, out, err)
    if args.resume is not None:
        _, scenario = RunDir.open(args.resume, "resume").read_stored("resume")
    elif args.replay is not None:
        _, scenario = RunDir.open(args.replay, "replay").read_stored("replay")
    elif args.scenario is None:
        raise ScenarioError(
            "society run needs a SCENARIO (file or shipped name) or --replay RUN_DIR."
        )
    else:
        scenario = load_scenario(args.scenario, seed=args.seed, overrides=args.overrides)
    if args.dry_run:
        return _dry_run(scenario, out)
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
    task = progress.add_task(scenario.name, total=scenario.days, generation=0, speed="")

    def on_day(model: SocietyModel) -> None:
        # Started on the first recorded day, so input errors never print a bar.
        if not progress.live.is_started:
            progress.start()
        rate = model.population.n * model.day / max(time.perf_counter() - started, 1e-9)
        progress.update(
            task,
            completed=model.day,
            generation=model.lab.generation,
            speed=f"{rate / 1e6:.2f}M agent-days/s",
        )

    try:
        if args.resume is not None:
            result = resume(args.resume, on_day=on_day)
        else:
            result = run(
                scenario,
                out=args.out,
                runs_dir=args.runs_dir,
                force=args.force,
                on_day=on_day,
                replay_from=args.replay,
            )
    except KeyboardInterrupt:
        _stop(progress)
        err.print(
            "interrupted: partial results and the manifest (status 'interrupted') were written"
        )
        return EXIT_INTERRUPTED
    finally:
        _stop(progress)
    if show:
        out.print(summary_table(result.summary, scenario.name))
    if not args.no_report:
        from viz import write_report

        report = write_report(result.path, figures_dir=RunDir(result.path).figures)
        if show:
            out.print(f"report: {report}", soft_wrap=True)
    print(result.path, flush=True)
    return 0


def _stop(progress: Progress) -> None:
    if progress.live.is_started:
        progress.stop()


def _reproduce(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Rerun RUN_DIR's resolved scenario (with its LLM cache, if any) and compare outputs."""

    import polars as pl

    from society.api import run
    from society.errors import RunDirectoryError
    from society.store.provenance import git_state, package_versions

    original = RunDir.open(args.reproduce, "reproduce")
    if args.out is not None and args.out.resolve() == original.path.resolve():
        # The rerun would replace the outputs it is to be compared with, and match itself.
        raise RunDirectoryError(
            f"--reproduce {original.path} --out {args.out}: the rerun needs its own directory "
            f"to be compared with the original; give another --out, or none."
        )
    manifest, scenario = original.read_stored("reproduce")
    replay_from = original.path if scenario.llm.fraction > 0 else None
    result = run(
        scenario, out=args.out, runs_dir=args.runs_dir, force=args.force, replay_from=replay_from
    )
    rerun = RunDir(result.path)
    differences = []
    for name in RunDir.REPRODUCIBLE:
        before, after = original.table(name), rerun.table(name)
        if not before.is_file():
            differences.append(f"{before.name} missing in {original.path}")
        elif not pl.read_parquet(before).equals(pl.read_parquet(after)):
            differences.append(f"{before.name} differs")
    for what, was, now in (
        ("package versions", manifest.versions, package_versions()),
        ("git commit", manifest.git.model_dump(), git_state()),
    ):
        if was != now:
            err.print(f"note: {what} differ from the original run's ({was} -> {now})")
    if differences:
        out.print(f"NOT reproduced: {'; '.join(differences)}")
        print(result.path, flush=True)
        return 1
    out.print(f"reproduced: every output of {original.path} is identical")
    print(result.path, flush=True)
    return 0


def _dry_run(scenario: Scenario, out: Console) -> int:
    from society.llm.setup import expected_usage

    usage = expected_usage(scenario)
    table = Table(title=f"{scenario.name}: expected LLM usage (nothing sent)", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    p = scenario.llm
    table.add_row("LLM-backed instances", f"{usage['llm_instances']:,}")
    table.add_row(
        "archetypes per decision", "one per instance" if p.archetypes == 0 else str(p.archetypes)
    )
    table.add_row("calls", f"~{usage['calls']:,}")
    table.add_row("prompt tokens", f"~{usage['prompt_tokens']:,}")
    table.add_row("reply tokens", f"~{usage['reply_tokens']:,} (at most {p.reply_tokens} per call)")
    budget = f"{p.max_calls:,} calls" if p.max_calls else "no call limit"
    budget += f", {p.max_tokens:,} tokens" if p.max_tokens else ", no token limit"
    table.add_row("budget", budget)
    table.add_row(
        "endpoint", f"{p.model} at {p.base_url}" if p.backend == "openai" else "stub (no network)"
    )
    out.print(table)
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
        ("safety work done", f"{100 * float(summary['final_safety_progress']):.0f}% of required"),  # type: ignore[arg-type]
        ("deference / tax", f"{summary['final_deference']:.2f} / {summary['final_tax']:.2f}"),
        ("safe", f"{summary['safe']} ({day('safe_day')})"),
        (
            "stayed in basin",
            f"{summary['stayed_in_basin']} ({day('left_basin_day')}"
            f"{', ' + str(summary['left_basin_reason']) if summary['left_basin_reason'] else ''})",
        ),
        (
            "catastrophe",
            f"{summary['catastrophe']} ({day('catastrophe_day')}"
            f"{', ' + str(summary['catastrophe_cause']) if summary['catastrophe_cause'] else ''})",
        ),
        ("lost lead", f"{summary['lost_lead']} ({day('lost_lead_day')})"),
        ("safety work finished", f"{summary['safety_done']} ({day('safety_done_day')})"),
        ("reached target generation", f"{summary['reached_target']} ({day('reached_target_day')})"),
        (
            "incidents caught / uncaught",
            f"{summary['incidents_caught']} / {summary['incidents_uncaught']}",
        ),
    ]
    if "llm_calls" in summary:
        note = (
            " - budget exhausted, the stub policy decided the rest"
            if summary["llm_budget_exhausted"]
            else ""
        )
        rows.append(
            (
                "LLM calls / fallbacks / tokens",
                f"{summary['llm_calls']} / {summary['llm_fallbacks']} / "
                f"{summary['llm_tokens']}{note}",
            )
        )
    for k, v in rows:
        table.add_row(k, v)
    return table
