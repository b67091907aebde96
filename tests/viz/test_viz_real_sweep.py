"""The sweep views on what `society sweep` really writes (not a synthetic layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.image import imread

from society.sweep import run_sweep
from viz import write_report, write_sweep_figures

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
