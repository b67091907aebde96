"""The mechanism table on the site: its rows from the code, its results from a recorded run.

``<!-- mechanisms: rows -->`` becomes the table of rows as
:data:`society.sweeps.ablation.MECHANISMS` defines them (knob, condition, expected effect,
checks), so the page never lists a row the command does not run.
``<!-- mechanisms: results -->`` becomes the results of a finished ``society mechanisms``
run, recorded with ``python -m society.docsite.mechanisms RUN_DIR [RERUN_DIR ...]`` as
``docs/answers/mechanisms.json`` with the command, seeds, size and commit it ran on (from the
run's ``run.json``); a page never quotes a table by hand. A rerun of some rows (``society
mechanisms --only ...`` at the table's seeds, size and horizon, after a change to those rows)
replaces their results, and the page names it beside the table's own command;
``--add RERUN_DIR ...`` merges reruns (or a new row) onto the table already recorded.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl

from society.docsite.answers import ANSWERS_DIR

MARKER = re.compile(r"<!-- mechanisms: (rows|results) -->")
RECORD = "mechanisms.json"
SIGN = {1: "up", -1: "down", 0: "reported"}
#: The "holds" column for each row reading (``society.sweeps.ablation.check_reading``).
MARKS = {"holds": "yes", "direction": "direction only", "fails": "**no**", "": "reported"}


def rows_markdown() -> str:
    """The rows the command runs, from their definitions."""
    from society.sweeps.ablation import MECHANISMS

    lines = [
        "| mechanism | knob, low -> high | condition | expected | checks (measure: sign) |",
        "|---|---|---|---|---|",
    ]
    for m in MECHANISMS:
        condition = m.condition_text or ""
        if m.scenario and m.scenario not in condition:
            condition = f"the `{m.scenario}` scenario" + (f"; {condition}" if condition else "")
        checks = [
            f"`{c.measure}`: "
            + (f">= {c.floor:+g}" if c.floor is not None else SIGN[c.sign])
            + ("" if (c.low, c.high) == ("low", "high") else f" ({c.low} -> {c.high})")
            for c in m.checks
        ]
        joined = (" or " if m.any_of else "; ").join(checks)
        lines.append(
            f"| {m.name} | `{m.knob}` | {condition} | {m.expected} | {joined} |".replace("\n", " ")
        )
    return "\n".join(lines)


def record(run_dir: str | Path, *reruns: str | Path) -> dict[str, Any]:
    """The record of the finished ``society mechanisms`` run in ``run_dir``, with the rows of
    each later run in ``reruns`` replacing that run's rows of the same mechanisms (in place; a
    row the table did not have is added at the end)."""
    rec = _run_record(run_dir)
    rec["reruns"] = []
    return merged(rec, *reruns)


def merged(rec: dict[str, Any], *reruns: str | Path) -> dict[str, Any]:
    """``rec`` (a record, e.g. the one the site quotes) with the rows of each run in
    ``reruns`` replacing its rows of the same mechanisms, and each rerun named."""
    rec = {**rec, "rows": list(rec["rows"]), "reruns": list(rec.get("reruns", []))}
    for rerun in reruns:
        extra = _run_record(rerun)
        for key in ("seeds", "size", "days"):
            if extra[key] != rec[key]:
                raise ValueError(
                    f"{rerun} ran at {key} = {extra[key]}, the table at {rec[key]}: rerun its rows "
                    f"with the table's --seeds, --size and --days ({rec['command']})"
                )
        names = list(dict.fromkeys(str(r["mechanism"]) for r in extra["rows"]))
        present = {str(r["mechanism"]) for r in rec["rows"]}
        # A row an earlier rerun added stays "added" when it is run again.
        present -= {n for r in rec["reruns"] for n in r.get("added", [])}
        # An earlier rerun no longer speaks for the rows this one replaces.
        rec["reruns"] = [
            {**r, "mechanisms": [n for n in r["mechanisms"] if n not in names]}
            for r in rec["reruns"]
            if any(n not in names for n in r["mechanisms"])
        ]
        rows: list[dict[str, Any]] = []
        for r in rec["rows"]:
            if r["mechanism"] not in names:
                rows.append(r)
            elif not any(x["mechanism"] == r["mechanism"] for x in rows):
                rows.extend(x for x in extra["rows"] if x["mechanism"] == r["mechanism"])
        had = {r["mechanism"] for r in rows}
        rows.extend(x for x in extra["rows"] if x["mechanism"] not in had)
        rec["rows"] = rows
        meta = {k: extra[k] for k in ("command", "commit", "dirty", "version", "finished_utc")}
        rec["reruns"].append(
            {
                **meta,
                "wall_seconds": extra["wall_seconds"],
                "mechanisms": names,
                "added": [n for n in names if n not in present],
            }
        )
    return rec


def _run_record(run_dir: str | Path) -> dict[str, Any]:
    """The record of one finished ``society mechanisms`` run."""
    run_dir = Path(run_dir)
    provenance = run_dir / "run.json"
    if not provenance.is_file():
        raise ValueError(
            f"{run_dir} has no run.json: record a table written by `society mechanisms` "
            "(it writes run.json beside mechanisms.parquet)"
        )
    meta = json.loads(provenance.read_text())
    table = pl.read_parquet(run_dir / "mechanisms.parquet")
    counts = [c for c in ("up", "down") if c in table.columns]  # tables from before 50bc588
    rows = table.select(
        "mechanism", "knob", "condition", "expected_effect", "measure", "low_arm", "high_arm",
        "diff", "ci_low", "ci_high", "pairs", *counts, "expected_sign", "floor", "any_of",
        "passed",
    )  # fmt: skip
    git = meta.get("git") or {}
    return {
        "command": meta["command"],
        "seeds": meta["seeds"],
        "size": meta["size"],
        "days": meta["days"],
        "commit": git.get("commit") or "unknown",
        "dirty": bool(git.get("dirty")),
        "version": (meta.get("versions") or {}).get("society", "unknown"),
        "finished_utc": meta.get("finished_utc"),
        "wall_seconds": meta.get("wall_seconds", 0.0),
        "rows": rows.to_dicts(),
    }


def _effect(row: dict[str, Any]) -> str:
    scale = 100.0 if str(row["measure"]).startswith("p_") else 1.0
    diff, lo, hi = (scale * float(row[k]) for k in ("diff", "ci_low", "ci_high"))
    if any(math.isnan(x) for x in (diff, lo, hi)):
        return "n/a"
    return f"{diff:+.3g} [{lo:+.3g}, {hi:+.3g}]"


def results_markdown(answers_dir: Path = ANSWERS_DIR) -> str:
    """The recorded table: each row's checks with their paired effects, and whether it holds."""
    from society.sweeps.ablation import HEADLINE, row_readings

    path = answers_dir / RECORD
    if not path.is_file():
        raise FileNotFoundError(
            f"no recorded mechanism table {path}: run `society mechanisms`, then python -m "
            "society.docsite.mechanisms RUN_DIR"
        )
    rec = json.loads(path.read_text())
    table = pl.DataFrame(rec["rows"], infer_schema_length=None)
    readings = row_readings(table)
    lines = [
        "| mechanism (condition) | check: measure low -> high, paired effect [95% interval] "
        "| holds |",
        "|---|---|---|",
    ]
    for name, rows in table.group_by("mechanism", maintain_order=True):
        checks = rows.filter((pl.col("expected_sign") != 0) | pl.col("floor").is_not_null())
        # a row without checks (the mean-field comparisons) shows what it reports, not the
        # headline columns every row has
        shown = checks if checks.height else rows.filter(~pl.col("measure").is_in(HEADLINE))
        parts = [
            f"`{r['measure']}` "
            + (SIGN.get(int(r["expected_sign"]), "reported") if r["floor"] is None else "floor")
            + ("" if (r["low_arm"], r["high_arm"]) == ("low", "high") else
               f" ({r['low_arm']} -> {r['high_arm']})")
            + f": {_effect(r)}"
            + _direction(r)
            for r in shown.iter_rows(named=True)
        ]  # fmt: skip
        first = rows.row(0, named=True)
        label = str(name[0]) + (f" ({first['condition']})" if first["condition"] else "")
        mark = MARKS[readings.get(str(name[0]), "")]
        lines.append(f"| {label} | {'; '.join(parts)} | {mark} |")
    counts = {kind: sum(r == kind for r in readings.values()) for kind in MARKS}
    commit = rec["commit"][:9] + (" with uncommitted changes" if rec["dirty"] else "")
    minutes = float(rec.get("wall_seconds") or 0.0) / 60
    head = (
        f"{counts['holds']} of {len(readings)} checked rows hold"
        + (f"; {_more(counts['direction'])} in direction only" if counts["direction"] else "")
        + f". Recorded from `{rec['command']}` "
        f"({rec['seeds']} paired seeds per arm, {rec['size']:,} instances, "
        + (f"{rec['days']} days" if rec["days"] else "each scenario's horizon")
        + f"; society {rec['version']} at commit `{commit}`, "
        f"{(rec.get('finished_utc') or '')[:10]}, {minutes:.0f} min of wall time)."
        + "".join(_rerun_sentence(r) for r in rec.get("reruns", []))
        + " P measures (`p_...`) are in percentage points. Rerun the command for the current "
        "model."
    )
    return head + "\n\n" + "\n".join(lines)


def _more(n: int) -> str:
    return f"{n} more {'holds' if n == 1 else 'hold'}"


def _direction(row: dict[str, Any]) -> str:
    """`` (27 up, 0 down)`` beside a check that failed, where the table counted them, with the
    sign test's p where the direction is clear."""
    from society.sweeps.ablation import check_reading, sign_test

    if row.get("passed") is not False or row.get("up") is None:
        return ""
    up, down = int(row["up"]), int(row["down"])
    p = f"; sign test p = {sign_test(up, down):.1g}" if check_reading(row) == "direction" else ""
    return f" ({up} up, {down} down{p})"


def _rerun_sentence(rerun: dict[str, Any]) -> str:
    added = set(rerun.get("added", []))
    commit = rerun["commit"][:9] + (" with uncommitted changes" if rerun["dirty"] else "")
    run = f"`{rerun['command']}` (commit `{commit}`, {(rerun.get('finished_utc') or '')[:10]})"
    parts = []
    replaced = [n for n in rerun["mechanisms"] if n not in added]
    if replaced:
        names = ", ".join(f"'{n}'" for n in replaced)
        parts.append(
            f" The rows {names} are from a rerun at the same seeds, size and horizon, {run}, "
            "which replaced their first results."
        )
    if added:
        names = ", ".join(f"'{n}'" for n in rerun["mechanisms"] if n in added)
        row = "The row" if len(added) == 1 else "The rows"
        was = "was" if len(added) == 1 else "were"
        parts.append(
            f" {row} {names} {was} added later at the same seeds, size and horizon, by {run}."
        )
    return "".join(parts)


def fill(markdown: str, answers_dir: Path = ANSWERS_DIR) -> str:
    """``markdown`` with the mechanism markers replaced."""
    return MARKER.sub(
        lambda m: rows_markdown() if m.group(1) == "rows" else results_markdown(answers_dir),
        markdown,
    )


def main(argv: list[str]) -> int:
    adding = argv[:1] == ["--add"]
    if not argv or (adding and len(argv) == 1):
        usage = (
            "usage: python -m society.docsite.mechanisms RUN_DIR [RERUN_DIR ...]\n"
            "       python -m society.docsite.mechanisms --add RERUN_DIR ...  "
            "(onto the recorded table)"
        )
        print(usage, file=sys.stderr)
        return 2
    ANSWERS_DIR.mkdir(parents=True, exist_ok=True)
    target = ANSWERS_DIR / RECORD
    if adding:
        rec = merged(json.loads(target.read_text()), *argv[1:])
    else:
        rec = record(argv[0], *argv[1:])
    target.write_text(json.dumps(rec, indent=1) + "\n")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
