"""Coordination: failed shared tasks and revolt cascades over time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from viz._common import column, day_axis, events_legend, events_of, mark_events, note
from viz.echo import _rolling
from viz.style import EXOGENOUS_EVENTS, OKABE_ITO, new_figure, styled, suptitle


@styled
def coordination_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Top: share of shared tasks that failed each day. Bottom: revolt cascade size (share of
    instances) with recorded coordination-failure cascades marked, and the reward-hacking share."""
    fig = new_figure(10, 5.8)
    top, bottom = fig.subplots(2, 1, sharex=True)
    suptitle(fig, "Coordination", manifest)
    if metrics.is_empty():
        note(top, "no metrics recorded")
        note(bottom, "no metrics recorded")
        return fig
    m = metrics.sort("day")
    days = column(m, "day")
    fail = column(m, "coordination_failure_rate")
    top.plot(days, 100 * fail, color=OKABE_ITO["blue"], lw=1.0, alpha=0.45, label="daily")
    top.plot(days, 100 * _rolling(fail, 7), color=OKABE_ITO["blue"], label="7-day mean")
    top.set_ylabel("failed shared tasks (%)")
    top.set_title("failed shared tasks / all shared tasks")
    top.set_ylim(0, max(1.0, 1.35 * float(np.nanmax(100 * fail, initial=0.0))))
    top.legend(loc="upper left")
    revolt = column(m, "revolt_size")
    bottom.fill_between(
        days,
        0,
        100 * revolt,
        color=OKABE_ITO["vermillion"],
        alpha=0.35,
        lw=0,
        step="post",
        label="revolt cascade size",
    )
    cascades = events_of(events, ["revolt_cascade"])
    if not cascades.is_empty():
        bottom.plot(
            cascades["day"].to_numpy(),
            100 * cascades["magnitude"].to_numpy(),
            ls="none",
            marker="*",
            ms=10,
            color=OKABE_ITO["vermillion"],
            label=f"coordination-failure cascades ({cascades.height})",
        )
    bottom.plot(
        days,
        100 * column(m, "reward_hack_share"),
        color=OKABE_ITO["reddish_purple"],
        ls="--",
        label="reward-hacking instances",
    )
    if (manifest or {}).get("scenario"):
        share = manifest["scenario"]["revolt"]["failure_share"]  # type: ignore[index]
        bottom.axhline(
            100 * share,
            color="0.35",
            lw=0.9,
            ls=":",
            label=f"failure threshold ({100 * share:.0f}%)",
        )
    bottom.set_ylabel("share of instances (%)")
    bottom.set_title("revolt cascades and emergent misalignment")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize=8)
    day_axis(bottom, days)
    events_legend(fig, mark_events([top, bottom], events, (*EXOGENOUS_EVENTS, "catastrophe")))
    return fig
