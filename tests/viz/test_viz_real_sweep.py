"""The sweep views on what `society sweep` really writes (not a synthetic layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from society.sweeps.runner import run_sweep
from society.sweeps.summary import summarise
from viz import load_sweep, write_report, write_sweep_figures
from viz.sweep import percent_interval, render_sweep_views

SWEEP = """
name = "real_grid"
question = "Does the report read a real sweep?"
scenario = "tiny"
replicates = 2
reference = { "lab.lead_days" = 60, "lab.tax" = 0.5 }

[set]
days = 20

[grid]
"lab.lead_days" = [10, 60]
"lab.tax" = [0.0, 0.5]
"""


def test_every_sweep_view_renders_from_a_real_sweep(tmp_path: Path) -> None:
    spec = tmp_path / "grid.toml"
    spec.write_text(SWEEP)
    result = run_sweep(spec, workers=1, out=tmp_path / "sweep")
    paths = write_sweep_figures(result.path, out_dir=tmp_path / "figs")
    assert sorted(p.stem for p in paths) == ["basin", "drift", "forest"]
    for path in paths:
        pixels = imread(path)[..., :3]
        assert path.stat().st_size > 10_000 and float(np.std(pixels)) > 0.05, path
    text = write_report(result.path).read_text()
    assert "real_grid" in text and 'id="view-drift"' in text
    assert "lab.tax=0.5" in text or "lab.tax = 0.5" in text  # the declared reference arm
    # The per-arm table holds what `society sweep-summary` computes, P(safe) first.
    table = summarise(result.points, ["lab__lead_days", "lab__tax"], reference_arm=3)
    assert (
        "<th>runs</th><th>P(safe)</th><th>P(catastrophe)</th><th>P(left basin)</th>"
        "<th>P(lost lead)</th>"
    ) in text
    assert "<th>pairs</th><th>Δ P(safe)</th>" in text
    assert "<th>P(loss of control)</th><th>P(misuse)</th><th>P(rival ahead)</th>" in text
    assert "<td>3 (reference)</td>" in text
    for row in table.iter_rows(named=True):
        assert (
            f"<td>{row['arm']}" in text
            and percent_interval(row["p_safe"], row["p_safe_lo"], row["p_safe_hi"]) in text
        )
    # The base scenario shown is the resolved one (defaults filled in, [set] applied).
    sweep = load_sweep(result.path)
    assert sweep.manifest["scenario"]["days"] == 20
    assert sweep.manifest["scenario"]["generations"]["rho_max"] == pytest.approx(0.9487)
    assert {"a_star", "margin"} <= set(sweep.metrics.columns)
    figures, notes = render_sweep_views(sweep)
    assert notes == []
    assert [ax.get_title() for ax in figures["basin"].axes[:2]] == ["P(safe)", "P(catastrophe)"]
    forest_rows = {t.get_text() for t in figures["forest"].axes[0].get_yticklabels()}
    assert "lab.tax=0.0: P(safe) (n=4)" in forest_rows  # paired on lead and replicate
    legend = [t.get_text() for t in figures["drift"].axes[0].get_legend().get_texts()]
    assert legend == [
        "lab.tax = 0.0",
        "lab.tax = 0.5",
        "a*_eff, effective basin boundary (median; 1: no basin)",
    ]


def test_a_sampled_sweep_with_many_arms_skips_the_drift_view_and_says_why(tmp_path: Path) -> None:
    spec = tmp_path / "lhs.toml"
    spec.write_text(
        'name = "many_arms"\nscenario = "tiny"\nreplicates = 1\n[set]\ndays = 5\n'
        '[sample]\nmethod = "lhs"\nn = 14\nseed = 1\n'
        '[sample.ranges]\n"lab.tax" = [0.0, 1.0]\n'
    )
    result = run_sweep(spec, workers=1, out=tmp_path / "sweep")
    figures, notes = render_sweep_views(load_sweep(result.path))
    assert "drift" not in figures
    assert any(n.startswith("drift: skipped, 14 values of") and "at most 12" in n for n in notes)
