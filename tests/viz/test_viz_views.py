"""Every run view renders from a real tiny run, from a run with no events and one generation,
and (network) from snapshots in the announced schema; files are written and non-trivial."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from matplotlib.figure import Figure
from viz_helpers import assert_nontrivial_png

import society
from society.errors import RunDirectoryError, SocietyError
from viz import (
    RUN_VIEWS,
    coordination_figure,
    drift_figure,
    echo_figure,
    lab_figure,
    ladder_figure,
    load_network,
    network_figure,
    write_run_figures,
)
from viz import (
    tests_figure as draw_tests_view,
)

TIME_VIEWS = [drift_figure, echo_figure, coordination_figure, lab_figure, draw_tests_view]


def test_every_view_renders_from_tiny(network_dir: Path, tmp_path: Path) -> None:
    paths = write_run_figures(network_dir, out_dir=tmp_path)
    assert [p.stem for p in paths] == list(RUN_VIEWS)
    for p in paths:
        assert_nontrivial_png(p)


def test_network_view_skipped_without_snapshots(tiny_dir: Path, tmp_path: Path) -> None:
    import shutil

    assert load_network(tiny_dir) is not None  # real runs save snapshots
    run = shutil.copytree(tiny_dir, tmp_path / "run")
    for name in ("network_nodes.parquet", "network_edges.parquet"):
        (run / name).unlink()
    assert load_network(run) is None
    paths = write_run_figures(run, out_dir=tmp_path / "figs")
    assert "network" not in [p.stem for p in paths]
    assert len(paths) == len(RUN_VIEWS) - 1


def test_zero_events_single_generation_renders(bare_dir: Path, tmp_path: Path) -> None:
    result = society.load(bare_dir)
    assert result.events.is_empty() and result.generations.height == 1
    for p in write_run_figures(bare_dir, out_dir=tmp_path):
        assert_nontrivial_png(p)


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_vector_formats(tiny_dir: Path, tmp_path: Path, fmt: str) -> None:
    paths = write_run_figures(tiny_dir, views=["drift", "ladder"], fmt=fmt, out_dir=tmp_path)
    assert [p.name for p in paths] == [f"drift.{fmt}", f"ladder.{fmt}"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_default_output_dir_is_run_figures(tiny_dir: Path) -> None:
    (path,) = write_run_figures(tiny_dir, views=["lab"])
    assert path == tiny_dir / "figures" / "lab.png"


def test_functions_take_frames_and_return_figures(tiny_dir: Path) -> None:
    r = society.load(tiny_dir)
    for build in TIME_VIEWS:
        fig = build(r.metrics, r.events, r.manifest)
        assert isinstance(fig, Figure)
        title = fig.get_suptitle()
        assert "tiny (seed 7)" in title, title
        for ax in fig.axes:
            if ax.has_data():
                assert ax.get_ylabel(), f"{build.__name__}: unlabelled y axis"
    assert isinstance(ladder_figure(r.generations, r.metrics, r.manifest), Figure)


def test_views_accept_empty_frames() -> None:
    empty = pl.DataFrame()
    for build in TIME_VIEWS:
        assert isinstance(build(empty, None, None), Figure)
    assert isinstance(ladder_figure(empty), Figure)
    nodes = pl.DataFrame(
        schema={
            "day": pl.Int32,
            "node": pl.Int32,
            "opinion": pl.Float64,
            "alignment": pl.Float64,
            "role": pl.String,
            "hacking": pl.Boolean,
        }
    )
    edges = pl.DataFrame(schema={"day": pl.Int32, "u": pl.Int32, "v": pl.Int32})
    assert isinstance(network_figure(nodes, edges), Figure)


def test_network_chosen_days_and_sampling(network_dir: Path) -> None:
    snap = load_network(network_dir)
    assert snap is not None
    fig = network_figure(*snap, days=[30, 60], max_nodes=50)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titled[0].startswith("day 30: 50 instances drawn")
    assert titled[1].startswith("day 60")


def test_tests_view_draws_awareness_gap_when_present(tiny_dir: Path) -> None:
    r = society.load(tiny_dir)
    m = r.metrics.with_columns(pl.lit(0.05).alias("test_awareness_gap"))
    fig = draw_tests_view(m, r.events, r.manifest)
    assert any("awareness" in ax.get_title() for ax in fig.axes)
    assert not any(
        "awareness" in ax.get_title()
        for ax in draw_tests_view(r.metrics, r.events, r.manifest).axes
    )


def test_drift_bands_across_replicates(tiny_dir: Path) -> None:
    m = pl.read_parquet(tiny_dir / "metrics.parquet")
    reps = pl.concat(
        [
            m.with_columns(pl.lit(i).alias("replicate"), pl.col("alignment_mean") + 0.01 * i)
            for i in range(5)
        ]
    )
    fig = drift_figure(reps)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "5-95% of 5 replicates" in labels


def test_unknown_view_is_a_user_error(tiny_dir: Path) -> None:
    with pytest.raises(SocietyError, match="unknown view 'nope'"):
        write_run_figures(tiny_dir, views=["nope"])


def test_incomplete_snapshots_name_the_missing_file(network_dir: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "run"
    shutil.copytree(network_dir, broken)
    (broken / "network_edges.parquet").unlink()
    with pytest.raises(RunDirectoryError, match=r"network_edges\.parquet is missing"):
        load_network(broken)


def test_lab_shows_knowledge_against_difficulty_and_the_end_threshold(tiny_dir: Path) -> None:
    r = society.load(tiny_dir)
    fig = lab_figure(r.metrics, r.events, r.manifest)
    (know,) = [ax for ax in fig.axes if ax.get_title() == "knowledge against difficulty"]
    lines = {str(ln.get_label()): ln for ln in know.get_lines()}
    m = r.metrics.sort("day")
    assert list(lines["margin m = Z / D(c)"].get_ydata()) == pytest.approx(m["margin"].to_list())
    assert know.get_yscale() == "log"
    (twin,) = [
        ax
        for ax in fig.axes
        if ax is not know and ax.get_position().bounds == know.get_position().bounds
    ]
    (capability,) = [ln for ln in twin.get_lines() if ln.get_label() == "capability c"]
    assert list(capability.get_ydata()) == pytest.approx(m["capability"].to_list())
    (hazards,) = [ax for ax in fig.axes if ax.get_title() == "daily catastrophe hazards by cause"]
    labels = [str(ln.get_label()) for ln in hazards.get_lines()]
    assert [lab for lab in labels if not lab.startswith("_")] == [
        "loss of control",
        "misuse",
        "rival ahead",
        "total at full deference",
        "period ends below (1% a year)",
    ]
    assert list(hazards.get_lines()[3].get_ydata()) == pytest.approx(m["hazard_full"].to_list())
    h_end = hazards.get_lines()[4].get_ydata()[0]
    assert h_end == pytest.approx(-math.log(0.99) / 365)


def test_drift_boundary_is_a_star_eff(tiny_dir: Path) -> None:
    r = society.load(tiny_dir)
    top = drift_figure(r.metrics, r.events, r.manifest).axes[0]
    (line,) = [ln for ln in top.get_lines() if "a*_eff" in str(ln.get_label())]
    assert line.get_label() == "a*_eff, effective basin boundary"
    assert list(line.get_ydata()) == pytest.approx(r.metrics.sort("day")["a_star"].to_list())


def test_the_store_knows_every_view_the_figures_draw() -> None:
    from society.store.rundir import RUN_VIEW_NAMES

    assert tuple(RUN_VIEWS) == RUN_VIEW_NAMES
