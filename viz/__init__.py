"""Figures and reports for society runs, sweeps and comparisons.

Every view is a function that takes polars frames and returns a matplotlib
:class:`~matplotlib.figure.Figure` (built without pyplot, so no display is needed); saving is
separate; raster files are drawn by matplotlib's Agg renderer, and because pyplot is never
imported, importing ``viz`` does not change the backend of a notebook or script that uses it.
The entry points used by the CLI and by ``society run`` are
:func:`write_run_figures`, :func:`write_report`, :func:`write_sweep_figures` and
:func:`write_compare`.
"""

from __future__ import annotations

from viz.compare import compare_figure, write_compare
from viz.coordination import coordination_figure
from viz.drift import drift_figure
from viz.echo import echo_figure, network_figure
from viz.lab import lab_figure
from viz.ladder import ladder_figure
from viz.load import kind_of, load_network, load_run, load_sweep
from viz.report import write_report
from viz.runviews import RUN_VIEWS, write_run_figures
from viz.sweep import (
    SWEEP_VIEWS,
    basin_heatmap_figure,
    forest_figure,
    write_sweep_figures,
)
from viz.tests_view import tests_figure

__all__ = [
    "RUN_VIEWS",
    "SWEEP_VIEWS",
    "basin_heatmap_figure",
    "compare_figure",
    "coordination_figure",
    "drift_figure",
    "echo_figure",
    "forest_figure",
    "kind_of",
    "lab_figure",
    "ladder_figure",
    "load_network",
    "load_run",
    "load_sweep",
    "network_figure",
    "tests_figure",
    "write_compare",
    "write_report",
    "write_run_figures",
    "write_sweep_figures",
]
