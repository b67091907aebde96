"""Lab: lead time, deference and tax, incidents, and capability progress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from viz._common import column, day_axis, events_legend, mark_events, note
from viz.style import EXOGENOUS_EVENTS, OKABE_ITO, new_figure, styled, suptitle


@styled
def lab_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Lead over the rival, deference with the tax, cumulative incidents, capability."""
    fig = new_figure(10, 6.4)
    axes = fig.subplots(2, 2, sharex=True)
    (lead, defer), (incid, cap) = axes
    suptitle(fig, "Lab", manifest)
    if metrics.is_empty():
        for ax in axes.ravel():
            note(ax, "no metrics recorded")
        return fig
    m = metrics.sort("day")
    days = column(m, "day")
    lead.plot(days, column(m, "lead_days"), color=OKABE_ITO["blue"], label="lead L")
    lead.axhline(0, color=OKABE_ITO["vermillion"], lw=1, ls="--", label="lead lost (L = 0)")
    lead.set_ylabel("lead over nearest rival (days)")
    lead.set_title("lead time")
    lead.legend(loc="best", fontsize=8)
    defer.plot(days, column(m, "deference"), color=OKABE_ITO["blue"], label="deference d")
    defer.plot(days, column(m, "tax"), color=OKABE_ITO["orange"], ls="--", label="tax τ in force")
    defer.plot(days, column(m, "effective_tax"), color=OKABE_ITO["bluish_green"], ls="-.",
               label="effective tax (τ × quality)")
    defer.set_ylabel("deference (0-1) / tax (ratio)")
    defer.set_title("deference and tax")
    defer.set_ylim(bottom=0)
    defer.legend(loc="best", fontsize=8)
    incid.plot(days, column(m, "incidents_caught"), color=OKABE_ITO["bluish_green"],
               label="caught by monitoring")
    incid.plot(days, column(m, "incidents_uncaught"), color=OKABE_ITO["vermillion"], ls="--",
               label="slipped through")
    incid.set_ylabel("misaligned actions (cumulative count)")
    incid.set_title("incidents")
    incid.legend(loc="upper left", fontsize=8)
    cap.plot(days, column(m, "capability"), color=OKABE_ITO["blue"], label="capability")
    cap.plot(days, column(m, "alignment_research"), color=OKABE_ITO["orange"], ls="--",
             label="alignment research stock")
    cap.set_ylabel("milestones / stock units")
    cap.set_title("research progress")
    cap.legend(loc="upper left", fontsize=8)
    for ax in axes[1]:
        day_axis(ax, days)
    handles = mark_events(list(axes.ravel()), events,
                          (*EXOGENOUS_EVENTS, "pressure_resisted", "lost_lead", "catastrophe"))
    events_legend(fig, handles)
    return fig
