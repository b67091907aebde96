"""Echo chambers: neighbour correlation, modularity, opinion clusters and distance of the
consensus from the truth over time; and network snapshots coloured by belief."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from viz._common import column, day_axis, events_legend, mark_events, note
from viz.style import DIVERGING_CMAP, EXOGENOUS_EVENTS, OKABE_ITO, new_figure, styled, suptitle

ECHO_PANELS = (
    ("echo_r", "neighbour correlation r", "Pearson r (-1 to 1)"),
    ("modularity", "modularity of opinion camps", "Newman Q"),
    ("n_opinion_clusters", "major opinion clusters", "clusters (count)"),
    ("belief_truth_distance", "distance of median belief from truth", "belief units"),
)
MAX_SNAPSHOT_NODES = 600


@styled
def echo_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Four panels of echo-chamber metrics against simulated day."""
    fig = new_figure(10, 6.4)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    suptitle(fig, "Echo chambers", manifest)
    if metrics.is_empty():
        for ax in axes:
            note(ax, "no metrics recorded")
        return fig
    m = metrics.sort("day")
    days = column(m, "day")
    colours = [OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "vermillion")]
    for ax, (key, title, unit), colour in zip(axes, ECHO_PANELS, colours, strict=True):
        values = column(m, key)
        if key == "n_opinion_clusters":
            ax.step(days, values, where="post", color=colour)
            ax.yaxis.get_major_locator().set_params(integer=True)
            # From zero, with headroom: a constant count reads as a level, not a flat line
            # between ticks 0.96 and 1.04.
            top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
            ax.set_ylim(0, max(2.0, top) + 0.5)
        else:
            ax.plot(days, values, color=colour, lw=1.0, alpha=0.45)
            ax.plot(days, _rolling(values, 7), color=colour, label="7-day mean")
            ax.legend(loc="best", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(unit)
    for ax in axes[2:]:
        day_axis(ax, days)
    events_legend(fig, mark_events(list(axes), events, (*EXOGENOUS_EVENTS, "poisoning")))
    return fig


def _rolling(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` rows, ignoring NaN."""
    s = pl.Series(values)
    return s.rolling_mean(window, min_samples=1).fill_nan(None).fill_null(np.nan).to_numpy()


def snapshot_days(nodes: pl.DataFrame, days: Sequence[int] | None = None, k: int = 4) -> list[int]:
    """The chosen snapshot days that exist, or up to ``k`` spread over the recorded ones."""
    have = sorted(set(nodes["day"].to_list()))
    if days:
        chosen = [d for d in days if d in have]
        if chosen:
            return chosen
    if len(have) <= k:
        return have
    idx = np.linspace(0, len(have) - 1, k).round().astype(int)
    return [have[i] for i in sorted(set(idx.tolist()))]


def _sample_nodes(edges: pl.DataFrame, nodes: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Up to ``limit`` nodes grown breadth-first from random seeds, so the drawn part of a big
    network keeps its local structure (a uniform sample of a sparse graph has almost no links)."""
    if nodes.size <= limit:
        return nodes
    g = nx.Graph()
    g.add_nodes_from(nodes.tolist())
    g.add_edges_from(zip(edges["u"].to_list(), edges["v"].to_list(), strict=True))
    rng = np.random.default_rng(seed)
    picked: dict[int, None] = {}
    while len(picked) < limit:
        start = int(rng.choice(nodes))
        for node in nx.bfs_tree(g, start):
            picked[node] = None
            if len(picked) >= limit:
                break
    return np.array(list(picked))


@styled
def network_figure(
    nodes: pl.DataFrame,
    edges: pl.DataFrame,
    days: Sequence[int] | None = None,
    manifest: Mapping[str, Any] | None = None,
    max_nodes: int = MAX_SNAPSHOT_NODES,
) -> Figure:
    """Network snapshots at chosen days, instances coloured by opinion (belief), reward-hacking
    instances ringed. One layout (from the first snapshot) is reused so days are comparable;
    networks larger than ``max_nodes`` are drawn as a breadth-first sample of that size."""
    chosen = snapshot_days(nodes, days) if not nodes.is_empty() else []
    # At most two snapshots a row: four in one row made a 1790 x 420 strip with tiny text.
    ncols = min(2, max(1, len(chosen)))
    nrows = max(1, math.ceil(len(chosen) / ncols))
    fig = new_figure(4.4 * ncols + 1.3, 4.3 * nrows + 0.5)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for extra in axes[len(chosen) :] if chosen else []:
        extra.set_visible(False)
    axes = axes[: max(1, len(chosen))]
    suptitle(fig, "Network snapshots (colour = opinion)", manifest)
    if not chosen:
        note(axes[0], "no network snapshots recorded")
        return fig
    first = nodes.filter(pl.col("day") == chosen[0])
    first_edges = edges.filter(pl.col("day") == chosen[0])
    all_ids = np.sort(first["node"].to_numpy())
    keep = _sample_nodes(first_edges, all_ids, max_nodes, seed=0)
    keep_set = keep.tolist()
    g0 = nx.Graph()
    g0.add_nodes_from(keep.tolist())
    sub0 = first_edges.filter(pl.col("u").is_in(keep_set) & pl.col("v").is_in(keep_set))
    g0.add_edges_from(zip(sub0["u"].to_list(), sub0["v"].to_list(), strict=True))
    pos = nx.spring_layout(g0, seed=1, iterations=40)
    xy = np.array([pos[n] for n in keep])
    index = {int(n): i for i, n in enumerate(keep)}
    # Colour range: the 98th percentile of |opinion|, so a few extreme instances do not wash
    # out everyone else (they saturate at the ends of the colour bar).
    lim = float(np.nanpercentile(np.abs(nodes["opinion"].to_numpy()), 98)) or 1.0
    scatter = None
    any_hacking = False
    for ax, day in zip(axes, chosen, strict=True):
        nd = nodes.filter((pl.col("day") == day) & pl.col("node").is_in(keep_set)).sort("node")
        ed = edges.filter(
            (pl.col("day") == day) & pl.col("u").is_in(keep_set) & pl.col("v").is_in(keep_set)
        )
        if ed.height:
            iu = np.array([index[int(u)] for u in ed["u"].to_list()])
            iv = np.array([index[int(v)] for v in ed["v"].to_list()])
            segs = np.stack([xy[iu], xy[iv]], axis=1)
            ax.add_collection(LineCollection(list(segs), colors="0.6", linewidths=0.3, alpha=0.5))
        ids = np.array([index[int(n)] for n in nd["node"].to_list()], dtype=int)
        p = xy[ids] if ids.size else np.empty((0, 2))
        hack = nd["hacking"].to_numpy().astype(bool) if "hacking" in nd.columns else None
        scatter = ax.scatter(
            p[:, 0],
            p[:, 1],
            c=nd["opinion"].to_numpy(),
            cmap=DIVERGING_CMAP,
            vmin=-lim,
            vmax=lim,
            s=12,
            linewidths=0,
            zorder=3,
        )
        if hack is not None and hack.any():
            ax.scatter(
                p[hack, 0],
                p[hack, 1],
                s=40,
                facecolors="none",
                edgecolors=OKABE_ITO["black"],
                linewidths=0.9,
                zorder=4,
            )
            any_hacking = True
        mean_a = float(np.nanmean(column(nd, "alignment"))) if nd.height else np.nan
        ax.set_title(
            f"day {day}: {nd.height} instances drawn\nmean alignment {mean_a:.2f}", fontsize=11
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_aspect("equal")
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
    if scatter is not None:
        fig.colorbar(
            scatter, ax=list(axes), shrink=0.8, extend="both", label="opinion (belief units)"
        )
    if any_hacking:
        ring = Line2D(
            [],
            [],
            ls="none",
            marker="o",
            mfc="none",
            mec=OKABE_ITO["black"],
            ms=7,
            label="reward-hacking instance",
        )
        fig.legend(handles=[ring], loc="outside lower center")
    if all_ids.size > max_nodes:
        fig.text(
            0.01,
            0.01,
            f"breadth-first sample of {max_nodes} of {all_ids.size} instances",
            fontsize=8,
            color="0.35",
        )
    return fig
