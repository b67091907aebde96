"""Test helpers: image checks and a synthetic sweep frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.image import imread


def assert_nontrivial_png(path: Path, min_bytes: int = 10_000) -> None:
    assert path.is_file(), f"{path} was not written"
    size = path.stat().st_size
    assert size > min_bytes, f"{path} is only {size} bytes"
    pixels = imread(path)[..., :3]
    assert float(pixels.std()) > 0.02, f"{path} is (nearly) a single colour"
    non_white = float((pixels.min(axis=-1) < 0.9).mean())
    assert non_white > 0.02, f"{path} is almost blank ({non_white:.1%} non-white pixels)"


def synthetic_points(seed: int = 0, replicates: int = 8) -> pl.DataFrame:
    """points.parquet as `society sweep` writes it (lead x tax x replicate), outcomes as in
    model v2: a catastrophe (with its cause) or leaving the basin rules out safe."""
    rng = np.random.default_rng(seed)
    causes = ("loss_of_control", "misuse", "rival_ahead", "revolt")
    rows = []
    for lead in (30.0, 60.0, 90.0, 120.0):
        for tax in (0.1, 0.25, 0.5, 1.0):
            for rep in range(replicates):
                p_basin = 1 / (1 + np.exp(-(8 * (tax - 0.2) + lead / 120)))
                in_basin = bool(rng.random() < p_basin)
                catastrophe = bool(rng.random() < 0.3 * (1 - p_basin))
                safe = in_basin and not catastrophe and bool(rng.random() < 0.7)
                rows.append(
                    {
                        "lab.lead_days": lead,
                        "lab.tax": tax,
                        "seed": 1000 + rep,
                        "replicate": rep,
                        "status": "success" if (lead, tax, rep) != (30.0, 0.1, 0) else "error",
                        "outcome": "catastrophe"
                        if catastrophe
                        else "left_basin"
                        if not in_basin
                        else "safe"
                        if safe
                        else "undecided",
                        "safe": safe,
                        "stayed_in_basin": in_basin,
                        "catastrophe": catastrophe,
                        "catastrophe_cause": causes[rep % 4] if catastrophe else None,
                        "lost_lead": bool(rng.random() < tax / (1 + tax) * 90 / lead / 2),
                        "final_alignment": float(0.5 + 0.4 * p_basin + rng.normal(0, 0.02)),
                        "final_lead_days": float(lead - 100 * tax),
                    }
                )
    return pl.DataFrame(rows)
