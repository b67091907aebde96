"""``society run SCENARIO``: run a scenario, show progress and a summary, print the run dir."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from society.cli.options import add_scenario_options
from society.cli.text import for_terminal
from society.scenario import Scenario
from society.store.rundir import RunDir

if TYPE_CHECKING:
    from society.model import SocietyModel

NAME = "run"
HELP = "run a scenario and store its results"
EXAMPLES = """\
examples:
  society run baseline
  society run rushed --seed 3 --set lab.tax=0.25 --out runs/rushed-taxed
  society run --resume runs/baseline-...
"""
EXIT_INTERRUPTED = 130
# The run finished, but more of its LLM decisions fell back to the stub policy than
# llm.max_fallback_share allows: scripts must not mistake it for an LLM run.
EXIT_DEGRADED = 3


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
    from society.api import resume, resume_note, run
    from society.cli.options import expand_overrides
    from society.errors import ScenarioError
    from society.scenario_files import load_scenario

    args.overrides = expand_overrides(args.overrides)

    if args.reproduce is not None:
        return _reproduce(args, out, err)
    if args.resume is not None:
        _, scenario = RunDir.open(args.resume, "resume").read_stored("resume")
        _refuse_other_scenario(args, scenario, f"--resume {args.resume}")
    elif args.replay is not None:
        _, scenario = RunDir.open(args.replay, "replay").read_stored("replay")
        _refuse_other_scenario(args, scenario, f"--replay {args.replay}")
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
        TextColumn("generation {task.fields[generation]}"),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=err,
        disable=not show,
        transient=False,
    )
    # Generations counted from 1, as in the summary ("generations 4" means the 4th is working).
    task = progress.add_task(
        for_terminal(scenario.name), total=scenario.days, generation=1, speed=""
    )

    def on_day(model: SocietyModel) -> None:
        # Started on the first recorded day, so input errors never print a bar.
        if not progress.live.is_started:
            progress.start()
        rate = model.population.n * model.day / max(time.perf_counter() - started, 1e-9)
        progress.update(
            task,
            completed=model.day,
            generation=model.lab.generation + 1,
            speed=f"{rate / 1e6:.2f}M agent-days/s",
        )

    try:
        if args.resume is not None:

            def announce(checkpoint: Path, passed_over: list[str]) -> None:
                # Said even with --quiet when a damaged checkpoint was passed over.
                if show or passed_over:
                    err.print(for_terminal(resume_note(checkpoint, passed_over)), soft_wrap=True)

            result = resume(args.resume, on_day=on_day, on_resume=announce)
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
        # Once the run's directory is locked, Ctrl-C stops it cleanly (RunStopped, exit 130
        # with the resume command); a KeyboardInterrupt comes only before that.
        _stop(progress)
        err.print("interrupted before the run started: no results were written")
        return EXIT_INTERRUPTED
    finally:
        _stop(progress)
    if show:
        if scenario.question:
            out.print(f"[bold]Question:[/] {for_terminal(scenario.question)}", soft_wrap=False)
        out.print(f"[bold]Verdict:[/] {for_terminal(result.summary['verdict'])}")
        out.print(summary_table(result.summary, scenario.name))
    if not args.no_report:
        from society.cli.figures import draw_report

        report = draw_report(result.path, RunDir(result.path).figures, "run")
        if show:
            out.print(f"report: {for_terminal(report)}", soft_wrap=True)
    if show and scenario.claim.active and args.scenario is not None:
        out.print(for_terminal(claim_note(scenario, args.scenario, args.overrides)), soft_wrap=True)
    print(result.path, flush=True)
    _note_waiting_replies(result.manifest, err)
    if result.summary.get("llm_degraded"):
        err.print(
            f"degraded: {result.summary['llm_fallbacks']} of {result.summary['llm_calls']} LLM "
            f"decisions fell back to the stub policy (exit {EXIT_DEGRADED}); see the verdict."
        )
        return EXIT_DEGRADED
    return 0


def claim_note(scenario: Scenario, given: str, overrides: list[str]) -> str:
    """What one run says about the scenario's claim (nothing: it is one draw), and the exact
    ``society ask`` command that answers it.

    >>> from society.scenario_files import load_scenario
    >>> note = claim_note(load_scenario("essay_one_month"), "essay_one_month", ["lab.tax=0.25"])
    >>> note.split(".")[0], note.split(": ")[-1]
    ('Claim: P(safe) >= 0', 'society ask essay_one_month --set lab.tax=0.25 --until-decided')
    """
    import shlex

    sets = "".join(f" --set {shlex.quote(o)}" for o in overrides)
    return (
        f"Claim: {scenario.claim.text}. One seed cannot answer it (a run is "
        f"{scenario.claim.event} or it is not); run many and judge the share: society ask "
        f"{shlex.quote(given)}{sets} --until-decided"
    )


def _note_waiting_replies(manifest: dict[str, Any], err: Console) -> None:
    """Say where paid replies wait when another process kept the cache locked to the end."""
    from llm_backends.cache import pending_journals

    cache = (manifest.get("llm") or {}).get("cache")
    waiting = pending_journals(cache) if cache else []
    if waiting:
        err.print(
            f"note: another process kept the LLM cache {for_terminal(cache)} locked, so the "
            f"replies paid for since are kept beside it in "
            f"{', '.join(for_terminal(p.name) for p in waiting)}; nothing was lost. They are "
            f"written into the cache the next time a run (or --replay) opens it.",
            soft_wrap=True,
        )


def _refuse_other_scenario(args: argparse.Namespace, stored: Scenario, flag: str) -> None:
    """A resume or replay runs the stored scenario; a SCENARIO, --set or --seed that asks for
    something else is refused (naming what differs) rather than silently ignored."""
    from society.errors import ScenarioError
    from society.scenario_files import load_scenario

    if args.scenario is None and not args.overrides and args.seed is None:
        return
    base = args.scenario if args.scenario is not None else stored.model_dump()
    asked = load_scenario(base, seed=args.seed, overrides=args.overrides).model_dump()
    have = stored.model_dump()
    if asked["llm"]["structured"] == "auto":  # the stored run recorded what auto chose
        asked["llm"]["structured"] = have["llm"]["structured"]
    differ = [
        f"{section}.{key}" if isinstance(value, dict) else section
        for section, value in have.items()
        if section not in ("name", "question")
        for key in (value if isinstance(value, dict) else [None])
        if (have[section][key] if key else have[section])
        != (asked[section][key] if key else asked[section])
    ]
    if differ:
        verb = flag.split(maxsplit=1)[0].removeprefix("--")
        shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        raise ScenarioError(
            f"{flag} runs the scenario stored in that run, but the SCENARIO/--set/--seed given "
            f"differ from it in {shown}. Drop them to {verb} the stored run, or "
            f"start a new run with `society run SCENARIO ...`."
        )


def _stop(progress: Progress) -> None:
    if progress.live.is_started:
        progress.stop()


def _reproduce(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Rerun RUN_DIR's resolved scenario (with its LLM cache, if any) and compare outputs."""

    import polars as pl

    from society.api import run
    from society.errors import RunDirectoryError
    from society.store.provenance import git_state, model_fingerprint, package_versions
    from society.store.reading import read_table
    from society.tidy import comparable, rounding_differences

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
    differences: list[str] = []
    rounding: dict[str, dict[str, float]] = {}  # file -> column -> largest relative difference
    for name in RunDir.REPRODUCIBLE:
        before = original.table(name)
        if not before.is_file():
            differences.append(f"{before.name} missing in {original.path}")
            continue
        # The original as stored (uncast: a column of another type is a difference), read as
        # untrusted input; the rerun's own output as written. run_id names each run, so it
        # is left out of the comparison (society.tidy.comparable).
        stored = comparable(read_table(before, {}))
        again = comparable(pl.read_parquet(rerun.table(name)))
        if stored.equals(again):
            continue
        close = rounding_differences(stored, again)
        if close is None:
            differences.append(f"{before.name} differs")
        else:
            rounding[before.name] = close
    for what, was, now in (
        ("package versions", manifest.versions, package_versions()),
        ("git commit", manifest.git.model_dump(), git_state()),
        ("model fingerprints (the code that steps a run)", manifest.model, model_fingerprint()),
    ):
        if was != now:
            change = for_terminal(f"{was} -> {now}")
            err.print(f"note: {what} differ from the original run's ({change})")
    if rounding:
        explained, sentence = _rounding_explained(rounding, manifest.platform.get("numpy_simd"))
        if differences or not explained:
            differences.append(sentence)
        else:
            out.print(
                f"reproduced to within rounding: every output of {for_terminal(original.path)} "
                f"is identical except {for_terminal(sentence)}"
            )
            print(result.path, flush=True)
            return 0
    if differences:
        out.print(f"NOT reproduced: {for_terminal('; '.join(differences))}")
        print(result.path, flush=True)
        return 1
    out.print(f"reproduced: every output of {for_terminal(original.path)} is identical")
    print(result.path, flush=True)
    return 0


def _rounding_explained(rounding: dict[str, dict[str, float]], was: str | None) -> tuple[bool, str]:
    """Whether last-digit differences in ``rounding`` (file -> column -> relative difference)
    are explained by the original run's numpy vector maths ``was`` differing from this
    machine's, and the sentence that says so."""
    from society.store.provenance import vector_maths

    now = vector_maths()
    worst = max(d for columns in rounding.values() for d in columns.values())
    where = "; ".join(
        f"{file}'s {', '.join(sorted(columns))}" for file, columns in rounding.items()
    )
    said = f"the last digits of {where} (at most {worst:.1e} relative)"
    if was is not None and was != now:
        return True, (
            f"{said}. The original ran with numpy's vector maths at {was}, this machine at "
            f"{now}: exp, log and power round differently at different SIMD levels, so runs "
            f"are bit-identical only between machines that share them (docs/how-to/"
            f"resume-a-run.md)"
        )
    if was is None:
        return False, (
            f"{said}: its manifest does not record the vector maths it ran with (written "
            f"before runs did), so rounding on another CPU cannot be told from a change"
        )
    return False, (
        f"{said}, on the same vector maths ({now}): not expected on one machine; report it "
        f"with both run directories"
    )


def _dry_run(scenario: Scenario, out: Console) -> int:
    from society.llm.setup import expected_usage

    usage = expected_usage(scenario)
    table = Table(
        title=f"{for_terminal(scenario.name)}: expected LLM usage (nothing sent)", show_header=False
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    p = scenario.llm
    table.add_row("LLM-backed instances", f"{usage['llm_instances']:,}")
    table.add_row(
        "archetypes per decision", "one per instance" if p.archetypes == 0 else str(p.archetypes)
    )
    table.add_row("calls", f"~{usage['calls']:,}")
    table.add_row("prompt tokens", f"~{usage['prompt_tokens']:,}")
    table.add_row(
        "reply tokens",
        f"at most ~{usage['reply_tokens']:,} (each call's cap is sized from its decision's "
        f"schema, at most {p.reply_tokens})",
    )
    table.add_row(
        "structured mode",
        "probed when the run starts (auto)" if p.structured == "auto" else p.structured,
    )
    budget = f"{p.max_calls:,} calls" if p.max_calls else "no call limit"
    budget += f", {p.max_tokens:,} tokens" if p.max_tokens else ", no token limit"
    table.add_row("budget", budget)
    table.add_row(
        "endpoint", f"{p.model} at {p.base_url}" if p.backend == "openai" else "stub (no network)"
    )
    out.print(table)
    return 0


def summary_table(summary: dict[str, Any], name: str) -> Table:
    """The run's figures in words: every flag as "no" or "yes, day N", every number with what
    it measures."""
    from society.verdict import day_of

    s = summary
    table = Table(
        title=f"{for_terminal(name)}: the figures behind the verdict",
        show_header=False,
        caption="Flags keep updating until the run ends; hazards run to the horizon. "
        "docs/model.md defines every figure.",
    )
    table.add_column("what")
    table.add_column("value", justify="right")

    def when(flag: str, day: str, detail: str | None = None) -> str:
        if not s.get(flag):
            return "no"
        extra = f", {str(s[detail]).replace('_', ' ')}" if detail and s.get(detail) else ""
        return f"yes, day {day_of(s[day])}{extra}"

    lead = float(s["final_lead_days"])
    rows = [
        ("outcome", str(s["outcome"]).replace("_", " ")),
        ("survived to the end (no catastrophe)", "yes" if s.get("survived") else "no"),
        (
            "acute risk period ended",
            when("period_ended", "period_end_day"),
        ),
        ("catastrophe", when("catastrophe", "catastrophe_day", "catastrophe_cause")),
        ("in the basin at the end", "yes" if s["stayed_in_basin"] else "no"),
        (
            "ever out of the basin",
            when("ever_left_basin", "left_basin_day", "left_basin_reason"),
        ),
        ("lost the lead (rival level or ahead)", when("lost_lead", "lost_lead_day")),
        ("generations", f"{s['generations']}"),
        (
            "capability at the end (1 = minimum viable)",
            f"{float(s['final_capability']):.2f}",
        ),
        (
            "alignment knowledge / difficulty at the end",
            f"{float(s['final_margin']):.2f} ({s.get('regime', '')})",
        ),
        (
            "risk at full deference at the end",
            f"{-math.expm1(-365 * float(s['final_hazard_full'])):.1%} a year",
        ),
        (
            "mean alignment, start -> end",
            f"{float(s.get('initial_alignment', math.nan)):.2f} -> "
            f"{float(s['final_alignment']):.2f}",
        ),
        (
            "alignment drift from the start (W1; 0 = none)",
            f"{float(s['final_drift_w1']):.3f}",
        ),
        ("echo chamber (neighbour correlation; 1 = full)", f"{float(s['final_echo_r']):.2f}"),
        ("beliefs' distance from the truth", f"{float(s['final_truth_distance']):.2f}"),
        ("lead at the end", f"{lead:+.1f} days" + (" (rival ahead)" if lead < 0 else "")),
        ("deference / tax at the end", f"{s['final_deference']:.2f} / {s['final_tax']:.2f}"),
        (
            "misaligned actions caught / uncaught",
            f"{s['incidents_caught']} / {s['incidents_uncaught']}",
        ),
    ]
    if "llm_calls" in s:
        note = (
            " - budget exhausted, the stub policy decided the rest"
            if s["llm_budget_exhausted"]
            else ""
        )
        calls = s["llm_calls"]
        repaired, fallbacks = s.get("llm_repaired", 0), s["llm_fallbacks"]
        rows.append(
            (
                "LLM calls: accepted / repaired / fell back",
                f"{calls}: {calls - repaired - fallbacks} / {repaired} / {fallbacks} "
                f"({s.get('llm_structured', 'json_schema')}){note}",
            )
        )
        rows.append(("LLM tokens", f"{s['llm_tokens']:,}"))
    for k, v in rows:
        table.add_row(k, v)
    return table
