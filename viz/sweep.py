"""Sweep views: P(safe) (and P(catastrophe)) over lead x tax with each cell's interval, a
forest plot of paired differences between arms, and drift curves per arm across replicates.

The outcomes follow ``society sweep-summary``: P(safe) first, then P(catastrophe) (and by
cause), P(left basin), P(lost lead). The assumed layout of a sweep directory is documented
(and read) in :func:`viz.load.load_sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from society.errors import SocietyError
from society.sweeps.store import SweepStore
from society.sweeps.summary import paired_difference
from viz._common import DAY_LABEL, column, note
from viz.analysis_section import analysis_html
from viz.drift import replicate_bands
from viz.html import Section, esc, figures_section, page, provenance_html, scenario_html, table
from viz.load import (
    CAUSE_OUTCOMES,
    OUTCOME_LABELS,
    SWEEP_OUTCOME_COLUMNS,
    SWEEP_OUTCOMES,
    Sweep,
    load_sweep,
    outcome_flags,
)
from viz.runviews import FORMATS, check_views, png_bytes, save_figure, save_png
from viz.style import CYCLE, OKABE_ITO, SEQUENTIAL_CMAP, new_figure, plain, styled

FAILED_STATUSES = ("error", "failed", "failure", "interrupted", "timeout", "crashed")
LEAD, TAX, A0 = "lab.lead_days", "lab.tax", "population.initial_alignment"
#: Panels of the heatmap: the answer, P(safe), first.
HEATMAP_OUTCOMES = ("safe", "catastrophe")
OUTCOME_COLOURS = {
    "safe": OKABE_ITO["bluish_green"],
    "catastrophe": OKABE_ITO["vermillion"],
    "left_basin": OKABE_ITO["orange"],
    "lost_lead": OKABE_ITO["blue"],
}


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials.

    >>> [round(x, 3) for x in wilson(8, 10)]
    [0.49, 0.943]
    >>> wilson(0, 0)
    (nan, nan)
    """
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return (lo, hi)


def usable(points: pl.DataFrame) -> pl.DataFrame:
    """Runs that finished (status not a failure) and have their outcome flags, with the
    derived flags (``left_basin``, ``cause_<cause>``) added."""
    out = points
    if "status" in out.columns:
        out = out.filter(
            ~pl.col("status").cast(pl.String).str.to_lowercase().is_in(list(FAILED_STATUSES))
        )
    present = [c for c in SWEEP_OUTCOME_COLUMNS if c in out.columns]
    return outcome_flags(out.drop_nulls(present) if present else out)


def cell_probabilities(
    points: pl.DataFrame, by: Sequence[str], outcome: str = "safe"
) -> pl.DataFrame:
    """Per cell of ``by``: runs n, successes k, P = k/n and its Wilson 95% interval."""
    cells = (
        usable(points)
        .group_by(list(by))
        .agg(pl.len().alias("n"), pl.col(outcome).cast(pl.Int64).sum().alias("k"))
        .sort(list(by))
    )
    lo_hi = [wilson(int(k), int(n)) for k, n in zip(cells["k"], cells["n"], strict=True)]
    return cells.with_columns(
        (pl.col("k") / pl.col("n")).alias("p"),
        pl.Series("wilson_lo", [a for a, _ in lo_hi], dtype=pl.Float64),
        pl.Series("wilson_hi", [b for _, b in lo_hi], dtype=pl.Float64),
    )


def heatmap_axes(parameters: Sequence[str]) -> tuple[str, str] | None:
    """(x, y) for the heatmap: lead x tax when both were swept, else the first two swept."""
    if LEAD in parameters and TAX in parameters:
        return LEAD, TAX
    if TAX in parameters and len(parameters) >= 2:
        return next(p for p in parameters if p != TAX), TAX
    if len(parameters) >= 2:
        return parameters[0], parameters[1]
    return None


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted grid values (uneven grids allowed)."""
    if values.size == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    mid = (values[1:] + values[:-1]) / 2
    return np.concatenate([[2 * values[0] - mid[0]], mid, [2 * values[-1] - mid[-1]]])


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


@styled
def basin_heatmap_figure(
    points: pl.DataFrame,
    x: str = LEAD,
    y: str = TAX,
    scenario: Mapping[str, Any] | None = None,
    outcomes: Sequence[str] = HEATMAP_OUTCOMES,
    title: str = "sweep",
) -> Figure:
    """P(outcome) on the x-y grid of a sweep, one panel per outcome (P(safe) first), cells
    annotated with P and its Wilson 95% interval (and n in the first panel). (Version 1's
    analytic required tax is not drawn: since version 3 the tax acts through alignment
    knowledge, not directly on the successor map; ``society analyze --method frontier`` draws
    the runs' own boundary.)"""
    outcomes = list(outcomes) or ["safe"]
    k = len(outcomes)
    fig = new_figure(8.6 if k == 1 else 1.6 + 6.0 * k, 6.2)
    axes = fig.subplots(1, k, sharey=True, squeeze=False)[0]
    fig.suptitle(" and ".join(f"P({_label(o)})" for o in outcomes) + f" over {x} x {y} — {title}")
    pts = usable(points) if points.height else points
    if pts.is_empty():
        for ax in axes:
            note(ax, "no finished runs in the sweep")
        return fig
    mesh = None
    for n_panel, (ax, outcome) in enumerate(zip(axes, outcomes, strict=True)):
        cells = cell_probabilities(pts, [x, y], outcome)
        xs = np.sort(cells[x].cast(pl.Float64).unique().to_numpy())
        ys = np.sort(cells[y].cast(pl.Float64).unique().to_numpy())
        grid = np.full((ys.size, xs.size), np.nan)
        nn = np.zeros_like(grid)
        lo, hi = np.full_like(grid, np.nan), np.full_like(grid, np.nan)
        for row in cells.iter_rows(named=True):
            i = int(np.searchsorted(ys, float(row[y])))
            j = int(np.searchsorted(xs, float(row[x])))
            grid[i, j], nn[i, j] = row["p"], row["n"]
            lo[i, j], hi[i, j] = row["wilson_lo"], row["wilson_hi"]
        ex, ey = _edges(xs), _edges(ys)
        mesh = ax.pcolormesh(
            ex, ey, np.ma.masked_invalid(grid), cmap=SEQUENTIAL_CMAP, vmin=0, vmax=1, shading="flat"
        )
        if xs.size * ys.size <= 120:
            # A cell's share alone reads as exact; its interval says how many runs back it.
            size = 9 if xs.size * ys.size <= 30 else 7
            for i, yv in enumerate(ys):
                for j, xv in enumerate(xs):
                    if np.isfinite(grid[i, j]):
                        text = f"{grid[i, j]:.2f}\n[{lo[i, j]:.2f}, {hi[i, j]:.2f}]" + (
                            f"\nn={nn[i, j]:.0f}" if n_panel == 0 else ""
                        )
                        ax.text(
                            xv,
                            yv,
                            text,
                            ha="center",
                            va="center",
                            fontsize=size,
                            linespacing=1.1,
                            color="white" if grid[i, j] < 0.55 else "black",
                        )
        ax.set_xlim(ex[0], ex[-1])
        ax.set_ylim(ey[0], ey[-1])
        ax.set_xticks(xs)
        ax.set_yticks(ys)
        ax.grid(False)
        ax.set_title(f"P({_label(outcome)})", fontweight="bold" if n_panel == 0 else None)
        ax.set_xlabel(_axis_label(x))
    axes[0].set_ylabel(_axis_label(y))
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes), label="probability over runs (0-1)")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center")
    return fig


def _axis_label(key: str) -> str:
    units = {LEAD: "days", TAX: "alignment effort / capability effort", A0: "alignment 0-1"}
    return f"{key} ({units[key]})" if key in units else key


def paired_differences(
    points: pl.DataFrame,
    arm: str,
    outcomes: Iterable[str] = SWEEP_OUTCOMES,
    reference: Any = None,
    pair_on: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Paired differences of each outcome between every arm value and the reference arm.

    Runs are paired on ``pair_on`` (default: the other swept parameters plus ``seed`` and
    ``replicate`` where present: common random numbers). Returns one row per (arm value,
    outcome): mean difference, its 95% t interval over pairs (as ``society sweep-summary``,
    clipped to [-1, 1]), the number of pairs, and ``pooled_over``: the other swept
    parameters whose values the pairs span (so the difference is an average over them, unlike
    ``society sweep-summary``, which compares one grid cell with the reference cell).
    """
    pts = usable(points)
    if pair_on is None:
        pair_on = [c for c in pts.columns if "." in c and c != arm and pts[c].n_unique() > 1]
        pair_on += [c for c in ("seed", "replicate") if c in pts.columns]
    schema = {
        "arm": pl.String,
        "reference": pl.String,
        "outcome": pl.String,
        "diff": pl.Float64,
        "lo": pl.Float64,
        "hi": pl.Float64,
        "n_pairs": pl.Int64,
        "pooled_over": pl.String,
    }
    pooled = ", ".join(c for c in pair_on if c not in ("seed", "replicate")) or "-"
    values = sorted(pts[arm].drop_nulls().unique().to_list()) if arm in pts.columns else []
    if not values:
        return pl.DataFrame(schema=schema)
    ref = values[0] if reference is None else reference
    base = pts.filter(pl.col(arm) == ref)
    rows: list[dict[str, Any]] = []
    for value in values:
        if value == ref:
            continue
        other = pts.filter(pl.col(arm) == value)
        joined = other.join(base, on=list(pair_on), suffix="__ref") if pair_on else pl.DataFrame()
        for outcome in outcomes:
            if outcome not in pts.columns or joined.is_empty():
                continue
            d = joined[outcome].cast(pl.Float64) - joined[f"{outcome}__ref"].cast(pl.Float64)
            mean, lo, hi = paired_difference(d.to_list())
            rows.append(
                {
                    "arm": f"{arm}={value}",
                    "reference": f"{arm}={ref}",
                    "outcome": outcome,
                    "diff": mean,
                    "lo": max(lo, -1.0),
                    "hi": min(hi, 1.0),
                    "n_pairs": d.len(),
                    "pooled_over": pooled,
                }
            )
    return pl.DataFrame(rows, schema=schema)


@styled
def forest_figure(diffs: pl.DataFrame, title: str = "sweep") -> Figure:
    """Forest plot: per arm, the paired difference in P(safe), P(catastrophe), P(left basin)
    and P(lost lead) against the reference arm, with 95% intervals, against zero."""
    height = 1.9 + 0.3 * max(diffs.height, 3)
    fig = new_figure(9.0, height)
    ax = fig.subplots()
    ref = diffs["reference"][0] if diffs.height else "reference"
    pooled = diffs["pooled_over"][0] if diffs.height and "pooled_over" in diffs.columns else "-"
    over = "" if pooled == "-" else f"\naveraged over {pooled} (pairs span its values)"
    fig.suptitle(f"Paired differences vs {ref} — {title}{over}")
    if diffs.is_empty():
        note(ax, "no paired runs between arms")
        return fig
    outcomes = list(dict.fromkeys(diffs["outcome"].to_list()))
    colour = {o: OUTCOME_COLOURS.get(o, CYCLE[i % len(CYCLE)]) for i, o in enumerate(outcomes)}
    markers = dict(zip(outcomes, "osD^v<>", strict=False))
    labels: list[str] = []
    previous_arm = None
    for i, row in enumerate(diffs.iter_rows(named=True)):
        yv = diffs.height - 1 - i
        if previous_arm is not None and row["arm"] != previous_arm:
            ax.axhline(yv + 0.5, color="0.75", lw=0.8)
        previous_arm = row["arm"]
        lo, hi = row["lo"], row["hi"]
        c = colour[row["outcome"]]
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([100 * lo, 100 * hi], [yv, yv], color=c, lw=2)
        ax.plot(
            [100 * row["diff"]],
            [yv],
            marker=markers.get(row["outcome"], "o"),
            color=c,
            ms=7,
            ls="none",
        )
        labels.append(f"{row['arm']}: P({_label(row['outcome'])}) (n={row['n_pairs']})")
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(range(diffs.height)[::-1], labels)
    ax.set_ylim(-0.6, diffs.height - 0.4)
    ends = diffs.select("diff", "lo", "hi").to_numpy().astype(float)
    ends = np.abs(ends[np.isfinite(ends)])
    lim = min(105.0, 1.08 * max(5.0, 100 * float(ends.max()) if ends.size else 0.0))
    ax.set_xlim(-lim, lim)
    ax.set_xlabel(
        "difference in probability vs the reference arm (percentage points)\n"
        "mean and 95% t interval over n runs paired by seed and the other swept "
        "parameters"
    )
    ax.grid(axis="y", visible=False)
    fig.legend(
        handles=[
            Line2D(
                [], [], color=colour[o], marker=markers.get(o, "o"), lw=2, label=f"P({_label(o)})"
            )
            for o in outcomes
        ],
        loc="outside lower center",
        ncols=len(outcomes),
        fontsize=8.5,
    )
    return fig


def reference_value(sweep: Sweep, arm: str) -> Any:
    """The arm value the sweep file names as its reference (None: the lowest value)."""
    reference = sweep.manifest.get("reference")
    return reference.get(arm) if isinstance(reference, Mapping) else None


def arm_parameter(sweep: Sweep) -> str | None:
    """The parameter whose values are the arms: ``manifest['arms']`` if named, else the tax when
    swept, else the first swept parameter."""
    named = sweep.manifest.get("arms") or sweep.manifest.get("arm")
    if isinstance(named, str) and named in sweep.points.columns:
        return named
    if TAX in sweep.parameters:
        return TAX
    return sweep.parameters[0] if sweep.parameters else None


@styled
def arms_drift_figure(metrics: pl.DataFrame, arm: str, title: str = "sweep") -> Figure:
    """Per arm, median over that arm's runs with the 5-95% band: mean alignment with the
    effective basin boundary a*_eff (dashed) on top, and the margin of alignment knowledge over
    difficulty below (when the metrics have it)."""
    progress = "margin" in metrics.columns
    fig = new_figure(10, 6.6 if progress else 4.8)
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2]) if progress else [fig.subplots()]
    top = axes[0]
    fig.suptitle(f"Drift by {arm}: median over the runs still going each day, 5-95% band — {title}")
    run_key = "replicate" if "replicate" in metrics.columns else None
    if "a_star" in metrics.columns:
        # No basin (NaN) means every alignment falls: a boundary at 1 or above, drawn at 1.
        metrics = metrics.with_columns(pl.col("a_star").fill_nan(1.0).fill_null(1.0))
    has_a_star = False
    for i, (value, part) in enumerate(sorted(metrics.group_by(arm), key=lambda t: t[0][0])):
        colour = CYCLE[i % len(CYCLE)]
        band = _bands(part, "alignment_mean", run_key)
        days = column(band, "day")
        top.fill_between(
            days, column(band, "p05"), column(band, "p95"), color=colour, alpha=0.2, lw=0
        )
        top.plot(days, column(band, "median"), color=colour, label=f"{arm} = {value[0]}")
        if "a_star" in part.columns:
            a_star = _bands(part, "a_star", run_key)
            top.plot(
                column(a_star, "day"),
                column(a_star, "median"),
                color=colour,
                lw=1.0,
                ls=(0, (4, 2)),
                alpha=0.85,
            )
            has_a_star = True
        if progress:
            sp = _bands(part, "margin", run_key)
            axes[1].fill_between(
                column(sp, "day"),
                column(sp, "p05"),
                column(sp, "p95"),
                color=colour,
                alpha=0.2,
                lw=0,
            )
            axes[1].plot(column(sp, "day"), column(sp, "median"), color=colour)
    top.set_ylabel("mean alignment a (0-1)")
    handles, _ = top.get_legend_handles_labels()
    if has_a_star:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                lw=1.0,
                ls=(0, (4, 2)),
                label="a*_eff, effective basin boundary (median; 1: no basin)",
            )
        )
    top.legend(handles=handles, loc="best", fontsize=8)
    if progress:
        axes[1].axhline(1.0, color="0.5", lw=0.8, ls=":")
        axes[1].set_yscale("log")
        axes[1].set_ylabel("knowledge / difficulty\n(margin m, log)")
        axes[1].set_title(
            "alignment knowledge against the difficulty of the society's capability",
            fontsize=9.5,
        )
    axes[-1].set_xlabel(DAY_LABEL)
    return fig


def _bands(part: pl.DataFrame, value: str, run_key: str | None) -> pl.DataFrame:
    if run_key:
        return replicate_bands(part, value, by=run_key)
    return (
        part.group_by("day")
        .agg(
            pl.col(value).median().alias("median"),
            pl.col(value).quantile(0.05).alias("p05"),
            pl.col(value).quantile(0.95).alias("p95"),
            pl.len().alias("n"),
        )
        .sort("day")
    )


@styled
def outcome_profile_figure(points: pl.DataFrame, x: str, title: str = "sweep") -> Figure:
    """For a sweep of one parameter: P(safe), P(catastrophe), P(left basin) and P(lost lead)
    against it, each with its Wilson 95% interval."""
    fig = new_figure(8.6, 5.0)
    ax = fig.subplots()
    fig.suptitle(f"P(outcome) over {x} — {title}")
    pts = usable(points) if points.height else points
    if pts.is_empty():
        note(ax, "no finished runs in the sweep")
        return fig
    for k, outcome in enumerate(o for o in SWEEP_OUTCOMES if o in pts.columns):
        cells = cell_probabilities(pts, [x], outcome)
        xs = column(cells, x)
        p = column(cells, "p")
        lo, hi = column(cells, "wilson_lo"), column(cells, "wilson_hi")
        # Side by side around each value, so that equal probabilities stay readable.
        spread = float(np.diff(np.unique(xs)).min()) if np.unique(xs).size > 1 else 1.0
        shift = (k - 1.5) * 0.04 * spread
        ax.errorbar(
            xs + shift,
            p,
            yerr=[p - lo, hi - p],
            color=OUTCOME_COLOURS.get(outcome),
            marker="osD^"[k % 4],
            ms=7,
            capsize=3,
            lw=1.4,
            ls="-" if k == 0 else "--",
            label=f"P({_label(outcome)})",
            zorder=4 if k == 0 else 2,
        )
    counts = column(cell_probabilities(pts, [x], "safe"), "n")
    lo_n, hi_n = int(counts.min()), int(counts.max())
    ax.set_ylim(-0.03, 1.03)
    ax.set_xticks(np.unique(column(pts, x)))
    ax.set_xlabel(_axis_label(x))
    ax.set_ylabel("probability over runs (Wilson 95%)")
    ax.set_title(
        f"n = {lo_n}-{hi_n} runs per value" if lo_n != hi_n else f"n = {lo_n} runs per value",
        fontsize=9.5,
    )
    fig.legend(loc="outside lower center", ncols=4)
    return fig


SWEEP_VIEWS: dict[str, tuple[str, str]] = {
    "basin": (
        "P(safe) heatmap",
        "Share of runs that reached safety (safety work done and the target generation "
        "reached, in the basin, no catastrophe), and of runs that ended in catastrophe, "
        "per grid cell (n runs), with the analytic required tax τ_req(a0) overlaid. A "
        "sweep of one parameter shows P(safe), P(catastrophe), P(left basin) and P(lost "
        "lead) against it instead.",
    ),
    "forest": (
        "Paired differences between arms",
        "Difference in P(safe), P(catastrophe), P(left basin) and P(lost lead) between "
        "each arm and the reference arm over runs paired by seed and the other "
        "parameters, with 95% t intervals.",
    ),
    "drift": (
        "Drift by arm",
        "Mean alignment and the effective basin boundary a*_eff over time per arm, and "
        "the share of the required safety work done: median over runs with the 5-95% "
        "band (only when the sweep stored its metrics).",
    ),
}


#: The most arms the drift view draws (one band and legend entry each).
MAX_DRIFT_ARMS = 12


def render_sweep_views(
    sweep: Sweep, views: Iterable[str] | None = None
) -> tuple[dict[str, Figure], list[str]]:
    figures: dict[str, Figure] = {}
    notes: list[str] = []
    title = plain(
        sweep.manifest.get("name") or sweep.manifest.get("scenario_name") or sweep.path.name
    )
    scenario = sweep.manifest.get("scenario")
    arm = arm_parameter(sweep)
    for name in check_views(views, list(SWEEP_VIEWS)):
        if name == "basin":
            axes = heatmap_axes(sweep.parameters)
            if axes is not None:
                figures[name] = basin_heatmap_figure(
                    sweep.points, *axes, scenario=scenario, title=title
                )
            elif sweep.parameters:
                figures[name] = outcome_profile_figure(
                    sweep.points, sweep.parameters[0], title=title
                )
            else:
                notes.append("basin: skipped, no swept parameter.")
        elif name == "forest":
            if arm is None:
                notes.append("forest: skipped, no swept parameter to form arms.")
                continue
            figures[name] = forest_figure(
                paired_differences(sweep.points, arm, reference=reference_value(sweep, arm)),
                title=title,
            )
        elif name == "drift":
            if sweep.metrics is None or arm is None or arm not in sweep.metrics.columns:
                notes.append(
                    "drift: skipped, the sweep has no metrics dataset with the arm "
                    "parameter as a column."
                )
                continue
            values = sweep.metrics[arm].n_unique()
            if values > MAX_DRIFT_ARMS:
                # One band and legend entry per value: a sampled design's hundreds of arms
                # would collapse the axes into the legend and show nothing.
                notes.append(
                    f"drift: skipped, {values} values of {arm} are too many to draw a band "
                    f"each (at most {MAX_DRIFT_ARMS}); `society plot RUN_DIR --view drift` "
                    f"draws one run."
                )
                continue
            figures[name] = arms_drift_figure(sweep.metrics, arm, title=title)
    return figures, notes


def write_sweep_figures(
    sweep_dir: str | Path,
    views: Iterable[str] | None = None,
    fmt: str = "png",
    out_dir: str | Path | None = None,
) -> list[Path]:
    """Render a sweep's views to ``out_dir`` (default ``sweep_dir/figures``)."""
    if fmt not in FORMATS:
        raise SocietyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}.")
    figures, _ = render_sweep_views(load_sweep(sweep_dir), views)
    target = Path(out_dir) if out_dir is not None else SweepStore(sweep_dir).figures
    return [save_figure(f, target / f"{n}.{fmt}", fmt) for n, f in figures.items()]


def sweep_report_html(sweep_dir: str | Path, figures_dir: str | Path | None = None) -> str:
    sweep = load_sweep(sweep_dir)
    figures, notes = render_sweep_views(sweep)
    pngs = {n: png_bytes(f) for n, f in figures.items()}  # each drawn once
    if figures_dir is not None:
        for n, png in pngs.items():
            save_png(png, Path(figures_dir) / f"{n}.png")
    pts = usable(sweep.points)
    overall = [
        o
        for o in (*SWEEP_OUTCOMES[:2], *CAUSE_OUTCOMES, *SWEEP_OUTCOMES[2:])
        if o in pts.columns and pts.height
    ]
    # A probability pooled over a designed grid depends on which values the grid holds, not
    # on anything a reader can use: only a sweep of replicates alone gets overall figures.
    pooled = (
        []
        if sweep.parameters
        else [(f"P({_label(o)}) over all runs", float(np.mean(column(pts, o)))) for o in overall]
    )
    overview = table(
        [
            ("runs", sweep.points.height),
            ("finished runs used", pts.height),
            ("swept parameters", ", ".join(sweep.parameters) or "-"),
            *pooled,
        ],
        ["what", "value"],
    )
    by = list(sweep.parameters)
    cells_html = ""
    if by:
        parts = []
        for o in SWEEP_OUTCOMES:
            c = cell_probabilities(sweep.points, by, o)
            parts.append(
                f"<h3>P({esc(_label(o))}) with Wilson 95% interval</h3>"
                + table(c.rows(), c.columns)
            )
            if o == "catastrophe" and all(c in pts.columns for c in CAUSE_OUTCOMES):
                causes = (
                    pts.group_by(by)
                    .agg(
                        pl.len().alias("n"),
                        *(
                            pl.col(c).cast(pl.Float64).mean().alias(f"P({_label(c)})")
                            for c in CAUSE_OUTCOMES
                        ),
                    )
                    .sort(by)
                )
                parts.append(
                    "<h3>P(catastrophe) by cause</h3>" + table(causes.rows(), causes.columns)
                )
        cells_html = "".join(parts)
    arm = arm_parameter(sweep)
    diffs_html = ""
    if arm is not None:
        d = paired_differences(sweep.points, arm, reference=reference_value(sweep, arm))
        diffs_html = "<h3>Paired differences</h3>" + table(d.rows(), d.columns)
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    sections = [
        Section("summary", "Sweep summary", overview + _arms_html(sweep)),
        Section("views", f"Views ({len(figures)})", note_html + figures_section(pngs, SWEEP_VIEWS)),
        Section("cells", "Outcomes per grid point", cells_html + diffs_html),
    ]
    analyses = analysis_html(sweep.path)
    if analyses:
        sections.append(Section("analysis", "Which assumptions matter (society analyze)", analyses))
    if isinstance(sweep.manifest.get("scenario"), Mapping):
        sections.append(
            Section(
                "scenario", "Base scenario (resolved)", scenario_html(sweep.manifest["scenario"])
            )
        )
    sections.append(
        Section("provenance", "Provenance", provenance_html(sweep.manifest, sweep.path))
    )
    name = sweep.manifest.get("name") or sweep.path.name
    return page(
        f"society sweep report: {name}",
        str(sweep.manifest.get("question") or ""),
        sections,
        "society report",
        verdict=sweep_answer(sweep),
    )


def sweep_answer(sweep: Sweep) -> str:
    """The answer ``society sweep-summary`` states: the claim judged per arm, or, without a
    claim, the range of P(safe) over the arms ("" for a sweep not written by ``society
    sweep``)."""
    from society.sweeps.answers import arm_answers, claim_lines, claim_rule, question_lines
    from society.sweeps.spec import SweepError
    from society.sweeps.summary import summarise, sweep_claim

    info = sweep.manifest.get("sweep")
    needed = {"arm", "replicate", "status", "catastrophe_cause", *SWEEP_OUTCOME_COLUMNS}
    if not isinstance(info, Mapping) or not needed <= set(sweep.points.columns):
        return ""
    keys = [k for k in info.get("keys", []) if k in sweep.points.columns]
    claim = sweep_claim(sweep.manifest)
    if claim is not None:
        rule = claim_rule(sweep.manifest)
        answers = arm_answers(sweep.points, {k: k for k in keys}, claim, rule=rule)
        return " ".join(claim_lines(answers, claim))
    try:
        wide = summarise(sweep.points, keys, int(info.get("reference_arm", 0)))
    except (SweepError, pl.exceptions.PolarsError):
        return ""
    return " ".join(question_lines(wide, keys, keys))


def _arms_html(sweep: Sweep) -> str:
    """The three tables ``society sweep-summary`` prints: per arm, P(outcome) in % with its
    Wilson 95% interval, the paired difference from the reference arm in percentage points, and
    P(catastrophe) by cause (only for a sweep written by ``society sweep``, whose points have
    ``arm`` and ``status``)."""
    from society.sweeps.spec import SweepError
    from society.sweeps.summary import CAUSE_OUTCOMES as SUMMARY_CAUSES
    from society.sweeps.summary import OUTCOMES, summarise

    info = sweep.manifest.get("sweep")
    needed = {"arm", "replicate", "status", "catastrophe_cause", *SWEEP_OUTCOME_COLUMNS}
    if not isinstance(info, Mapping) or not needed <= set(sweep.points.columns):
        return ""
    keys = [k for k in info.get("keys", []) if k in sweep.points.columns]
    try:
        arms = summarise(sweep.points, keys, int(info.get("reference_arm", 0)))
    except (SweepError, pl.exceptions.PolarsError):
        return ""
    labels = [label for _, label in OUTCOMES]
    causes = [label for _, label in SUMMARY_CAUSES]
    head = ["arm", *keys]
    probabilities, differences, by_cause = [], [], []
    for r in arms.iter_rows(named=True):

        def p(lab: str, r: dict[str, Any] = r) -> str:
            return percent_interval(r[f"p_{lab}"], r[f"p_{lab}_lo"], r[f"p_{lab}_hi"])

        def d(lab: str, r: dict[str, Any] = r) -> str:
            if r["reference"]:
                return "ref"
            return percent_interval(r[f"d_{lab}"], r[f"d_{lab}_lo"], r[f"d_{lab}_hi"], signed=True)

        first = (f"{r['arm']}{' (reference)' if r['reference'] else ''}", *(r[k] for k in keys))
        runs = f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
        probabilities.append((*first, runs, *(p(lab) for lab in labels)))
        differences.append((*first, r["n_paired"], *(d(lab) for lab in labels)))
        by_cause.append((*first, runs, *(p(lab) for lab in causes)))
    return (
        "<h3>P(outcome) per arm in %, 95% Wilson intervals (as <code>society "
        "sweep-summary</code>)</h3>"
        + table(probabilities, [*head, "runs", *(f"P({_label(lab)})" for lab in labels)])
        + "<h3>Paired difference vs the reference arm in percentage points: mean and 95% t "
        "interval over replicates</h3>"
        + table(differences, [*head, "pairs", *(f"Δ P({_label(lab)})" for lab in labels)])
        + "<h3>P(catastrophe) by cause per arm in %, 95% Wilson intervals</h3>"
        + table(
            by_cause,
            [
                *head,
                "runs",
                *(f"P({lab.removeprefix('cause_').replace('_', ' ')})" for lab in causes),
            ],
        )
    )


def percent_interval(
    p: float | None, lo: float | None, hi: float | None, *, signed: bool = False
) -> str:
    """``58 [32, 81]``: a probability and its interval in percent (or a difference in points).

    >>> percent_interval(0.5833, 0.3196, 0.8067), percent_interval(1.0, None, None)
    ('58 [32, 81]', '100')
    >>> percent_interval(-0.25, -0.7, 0.2, signed=True)
    '-25 [-70, +20]'
    """
    if p is None or math.isnan(p):
        return "-"
    f = "+.0f" if signed else ".0f"
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return f"{100 * p:{f}}"
    return f"{100 * p:{f}} [{100 * lo:{f}}, {100 * hi:{f}}]"
