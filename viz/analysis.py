"""Figures of ``society analyze`` and the sweep report's section on them.

One figure per method: Sobol indices as bars with their intervals, Morris mu* against sigma,
one-at-a-time effects as a tornado (each key's two ends around the medians),
PRIM's peeling trajectory (coverage against density, the chosen box marked), and the frontier
as a line with its interval band on the P(target) heatmap of the grid (cells with their Wilson
intervals, drawn by :func:`viz.sweep.basin_heatmap_figure`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from viz.load import _flatten_sweep_manifest
from viz.runviews import save_figure
from viz.style import OKABE_ITO, new_figure, plain, styled

if TYPE_CHECKING:
    from society.analysis.data import SweepData
    from society.analysis.results import Analysis


def draw_analysis(data: SweepData, analysis: Analysis, path: Path) -> Path:
    """Draw ``analysis``'s figure to ``path`` (PNG) and return it."""
    # User text (the sweep's name, a target named after a column) drawn literally.
    title = plain(data.name)
    label = plain(analysis.target.label)
    if analysis.method == "sobol":
        fig = sobol_figure(analysis.table, label, title)
    elif analysis.method == "morris":
        fig = morris_figure(analysis.table, label, title)
    elif analysis.method == "oat":
        fig = oat_figure(analysis.table, label, title)
    elif analysis.method == "prim":
        fig = prim_figure(analysis.table, label, title)
    else:
        fig = frontier_figure(data, analysis, title)
    return save_figure(fig, path, "png")


@styled
def sobol_figure(indices: pl.DataFrame, label: str, title: str = "sweep") -> Figure:
    """First-order (S1) and total (ST) Sobol indices per key with their bootstrap intervals,
    keys by total index; S2 (if sampled) in a second panel."""
    first = indices.filter(pl.col("index") == "S1")
    total = indices.filter(pl.col("index") == "ST")
    order = total.sort("value", descending=True, maintain_order=True)["parameter"].to_list()
    second = indices.filter(pl.col("index") == "S2").sort("value", descending=True).head(8)
    panels = 2 if second.height else 1
    fig = new_figure(9.0, 1.8 + 0.55 * max(len(order), 3) + (2.2 if panels == 2 else 0))
    axes = fig.subplots(panels, 1, squeeze=False, height_ratios=[3, 2][:panels])[:, 0]
    ax = axes[0]
    fig.suptitle(f"Which assumptions matter for {label}? Sobol indices — {title}")
    ypos = np.arange(len(order))[::-1]
    for offset, part, colour, name in (
        (0.2, first, OKABE_ITO["sky_blue"], "S1: alone (first order)"),
        (-0.2, total, OKABE_ITO["blue"], "ST: with interactions (total)"),
    ):
        by_key = {r["parameter"]: r for r in part.iter_rows(named=True)}
        values = np.array([by_key[k]["value"] for k in order])
        conf = np.array([by_key[k]["conf"] for k in order])
        ax.barh(ypos + offset, values, height=0.38, color=colour, label=name)
        ax.errorbar(values, ypos + offset, xerr=conf, fmt="none", ecolor="0.15", capsize=3, lw=1.1)
    ax.set_yticks(ypos, order)
    ax.axvline(0, color="0.3", lw=0.8)
    ends = pl.concat([first, total]).select(
        (pl.col("value") - pl.col("conf")).min().alias("low"),
        (pl.col("value") + pl.col("conf")).max().alias("high"),
    )
    low, high = float(ends["low"][0] or 0.0), float(ends["high"][0] or 1.0)
    ax.set_xlim(min(-0.05, low - 0.02), max(1.0, high + 0.02))
    ax.set_xlabel(f"share of the variance of {label} over the priors (95% bootstrap interval)")
    ax.legend(loc="lower right")
    ax.grid(axis="y", visible=False)
    if panels == 2:
        ax2 = axes[1]
        names = [f"{r['parameter']} x {r['other']}" for r in second.iter_rows(named=True)]
        y2 = np.arange(len(names))[::-1]
        ax2.barh(y2, second["value"].to_numpy(), color=OKABE_ITO["reddish_purple"], height=0.6)
        ax2.errorbar(
            second["value"].to_numpy(),
            y2,
            xerr=second["conf"].to_numpy(),
            fmt="none",
            ecolor="0.15",
            capsize=3,
        )
        ax2.set_yticks(y2, names)
        ax2.axvline(0, color="0.3", lw=0.8)
        ax2.set_title("S2: pairwise interactions (largest)", fontsize=10)
        ax2.grid(axis="y", visible=False)
    return fig


@styled
def morris_figure(effects: pl.DataFrame, label: str, title: str = "sweep") -> Figure:
    """mu* (how much a key moves the target) against sigma (how much that depends on the
    other keys), with mu*'s bootstrap interval and the sigma/mu* = 0.1, 0.5 and 1 guides."""
    fig = new_figure(8.6, 6.0)
    ax = fig.subplots()
    fig.suptitle(f"Which assumptions matter for {label}? Morris screening — {title}")
    mu_star, sigma = effects["mu_star"].to_numpy(), effects["sigma"].to_numpy()
    conf = effects["mu_star_conf"].to_numpy()
    top = float(max(mu_star.max(initial=0.0) + conf.max(initial=0.0), sigma.max(initial=0.0)))
    top = top * 1.15 if top > 0 else 1.0
    line = np.array([0.0, top])
    for ratio, style in ((0.1, ":"), (0.5, "--"), (1.0, "-.")):
        ax.plot(
            line, ratio * line, color="0.55", lw=0.9, ls=style, label=f"sigma / mu* = {ratio:g}"
        )
    ax.errorbar(
        mu_star,
        sigma,
        xerr=conf,
        fmt="o",
        color=OKABE_ITO["blue"],
        ecolor=OKABE_ITO["sky_blue"],
        capsize=3,
        ms=7,
        label="key (mu* with its 95% bootstrap interval)",
    )
    for name, x, y in zip(effects["parameter"], mu_star, sigma, strict=True):
        ax.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8.5)
    ax.set_xlim(-0.02 * top, top)
    ax.set_ylim(-0.02 * top, top)
    ax.set_xlabel(f"mu*: mean absolute change of {label} over the whole prior of the key")
    ax.set_ylabel("sigma: spread of the effect (interactions, non-linearity)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


#: The tornado shows at most this many keys (the largest effects); the caption counts the rest.
TORNADO_KEYS = 20


@styled
def oat_figure(effects: pl.DataFrame, label: str, title: str = "sweep") -> Figure:
    """A tornado: for the keys with the largest one-at-a-time effects, a bar from the medians'
    value to the value with the key at its 5% quantile and one to its 95% quantile, each with
    the paired interval of the change; keys that move nothing are counted in the caption."""
    moving = effects.filter(pl.col("moves"))
    shown = moving.head(TORNADO_KEYS)
    smaller, still = moving.height - shown.height, effects.height - moving.height
    fig = new_figure(9.4, 2.2 + 0.42 * max(shown.height, 3))
    ax = fig.subplots()
    fig.suptitle(f"Which assumptions move {label} on their own? One at a time — {title}")
    references = effects["reference"].drop_nans().to_list()
    reference = sum(references) / len(references) if references else 0.0
    ypos = np.arange(shown.height)[::-1]
    for end, colour, name in (
        ("low", OKABE_ITO["sky_blue"], "key at its prior's 5% quantile"),
        ("high", OKABE_ITO["vermillion"], "key at its prior's 95% quantile"),
    ):
        change = shown[f"{end}_diff"].to_numpy()
        lo, hi = shown[f"{end}_diff_lo"].to_numpy(), shown[f"{end}_diff_hi"].to_numpy()
        offset = 0.18 if end == "low" else -0.18
        ax.barh(ypos + offset, change, left=reference, height=0.34, color=colour, label=name)
        err = np.nan_to_num(np.vstack([change - lo, hi - change]), nan=0.0)
        ax.errorbar(
            reference + change, ypos + offset, xerr=err, fmt="none", ecolor="0.2", capsize=2, lw=1
        )
    names = [
        f"{r['parameter']}  ({_short(r['low_value'])} / {_short(r['high_value'])})"
        for r in shown.iter_rows(named=True)
    ]
    ax.set_yticks(ypos, names if names else [])
    ax.axvline(reference, color="0.25", lw=1.0, label=f"all at their medians: {reference:.3g}")
    ax.set_xlabel(f"{label} (mean over the replicates; bars: paired 95% interval of the change)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right", fontsize=8)
    if not shown.height:
        ax.text(0.5, 0.5, f"no key moves {label} on its own", transform=ax.transAxes, ha="center")
    counted = [
        f"{smaller} more keys move it less" if smaller else "",
        f"{still} keys move it by nothing their interval tells from 0" if still else "",
    ]
    if any(counted):
        ax.set_title("; ".join(c for c in counted if c), fontsize=9, color="0.3")
    return fig


def _short(x: float) -> str:
    from society.analysis.oat import show

    return show(x)


@styled
def prim_figure(trajectory: pl.DataFrame, label: str, title: str = "sweep") -> Figure:
    """PRIM's peeling trajectory: coverage against density of every box, coloured by how many
    keys the box limits, the selected box and the pasted box marked, its limits written."""
    fig = new_figure(8.8, 6.2)
    ax = fig.subplots()
    fig.suptitle(f"Where is {label} concentrated? PRIM peeling trajectory — {title}")
    peel = trajectory.filter(pl.col("stage") == "peel")
    points = ax.scatter(
        peel["coverage"].to_numpy(),
        peel["density"].to_numpy(),
        c=peel["restricted"].to_numpy(),
        cmap="viridis",
        s=28,
        zorder=3,
        label="box after each peel",
    )
    ax.plot(peel["coverage"].to_numpy(), peel["density"].to_numpy(), color="0.6", lw=0.8, zorder=2)
    bar = fig.colorbar(points, ax=ax, label="keys the box limits")
    bar.set_ticks(sorted(set(peel["restricted"].to_list())))
    selected = peel.filter(pl.col("selected"))
    pasted = trajectory.filter(pl.col("stage") == "simplified")
    if selected.height:
        ax.scatter(
            selected["coverage"],
            selected["density"],
            s=160,
            facecolors="none",
            edgecolors=OKABE_ITO["vermillion"],
            lw=2,
            zorder=4,
            label="selected (best coverage-density balance)",
        )
    if pasted.height:
        row = pasted.row(0, named=True)
        ax.scatter(
            [row["coverage"]],
            [row["density"]],
            marker="*",
            s=220,
            color=OKABE_ITO["vermillion"],
            zorder=5,
            label="after pasting and simplifying (reported)",
        )
        ax.set_title("\n".join(_wrap(f"{label} when {row['limits']}", 90)), fontsize=9.5)
    base = float(peel["density"][0]) if peel.height else math.nan
    ax.axhline(base, color="0.4", lw=0.9, ls="--", label=f"whole sweep ({base:.2f})")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(f"coverage: share of all {label} inside the box")
    ax.set_ylabel(f"density: {label} inside the box")
    ax.legend(loc="lower left", fontsize=8)
    return fig


def frontier_figure(data: SweepData, analysis: Analysis, title: str = "sweep") -> Figure:
    """The P(target) heatmap over the grid (cells with their Wilson intervals) with the
    frontier drawn through the rows and its interval as a hatched band on each row."""
    from society.analysis.data import value_column
    from viz.sweep import basin_heatmap_figure

    target = analysis.target
    details = analysis.details
    by, along, p = details["by"], details["along"], float(details["p"])
    column = target.label.removeprefix("P(").removesuffix(")")
    value = pl.col(target.column)
    if target.threshold is not None:
        value = value < target.threshold if target.below else value >= target.threshold
    points = data.points.with_columns(value.alias(column))
    # A sweep stores lab.tax as lab__tax: the heatmap reads the grid keys by their dotted names.
    stored_as = {k: value_column(points, k) for k in (by, along)}
    points = points.rename({c: k for k, c in stored_as.items() if c is not None and c != k})
    if "stayed_in_basin" in points.columns:
        points = points.drop_nulls("stayed_in_basin")  # as the sweep views use the runs
    scenario = _flatten_sweep_manifest(data.manifest).get("scenario")
    fig = basin_heatmap_figure(points, along, by, scenario=scenario, outcomes=[column], title=title)
    ax = fig.axes[0]
    _draw_frontier(ax, analysis.table, p, target.label, analysis.details["direction"])
    fig.legends.clear()
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=1, fontsize=8.5)
    return fig


def _draw_frontier(ax: Any, rows: pl.DataFrame, p: float, label: str, direction: str) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    values = np.sort(rows["by_value"].to_numpy())
    edges = _edges(values, y0, y1)
    colour = OKABE_ITO["vermillion"]
    first = True
    for r in rows.sort("by_value").iter_rows(named=True):
        i = int(np.searchsorted(values, r["by_value"]))
        lo = r["lo"] if math.isfinite(r["lo"]) else (x0 if direction == "increasing" else x1)
        hi = r["hi"] if math.isfinite(r["hi"]) else (x1 if direction == "increasing" else x0)
        # A strip along the bottom of the row, so the cells' own text stays readable.
        bottom = edges[i] + 0.04 * (edges[i + 1] - edges[i])
        ax.fill_betweenx(
            [bottom, bottom + 0.2 * (edges[i + 1] - edges[i])],
            min(lo, hi),
            max(lo, hi),
            facecolor=(*to_rgb(colour), 0.45),
            edgecolor="white",
            hatch="///",
            lw=0.0,
            zorder=3,
            label="frontier's interval (Wilson bounds inverted)" if first else "_nolegend_",
        )
        first = False
    found = rows.filter(pl.col("estimate").is_not_nan()).sort("by_value")
    smallest = "smallest" if direction == "increasing" else "largest"
    ax.plot(
        found["estimate"].to_numpy(),
        found["by_value"].to_numpy(),
        color=colour,
        lw=2.4,
        marker="o",
        ms=7,
        mec="white",
        zorder=4,
        label=f"frontier: {smallest} value with {label} >= {p:g} (isotonic fit)",
    )


def _edges(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Row edges of the heatmap: halfway between values, the axis limits at the ends."""
    if values.size == 1:
        return np.array([low, high])
    mid = (values[1:] + values[:-1]) / 2
    return np.concatenate([[low], mid, [high]])


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


__all__ = [
    "draw_analysis",
    "frontier_figure",
    "morris_figure",
    "oat_figure",
    "prim_figure",
    "sobol_figure",
]
