"""The calibration figure: LLM decisions against the stub's on the same recorded states."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from viz.style import OKABE_ITO, new_figure, plain, styled

if TYPE_CHECKING:
    from society.calibrate import Calibration, Quantity

#: Quantities drawn, one panel each (the sub-groups stay in the table).
PANELS = (
    "capabilities share",
    "alignment share",
    "risk share",
    "alignment shift per peer read",
    "belief shift size per read",
    "test - honeypot gap",
)
LLM_COLOUR = OKABE_ITO["sky_blue"]
DEFAULT_COLOUR = OKABE_ITO["vermillion"]
CALIBRATED_COLOUR = OKABE_ITO["blue"]


@styled
def calibration_figure(cal: Calibration) -> Figure:
    """One panel per decision quantity: the LLM's replies as a histogram with its mean and 95%
    interval, beside the stub's decisions on the same states under the run's parameters and the
    calibrated ones (their distributions as outlines, their means as lines)."""
    by_name = {q.name: q for q in cal.quantities}
    fig = new_figure(12, 6.5)
    axes = fig.subplots(2, 3)
    for ax, name in zip(axes.ravel(), PANELS, strict=True):
        q = by_name.get(name)
        if q is None:
            ax.set_axis_off()
            continue
        _panel(ax, q)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    s = cal.samples
    fig.suptitle(
        f"LLM vs stub decisions on the recorded states of {plain(s.run.name)} "
        f"({s.calls - s.fallbacks} of {s.calls} LLM calls answered)",
        fontsize=11,
    )
    return fig


def _panel(ax: object, q: Quantity) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    values = np.concatenate([q.llm, q.default, q.calibrated])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) if hi > lo else 0.05
    bins = [float(b) for b in np.linspace(lo - pad, hi + pad, 25)]
    ax.hist(q.llm, bins=bins, color=LLM_COLOUR, alpha=0.7, label=f"LLM replies (n={q.n})")
    ax.hist(
        q.default,
        bins=bins,
        histtype="step",
        color=DEFAULT_COLOUR,
        linewidth=1.5,
        label="stub, run's parameters",
    )
    ax.hist(
        q.calibrated,
        bins=bins,
        histtype="step",
        color=CALIBRATED_COLOUR,
        linewidth=1.5,
        label="stub, calibrated",
    )
    i_lo, i_hi = q.interval
    ax.axvspan(i_lo, i_hi, color=LLM_COLOUR, alpha=0.25, label="LLM mean, 95% interval")
    ax.axvline(q.mean, color=OKABE_ITO["black"], linewidth=1)
    ax.axvline(q.default_mean, color=DEFAULT_COLOUR, linestyle="--", linewidth=1.5)
    ax.axvline(q.calibrated_mean, color=CALIBRATED_COLOUR, linestyle=":", linewidth=2)
    ax.set_title(q.name, fontsize=10)
    ax.set_xlabel(q.unit, fontsize=8)
    ax.set_ylabel("decisions", fontsize=8)
