"""``society ask SCENARIO``: answer the scenario's claim from many runs, yes, no or not yet."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from society.cli.options import add_priors_option, add_set_options
from society.cli.progress import TenthLines
from society.cli.text import for_terminal

if TYPE_CHECKING:
    from society.asking import AskResult
    from society.claims import Claim

NAME = "ask"
HELP = (
    "answer a scenario's [claim] from many seeds (and prior draws): yes, no, or not "
    "established (docs/sweeps.md, 'Ask a question')"
)
EXAMPLES = """\
examples:
  society ask essay_one_month --until-decided --size 1000
  society ask baseline --priors docs/examples/priors.toml --seeds 64 --size 1000
  society ask --resume runs/asks/ask-essay_one_month-...
"""
EXIT_FAILED_RUNS = 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario", nargs="?", help="scenario file or shipped name with a [claim] (or --set one)"
    )
    p.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help="runs to judge the claim on (default 100); with --until-decided, runs per batch",
    )
    p.add_argument(
        "--until-decided",
        action="store_true",
        help="add batches of --seeds runs until the claim is decided: judged after each batch "
        "with a confidence sequence valid at every look (without it: --seeds runs, judged with "
        "the exact Clopper-Pearson interval)",
    )
    p.add_argument(
        "--max-seeds",
        type=int,
        metavar="N",
        help="cap on the runs --until-decided may add (default 1000)",
    )
    add_priors_option(
        p,
        "prior files (scenarios/priors/*.toml schema): run i draws the fields they cover "
        "(Latin hypercube), so P integrates over the assumptions; the fields the scenario "
        "file sets and --set pins are not drawn",
    )
    add_set_options(
        p,
        set_help="override a field by dotted key in every run (repeatable), "
        "e.g. --set lab.tax=0.25",
        file_help="apply every field of a TOML fragment as --set (repeatable)",
    )
    p.add_argument("--size", type=int, metavar="N", help="instances per run (sets population.size)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--workers", type=int, help="parallel runs (default: the cores here)")
    p.add_argument(
        "--no-batch",
        action="store_true",
        help="run each run alone in its worker (default: a worker steps several runs of one "
        "population size as one batch; the results are the same)",
    )
    p.add_argument(
        "--out", type=Path, help="the ask's sweep directory (default: runs/asks/ask-<name>-<UTC>)"
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the ask in DIR with its own plan: finished runs are kept",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society import asking
    from society.cli.options import expand_overrides
    from society.errors import ScenarioError

    overrides = expand_overrides(args.overrides)
    if args.resume is not None:
        given = [
            flag
            for flag, value in (
                ("SCENARIO", args.scenario),
                ("--seeds", args.seeds),
                ("--until-decided", args.until_decided or None),
                ("--max-seeds", args.max_seeds),
                ("--priors", args.priors or None),
                ("--set", overrides or None),
                ("--size", args.size),
                ("--out", args.out),
            )
            if value is not None
        ]
        if given:
            raise ScenarioError(
                f"--resume {args.resume} continues the stored ask with its own plan; "
                f"{', '.join(given)} would change it. Drop them, or start a new ask."
            )
        session = asking.resume(args.resume)
    else:
        if args.scenario is None:
            raise ScenarioError(
                "society ask needs a SCENARIO (file or shipped name) with a [claim], or "
                "--resume DIR."
            )
        plan = asking.plan_from(
            args.scenario,
            overrides=overrides,
            prior_files=args.priors,
            seeds=args.seeds,
            until_decided=args.until_decided,
            max_seeds=args.max_seeds,
            confidence=args.confidence,
            size=args.size,
        )
        session = asking.start(plan, args.out)
    progress = Progress(
        TextColumn(f"[bold]{for_terminal(session.scenario_doc['name'])}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
    )
    lines = TenthLines(err)
    with progress:
        task = progress.add_task("ask", total=None)

        def on_start(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)
            lines.start(total, done)

        def on_point(record: dict[str, Any]) -> None:
            if record["status"] != "success":
                progress.console.print(
                    f"[red]run {record['point_id']} failed[/] (seed {record['seed']}): "
                    f"{for_terminal(str(record['error']))}"
                )
            progress.update(task, advance=1)
            lines.advance()

        result = session.run(
            workers=args.workers, on_start=on_start, on_point=on_point, batch=not args.no_batch
        )
    for line in report_lines(result, decided_by(result)):
        out.print(for_terminal(line), soft_wrap=True, highlight=False)
    return EXIT_FAILED_RUNS if result.failed else 0


def decided_by(result: AskResult) -> str | None:
    """For an ask over priors: PRIM's box of the claim's event over the runs' own draws, in
    words (``society analyze DIR --method prim``, stored with its figure under the ask's
    ``analysis/``); None without priors, or where PRIM has nothing to find (too few runs, an
    event that never or always happened)."""
    if not len(result.priors):
        return None
    from society.analysis.data import AnalysisError
    from society.analysis.run import Options, analyze

    target, threshold, below = _claim_event(result.claim)
    try:
        found = analyze(result.path, "prim", target, Options(threshold=threshold, below=below))
    except AnalysisError:
        return None
    if found.extra["box"].height == 0:
        return (
            "no region of the drawn assumptions stands out (no box holds the event more densely "
            "than the whole ask after PRIM's significance test)."
        )
    return found.words[0]


def _claim_event(claim: Claim) -> tuple[str, float | None, bool]:
    """The claim's event as an analysis target: ``(column, threshold, below)``."""
    if claim.outcome:
        return claim.outcome, None, False
    return claim.metric, claim.threshold, claim.metric_op in ("<", "<=")


def _prim_target(claim: Claim) -> str:
    """The ``analyze --method prim`` options whose cases are the claim's event."""
    target, threshold, below = _claim_event(claim)
    if threshold is None:
        return f"--target {target}"
    return f"--target {target} --threshold {threshold:g}{' --below' if below else ''}"


def report_lines(result: AskResult, decided: str | None = None) -> list[str]:
    """What ``society ask`` prints, the verdict sentence last; ``decided`` is
    :func:`decided_by`'s sentence, if any."""
    plan, a = result.plan, result.answer
    lines = []
    if result.question:
        lines.append(f"Question: {result.question}")
    lines.append(f"Claim: {result.claim.text}")
    sets = "".join(f" --set {o}" for o in plan.overrides)
    sets = f" with{sets}" if sets else ""
    lines.append(
        f"Runs: {a.n:,} of {result.scenario_name}{sets}, in {result.path} "
        f"(`society sweep-summary {result.path}` tabulates them)."
    )
    if len(result.priors):
        drawn = "; ".join(f"{k} {p.describe()}" for k, p in result.priors.priors.items())
        lines.append(
            f"Priors: P integrates over {len(result.priors)} uncertain field(s) drawn from "
            f"{', '.join(plan.prior_files)} (Latin hypercube, one draw per run): {drawn}. "
            f"`society analyze {result.path} --method prim {_prim_target(result.claim)}` finds "
            f"which drawn assumptions decided it."
        )
    if decided is not None:
        lines.append(
            f"Decided by (PRIM over each run's own draw, in {result.path}/analysis): {decided}"
        )
    if plan.until_decided:
        looks = ", ".join(f"{look.k}/{look.n}" for look in result.looks)
        reason = "decided" if a.verdict != "not established" else "reached the cap"
        lines.append(
            f"Looks: {len(result.looks)} (events/runs after each batch of {plan.seeds}: "
            f"{looks}); stopped when it {reason} (cap {plan.max_seeds:,} runs)."
        )
    if result.failed:
        lines.append(f"{result.failed} run(s) failed and are left out (see the points table).")
    lines.append(f"Basis: {a.basis()}.")
    lines.append(a.sentence())
    return lines
