"""Sweep views from a synthetic sweep with the columns `society sweep` is expected to write."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from viz_helpers import assert_nontrivial_png, synthetic_points

from society.errors import RunDirectoryError
from society.sweeps.summary import paired_difference
from viz import SWEEP_VIEWS, basin_heatmap_figure, forest_figure, load_sweep, write_sweep_figures
from viz.sweep import (
    cell_probabilities,
    outcome_profile_figure,
    paired_differences,
    wilson,
)


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


def test_heatmap_shows_p_safe_then_p_catastrophe() -> None:
    pts = synthetic_points()
    fig = basin_heatmap_figure(pts)
    safe_ax, cat_ax = fig.axes[:2]
    assert (safe_ax.get_title(), cat_ax.get_title()) == ("P(safe)", "P(catastrophe)")
    assert fig.get_suptitle().startswith("P(safe) and P(catastrophe) over lab.lead_days x lab.tax")
    # Each cell's text is its probability over the finished runs with its Wilson interval
    # (and n in the main panel).
    ok = pts.filter(pl.col("status") == "success")
    for ax, outcome in ((safe_ax, "safe"), (cat_ax, "catastrophe")):
        cell = ok.filter((pl.col("lab.lead_days") == 30.0) & (pl.col("lab.tax") == 0.1))
        p = cell[outcome].mean()
        lo, hi = wilson(int(cell[outcome].sum()), cell.height)
        assert 0 <= lo <= p < hi <= 1
        shown = f"{p:.2f}\n[{lo:.2f}, {hi:.2f}]"
        texts = [t.get_text() for t in ax.texts if t.get_position() == (30.0, 0.1)]
        assert texts == [f"{shown}\nn=7" if outcome == "safe" else shown]
    safe_cells = cell_probabilities(pts, ["lab.lead_days", "lab.tax"])
    assert safe_cells["k"].sum() == ok["safe"].sum()
    one = basin_heatmap_figure(pts, outcomes=["left_basin"])
    assert one.axes[0].get_title() == "P(left basin)"


def test_outcome_profile_for_a_one_parameter_sweep() -> None:
    pts = synthetic_points().filter(pl.col("lab.lead_days") == 60.0)
    fig = outcome_profile_figure(pts, "lab.tax")
    ax = fig.axes[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["P(safe)", "P(catastrophe)", "P(left basin)", "P(lost lead)"]
    assert ax.get_title() == "n = 8 runs per value"
    safe_line = ax.get_lines()[0]
    expected = pts.group_by("lab.tax").agg(pl.col("safe").mean()).sort("lab.tax")["safe"]
    assert safe_line.get_ydata() == pytest.approx(expected.to_list())


def test_paired_differences_pair_on_seed_and_other_parameters() -> None:
    pts = synthetic_points(replicates=5)
    diffs = paired_differences(pts, "lab.tax")
    assert set(diffs["arm"]) == {"lab.tax=0.25", "lab.tax=0.5", "lab.tax=1.0"}
    assert (diffs["reference"] == "lab.tax=0.1").all()
    # P(safe) first, then P(catastrophe), P(left basin), P(lost lead), for every arm.
    assert diffs["outcome"].to_list()[:4] == ["safe", "catastrophe", "left_basin", "lost_lead"]
    row = diffs.filter((pl.col("arm") == "lab.tax=1.0") & (pl.col("outcome") == "safe"))
    assert row["n_pairs"].item() == 4 * 5 - 1  # the failed reference run has no pair
    ok = pts.filter(pl.col("status") == "success")
    pairs = ok.filter(pl.col("lab.tax") == 1.0).join(
        ok.filter(pl.col("lab.tax") == 0.1), on=["lab.lead_days", "seed", "replicate"]
    )
    d = (pairs["safe"].cast(pl.Float64) - pairs["safe_right"].cast(pl.Float64)).to_list()
    mean, lo, hi = paired_difference(d)
    assert row["diff"].item() == pytest.approx(mean)
    assert (row["lo"].item(), row["hi"].item()) == pytest.approx((max(lo, -1), min(hi, 1)))
    assert -1 <= row["lo"].item() <= row["diff"].item() <= row["hi"].item() <= 1
    left = diffs.filter((pl.col("arm") == "lab.tax=1.0") & (pl.col("outcome") == "left_basin"))
    stayed = (
        pairs["stayed_in_basin"].cast(pl.Float64) - pairs["stayed_in_basin_right"].cast(pl.Float64)
    ).mean()
    assert left["diff"].item() == pytest.approx(-stayed)  # left basin = not stayed in basin
    fig = forest_figure(diffs)
    rows = sorted(
        ((t.get_position()[1], t.get_text()) for t in fig.axes[0].get_yticklabels()), reverse=True
    )
    assert len(rows) == 12
    assert rows[0][1] == "lab.tax=0.25: P(safe) (n=19)"  # the top row
    assert rows[-1][1] == "lab.tax=1.0: P(lost lead) (n=19)"


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


def test_sweep_of_model_v1_is_named(tmp_path: Path) -> None:
    """A sweep written before model v2 has no 'safe' column: the error says to rerun it."""
    (tmp_path / "manifest.json").write_text("{}")
    synthetic_points().drop("safe").write_parquet(tmp_path / "points.parquet")
    with pytest.raises(RunDirectoryError, match=r"column\(s\) safe \(written by model v1"):
        load_sweep(tmp_path)
