"""The generation ladder: each generation's alignment against its basin (docs/model.md,
"Successors": from the edge a*_eff, once the generation's erosion and the reward-hacking loss
are counted, to the attractor the knowledge sustains), and the successor map's gain at the
first and last generation's margin of knowledge, with the run's hand-offs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from society.mechanisms.generations import basin_roots, knowledge_return, trained_alignment
from viz._common import column, note, resolved_scenario
from viz.style import OKABE_ITO, new_figure, styled, suptitle

BASIN = OKABE_ITO["bluish_green"]
OUTSIDE = OKABE_ITO["vermillion"]


def generation_spread(metrics: pl.DataFrame) -> pl.DataFrame:
    """Alignment percentiles on each generation's last recorded day."""
    if metrics.is_empty() or "generation" not in metrics.columns:
        return pl.DataFrame(schema={"generation": pl.Int32})
    return (
        metrics.sort("day")
        .group_by("generation", maintain_order=True)
        .agg(pl.col("alignment_p05", "alignment_p50", "alignment_p95").last())
        .sort("generation")
    )


def _map_params(manifest: Mapping[str, Any] | None) -> dict[str, float] | None:
    doc = (manifest or {}).get("scenario")
    if not isinstance(doc, Mapping) or not doc:
        return None
    scen = resolved_scenario(doc)
    g = scen["generations"]
    return {"rho_max": float(g["rho_max"]), "delta": float(g["decay"])}


@styled
def ladder_figure(
    generations: pl.DataFrame,
    metrics: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Left: alignment of each generation (5-95% of instances at its end, mean, start) over the
    basin (a*_eff, 1] shaded per generation. Right: the successor map's gain and the observed
    hand-offs."""
    fig = new_figure(11, 5.2)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    suptitle(fig, "Generation ladder", manifest)
    if generations.is_empty():
        note(left, "no generation recorded")
        note(right, "no generation recorded")
        return fig
    gens = generations.sort("generation")
    g = column(gens, "generation")
    a_star = column(gens, "a_star")
    top = column(gens, "attractor") if "attractor" in gens.columns else np.ones_like(a_star)
    mean = column(gens, "mean_alignment")
    start = column(gens, "start_alignment")
    for x, s, t in zip(g, a_star, top, strict=True):
        if math.isfinite(s):
            left.fill_between([x - 0.4, x + 0.4], s, t, color=BASIN, alpha=0.15, lw=0)
            left.fill_between([x - 0.4, x + 0.4], 0, s, color=OUTSIDE, alpha=0.10, lw=0)
            left.plot([x - 0.4, x + 0.4], [s, s], color=OUTSIDE, lw=2)
        else:
            left.fill_between([x - 0.4, x + 0.4], 0, 1, color=OUTSIDE, alpha=0.18, lw=0)
            left.text(x, 0.05, "no\nbasin", ha="center", va="bottom", fontsize=8, color=OUTSIDE)
    spread = generation_spread(metrics) if metrics is not None else pl.DataFrame()
    if not spread.is_empty():
        joined = gens.select("generation").join(spread, on="generation", how="left")
        lo, med, hi = (
            column(joined, c) for c in ("alignment_p05", "alignment_p50", "alignment_p95")
        )
        left.vlines(g, lo, hi, color=OKABE_ITO["blue"], lw=6, alpha=0.45)
        left.plot(g, med, ls="none", marker="_", ms=16, mew=2, color=OKABE_ITO["blue"])
    left.plot(g, start, ls="none", marker="^", mfc="white", color=OKABE_ITO["black"], ms=7)
    left.plot(g, mean, marker="o", color=OKABE_ITO["blue"], ms=7)
    completed = column(gens, "completed")
    for x, m, c in zip(g, mean, completed, strict=True):
        if c == 0 and math.isfinite(m):
            left.annotate(
                "running",
                (x, m),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                fontsize=8,
                color="0.3",
            )
    left.set_xticks(g)
    left.set_xlim(g.min() - 0.6, g.max() + 0.6)
    left.set_ylim(0, 1)
    left.set_xlabel("generation")
    left.set_ylabel("alignment a (0-1)")
    left.set_title("alignment per generation vs effective basin boundary a*_eff")
    left.legend(
        handles=[
            Line2D([], [], color=OKABE_ITO["blue"], marker="o", label="mean (end of generation)"),
            Line2D(
                [],
                [],
                color=OKABE_ITO["black"],
                marker="^",
                mfc="white",
                ls="none",
                label="mean at start",
            ),
            Line2D(
                [], [], color=OKABE_ITO["blue"], lw=6, alpha=0.45, label="5-95% of instances (end)"
            ),
            Line2D(
                [], [], color=OUTSIDE, lw=2, label="a*_eff (effective tax, erosion, hacking loss)"
            ),
            Patch(color=BASIN, alpha=0.3, label="basin: a*_eff to the attractor"),
        ],
        loc="lower right",
        fontsize=8,
    )
    _gain(right, gens, manifest)
    return fig


def _gain(ax: Any, gens: pl.DataFrame, manifest: Mapping[str, Any] | None) -> None:
    """Alignment gained per hand-off, f(a) - a, against parent alignment, at the first and the
    last generation's margin of knowledge (its return rho(m) and ceiling); a* is where the
    curve crosses zero from below (without erosion or hacking loss: a*_eff on the left panel
    counts them), and the run's hand-offs are the numbered points."""
    params = _map_params(manifest)
    a = np.linspace(0, 1, 201)
    ax.axhline(0, color="0.4", lw=0.9)
    if params is not None and {"margin", "ceiling"} <= set(gens.columns):
        margins, ceilings = column(gens, "margin"), column(gens, "ceiling")
        picks = sorted({0, len(margins) - 1})
        colours = (OKABE_ITO["blue"], OKABE_ITO["orange"])
        for k, colour in zip(picks, colours, strict=False):
            m, top = float(margins[k]), float(ceilings[k])
            rho = knowledge_return(m, params["rho_max"])
            f = trained_alignment(a, rho, params["delta"], top)
            ax.plot(a, f - a, color=colour, label=f"f(a) - a, generation {k} (margin {m:.2f})")
            roots = basin_roots(rho, params["delta"], top)
            if roots is not None:
                b = roots[0]
                ax.plot([b], [0], marker="o", mfc="white", color=colour, ms=7, zorder=4)
                offset = (-52, 6) if k == 0 else (5, -14)
                ax.annotate(
                    f"a* = {b:.2f}",
                    (b, 0),
                    xytext=offset,
                    textcoords="offset points",
                    fontsize=8,
                    color=colour,
                )
    mean = column(gens, "mean_alignment")
    start = column(gens, "start_alignment")
    g = column(gens, "generation")
    xs, ys, labels = [], [], []
    for i in range(len(mean) - 1):
        if math.isfinite(mean[i]) and math.isfinite(start[i + 1]):
            xs.append(mean[i])
            ys.append(start[i + 1] - mean[i])
            labels.append(f"{g[i]:.0f}→{g[i + 1]:.0f}")
    if xs:
        ax.plot(
            xs,
            ys,
            ls="none",
            marker="o",
            color=OKABE_ITO["vermillion"],
            ms=6,
            zorder=5,
            label="observed hand-offs (mean at start of successor - parent)",
        )
        for k in sorted({0, len(xs) - 1}):
            x, y, lab = xs[k], ys[k], labels[k]
            ax.annotate(
                lab,
                (x, y),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7.5,
                color=OKABE_ITO["vermillion"],
            )
    else:
        ax.text(
            0.97,
            0.04,
            "single generation: no hand-off yet",
            transform=ax.transAxes,
            ha="right",
            fontsize=9,
            color="0.35",
        )
    ax.set_xlim(0, 1)
    ax.set_xlabel("parent mean alignment $a_n$ (0-1)")
    ax.set_ylabel("gain per hand-off $a_{n+1} - a_n$ (alignment)")
    ax.set_title("successor map: gain f(a) - a")
    ax.legend(loc="upper left", fontsize=7.5)
