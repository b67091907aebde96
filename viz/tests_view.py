"""Tests: validity of the behavioural test suite and the gaming gap over time; for runs with
LLM-backed instances, the test-awareness gap (behaviour when told it is a test minus when not)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from viz._common import column, day_axis, events_legend, events_of, mark_events, note
from viz.style import OKABE_ITO, new_figure, styled, suptitle

AWARENESS_COLUMNS = ("test_awareness_gap", "llm_test_awareness_gap")
"""Metrics column(s) an LLM run may carry; the panel is drawn only when one is present."""


def awareness_column(metrics: pl.DataFrame) -> str | None:
    for c in AWARENESS_COLUMNS:
        if c in metrics.columns and metrics[c].drop_nulls().drop_nans().len():
            return c
    return None


@styled
def tests_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Test validity corr(measured, true) with the test rounds' results, and the gaming gap."""
    aware = awareness_column(metrics) if not metrics.is_empty() else None
    rows = 3 if aware else 2
    fig = new_figure(10, 2.6 * rows + 1.2)
    axes = fig.subplots(rows, 1, sharex=True)
    suptitle(fig, "Tests", manifest)
    if metrics.is_empty():
        for ax in axes:
            note(ax, "no metrics recorded")
        return fig
    m = metrics.sort("day")
    days = column(m, "day")
    valid, gap = axes[0], axes[1]
    valid.plot(
        days, column(m, "test_validity"), color=OKABE_ITO["blue"], label="expected validity (daily)"
    )
    rounds = events_of(events, ["test_round"])
    if not rounds.is_empty():
        details = [json.loads(d or "{}") for d in rounds["details"].to_list()]
        rv = np.array([float(d.get("validity", np.nan)) for d in details])
        passed = np.array([bool(d.get("passed", True)) for d in details])
        rd = rounds["day"].to_numpy()
        valid.plot(
            rd[passed],
            rv[passed],
            ls="none",
            marker="o",
            color=OKABE_ITO["bluish_green"],
            label=f"test round passed ({int(passed.sum())})",
        )
        if (~passed).any():
            valid.plot(
                rd[~passed],
                rv[~passed],
                ls="none",
                marker="X",
                ms=8,
                color=OKABE_ITO["vermillion"],
                label=f"test round failed ({int((~passed).sum())})",
            )
    valid.set_ylabel("corr(measured, true alignment)")
    valid.set_title("test validity")
    valid.legend(loc="best", fontsize=8)
    gap.plot(
        days,
        column(m, "gaming_gap"),
        color=OKABE_ITO["vermillion"],
        label="mean measured - true alignment",
    )
    gap.axhline(0, color="0.4", lw=0.8)
    gap.set_ylabel("gaming gap (alignment units)")
    gap.set_title("gaming gap (overfitting + gaming)")
    gap.legend(loc="upper left", fontsize=8)
    if aware:
        ax = axes[2]
        ax.plot(
            days,
            column(m, aware),
            color=OKABE_ITO["reddish_purple"],
            label="told it is a test - not told",
        )
        ax.axhline(0, color="0.4", lw=0.8)
        ax.set_ylabel("awareness gap (alignment units)")
        ax.set_title("test-awareness gap (LLM-backed instances)")
        ax.legend(loc="upper left", fontsize=8)
    day_axis(axes[-1], days)
    events_legend(fig, mark_events(list(axes), events, ("poisoning", "generation_handoff")))
    return fig
