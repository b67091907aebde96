"""Running one analysis on a sweep directory and storing it under ``SWEEP_DIR/analysis/``.

:func:`analyze` checks the input (sweep, target, method, options) before computing anything,
then writes, for ``<name> = <method>-<target>``:

* ``analysis/<name>.parquet``: the result table (and ``<name>-box.parquet`` for PRIM's chosen
  box, ``<name>-cells.parquet`` for the frontier's cells);
* ``analysis/<name>.png``: its figure (drawn by :mod:`viz.analysis`);
* ``analysis/<name>.json``: the heading, the sentences, the options and versions (what the
  sweep report shows).

Every file is written to a temporary name and renamed; the sweep's own files are only read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from society.analysis import frontier as frontier_mod
from society.analysis import morris as morris_mod
from society.analysis import oat as oat_mod
from society.analysis import prim as prim_mod
from society.analysis import sobol as sobol_mod
from society.analysis.data import AnalysisError, SweepData, Target, load, value_column
from society.analysis.results import METHODS, Analysis, stored
from society.analysis.sobol import fixed
from society.store.provenance import package_versions, platform_info, utc_now
from society.store.rundir import write_json, write_parquet
from society.sweeps.store import SweepStore

#: PRIM peels about 5% of a box at a time and stops at 5% of the points: below this many
#: arms a box is a handful of points and its coverage and density mean little.
PRIM_MIN_ARMS = 20


@dataclass
class Options:
    """What ``society analyze`` takes besides the sweep, the method and the target."""

    threshold: float | None = None
    below: bool = False
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    by: str | None = None
    along: str | None = None
    p: float = 0.9
    direction: Literal["increasing", "decreasing"] | None = None
    min_density: float = prim_mod.MIN_DENSITY
    peel_alpha: float = prim_mod.PEEL_ALPHA


def analyze(
    sweep_dir: str | Path,
    method: str,
    target: str = "safe",
    options: Options | None = None,
    *,
    figure: bool = True,
) -> Analysis:
    """Run ``method`` on the sweep in ``sweep_dir`` for ``target`` and store the result.

    Raises :class:`~society.analysis.data.AnalysisError` (nothing written) for a directory
    that is not a finished sweep, a target the sweep does not record, or a method the sweep's
    design does not support.
    """
    options = options or Options()
    if method not in METHODS:
        raise AnalysisError(f"--method {method}: choose one of {', '.join(METHODS)}.")
    _check_options(options)
    data = load(sweep_dir)
    goal = data.target(target, options.threshold, options.below)
    compute = {
        "sobol": _sobol,
        "morris": _morris,
        "oat": _oat,
        "prim": _prim,
        "frontier": _frontier,
    }[method]
    result = compute(data, goal, options)
    result.table = result.table.with_columns(pl.lit(goal.slug).alias("target"))
    out = SweepStore(data.path).analysis_dir
    out.mkdir(exist_ok=True)
    table_path = out / f"{result.name}.parquet"
    write_parquet(result.table, table_path)
    result.files.append(table_path)
    for suffix, frame in result.extra.items():
        path = out / f"{result.name}-{suffix}.parquet"
        write_parquet(frame.with_columns(pl.lit(goal.slug).alias("target")), path)
        result.files.append(path)
    if figure:
        from viz.analysis import draw_analysis

        result.files.append(draw_analysis(data, result, out / f"{result.name}.png"))
    record = {
        "method": method,
        "target": goal.slug,
        "label": goal.label,
        "heading": result.heading,
        "words": result.words,
        "header": result.header,
        "rows": result.rows,
        "options": {k: v for k, v in vars(options).items() if v is not None},
        "details": result.details,
        "files": [p.name for p in result.files],
        "created_utc": utc_now().isoformat(),
        "versions": package_versions(),
        "platform": platform_info(),
    }
    record_path = out / f"{result.name}.json"  # names hold dots (p0.9): no with_suffix
    write_json(record, record_path)
    result.files.append(record_path)
    return result


def _check_options(options: Options) -> None:
    if not 0 < options.confidence < 1:
        raise AnalysisError(
            f"--confidence {options.confidence}: give a level between 0 and 1, e.g. 0.95."
        )
    if not 0 < options.p < 1:
        raise AnalysisError(f"--p {options.p}: give a probability between 0 and 1, e.g. 0.9.")
    if options.resamples < 10:
        raise AnalysisError(f"--resamples {options.resamples}: give at least 10 (default 1000).")
    if not 0 < options.min_density <= 1:
        raise AnalysisError(f"--min-density {options.min_density}: give a share in (0, 1].")
    if not 0 < options.peel_alpha < 0.5:
        raise AnalysisError(f"--peel-alpha {options.peel_alpha}: give a share in (0, 0.5).")


def _per_arm_text(data: SweepData, target: Target) -> str:
    """How the value at an arm is made from its runs (the heading says it)."""
    replicates = data.replicates
    if replicates == 1:
        return f"one run per arm ({target.label} is that run's value)"
    what = "share" if target.flag else "mean"
    return (
        f"{target.label} at an arm is the {what} over its {replicates} replicates (the per-arm "
        f"mean)"
    )


def _arm_outputs(data: SweepData, target: Target, method: str) -> pl.DataFrame:
    arms = data.arm_values(target)
    empty = arms.filter(pl.col("runs") == 0)
    if empty.height:
        shown = ", ".join(str(a) for a in empty["arm"].head(5).to_list())
        raise AnalysisError(
            f"{data.path}: {empty.height} arm(s) of the {method} design have no finished run "
            f"with a value of {target.column} (arms {shown}{', ...' if empty.height > 5 else ''}"
            f"); the estimator needs every arm. Rerun the failed runs with `society sweep "
            f"--resume {data.path}`"
            + (", or choose a target recorded in every run." if not target.flag else ".")
        )
    return arms


def _interval(value: float, lo: float, hi: float) -> str:
    """``0.52 [0.31, 0.73]``, as estimated (an index outside 0-1 is sampling error, shown)."""
    return f"{fixed(value, 2)} [{fixed(lo, 2)}, {fixed(hi, 2)}]"


# --- Sobol -------------------------------------------------------------------------------------


def _sobol(data: SweepData, target: Target, options: Options) -> Analysis:
    design, _ = data.sampled_design("saltelli")
    arms = _arm_outputs(data, target, "Saltelli")
    table = sobol_mod.sobol_indices(
        design,
        arms["y"].to_numpy(),
        resamples=options.resamples,
        confidence=options.confidence,
        seed=options.seed,
    )
    level = f"{options.confidence:.0%}"
    heading = (
        f"Sobol indices of {target.label} over the priors of {design.dimensions} keys: Saltelli "
        f"{design.describe_size()}; {_per_arm_text(data, target)}; {level} bootstrap intervals "
        f"(SALib, {options.resamples} resamples)."
    )
    wide = sobol_mod.wide(table)
    rows = [
        [
            r["parameter"],
            _interval(r["S1"], r["S1_lo"], r["S1_hi"]),
            _interval(r["ST"], r["ST_lo"], r["ST_hi"]),
        ]
        for r in wide.iter_rows(named=True)
    ]
    second = table.filter(pl.col("index") == "S2").sort("value", descending=True)
    for r in second.head(5).iter_rows(named=True):
        rows.append(
            [f"{r['parameter']} x {r['other']}", _interval(r["value"], r["lo"], r["hi"]), "(S2)"]
        )
    return Analysis(
        "sobol",
        target,
        f"sobol-{target.slug}",
        heading,
        sobol_mod.describe(table, target.label),
        ["parameter", f"S1 (first order) [{level}]", f"ST (total) [{level}]"],
        rows,
        table,
        details={"design": design.describe_size(), "keys": list(design.keys)},
    )


# --- Morris ------------------------------------------------------------------------------------


def _morris(data: SweepData, target: Target, options: Options) -> Analysis:
    design, unit = data.sampled_design("morris")
    arms = _arm_outputs(data, target, "Morris")
    table = morris_mod.morris_effects(
        design,
        unit,
        arms["y"].to_numpy(),
        resamples=options.resamples,
        confidence=options.confidence,
        seed=options.seed,
    )
    level = f"{options.confidence:.0%}"
    heading = (
        f"Morris elementary effects on {target.label} over the priors of {design.dimensions} "
        f"keys: {design.describe_size()}, {design.levels or 4} levels; "
        f"{_per_arm_text(data, target)}; effects per whole prior range (unit cube); "
        f"mu* with its {level} bootstrap half-width (SALib)."
    )
    ranked = table.sort("mu_star", descending=True, maintain_order=True)
    scale = float(ranked["mu_star"].to_numpy().max())
    show = morris_mod.show
    rows = [
        [
            r["parameter"],
            f"{show(r['mu_star'], scale)} +- {show(r['mu_star_conf'], scale)}",
            show(r["mu"], scale),
            show(r["sigma"], scale),
        ]
        for r in ranked.iter_rows(named=True)
    ]
    return Analysis(
        "morris",
        target,
        f"morris-{target.slug}",
        heading,
        morris_mod.describe(table, target.label),
        ["parameter", f"mu* +- {level}", "mu (signed)", "sigma"],
        rows,
        table,
        details={"design": design.describe_size(), "keys": list(design.keys)},
    )


# --- One at a time -----------------------------------------------------------------------------

#: Keys that move nothing are listed after these many rows of the printed table (all of them
#: are in the stored table and the figure's caption counts them).
OAT_ROWS_STILL = 10


def _oat(data: SweepData, target: Target, options: Options) -> Analysis:
    design, _ = data.sampled_design("oat")
    arms = data.arm_values(target)
    ends = {}
    for j, key in enumerate(design.keys):
        column = arms[key] if key in arms.columns else None
        if column is None:
            raise AnalysisError(
                f"{data.path}: points.parquet holds no column for the oat key {key}; the sweep "
                f"directory is not as `society sweep` wrote it."
            )
        ends[key] = (float(column[1 + 2 * j]), float(column[2 + 2 * j]))
    table = oat_mod.oat_effects(
        design, data.run_values(target), ends, confidence=options.confidence
    )
    level = f"{options.confidence:.0%}"
    heading = (
        f"One at a time: {target.label} with every key at its prior's median, then each of "
        f"{design.dimensions} keys alone at its 5% and 95% quantile ({design.describe_size()}); "
        f"changes from the medians paired by replicate ({data.replicates} per arm) with "
        f"{level} t intervals; largest change first."
    )
    show = oat_mod.show
    moving = table.filter(pl.col("moves"))
    still = table.filter(~pl.col("moves")).head(OAT_ROWS_STILL)
    rows = [
        [
            r["parameter"],
            f"{show(r['low_value'])} -> {show(r['low'])}",
            f"{show(r['high_value'])} -> {show(r['high'])}",
            _change(r["low_diff"], r["low_diff_lo"], r["low_diff_hi"]),
            _change(r["high_diff"], r["high_diff_lo"], r["high_diff_hi"]),
            "yes" if r["moves"] else "no",
        ]
        for r in pl.concat([moving, still]).iter_rows(named=True)
    ]
    hidden = table.height - moving.height - still.height
    if hidden > 0:
        rows.append([f"({hidden} more keys that move nothing)", "", "", "", "", "no"])
    return Analysis(
        "oat",
        target,
        f"oat-{target.slug}",
        heading,
        oat_mod.describe(table, target.label, data.replicates, options.confidence),
        [
            "parameter",
            "5% value -> target",
            "95% value -> target",
            f"change at 5% [{level}]",
            f"change at 95% [{level}]",
            "moves",
        ],
        rows,
        table,
        details={"design": design.describe_size(), "keys": list(design.keys)},
    )


def _change(mean: float, lo: float, hi: float) -> str:
    show = oat_mod.show
    if math.isnan(lo):
        return f"{show(mean, signed=True)}"
    return f"{show(mean, signed=True)} [{show(lo, signed=True)}, {show(hi, signed=True)}]"


# --- PRIM --------------------------------------------------------------------------------------


def _prim(data: SweepData, target: Target, options: Options) -> Analysis:
    if not target.flag:
        raise AnalysisError(
            f"--method prim --target {target.column}: PRIM finds where a yes/no outcome "
            f"concentrates, and {target.column} is a number. Add --threshold X (runs with "
            f"{target.column} >= X are the cases; --below for < X)."
        )
    # Runs that draw priors (an ask or sweep with --priors) are each a point of the
    # assumptions; otherwise an arm is, with its runs' share as the value.
    by_run = bool(data.drawn_keys)
    points = (
        data.run_points(target) if by_run else data.arm_values(target).filter(pl.col("runs") > 0)
    )
    unit = "runs" if by_run else "arms"
    varied = (*data.keys, *data.drawn_keys)
    keys = [k for k in varied if k in points.columns and points[k].n_unique() > 1]
    if not keys:
        raise AnalysisError(
            f"--method prim on {data.path}: the sweep varies no key and draws no prior, so "
            f"there is no box to find. Sweep keys, or ask over the priors (--priors model)."
        )
    if points.height < PRIM_MIN_ARMS:
        raise AnalysisError(
            f"--method prim on {data.path}: {points.height} {unit} with a finished value are too "
            f"few points for PRIM (at least {PRIM_MIN_ARMS}: it peels about 5% of a box at a "
            f"time). Sample more arms ([sample] n, e.g. lhs with n = 200), run more seeds over "
            f"the priors, or use --method frontier on a grid."
        )
    y = points["y"].to_numpy()
    cases = float(y.sum())
    if cases in (0, points.height):
        happened = "never" if cases == 0 else "in every run"
        raise AnalysisError(
            f"--method prim: {target.label} is {0 if cases == 0 else 1} at every arm "
            f"({target.column} happened {happened}), so there is no region to find. Choose "
            f"another target or threshold, or widen the sweep's ranges."
        )
    x = {k: points[k].to_numpy() for k in keys}
    result = prim_mod.prim(
        x,
        y,
        min_density=options.min_density,
        peel_alpha=options.peel_alpha,
        trials=1 if by_run else max(data.replicates, 1),
    )
    trajectory = pl.DataFrame(
        [
            (
                i,
                "peel",
                s.coverage,
                s.density,
                s.mass,
                s.n,
                len(result.restrictions(s.box)),
                " and ".join(result.restrictions(s.box)) or "all",
                i == result.selected,
            )
            for i, s in enumerate(result.trajectory)
        ]
        + [
            (
                result.selected,
                stage,
                s.coverage,
                s.density,
                s.mass,
                s.n,
                len(result.restrictions(s.box)),
                " and ".join(result.restrictions(s.box)) or "all",
                True,
            )
            for stage, s in (("pasted", result.pasted), ("simplified", result.chosen))
        ],
        schema={
            "step": pl.Int64,
            "stage": pl.String,
            "coverage": pl.Float64,
            "density": pl.Float64,
            "mass": pl.Float64,
            "arms": pl.Int64,
            "restricted": pl.Int64,
            "limits": pl.String,
            "selected": pl.Boolean,
        },
        orient="row",
    )
    box = _box_table(result)
    base_rate = result.trajectory[0].density
    chosen = result.chosen
    words = [
        result.describe(target.label) + ".",
        f"The box holds {chosen.mass:.0%} of the {unit} ({chosen.n}); in it {target.label} is "
        f"{chosen.density:.2f} on average (density) against {base_rate:.2f} over the whole "
        f"sweep, and {chosen.coverage:.0%} of the sweep's cases (the sum of {target.label} over "
        f"its {unit}) fall inside it (coverage).",
    ]
    over = (
        f"{len(keys)} swept and prior-drawn keys and {points.height} runs; each run is a point "
        f"(its own draw of the priors; {target.label} at a run is 1 or 0)"
        if by_run
        else f"{len(keys)} swept keys and {points.height} arms; {_per_arm_text(data, target)}"
    )
    heading = (
        f"PRIM boxes for {target.label} over {over}; peel {options.peel_alpha:g}, paste "
        f"{prim_mod.PASTE_ALPHA:g}, minimum mass {prim_mod.MIN_MASS:g}; the box chosen is the "
        f"best balance of coverage and density with density >= {options.min_density:g}, then "
        f"pasted, then stripped of limits whose quasi-p-value exceeds {prim_mod.MAX_P:g}."
    )
    rows = [[r["parameter"], r["limits"]] for r in box.iter_rows(named=True)] or [["-", "no limit"]]
    rows.append(["coverage / density", f"{chosen.coverage:.2f} / {chosen.density:.2f}"])
    return Analysis(
        "prim",
        target,
        f"prim-{target.slug}",
        heading,
        words,
        ["parameter", "box"],
        rows,
        trajectory,
        {"box": box},
        details={"keys": keys, "base_rate": base_rate},
    )


def _box_table(result: prim_mod.PrimResult) -> pl.DataFrame:
    rows: list[tuple[str, float, float, str | None, str]] = []
    box = result.chosen.box
    for key, limit in result.limits(box).items():
        if key in result.categories:
            rows.append(
                (key, math.nan, math.nan, ", ".join(sorted(map(str, box.allowed[key]))), limit)
            )
        else:
            rows.append((key, box.low[key], box.high[key], None, limit))
    return pl.DataFrame(
        rows,
        schema={
            "parameter": pl.String,
            "low": pl.Float64,
            "high": pl.Float64,
            "values": pl.String,
            "limits": pl.String,
        },
        orient="row",
    )


# --- frontier ----------------------------------------------------------------------------------


def frontier_keys(data: SweepData, by: str | None, along: str | None) -> tuple[str, str]:
    """``(by, along)`` for the frontier: checked against the sweep's grid, the missing one
    filled in (default: along the lead when it is swept)."""
    grid = data.grid_keys
    varied = [k for k in data.keys if k not in grid]
    if len(grid) != 2 or varied:
        shown = ", ".join(data.keys) or "nothing"
        raise AnalysisError(
            f"--method frontier on {data.path}: the frontier needs a [grid] of exactly two "
            f"numeric keys (e.g. lab.lead_days x lab.tax); this sweep varies {shown}"
            f"{' (sampled, not a grid)' if varied else ''}. Run a two-key grid sweep such as "
            f"scenarios/sweeps/lead_vs_tax.toml, or use --method prim."
        )
    for flag, key in (("--by", by), ("--along", along)):
        if key is not None and key not in grid:
            raise AnalysisError(
                f"{flag} {key}: not a key of this sweep's grid ({', '.join(grid)}); give one of "
                f"them."
            )
    if along is None:
        along = next((k for k in grid if k != by and k == "lab.lead_days"), None) or next(
            k for k in grid if k != by
        )
    if by is None:
        by = next(k for k in grid if k != along)
    if by == along:
        raise AnalysisError(f"--by and --along are both {by}; give the two different grid keys.")
    for key in (by, along):
        column = value_column(data.points, key)  # a sweep stores lab.tax as lab__tax
        if column is None or not data.points.schema[column].is_numeric():
            raise AnalysisError(
                f"--method frontier: {key} is not numeric; the frontier needs two numeric keys."
            )
    return by, along


def _frontier(data: SweepData, target: Target, options: Options) -> Analysis:
    by, along = frontier_keys(data, options.by, options.along)
    if not target.flag:
        raise AnalysisError(
            f"--method frontier --target {target.column}: the frontier is where P(target) "
            f"reaches --p, and {target.column} is a number. Add --threshold X (P({target.column}"
            f" >= X); --below for < X)."
        )
    arms = data.arm_values(target)
    result = frontier_mod.frontier(
        arms, by, along, options.p, confidence=options.confidence, direction=options.direction
    )
    level = f"{options.confidence:.0%}"
    heading = (
        f"Frontier of {target.label} >= {options.p:g}: per {by}, the "
        f"{'smallest' if result.direction == 'increasing' else 'largest'} {along} that reaches it "
        f"(isotonic fit of the per-arm shares, read between the swept values), with the "
        f"interval from {level} Wilson bounds inverted; {_per_arm_text(data, target)}; "
        f"P({target.column}) taken as {result.direction} in {along}."
    )
    rows = []
    for r in result.table.iter_rows(named=True):
        lo, hi = r["lo"], r["hi"]
        shown = (
            f"({frontier_mod.number(lo) if math.isfinite(lo) else '-'}, "
            f"{frontier_mod.number(hi) if math.isfinite(hi) else '-'}]"
        )
        est = frontier_mod.number(r["estimate"]) if math.isfinite(r["estimate"]) else "-"
        rows.append([frontier_mod.number(r["by_value"]), est, shown, r["status"]])
    name = f"frontier-{target.slug}-p{options.p:g}"
    return Analysis(
        "frontier",
        target,
        name,
        heading,
        frontier_mod.describe(result, target.label),
        [by, f"{along} needed", f"interval ({level})", "status"],
        rows,
        result.table,
        {"cells": result.cells},
        details={"by": by, "along": along, "p": options.p, "direction": result.direction},
    )


__all__ = ["METHODS", "Analysis", "Options", "analyze", "frontier_keys", "stored"]
