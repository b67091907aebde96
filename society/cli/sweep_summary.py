"""``society sweep-summary DIR``: outcome probabilities per arm and paired differences."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

from society.cli.output import print_table
from society.cli.text import for_terminal
from society.sweeps.answers import MAX_NAMED_KEYS, changed_from
from society.sweeps.store import SweepStore
from society.sweeps.summary import CAUSE_OUTCOMES, OUTCOMES, swept_columns
from society.tidy import field_key

NAME = "sweep-summary"
HELP = "per-arm outcome probabilities (Wilson intervals) and paired differences of a sweep"
EXAMPLES = """\
examples:
  society sweep-summary runs/sweeps/lead_vs_tax-...
  society sweep-summary runs/sweeps/lead_vs_tax-... --confidence 0.9
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="sweep directory (printed by `society sweep`)")
    p.add_argument(
        "--reference",
        type=int,
        metavar="ARM",
        help="arm the differences are taken against (default: the sweep file's reference)",
    )
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default: 0.95)")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.sweeps.summary import summarise_dir

    table, manifest = summarise_dir(args.dir, args.reference, args.confidence)
    info = manifest.get("sweep", {})
    name = for_terminal(info.get("name", ""))
    for t in arm_tables(table, list(swept_columns(manifest)), name, args.confidence):
        print_table(out, t)
    for line in answer_lines(args.dir, manifest, table, args.confidence):
        out.print(for_terminal(line), soft_wrap=True)
    design = info.get("design") if isinstance(info.get("design"), dict) else None
    if design is not None and design.get("method") == "oat":
        out.print(
            "Each assumption's effect, ranked, with its paired interval: "
            f"society analyze {for_terminal(str(args.dir))} --method oat --target safe_chance "
            "(or catastrophe_risk, safe, ...)",
            soft_wrap=True,
        )
    print(SweepStore(args.dir).summary_path, flush=True)
    return 0


def answer_lines(
    root: Path, manifest: dict[str, Any], wide: pl.DataFrame, confidence: float
) -> list[str]:
    """The sweep's question and its answer in words (the claim per arm, or P(safe)'s range)."""
    from society.sweeps.answers import arm_answers, claim_lines, claim_rule, question_lines
    from society.sweeps.summary import sweep_claim

    info = manifest.get("sweep", {})
    question = str((info.get("spec") or {}).get("question") or "")
    question = question or str((info.get("scenario_doc") or {}).get("question") or "")
    lines = [f"Question: {question}"] if question else []
    columns = swept_columns(manifest)
    claim = sweep_claim(manifest)
    if claim is None:
        return lines + question_lines(wide, list(columns.values()), list(columns))
    points = SweepStore(root).read_points(list(columns))
    answers = arm_answers(points, columns, claim, confidence, claim_rule(manifest))
    return lines + [
        "Answer: " + line if i == 0 else line for i, line in enumerate(claim_lines(answers, claim))
    ]


def arm_tables(table: pl.DataFrame, keys: list[str], name: str, confidence: float) -> list[Table]:
    """Three tables: P(outcome) per arm, paired differences against the reference arm, and
    P(catastrophe) by cause."""
    level = f"{confidence:.0%}"
    ref = table.filter(pl.col("reference"))
    reference = ref.row(0, named=True) if ref.height else None
    # Many swept keys (a one-at-a-time or Sobol design) do not fit as columns: one column says
    # what each arm changes from the reference arm instead.
    compact = len(keys) > MAX_NAMED_KEYS
    if compact:
        ref_text = f"every key as in arm {ref['arm'][0]}" if reference else "-"
    else:
        ref_text = ", ".join(f"{k} = {_num(ref[k][0])}" for k in keys) if ref.height else "-"
    columns = [CHANGED] if compact else keys
    probabilities = _table(
        f"{name}: P(outcome) per arm in %, {level} Wilson intervals", columns, "P"
    )
    differences = _table(
        f"{name}: paired difference vs reference arm {ref['arm'][0] if ref.height else '-'} "
        f"({ref_text}) in percentage points: mean and {level} t interval over replicates",
        columns,
        "Δ",
        runs=False,
    )
    differences.caption = (
        "Each arm against the reference arm alone, runs paired by replicate (same seed). "
        "(all alike): every pair differed by the same amount, so the interval is empty, not "
        "certain; more replicates would widen it."
    )
    causes = _table(
        f"{name}: P(catastrophe) by cause per arm in %, {level} Wilson intervals",
        columns,
        "P",
        outcomes=CAUSE_OUTCOMES,
    )
    for row in table.iter_rows(named=True):
        head = [f"{row['arm']}{'*' if row['reference'] else ''}"]
        head += [_changed(row, reference, keys)] if compact else [_num(row[k]) for k in keys]
        head.append(f"{row['runs']}" + (f" ({row['failed']} failed)" if row["failed"] else ""))
        probabilities.add_row(
            *head,
            *(
                _interval(row[f"p_{label}"], row[f"p_{label}_lo"], row[f"p_{label}_hi"])
                for _, label in OUTCOMES
            ),
        )
        differences.add_row(
            *head[:-1],
            *(
                "ref"
                if row["reference"]
                else _interval(
                    row[f"d_{label}"], row[f"d_{label}_lo"], row[f"d_{label}_hi"], signed=True
                )
                for _, label in OUTCOMES
            ),
        )
        causes.add_row(
            *head,
            *(
                _interval(row[f"p_{label}"], row[f"p_{label}_lo"], row[f"p_{label}_hi"])
                for _, label in CAUSE_OUTCOMES
            ),
        )
    return [probabilities, differences, causes]


#: The header of the one column that says what each arm changes, above MAX_NAMED_KEYS keys.
CHANGED = "changed from the reference"


def _changed(row: dict[str, Any], reference: dict[str, Any] | None, keys: list[str]) -> str:
    """The swept values in which ``row`` differs from the reference arm (all of them without
    one), e.g. ``knowledge.rate = 0.0794``; ``reference`` for the reference arm itself.

    >>> _changed({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 3.0}, ["a", "b"])
    'b = 2'
    >>> _changed({"a": 1.0}, {"a": 1.0}, ["a"])
    'reference'
    """
    values = {k: row[k] for k in keys}
    if reference is not None:
        values = changed_from(values, {k: reference[k] for k in keys})
        if not values:
            return "reference"
    return ", ".join(f"{for_terminal(field_key(k))} = {_num(v)}" for k, v in values.items())


def _table(
    title: str,
    keys: list[str],
    prefix: str,
    *,
    runs: bool = True,
    outcomes: tuple[tuple[str, str], ...] = OUTCOMES,
) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    t.add_column("arm", justify="right", no_wrap=True)
    for k in keys:
        if k == CHANGED:
            t.add_column(k, justify="left", overflow="fold")
            continue
        t.add_column(for_terminal(field_key(k).rsplit(".", 1)[-1]), justify="right", no_wrap=True)
    if runs:
        t.add_column("runs", justify="right", no_wrap=True)
    for _, label in outcomes:
        header = f"{prefix} {label.removeprefix('cause_').replace('_', ' ')}"
        t.add_column(
            header,
            justify="right",
            overflow="fold",
            min_width=max(len(word) for word in header.split()),
        )
    return t


def _num(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return for_terminal(value)


def _interval(p: float, lo: float, hi: float, *, signed: bool = False) -> str:
    """In percent (points, for differences): ``58 [32,81]`` fits three intervals in 80 columns.

    A difference that every pair shares has an empty interval, which would read as certainty:

    >>> _interval(0.5833, 0.3196, 0.8067), _interval(-0.4167, -0.74, -0.09, signed=True)
    ('58 [32,81]', '-42 [-74,-9]')
    >>> _interval(0.0, 0.0, 0.0, signed=True)
    '+0 (all alike)'

    """
    if p is None or math.isnan(p):
        return "-"
    fmt = "+.0f" if signed else ".0f"
    if lo is None or math.isnan(lo):
        return f"{100 * p:{fmt}}"
    if signed and hi - lo < 1e-12:
        return f"{100 * p:{fmt}} (all alike)"
    return f"{100 * p:{fmt}} [{100 * lo:{fmt}},{100 * hi:{fmt}}]"
