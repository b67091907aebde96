"""Helpers shared by the time-series views: event marks, empty-data notes, axis labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from viz.style import EVENT_STYLE, OKABE_ITO

DAY_LABEL = "simulated day (d)"


#: Larger magnitudes are not drawn: an axis spanning them overflows matplotlib's tick
#: arithmetic (no quantity of the model comes near).
DRAWABLE = 1e150


def column(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A column as a float numpy array (NaN for nulls, and for infinities and magnitudes over
    :data:`DRAWABLE`, which no axis can show); all NaN if the column is absent."""
    if name not in frame.columns:
        return np.full(frame.height, np.nan)
    values = frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy().copy()
    values[~(np.abs(values) <= DRAWABLE)] = np.nan
    return values


def events_of(events: pl.DataFrame | None, kinds: Iterable[str]) -> pl.DataFrame:
    """The rows of ``events`` whose kind is in ``kinds`` (an empty frame if none)."""
    if events is None or events.is_empty():
        return pl.DataFrame(schema={"day": pl.Float64, "kind": pl.String, "magnitude": pl.Float64})
    drawable = pl.col("day").cast(pl.Float64).abs() <= DRAWABLE
    return events.filter(pl.col("kind").is_in(list(kinds)) & drawable)


def mark_events(
    axes: Sequence[Axes],
    events: pl.DataFrame | None,
    kinds: Iterable[str],
) -> list[Line2D]:
    """Dotted vertical lines at each event on every axis, a marker strip along the top of the
    first, and legend handles (one per kind present, for :func:`events_legend`)."""
    sel = events_of(events, kinds)
    handles: list[Line2D] = []
    if sel.is_empty():
        return handles
    top = axes[0]
    for kind in dict.fromkeys(sel["kind"].to_list()):
        colour, marker, label = EVENT_STYLE.get(kind, (OKABE_ITO["black"], "o", kind))
        days = sel.filter(pl.col("kind") == kind)["day"].to_numpy()
        for ax in axes:
            for d in days:
                ax.axvline(d, color=colour, lw=0.8, ls=":", alpha=0.7, zorder=0.5)
        top.plot(
            days,
            np.full(days.size, 1.02),
            ls="none",
            marker=marker,
            color=colour,
            ms=6,
            transform=top.get_xaxis_transform(),
            clip_on=False,
            zorder=5,
        )
        handles.append(
            Line2D([], [], ls=":", marker=marker, color=colour, label=f"{label} ({days.size})")
        )
    return handles


def events_legend(fig: Figure, handles: list[Line2D]) -> None:
    """The events legend, outside the axes on the right (nothing if there were no events)."""
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(len(handles), 5),
            title="events (count)",
            title_fontsize=8.5,
        )


def note(ax: Axes, text: str) -> None:
    """A centred grey note in an axis that has nothing to show."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="0.35",
        fontsize=10,
        wrap=True,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def day_axis(ax: Axes, days: np.ndarray) -> None:
    ax.set_xlabel(DAY_LABEL)
    if days.size:
        ax.set_xlim(float(np.nanmin(days)), float(max(np.nanmax(days), np.nanmin(days) + 1)))


def resolved_scenario(
    doc: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``doc`` (a scenario as written, e.g. a sweep's base file) with every default filled in
    and ``overrides`` (dotted keys) applied; the defaults alone for ``None``.

    A run's manifest holds the resolved scenario already, a sweep's only the file as written;
    the views read parameters from the result of this. A document the current schema rejects
    (an old model version's keys) is merged over the defaults as it is, so a view still draws.
    """
    from society.errors import SocietyError
    from society.scenario import Scenario
    from society.scenario_files import load_scenario

    try:
        return load_scenario(dict(doc or {}), overrides=dict(overrides or {})).model_dump()
    except SocietyError:
        return _merged(Scenario().model_dump(), doc or {})


def _merged(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        old = out.get(key)
        out[key] = (
            _merged(old, value)
            if isinstance(old, Mapping) and isinstance(value, Mapping)
            else value
        )
    return out
