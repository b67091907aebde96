"""Sweep views: P(stayed in basin) over lead x tax with the analytic required tax, a forest plot
of paired differences between arms, and drift curves per arm across replicates.

The assumed layout of a sweep directory is documented (and read) in :func:`viz.load.load_sweep`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from society.errors import SocietyError
from society.generations import required_tax
from society.scenario import Scenario
from viz._common import DAY_LABEL, column, note
from viz.drift import replicate_bands
from viz.html import Section, esc, figures_section, page, provenance_html, scenario_html, table
from viz.load import SWEEP_OUTCOMES, Sweep, load_sweep
from viz.runviews import FORMATS, check_views, save_figure
from viz.style import CYCLE, OKABE_ITO, SEQUENTIAL_CMAP, new_figure, styled

FAILED_STATUSES = ("error", "failed", "failure", "interrupted", "timeout", "crashed")
LEAD, TAX, A0 = "lab.lead_days", "lab.tax", "population.initial_alignment"
OUTCOME_LABELS = {"stayed_in_basin": "stayed in basin", "catastrophe": "catastrophe",
                  "lost_lead": "lost lead"}


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
    """Runs that finished (status not a failure) and have their outcome flags."""
    out = points
    if "status" in out.columns:
        out = out.filter(~pl.col("status").cast(pl.String).str.to_lowercase()
                         .is_in(list(FAILED_STATUSES)))
    present = [c for c in SWEEP_OUTCOMES if c in out.columns]
    return out.drop_nulls(present) if present else out


def cell_probabilities(
    points: pl.DataFrame, by: Sequence[str], outcome: str = "stayed_in_basin"
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
        pl.Series("wilson_lo", [a for a, _ in lo_hi]),
        pl.Series("wilson_hi", [b for _, b in lo_hi]),
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


def _generation_params(scenario: Mapping[str, Any] | None) -> dict[str, float]:
    base = Scenario().model_dump()
    scen = scenario or base
    g = scen.get("generations", base["generations"])
    a0 = scen.get("population", base["population"]).get("initial_alignment")
    return {"rho_max": g["rho_max"], "delta": g["decay"], "tau_half": g["tax_half"], "a0": a0}


@styled
def basin_heatmap_figure(
    points: pl.DataFrame,
    x: str = LEAD,
    y: str = TAX,
    scenario: Mapping[str, Any] | None = None,
    outcome: str = "stayed_in_basin",
    title: str = "sweep",
) -> Figure:
    """P(outcome) on the x-y grid of a sweep, cells annotated with P and n, and the analytic
    required tax tau_req(a0) (DESIGN.md section 3) overlaid: a curve when x is a0, otherwise a
    line at the scenario's a0."""
    fig = new_figure(8.6, 6.2)
    ax = fig.subplots()
    fig.suptitle(f"P({OUTCOME_LABELS.get(outcome, outcome)}) over {x} x {y} — {title}")
    cells = cell_probabilities(points, [x, y], outcome) if points.height else pl.DataFrame()
    if cells.is_empty():
        note(ax, "no finished runs in the sweep")
        return fig
    xs = np.sort(cells[x].cast(pl.Float64).unique().to_numpy())
    ys = np.sort(cells[y].cast(pl.Float64).unique().to_numpy())
    grid = np.full((ys.size, xs.size), np.nan)
    nn = np.zeros_like(grid)
    for row in cells.iter_rows(named=True):
        i, j = int(np.searchsorted(ys, float(row[y]))), int(np.searchsorted(xs, float(row[x])))
        grid[i, j], nn[i, j] = row["p"], row["n"]
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), np.ma.masked_invalid(grid),
                         cmap=SEQUENTIAL_CMAP, vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"P({OUTCOME_LABELS.get(outcome, outcome)}) (0-1)")
    if xs.size * ys.size <= 120:
        for i, yv in enumerate(ys):
            for j, xv in enumerate(xs):
                if np.isfinite(grid[i, j]):
                    ax.text(xv, yv, f"{grid[i, j]:.2f}\nn={nn[i, j]:.0f}", ha="center",
                            va="center", fontsize=9,
                            color="white" if grid[i, j] < 0.55 else "black")
    gp = _generation_params(scenario)
    ex, ey = _edges(xs), _edges(ys)
    if x == A0:
        a0 = np.linspace(max(ex[0], 1e-3), min(ex[-1], 1.0), 200)
        req = np.array([required_tax(a, gp["rho_max"], gp["delta"], gp["tau_half"]) for a in a0])
        ax.plot(a0, np.where(np.isfinite(req), req, np.nan), color=OKABE_ITO["vermillion"], lw=2.2,
                label="analytic required tax τ_req(a0)")
    elif y == TAX and gp["a0"]:
        req_line = required_tax(float(gp["a0"]), gp["rho_max"], gp["delta"], gp["tau_half"])
        if math.isfinite(req_line):
            ax.plot([ex[0], ex[-1]], [req_line, req_line], color=OKABE_ITO["vermillion"], lw=2.2,
                    ls="--",
                    label=f"analytic required tax τ_req(a0={gp['a0']:.2f}) = {req_line:.2f}")
    ax.set_xlim(ex[0], ex[-1])
    ax.set_ylim(ey[0], ey[-1])
    ax.set_xticks(xs)
    ax.set_yticks(ys)
    ax.grid(False)
    ax.set_xlabel(_axis_label(x))
    ax.set_ylabel(_axis_label(y))
    if ax.get_legend_handles_labels()[0]:
        fig.legend(loc="outside lower center")
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
    outcome): mean difference, a normal 95% interval over pairs, and the number of pairs.
    """
    pts = usable(points)
    if pair_on is None:
        pair_on = [c for c in pts.columns if "." in c and c != arm and pts[c].n_unique() > 1]
        pair_on += [c for c in ("seed", "replicate") if c in pts.columns]
    schema = {"arm": pl.String, "reference": pl.String, "outcome": pl.String, "diff": pl.Float64,
              "lo": pl.Float64, "hi": pl.Float64, "n_pairs": pl.Int64}
    values = sorted(pts[arm].drop_nulls().unique().to_list())
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
            d = (joined[outcome].cast(pl.Float64) - joined[f"{outcome}__ref"].cast(pl.Float64))
            d_np = d.to_numpy()
            n = d_np.size
            mean = float(d_np.mean())
            se = float(d_np.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            rows.append({"arm": f"{arm}={value}", "reference": f"{arm}={ref}",
                         "outcome": outcome, "diff": mean, "lo": mean - 1.96 * se,
                         "hi": mean + 1.96 * se, "n_pairs": n})
    return pl.DataFrame(rows, schema=schema)


@styled
def forest_figure(diffs: pl.DataFrame, title: str = "sweep") -> Figure:
    """Forest plot: one row per arm and outcome, the paired difference in probability with its
    95% interval, against zero (no difference)."""
    height = 1.6 + 0.32 * max(diffs.height, 3)
    fig = new_figure(8.6, height)
    ax = fig.subplots()
    ref = diffs["reference"][0] if diffs.height else "reference"
    fig.suptitle(f"Paired differences vs {ref} — {title}")
    if diffs.is_empty():
        note(ax, "no paired runs between arms")
        return fig
    outcomes = list(dict.fromkeys(diffs["outcome"].to_list()))
    colour = {o: CYCLE[i % len(CYCLE)] for i, o in enumerate(outcomes)}
    markers = {o: m for o, m in zip(outcomes, "osD^v", strict=False)}
    labels: list[str] = []
    for i, row in enumerate(diffs.iter_rows(named=True)):
        yv = diffs.height - 1 - i
        lo, hi = row["lo"], row["hi"]
        c = colour[row["outcome"]]
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([100 * lo, 100 * hi], [yv, yv], color=c, lw=2)
        ax.plot([100 * row["diff"]], [yv], marker=markers.get(row["outcome"], "o"), color=c, ms=7,
                ls="none")
        labels.append(f"{row['arm']}: {OUTCOME_LABELS.get(row['outcome'], row['outcome'])}"
                      f" (n={row['n_pairs']})")
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(range(diffs.height)[::-1], labels)
    ax.set_xlabel("difference in probability vs reference arm (percentage points, 95% CI)")
    ax.grid(axis="y", visible=False)
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
    """Mean alignment per arm: median over that arm's runs with the 5-95% band."""
    fig = new_figure(10, 4.8)
    ax = fig.subplots()
    fig.suptitle(f"Drift by {arm}: median over runs, 5-95% band — {title}")
    run_key = "replicate" if "replicate" in metrics.columns else None
    for i, (value, part) in enumerate(sorted(metrics.group_by(arm), key=lambda t: t[0][0])):
        colour = CYCLE[i % len(CYCLE)]
        band = (replicate_bands(part, "alignment_mean", by=run_key) if run_key else
                part.group_by("day").agg(pl.col("alignment_mean").median().alias("median"),
                                         pl.col("alignment_mean").quantile(0.05).alias("p05"),
                                         pl.col("alignment_mean").quantile(0.95).alias("p95"),
                                         pl.len().alias("n")).sort("day"))
        days = column(band, "day")
        ax.fill_between(days, column(band, "p05"), column(band, "p95"), color=colour, alpha=0.2,
                        lw=0)
        ax.plot(days, column(band, "median"), color=colour, label=f"{arm} = {value[0]}")
    ax.set_xlabel(DAY_LABEL)
    ax.set_ylabel("mean alignment a (0-1)")
    ax.legend(loc="best", fontsize=8)
    return fig


SWEEP_VIEWS: dict[str, tuple[str, str]] = {
    "basin": ("P(stayed in basin) heatmap",
              "Share of runs whose every generation stayed above a*, per grid cell (n runs), "
              "with the analytic required tax τ_req(a0) overlaid."),
    "forest": ("Paired differences between arms",
               "Difference in P(outcome) between each arm and the reference arm over runs paired "
               "by seed and the other parameters, with 95% intervals."),
    "drift": ("Drift by arm",
              "Mean alignment over time per arm: median over runs with the 5-95% band "
              "(only when the sweep stored its metrics)."),
}


def render_sweep_views(
    sweep: Sweep, views: Iterable[str] | None = None
) -> tuple[dict[str, Figure], list[str]]:
    figures: dict[str, Figure] = {}
    notes: list[str] = []
    title = str(sweep.manifest.get("name") or sweep.manifest.get("scenario_name")
                or sweep.path.name)
    scenario = sweep.manifest.get("scenario")
    arm = arm_parameter(sweep)
    for name in check_views(views, list(SWEEP_VIEWS)):
        if name == "basin":
            axes = heatmap_axes(sweep.parameters)
            if axes is None:
                notes.append("basin: skipped, fewer than two swept parameters.")
                continue
            figures[name] = basin_heatmap_figure(sweep.points, *axes, scenario=scenario,
                                                 title=title)
        elif name == "forest":
            if arm is None:
                notes.append("forest: skipped, no swept parameter to form arms.")
                continue
            figures[name] = forest_figure(
                paired_differences(sweep.points, arm, reference=reference_value(sweep, arm)),
                title=title)
        elif name == "drift":
            if sweep.metrics is None or arm is None or arm not in sweep.metrics.columns:
                notes.append("drift: skipped, the sweep has no metrics dataset with the arm "
                             "parameter as a column.")
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
    target = Path(out_dir) if out_dir is not None else Path(sweep_dir) / "figures"
    return [save_figure(f, target / f"{n}.{fmt}", fmt) for n, f in figures.items()]


def sweep_report_html(sweep_dir: str | Path, figures_dir: str | Path | None = None) -> str:
    sweep = load_sweep(sweep_dir)
    figures, notes = render_sweep_views(sweep)
    if figures_dir is not None:
        for n, f in figures.items():
            save_figure(f, Path(figures_dir) / f"{n}.png")
    pts = usable(sweep.points)
    overview = table([
        ("runs", sweep.points.height), ("finished runs used", pts.height),
        ("swept parameters", ", ".join(sweep.parameters) or "-"),
    ] + [(f"P({OUTCOME_LABELS[o]}) overall", float(np.nanmean(column(pts, o))))
         for o in SWEEP_OUTCOMES if o in pts.columns and pts.height], ["what", "value"])
    by = list(sweep.parameters)
    cells_html = ""
    if by:
        parts = []
        for o in SWEEP_OUTCOMES:
            c = cell_probabilities(sweep.points, by, o)
            parts.append(f"<h3>P({esc(OUTCOME_LABELS[o])}) with Wilson 95% interval</h3>"
                         + table(c.rows(), c.columns))
        cells_html = "".join(parts)
    arm = arm_parameter(sweep)
    diffs_html = ""
    if arm is not None:
        d = paired_differences(sweep.points, arm, reference=reference_value(sweep, arm))
        diffs_html = "<h3>Paired differences</h3>" + table(d.rows(), d.columns)
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    sections = [
        Section("summary", "Sweep summary", overview),
        Section("views", f"Views ({len(figures)})",
                note_html + figures_section(figures, SWEEP_VIEWS)),
        Section("cells", "Outcomes per grid point", cells_html + diffs_html),
    ]
    if isinstance(sweep.manifest.get("scenario"), Mapping):
        sections.append(Section("scenario", "Base scenario (resolved)",
                                scenario_html(sweep.manifest["scenario"])))
    sections.append(Section("provenance", "Provenance", provenance_html(sweep.manifest,
                                                                        sweep.path)))
    name = sweep.manifest.get("name") or sweep.path.name
    return page(f"society sweep report: {name}", str(sweep.manifest.get("question") or ""),
                sections, "society report")
