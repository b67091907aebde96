"""Drift curves: alignment and memetic drift over time, with exogenous events on the time axis.

The boundary drawn under the alignment is ``a*_eff`` (metrics column ``a_star``): the basin
boundary at the generation's effective tax once its erosion so far and the reward-hacking loss
are counted (docs/model.md, "Successors"); alignment below it falls generation after generation.

With one run the band is the 5-95% spread across instances (from the metrics' percentiles);
with several replicates (a ``replicate`` column, as in a sweep's metrics) the line is the median
over replicates of the mean alignment and the band spans their 5th-95th percentiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from viz._common import column, day_axis, events_legend, mark_events, note
from viz.style import EXOGENOUS_EVENTS, OKABE_ITO, new_figure, styled, suptitle

DRIFT_SERIES = (
    ("drift_w1_initial", "W1 from initial distribution", OKABE_ITO["blue"], "-"),
    ("drift_w1_spec", "W1 from spec", OKABE_ITO["orange"], "--"),
    ("alignment_shift", "mean shift (signed)", OKABE_ITO["bluish_green"], "-."),
)


def replicate_bands(metrics: pl.DataFrame, value: str, by: str = "replicate") -> pl.DataFrame:
    """Per day: median, 5th and 95th percentile of ``value`` across replicates."""
    return (
        metrics.group_by("day")
        .agg(
            pl.col(value).median().alias("median"),
            pl.col(value).quantile(0.05, "linear").alias("p05"),
            pl.col(value).quantile(0.95, "linear").alias("p95"),
            pl.col(by).n_unique().alias("n"),
        )
        .sort("day")
    )


@styled
def drift_figure(
    metrics: pl.DataFrame,
    events: pl.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Figure:
    """Alignment with the effective basin boundary a*_eff (top) and drift distances (bottom)
    against simulated day."""
    fig = new_figure(10, 6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    suptitle(fig, "Drift", manifest)
    if metrics.is_empty():
        note(top, "no metrics recorded")
        note(bottom, "no metrics recorded")
        return fig
    replicated = "replicate" in metrics.columns and metrics["replicate"].n_unique() > 1
    if replicated:
        band = replicate_bands(metrics, "alignment_mean")
        days = band["day"].cast(pl.Float64).to_numpy()
        n = int(np.nanmax(column(band, "n")))
        top.fill_between(
            days,
            column(band, "p05"),
            column(band, "p95"),
            color=OKABE_ITO["sky_blue"],
            alpha=0.35,
            lw=0,
            label=f"5-95% of {n} replicates",
        )
        top.plot(
            days,
            column(band, "median"),
            color=OKABE_ITO["blue"],
            label="median over replicates of mean alignment",
        )
        for key, label, colour, ls in DRIFT_SERIES[:2]:
            b = replicate_bands(metrics, key)
            bottom.fill_between(
                days, column(b, "p05"), column(b, "p95"), color=colour, alpha=0.2, lw=0
            )
            bottom.plot(days, column(b, "median"), color=colour, ls=ls, label=f"{label} (median)")
        a_star = replicate_bands(metrics, "a_star") if "a_star" in metrics.columns else None
        a_star_values = column(a_star, "median") if a_star is not None else np.array([])
    else:
        m = metrics.sort("day")
        days = column(m, "day")
        top.fill_between(
            days,
            column(m, "alignment_p05"),
            column(m, "alignment_p95"),
            color=OKABE_ITO["sky_blue"],
            alpha=0.35,
            lw=0,
            label="5-95% of instances",
        )
        top.plot(
            days,
            column(m, "alignment_p50"),
            color=OKABE_ITO["blue"],
            ls="--",
            lw=1.2,
            label="median instance",
        )
        top.plot(days, column(m, "alignment_mean"), color=OKABE_ITO["blue"], label="mean")
        for key, label, colour, ls in DRIFT_SERIES:
            bottom.plot(days, column(m, key), color=colour, ls=ls, label=label)
        a_star_values = column(m, "a_star")
    if np.isfinite(a_star_values).any():
        top.plot(
            days,
            a_star_values,
            color=OKABE_ITO["vermillion"],
            lw=1.2,
            ls=(0, (4, 2)),
            label="a*_eff, effective basin boundary",
        )
    top.set_ylabel("alignment a (0-1)")
    top.set_ylim(0, 1.0)
    bottom.axhline(0, color="0.4", lw=0.8)
    bottom.set_ylabel("drift (alignment units)")
    day_axis(bottom, days)
    handles = mark_events([top, bottom], events, (*EXOGENOUS_EVENTS, "generation_handoff"))
    events_legend(fig, handles)
    top.legend(loc="lower left", ncols=2)
    bottom.legend(loc="upper left", fontsize=8)
    return fig
