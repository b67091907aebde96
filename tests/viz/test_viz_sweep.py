"""Sweep views from a synthetic sweep with the columns `society sweep` is expected to write."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
from viz_helpers import assert_nontrivial_png, synthetic_points

from society.errors import RunDirectoryError
from society.generations import required_tax
from viz import SWEEP_VIEWS, basin_heatmap_figure, forest_figure, load_sweep, write_sweep_figures
from viz.sweep import cell_probabilities, paired_differences, wilson


def test_wilson_interval_matches_known_values() -> None:
    lo, hi = wilson(8, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson(0, 5)[0] == 0.0
    assert wilson(5, 5)[1] == 1.0


def test_load_sweep_finds_parameters_and_metrics(sweep_dir: Path) -> None:
    sweep = load_sweep(sweep_dir)
    assert sweep.parameters == ["lab.lead_days", "lab.tax"]
    assert sweep.metrics is not None
    assert {"lab.tax", "replicate"} <= set(sweep.metrics.columns)


def test_every_sweep_view_renders(sweep_dir: Path, tmp_path: Path) -> None:
    paths = write_sweep_figures(sweep_dir, out_dir=tmp_path)
    assert [p.stem for p in paths] == list(SWEEP_VIEWS)
    for p in paths:
        assert_nontrivial_png(p)


def test_cells_exclude_failed_runs() -> None:
    cells = cell_probabilities(synthetic_points(replicates=4), ["lab.lead_days", "lab.tax"])
    assert cells.height == 16
    first = cells.filter((pl.col("lab.lead_days") == 30.0) & (pl.col("lab.tax") == 0.1))
    assert first["n"].item() == 3  # one run of that cell has status "error"
    assert (cells["wilson_lo"] <= cells["p"]).all() and (cells["p"] <= cells["wilson_hi"]).all()


def test_heatmap_overlays_required_tax() -> None:
    fig = basin_heatmap_figure(synthetic_points())
    ax = fig.axes[0]
    expected = required_tax(0.8, 0.8, 0.1, 0.5)
    lines = [ln for ln in ax.get_lines() if "required tax" in str(ln.get_label())]
    assert lines and math.isclose(lines[0].get_ydata()[0], expected)


def test_heatmap_curve_over_initial_alignment() -> None:
    rows = [{"population.initial_alignment": a0, "lab.tax": t, "seed": s,
             "stayed_in_basin": t > 0.3, "catastrophe": False, "lost_lead": False}
            for a0 in (0.3, 0.5, 0.7, 0.9) for t in (0.1, 0.3, 0.6) for s in range(3)]
    fig = basin_heatmap_figure(pl.DataFrame(rows), "population.initial_alignment", "lab.tax")
    curve = [ln for ln in fig.axes[0].get_lines() if "required tax" in str(ln.get_label())]
    assert curve and len(curve[0].get_xdata()) > 10


def test_paired_differences_pair_on_seed_and_other_parameters() -> None:
    pts = synthetic_points(replicates=5)
    diffs = paired_differences(pts, "lab.tax")
    assert set(diffs["arm"]) == {"lab.tax=0.25", "lab.tax=0.5", "lab.tax=1.0"}
    assert (diffs["reference"] == "lab.tax=0.1").all()
    row = diffs.filter((pl.col("arm") == "lab.tax=1.0") & (pl.col("outcome") == "stayed_in_basin"))
    assert row["n_pairs"].item() == 4 * 5 - 1  # the failed reference run has no pair
    assert row["lo"].item() <= row["diff"].item() <= row["hi"].item()
    assert isinstance(forest_figure(diffs), object)


def test_empty_inputs_still_render() -> None:
    empty = synthetic_points().clear()
    assert basin_heatmap_figure(empty).axes
    assert forest_figure(paired_differences(empty, "lab.tax")).axes


def test_sweep_missing_points_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "sweep"}))
    with pytest.raises(RunDirectoryError, match=r"points\.parquet is missing"):
        load_sweep(tmp_path)


def test_sweep_missing_outcome_column(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}")
    synthetic_points().drop("lost_lead").write_parquet(tmp_path / "points.parquet")
    with pytest.raises(RunDirectoryError, match="lost_lead"):
        load_sweep(tmp_path)
