"""Lab: lead time, deference and tax, incidents, progress toward safety, and the daily
catastrophe hazards.

The run is safe once the safety work is done (``S >= outcomes.safety_work``, metrics column
``safety_progress`` reaching 1) and the target generation is reached (capability
``generations.target x generations.milestone_work`` work-days), both in the basin and before
any catastrophe; the progress panel draws both as shares of what they need.
"""

from __future__ import annotations

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
    """Lead over the rival, deference with the tax, cumulative incidents, progress toward
    safety (capability and safety work as shares of what they need), daily hazards by cause,
    and the work one instance-day yields."""
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
    for key, label, colour, ls in HAZARDS:
        hazard.plot(days, column(m, key), color=colour, ls=ls, label=label)
    hazard.set_ylabel("catastrophe hazard\n(per day)")
    hazard.set_title("daily catastrophe hazards by cause")
    hazard.set_ylim(bottom=0)
    hazard.legend(loc="upper left", fontsize=8)
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
    """Capability as a share of the target generation's and safety work as a share of the
    required: the run is safe when both reach 1 (in the basin, before any catastrophe)."""
    scen = (manifest or {}).get("scenario")
    ax.plot(
        days,
        column(m, "safety_progress"),
        color=OKABE_ITO["orange"],
        ls="--",
        label="safety work S / S_req",
    )
    if isinstance(scen, Mapping):
        g = resolved_scenario(scen)["generations"]
        need = float(g["target"]) * float(g["milestone_work"])
        ax.plot(
            days,
            column(m, "capability") / need,
            color=OKABE_ITO["blue"],
            label=f"capability C / C_req (generation {g['target']})",
        )
        for n in range(1, int(g["target"])):
            ax.axhline(n / int(g["target"]), color="0.6", lw=0.7, ls=":")
        ax.axhline(1.0, color=OKABE_ITO["bluish_green"], lw=1.2, label="done (safe needs both)")
        ax.set_ylabel("share of what is needed\n(dotted: generations)")
    else:  # no scenario to say what is needed: capability in its own unit
        twin = ax.twinx()
        twin.plot(
            days, column(m, "capability") / 1e6, color=OKABE_ITO["blue"], label="capability C"
        )
        twin.set_ylabel("capability (million work-days)")
        twin.legend(loc="lower right", fontsize=8)
        ax.set_ylabel("safety work done\n(share of required)")
    ax.set_ylim(bottom=0)
    ax.set_title("progress toward safety")
    ax.legend(loc="upper left", fontsize=8)
