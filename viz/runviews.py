"""The views of one run, by name, and writing them to image files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from matplotlib.figure import Figure

from society.errors import SocietyError
from society.store.files import open_new
from society.store.rundir import RunDir
from viz.coordination import coordination_figure
from viz.drift import drift_figure
from viz.echo import echo_figure, network_figure
from viz.lab import lab_figure
from viz.ladder import ladder_figure
from viz.load import load_network, load_run
from viz.tests_view import tests_figure

if TYPE_CHECKING:
    from society.api import RunResult

FORMATS = ("png", "svg", "pdf")


@dataclass(frozen=True)
class View:
    name: str
    title: str
    description: str
    build: Callable[[RunResult], Figure | None]


def _network(r: RunResult) -> Figure | None:
    snap = load_network(r.path)
    if snap is None:
        return None
    days = (r.manifest.get("scenario", {}).get("record", {}) or {}).get("snapshot_days")
    return network_figure(snap[0], snap[1], days=days, manifest=r.manifest)


RUN_VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View(
            "drift",
            "Drift curves",
            "Mean alignment with the 5-95% band across instances, the effective basin "
            "boundary a*_eff (erosion and reward-hacking loss counted), and "
            "drift distances (W1 from the initial distribution and from the spec, signed mean "
            "shift); exogenous events and hand-offs marked on the time axis.",
            lambda r: drift_figure(r.metrics, r.events, r.manifest),
        ),
        View(
            "ladder",
            "Generation ladder",
            "Each generation's alignment (5-95% of instances, mean at start and end) against "
            "its effective basin boundary a*_eff, and the successor map's gain f(a) - a with "
            "the observed hand-offs.",
            lambda r: ladder_figure(r.generations, r.metrics, r.manifest),
        ),
        View(
            "echo",
            "Echo chambers",
            "Neighbour correlation, modularity of opinion camps, number of opinion clusters and "
            "distance of the median belief from the truth.",
            lambda r: echo_figure(r.metrics, r.events, r.manifest),
        ),
        View(
            "network",
            "Network snapshots",
            "The communication graph at the recorded snapshot days, instances coloured by "
            "opinion, reward-hacking instances ringed (only for runs with snapshots).",
            _network,
        ),
        View(
            "coordination",
            "Coordination",
            "Share of failed shared tasks, revolt cascade sizes and the reward-hacking share.",
            lambda r: coordination_figure(r.metrics, r.events, r.manifest),
        ),
        View(
            "lab",
            "Lab",
            "Lead over the nearest rival, deference and tax, cumulative incidents caught and "
            "uncaught, progress toward safety (capability toward the target generation and "
            "the share of the required safety work done), and the daily catastrophe hazards "
            "by cause.",
            lambda r: lab_figure(r.metrics, r.events, r.manifest),
        ),
        View(
            "tests",
            "Tests",
            "Validity of the test suite (daily expectation and test rounds), the gaming gap, "
            "and for LLM runs the test-awareness gap.",
            lambda r: tests_figure(r.metrics, r.events, r.manifest),
        ),
    )
}
"""Every view of a run, in report order."""


def check_views(views: Iterable[str] | None, known: Sequence[str]) -> list[str]:
    """The requested view names (all if ``None``), or a :class:`SocietyError` naming the bad one."""
    if views is None:
        return list(known)
    chosen = list(dict.fromkeys(views))
    bad = [v for v in chosen if v not in known]
    if bad:
        raise SocietyError(
            f"unknown view {', '.join(repr(b) for b in bad)}; choose from {', '.join(known)}."
        )
    return chosen


def render_run_views(
    result: RunResult, views: Iterable[str] | None = None
) -> tuple[dict[str, Figure], list[str]]:
    """Build the chosen views; returns the figures and notes on views that were skipped."""
    figures: dict[str, Figure] = {}
    notes: list[str] = []
    for name in check_views(views, list(RUN_VIEWS)):
        fig = RUN_VIEWS[name].build(result)
        if fig is None:
            notes.append(
                f"{name}: skipped, the run has no network snapshots "
                f"(network_nodes.parquet / network_edges.parquet)."
            )
        else:
            figures[name] = fig
    return figures, notes


def save_figure(fig: Figure, path: Path, fmt: str | None = None) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix unless given), atomically: a kill or a
    full disk while drawing leaves the previous file or none, never a truncated one; and no
    link at either name is written through."""
    return _write_figure_file(
        path, lambda f: fig.savefig(f, format=fmt or path.suffix.lstrip(".") or "png")
    )


def save_png(png: bytes, path: Path) -> Path:
    """Write a figure already drawn by :func:`png_bytes` to ``path``, as :func:`save_figure`
    would (a report embeds and saves the same PNG, drawn once)."""
    return _write_figure_file(path, lambda f: f.write(png))


def _write_figure_file(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open_new(tmp) as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def png_bytes(fig: Figure) -> bytes:
    buf = BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_run_figures(
    run_dir: str | Path,
    views: Iterable[str] | None = None,
    fmt: str = "png",
    out_dir: str | Path | None = None,
) -> list[Path]:
    """Render a run's views to ``out_dir`` (default ``run_dir/figures``) as ``<view>.<fmt>``.

    Views that cannot be drawn for this run (network snapshots absent) are skipped.
    """
    if fmt not in FORMATS:
        raise SocietyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}.")
    result = load_run(run_dir)
    figures, _ = render_run_views(result, views)
    target = Path(out_dir) if out_dir is not None else RunDir(run_dir).figures
    return [save_figure(fig, target / f"{name}.{fmt}", fmt) for name, fig in figures.items()]
