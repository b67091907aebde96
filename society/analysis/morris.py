"""Morris elementary effects of a Morris sweep: a cheap screen of which keys move a target.

Each trajectory changes one key at a time by a step of ``levels / (2 (levels - 1))`` of the
unit cube, i.e. of the key's prior measured in quantiles; the elementary effect is the change
in the target divided by that step. Over the trajectories, ``mu*`` (mean absolute effect) says
how much a key moves the target, ``mu`` (mean signed effect) in which direction, and ``sigma``
(their standard deviation) whether the effect depends on where the other keys are
(interactions or non-linearity). Estimates and the bootstrap interval of ``mu*`` are SALib
1.6's (:func:`SALib.analyze.morris.analyze`; Morris 1991, Campolongo et al. 2007).

>>> from society.sweeps.design import Design
>>> d = Design("morris", 20, ("x1", "x2"), seed=0, levels=4)
>>> u = d.unit()
>>> table = morris_effects(d, u, 2 * u[:, 0] + 0.5 * u[:, 1])
>>> [round(v, 3) for v in table["mu_star"]], [round(v, 3) for v in table["sigma"]]
([2.0, 0.5], [0.0, 0.0])
"""

from __future__ import annotations

import numpy as np
import polars as pl

from society.analysis.data import AnalysisError, require_every_arm
from society.sweeps.design import Design

RESAMPLES = 1000

SCHEMA: dict[str, pl.DataType] = {
    "parameter": pl.String(),
    "mu": pl.Float64(),
    "mu_star": pl.Float64(),
    "mu_star_conf": pl.Float64(),
    "sigma": pl.Float64(),
}


def morris_effects(
    design: Design,
    unit: np.ndarray,
    y: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> pl.DataFrame:
    """Morris statistics of outputs ``y`` at the design's unit-cube points ``unit``.

    Effects are per unit of the unit cube: ``mu_star = 0.4`` means moving the key across its
    whole prior (quantile 0 to 1) moves the target by 0.4 on average. Returns one row per key:
    ``parameter``, ``mu``, ``mu_star``, ``mu_star_conf`` (the half-width of its bootstrap
    interval) and ``sigma``, in the design's key order.
    """
    from SALib.analyze import morris

    y = np.asarray(y, dtype=np.float64)
    if y.shape != (design.size(),) or unit.shape[0] != design.size():
        raise AnalysisError(
            f"Morris effects need one output per point of the design ({design.size()}); got "
            f"{y.size}."
        )
    require_every_arm(y, "a Morris trajectory")
    result = morris.analyze(
        design.problem(),
        np.asarray(unit, dtype=np.float64),
        y,
        num_resamples=resamples,
        conf_level=confidence,
        num_levels=design.levels or 4,
        seed=seed,
    )
    return pl.DataFrame(
        {
            "parameter": list(design.keys),
            **{c: np.asarray(result[c], dtype=np.float64) for c in list(SCHEMA)[1:]},
        },
        schema=SCHEMA,
    )


def describe(table: pl.DataFrame, label: str) -> list[str]:
    """The effects in plain sentences, largest mu* first."""
    ranked = table.sort("mu_star", descending=True, maintain_order=True)
    if ranked.is_empty():
        return []
    if not (ranked["mu_star"] > 0).any():
        return [f"No swept key moved {label} at any step: it is the same at every point."]
    lines = []
    scale = float(ranked["mu_star"].to_numpy().max())
    for i, row in enumerate(ranked.iter_rows(named=True)):
        mu_star, conf, sigma = row["mu_star"], row["mu_star_conf"], row["sigma"]
        ratio = sigma / mu_star if mu_star > 0 else 0.0
        shape = (
            "is about the same wherever the other keys are (nearly linear)"
            if ratio < 0.1
            else "depends on where the other keys are (interactions or a non-linear effect)"
            if ratio > 1.0
            else "varies somewhat with the other keys"
        )
        direction = "raises" if row["mu"] > 0 else "lowers" if row["mu"] < 0 else "moves"
        head = f"{row['parameter']}" + (" moves it most" if i == 0 else "")
        lines.append(
            f"{head}: across its whole prior it {direction} {label} by {show(mu_star, scale)} "
            f"on average (mu* {show(mu_star, scale)} +- {show(conf, scale)}); its effect "
            f"{shape} (sigma {show(sigma, scale)})."
        )
    return lines


def show(value: float, scale: float) -> str:
    """``value`` to 3 significant digits, or ``0`` when it is rounding noise next to
    ``scale`` (an effect of 1e-17 beside one of 0.02 is a float's last bit, not an effect).

    >>> show(6.3e-17, 0.02), show(0.0236, 0.02), show(-0.5, 0.02)
    ('0', '0.0236', '-0.5')
    """
    return "0" if abs(value) <= 1e-9 * max(abs(scale), 1e-300) else f"{value:.3g}"


__all__ = ["RESAMPLES", "describe", "morris_effects", "show"]
