"""``society mechanisms [SCENARIO]``: the paired-seed ablation of every mechanism, with signs."""

from __future__ import annotations

import argparse
import json
import math
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from society.cli.options import add_priors_option, add_set_options
from society.cli.progress import TenthLines
from society.cli.text import for_terminal
from society.errors import SocietyError
from society.sweeps.ablation import HEADLINE, READINGS, checked, row_readings

NAME = "mechanisms"
HELP = "ablate every mechanism on paired seeds; check each moves outcomes with the expected sign"
EXAMPLES = """\
examples:
  society mechanisms --quick
  society mechanisms baseline --seeds 24 --size 1000
  society mechanisms --only "lead time" --show p_period_ended --show catastrophe_risk
"""
QUICK = {"seeds": 8, "size": 300, "days": 365}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        nargs="?",
        default="baseline",
        help="scenario the rows perturb (default: baseline)",
    )
    p.add_argument("--seeds", type=int, default=None, help="paired seeds per arm (default 24)")
    p.add_argument("--size", type=int, default=None, help="instances per run (default 1,000)")
    p.add_argument(
        "--days",
        type=int,
        default=None,
        help="horizon of every run (default: each scenario's own, three years)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="8 seeds of 300 instances over one year: a smoke run, not a verdict",
    )
    p.add_argument(
        "--no-priors",
        action="store_true",
        help="run every seed at the priors' medians instead of pairing seeds with prior draws",
    )
    add_priors_option(
        p,
        "prior files to draw from instead of the shipped model priors (the schema of "
        "scenarios/priors/*.toml; shipped: 'model', and 'settings' for four settings the model's "
        "priors hold fixed), e.g. --priors model settings",
    )
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="run one row")
    p.add_argument(
        "--show",
        action="append",
        default=[],
        metavar="MEASURE",
        help="also report this measure's paired effect in every row, unchecked (repeatable; "
        "e.g. p_period_ended, catastrophe_risk; docs/mechanisms.md lists them)",
    )
    add_set_options(
        p,
        set_help="hold a field at a value in every run of every row, e.g. --set "
        "knowledge.faith_floor=0.6 (never drawn from the priors; a row's own condition and "
        "arms win where they name the field; repeatable)",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    p.add_argument(
        "--runs-dir",
        type=Path,
        default=Path("runs"),
        help="where runs/mechanisms-<UTC time>/mechanisms.parquet goes (default: ./runs)",
    )


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.cli.output import print_table
    from society.priors import read_priors
    from society.scenario_files import load_scenario, parse_override
    from society.store.provenance import git_state
    from society.store.rundir import claim_dir, utc_now, utc_stamp, write_parquet
    from society.sweeps.ablation import (
        MEASURES,
        by_name,
        run_arms,
        runs_frame,
        summarise,
        unknown_measures,
    )

    seeds = args.seeds if args.seeds is not None else (QUICK["seeds"] if args.quick else 24)
    size = args.size if args.size is not None else (QUICK["size"] if args.quick else 1000)
    if seeds < 2:
        raise SocietyError(f"--seeds {seeds}: a paired interval needs at least 2 seeds.")
    if size < 20:
        raise SocietyError(f"--size {size}: give at least 20 instances per run.")
    days = args.days if args.days is not None else (QUICK["days"] if args.quick else None)
    if days is not None and days < 10:
        raise SocietyError(f"--days {days}: give at least 10 days per run.")
    bad = unknown_measures(args.show)
    if bad:
        raise SocietyError(
            f"--show {', '.join(bad)}: not a measure of the table; the measures are: "
            f"{', '.join(MEASURES)}."
        )
    sets = dict(parse_override(o) for o in args.overrides)
    load_scenario(args.scenario, overrides=sets)  # a bad scenario or --set fails here
    rows = by_name(args.only)
    if args.no_priors and args.priors:
        raise SocietyError(
            "--no-priors and --priors contradict each other: give one (--no-priors runs every "
            "seed at the priors' medians; --priors names the files to draw from)."
        )
    priors = () if args.no_priors else tuple(args.priors or ("model",))
    read_priors(priors)  # a missing or broken prior file fails here, before any run
    folder = args.runs_dir / f"mechanisms-{utc_stamp(utc_now())}"
    try:
        folder = claim_dir(folder)
    except OSError as e:
        raise SocietyError(f"cannot create '{folder}' ({e.strerror}); choose --runs-dir.") from None

    lines = TenthLines(err)

    def progress(done: int, total: int) -> None:
        if err.is_terminal:
            err.print(f"\r{done}/{total} runs", end="" if done < total else "\n")
        lines.update(done, total)

    err.print(
        f"{len(rows)} mechanisms on {for_terminal(args.scenario)}: {seeds} paired seeds per arm"
        + (
            ""
            if args.no_priors
            else " (each with its draw of " + ", ".join(for_terminal(p) for p in priors) + ")"
        )
        + f", {size:,} instances, "
        + (f"{days} days" if days else "each scenario's horizon")
        + ", runs never stop at a catastrophe"
        + "".join(f", {for_terminal(o)}" for o in args.overrides)
    )
    started, git = utc_now(), git_state()  # the code the table runs on, before anyone edits it
    results = run_arms(
        args.scenario,
        seeds=seeds,
        size=size,
        mechanisms=rows,
        workers=args.workers,
        progress=progress,
        priors=priors,
        days=days,
        sets=sets,
    )
    table = summarise(results, rows, seeds, args.show)
    path = folder / "mechanisms.parquet"
    write_parquet(table, path)
    write_parquet(runs_frame(results), folder / "runs.parquet")
    write_provenance(folder, args, seeds=seeds, size=size, days=days, started=started, git=git)
    print_table(out, render(table, seeds, size))
    readings = row_readings(table)
    by = {kind: [name for name, r in readings.items() if r == kind] for kind in READINGS}
    verdict = f"{len(by['holds'])} of {len(readings)} rows hold"
    if by["direction"]:
        verdict += (
            f"; {len(by['direction'])} more only in direction (the seeds that moved went the "
            f"expected way, the mean is too small to tell at {seeds} seeds): "
            + ", ".join(by["direction"])
        )
    if by["fails"]:
        verdict += f"; failed: {', '.join(by['fails'])}"
    short = by["direction"] or by["fails"]
    (err if short else out).print(verdict)
    print(path, flush=True)
    return 1 if short else 0


def command_line(args: argparse.Namespace, *, seeds: int, size: int, days: int | None) -> str:
    """The command that reruns this table (the resolved seeds, size and horizon spelled out)."""
    parts = ["society mechanisms"]
    if args.scenario != "baseline":
        parts.append(str(args.scenario))
    parts += [f"--seeds {seeds}", f"--size {size}"]
    if days is not None:
        parts.append(f"--days {days}")
    if args.no_priors:
        parts.append("--no-priors")
    if args.priors:
        parts.append("--priors " + " ".join(shlex.quote(p) for p in args.priors))
    parts += [f"--only {shlex.quote(name)}" for name in args.only or ()]
    parts += [f"--show {name}" for name in args.show or ()]
    parts += [f"--set {shlex.quote(o)}" for o in args.overrides or ()]
    return " ".join(parts)


def write_provenance(
    folder: Path,
    args: argparse.Namespace,
    *,
    seeds: int,
    size: int,
    days: int | None,
    started: datetime,
    git: dict[str, Any],
) -> None:
    """``run.json`` beside the table: the command that reruns it, the code it ran on, and when,
    so that a page quoting the table can say where its numbers came from."""
    from society.store.provenance import (
        model_fingerprint,
        package_versions,
        platform_info,
        utc_now,
    )

    finished = utc_now()
    record = {
        "command": command_line(args, seeds=seeds, size=size, days=days),
        "scenario": str(args.scenario),
        "seeds": seeds,
        "size": size,
        "days": days,
        "priors": [] if args.no_priors else list(args.priors or ["model"]),
        "git": git,
        "model": model_fingerprint(),
        "versions": package_versions(),
        "platform": platform_info(),
        "started_utc": started.isoformat(),
        "finished_utc": finished.isoformat(),
        "wall_seconds": round((finished - started).total_seconds(), 1),
    }
    (folder / "run.json").write_text(json.dumps(record, indent=1) + "\n")


def render(table: pl.DataFrame, seeds: int, size: int) -> Table:
    """The table a strategist reads: per mechanism, the headline effects and each check."""
    t = Table(
        title=(
            f"Mechanisms: effect of turning each knob from low to high, {seeds} paired seeds, "
            f"{size:,} instances (mean and 95% t interval of the paired difference; P in "
            f"percentage points)"
        ),
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    t.add_column("mechanism (condition)")
    t.add_column("knob: low -> high")
    for head in ("Δ P(safe)", "Δ P(cat)", "Δ P(left)", "Δ final a"):
        t.add_column(head, justify="right", no_wrap=True)
    t.add_column("checks: expected sign, effect")
    t.add_column("pass", justify="center")
    for name in table["mechanism"].unique(maintain_order=True):
        rows = table.filter(pl.col("mechanism") == name)
        first = rows.row(0, named=True)
        headline = {r["measure"]: r for r in rows.iter_rows(named=True) if r["low_arm"] == "low"}
        cells = [_effect(headline.get(m)) for m in ("p_safe", "p_catastrophe", "p_left_basin")] + [
            _effect(headline.get("final_alignment"), percent=False)
        ]
        checks = checked(rows)
        text = ("one of: " if first["any_of"] else "") + "; ".join(
            f"{r['measure']} {_sign(r)}"
            + (
                ""
                if (r["low_arm"], r["high_arm"]) == ("low", "high")
                else f" ({r['low_arm']}->{r['high_arm']})"
            )
            + f": {_effect(r, percent=r['measure'].startswith('p_'))}"
            + ("" if r["passed"] else f" ({r['up']} up, {r['down']} down{_sign_p(r)})")
            for r in checks.iter_rows(named=True)
        )
        mark = MARKS.get(row_readings(rows).get(name, ""), "")
        label = name + (f" ({first['condition']})" if first["condition"] else "")
        if checks.is_empty():  # a mean-field comparison: effects reported, nothing checked
            text = "reported: " + "; ".join(
                f"{r['measure']}: {_effect(r, percent=r['measure'].startswith('p_'))}"
                for r in rows.iter_rows(named=True)
                if r["measure"] not in HEADLINE
            )
        shown = [
            r
            for r in rows.iter_rows(named=True)
            if r["expected_sign"] == 0
            and r["floor"] is None
            and r["measure"] not in HEADLINE
            and not checks.is_empty()
        ]
        if shown:
            text += "; shown: " + "; ".join(
                f"{r['measure']}: {_effect(r, percent=r['measure'].startswith('p_'))}"
                for r in shown
            )
        t.add_row(label, first["knob"], *cells, text, mark)
    return t


MARKS = {"holds": "[green]pass[/]", "direction": "[yellow]direction[/]", "fails": "[red]FAIL[/]"}


def _sign_p(row: dict[str, Any]) -> str:
    """``, sign test p 1e-13`` where the direction is clear (the row's own reading)."""
    return f", sign test p {row['sign_p']:.1g}" if row["reading"] == "direction" else ""


def _sign(row: dict[str, object]) -> str:
    if row.get("floor") is not None:
        return f">= {100 * float(row['floor']):+.0f} points"  # type: ignore[arg-type]
    return "+" if int(row["expected_sign"]) > 0 else "-"  # type: ignore[call-overload]


def _effect(row: dict[str, object] | None, *, percent: bool = True) -> str:
    """``+25 [+3,+47]`` (points) or ``-0.031 [-0.04,-0.02]``."""
    if row is None:
        return "-"
    d, lo, hi = (float(row[k]) for k in ("diff", "ci_low", "ci_high"))  # type: ignore[arg-type]
    if math.isnan(d):
        return "-"
    if percent:
        return f"{100 * d:+.0f} [{100 * lo:+.0f},{100 * hi:+.0f}]"
    return f"{d:+.3g} [{lo:+.3g},{hi:+.3g}]"
