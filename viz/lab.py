"""Lab: lead time, deference and tax, incidents, knowledge against difficulty, and the daily
catastrophe hazards.

The acute risk period ends once the total hazard at full deference (metrics column
``hazard_full``) stays at or below ``outcomes.end_annual_risk`` for ``outcomes.end_days``; the
hazard panel draws that threshold. The knowledge panel draws the margin ``m`` (alignment
knowledge over the difficulty of today's capability) beside the capability ``c``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from viz._common import column, day_axis, events_legend, mark_events, note, resolved_scenario
from viz.style import EXOGENOUS_EVENTS, OKABE_ITO, new_figure, styled, suptitle

HAZARDS = (
    ("hazard_loss_of_control", "loss of control", OKABE_ITO["vermillion"], "-"),
    ("hazard_misuse", "misuse", OKABE_ITO["reddish_purple"], "--"),
    ("hazard_rival_ahead", "rival ahead", OKABE_ITO["orange"], "-."),
)


@styled
def lab_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Lead over the rival, deference with the tax, cumulative incidents, knowledge against
    difficulty (the margin and the capability), daily hazards by cause with the end-of-period
    threshold, and the work one instance-day yields."""
    fig = new_figure(10, 9.2)
    axes = fig.subplots(3, 2, sharex=True)
    (lead, defer), (incid, prog), (hazard, work) = axes
    suptitle(fig, "Lab", manifest)
    if metrics.is_empty():
        for ax in axes.ravel():
            note(ax, "no metrics recorded")
        return fig
    m = metrics.sort("day")
    days = column(m, "day")
    lead.plot(days, column(m, "lead_days"), color=OKABE_ITO["blue"], label="lead L")
    lead.axhline(0, color=OKABE_ITO["vermillion"], lw=1, ls="--", label="lead lost (L = 0)")
    lead.set_ylabel("lead over the rival\n(days of its progress)")
    lead.set_title("lead time")
    lead.legend(loc="best", fontsize=8)
    defer.plot(days, column(m, "deference"), color=OKABE_ITO["blue"], label="deference d")
    defer.plot(days, column(m, "tax"), color=OKABE_ITO["orange"], ls="--", label="tax τ in force")
    defer.plot(
        days,
        column(m, "effective_tax"),
        color=OKABE_ITO["bluish_green"],
        ls="-.",
        label="effective tax (τ × quality)",
    )
    defer.set_ylabel("deference (0-1) / tax (ratio)")
    defer.set_title("deference and tax")
    defer.set_ylim(bottom=0)
    defer.legend(loc="best", fontsize=8)
    incid.plot(
        days,
        column(m, "incidents_caught"),
        color=OKABE_ITO["bluish_green"],
        label="caught by monitoring",
    )
    incid.plot(
        days,
        column(m, "incidents_uncaught"),
        color=OKABE_ITO["vermillion"],
        ls="--",
        label="slipped through",
    )
    incid.set_ylabel("misaligned actions\n(cumulative count)")
    incid.set_title("incidents")
    incid.legend(loc="upper left", fontsize=8)
    _progress(prog, m, days, manifest)
    _hazards(hazard, m, days, manifest)
    work.plot(
        days,
        column(m, "work_per_instance"),
        color=OKABE_ITO["blue"],
        label="work-days per instance-day",
    )
    work.set_ylabel("work-days per\ninstance-day")
    work.set_title("output per instance (human bottleneck, tests)")
    work.set_ylim(bottom=0)
    work.legend(loc="lower right", fontsize=8)
    for ax in axes[-1]:
        day_axis(ax, days)
    handles = mark_events(
        list(axes.ravel()),
        events,
        (
            *EXOGENOUS_EVENTS,
            "pressure_resisted",
            "final_evaluation",
            "lost_lead",
            "catastrophe",
            "safe",
        ),
    )
    events_legend(fig, handles)
    return fig


def _progress(ax: Any, m: pl.DataFrame, days: Any, manifest: Mapping[str, Any] | None) -> None:
    """The margin m of alignment knowledge over difficulty (log scale; 1 = knowledge just
    matches the difficulty of today's capability), with the capability c on a twin axis."""
    if "margin" not in m.columns:
        note(ax, "no knowledge recorded (a run of an older model version)")
        return
    ax.plot(days, column(m, "margin"), color=OKABE_ITO["bluish_green"], label="margin m = Z / D(c)")
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":", label="knowledge = difficulty")
    ax.set_yscale("log")
    ax.set_ylabel("alignment knowledge /\ndifficulty (log)")
    twin = ax.twinx()
    twin.plot(days, column(m, "capability"), color=OKABE_ITO["blue"], ls="--", label="capability c")
    twin.set_ylabel("capability c\n(1 = minimum viable)")
    twin.set_ylim(bottom=0)
    twin.legend(loc="lower right", fontsize=8)
    ax.set_title("knowledge against difficulty")
    ax.legend(loc="upper left", fontsize=8)


def _hazards(ax: Any, m: pl.DataFrame, days: Any, manifest: Mapping[str, Any] | None) -> None:
    """Today's hazards by cause and the total at full deference (log scale), with the
    threshold below which the acute risk period ends."""
    for key, label, colour, ls in HAZARDS:
        if key in m.columns:
            ax.plot(days, column(m, key), color=colour, ls=ls, label=label)
    if "hazard_full" in m.columns:
        ax.plot(
            days, column(m, "hazard_full"), color="0.2", lw=1.4, label="total at full deference"
        )
    scen = (manifest or {}).get("scenario")
    if isinstance(scen, Mapping):
        outcomes = resolved_scenario(scen).get("outcomes", {})
        if "end_annual_risk" in outcomes:
            h_end = -math.log1p(-float(outcomes["end_annual_risk"])) / 365.0
            ax.axhline(
                h_end,
                color=OKABE_ITO["bluish_green"],
                lw=1.2,
                ls="--",
                label=f"period ends below ({float(outcomes['end_annual_risk']):.0%} a year)",
            )
    ax.set_yscale("log")
    ax.set_ylabel("catastrophe hazard\n(per day, log)")
    ax.set_title("daily catastrophe hazards by cause")
    ax.legend(loc="upper left", fontsize=7)
