"""The frontier of a two-key grid: per value of one key, the smallest value of the other with
P(target) >= p, and its interval.

At each value ``b`` of the ``by`` key, the arms along the other key ``a_1 < ... < a_m`` give
``k_i`` successes in ``n_i`` runs. P(target) is assumed monotone in ``a`` (e.g. P(safe) rises
with the lead; the direction is chosen from the data unless given).

* **Estimate**: the isotonic (monotone) least-squares fit of the arms' proportions, weighted by
  their runs (pool-adjacent-violators), read between the sweep's values by linear
  interpolation: where the fitted curve first reaches ``p``.
* **Interval**: Wilson score bounds inverted. If the upper Wilson bound at ``a_i`` is below
  ``p``, then P < p there, and by monotonicity at every smaller value: the frontier lies above
  ``a_i``. If the lower bound at ``a_j`` reaches ``p``, P >= p there and beyond: the frontier
  is at or below ``a_j``. So it lies in ``(a_L, a_U]``: ``a_L`` the largest value where
  P >= p is ruled out, ``a_U`` the smallest where it is established. Each statement is one
  side of a two-sided interval (error at most ``(1 - confidence) / 2`` each).

Why not a bootstrap over replicates of the isotonic fit? At the arms that matter most (all
runs safe, or none) every resample gives the same proportion, so the bootstrap interval of a
crossing between two such arms has zero width, although the crossing could be anywhere
between them; the Wilson bounds are wide exactly there, and their ends are values the sweep
ran, so the interval never claims more resolution than the grid has.

>>> isotonic(np.array([0.1, 0.3, 0.2, 0.9]), np.array([10, 10, 10, 10])).round(3).tolist()
[0.1, 0.25, 0.25, 0.9]
>>> crossing(np.array([30.0, 90.0, 180.0]), np.array([0.2, 0.6, 1.0]), 0.9)
157.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from society.sweeps.summary import wilson

Direction = Literal["increasing", "decreasing"]

FRONTIER_SCHEMA: dict[str, pl.DataType] = {
    "by": pl.String(),
    "by_value": pl.Float64(),
    "along": pl.String(),
    "estimate": pl.Float64(),
    "lo": pl.Float64(),
    "hi": pl.Float64(),
    "status": pl.String(),
    "p": pl.Float64(),
    "direction": pl.String(),
}
CELL_SCHEMA: dict[str, pl.DataType] = {
    "by_value": pl.Float64(),
    "along_value": pl.Float64(),
    "runs": pl.Int64(),
    "k": pl.Float64(),
    "p_hat": pl.Float64(),
    "wilson_lo": pl.Float64(),
    "wilson_hi": pl.Float64(),
    "fitted": pl.Float64(),
}


def isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Non-decreasing least-squares fit of ``y`` with weights ``w`` (pool adjacent
    violators: a block that breaks the order is merged with its left neighbour into their
    weighted mean)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for value, weight in zip(y.tolist(), w.tolist(), strict=True):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            total = w1 + w2
            mean = (m1 * w1 + m2 * w2) / total if total > 0 else (m1 + m2) / 2
            blocks.append([mean, total, c1 + c2])
    return np.concatenate([np.full(int(c), m) for m, _, c in blocks])


def crossing(a: np.ndarray, fitted: np.ndarray, p: float) -> float:
    """Where the non-decreasing piecewise-linear curve through ``(a, fitted)`` first reaches
    ``p`` (NaN if it never does; ``a[0]`` if it starts there)."""
    reached = np.nonzero(fitted >= p - 1e-12)[0]
    if reached.size == 0:
        return math.nan
    i = int(reached[0])
    if i == 0:
        return float(a[0])
    f0, f1 = float(fitted[i - 1]), float(fitted[i])
    return float(a[i - 1] + (p - f0) / (f1 - f0) * (a[i] - a[i - 1]))


@dataclass
class Frontier:
    """The frontier rows (one per ``by`` value) and the cells they come from."""

    table: pl.DataFrame
    cells: pl.DataFrame
    by: str
    along: str
    p: float
    direction: Direction
    confidence: float


def frontier(
    arms: pl.DataFrame,
    by: str,
    along: str,
    p: float,
    *,
    confidence: float = 0.95,
    direction: Direction | None = None,
) -> Frontier:
    """The frontier over ``arms`` (one row per arm: columns ``by``, ``along``, ``runs``, ``k``).

    ``direction`` says whether P(target) rises (``increasing``) or falls with ``along``; by
    default the one whose monotone fit is closer to the data (weighted squared error, over
    every ``by`` value). With ``decreasing`` the frontier is the *largest* value of ``along``
    with P >= p.
    """
    groups = _groups(arms, by, along)
    if direction is None:
        up = sum(_sse(g, increasing=True) for g in groups.values())
        down = sum(_sse(g, increasing=False) for g in groups.values())
        direction = "decreasing" if down < up - 1e-12 else "increasing"
    rows, cells = [], []
    sign = 1.0 if direction == "increasing" else -1.0
    for b, (values, runs, successes) in groups.items():
        order = np.argsort(sign * values, kind="stable")
        a, n, k = values[order], runs[order], successes[order]
        phat = np.divide(k, n, out=np.full(a.size, np.nan), where=n > 0)
        bounds = [
            wilson(round(float(kk)), int(nn), confidence) for kk, nn in zip(k, n, strict=True)
        ]
        lo = np.array([x for x, _ in bounds])
        hi = np.array([x for _, x in bounds])
        used = n > 0
        fitted = np.full(a.size, np.nan)
        fitted[used] = isotonic(phat[used], n[used].astype(float))
        estimate = crossing(sign * a[used], fitted[used], p)
        estimate = sign * estimate if math.isfinite(estimate) else math.nan
        ruled_out = np.nonzero(used & (hi < p))[0]
        established = np.nonzero(used & (lo >= p))[0]
        a_lo = float(a[ruled_out[-1]]) if ruled_out.size else math.nan
        a_hi = float(a[established[0]]) if established.size else math.nan
        if math.isfinite(estimate):
            # The fit pools neighbours; keep the estimate inside what the bounds allow.
            if math.isfinite(a_lo) and sign * estimate < sign * a_lo:
                estimate = a_lo
            if math.isfinite(a_hi) and sign * estimate > sign * a_hi:
                estimate = a_hi
        status = (
            "not reached"
            if not math.isfinite(estimate)
            else "at the first value"
            if estimate == float(a[used][0])
            else "reached"
        )
        rows.append((by, b, along, estimate, a_lo, a_hi, status, p, direction))
        cells += [
            (b, float(a[i]), int(n[i]), float(k[i]), phat[i], lo[i], hi[i], fitted[i])
            for i in range(a.size)
        ]
    return Frontier(
        pl.DataFrame(rows, schema=FRONTIER_SCHEMA, orient="row"),
        pl.DataFrame(cells, schema=CELL_SCHEMA, orient="row").sort("by_value", "along_value"),
        by,
        along,
        p,
        direction,
        confidence,
    )


def describe(result: Frontier, label: str) -> list[str]:
    """Each row of the frontier in a sentence."""
    level = f"{result.confidence:.0%}"
    smallest = result.direction == "increasing"
    needs = ">=" if smallest else "<="
    edge = "smallest" if smallest else "largest"
    far = "largest" if smallest else "smallest"
    lines = []
    cells = result.cells
    for row in result.table.iter_rows(named=True):
        b, est, lo, hi = row["by_value"], row["estimate"], row["lo"], row["hi"]
        at = f"At {result.by} = {number(b)}"
        mine = cells.filter(pl.col("by_value") == b)
        values = mine["along_value"].to_list()
        end = max(values) if smallest else min(values)
        if row["status"] == "not reached":
            best = float(np.nanmax(mine["fitted"].to_numpy()))
            lines.append(
                f"{at}: {label} stays below {result.p:g} up to {result.along} = {number(end)}, the "
                f"{far} value swept (the monotone fit reaches {best:.2f}); the frontier, if "
                f"any, lies beyond the sweep."
            )
            continue
        interval = _interval(lo, hi, smallest, level, result.along)
        if row["status"] == "at the first value":
            lines.append(
                f"{at}: {label} >= {result.p:g} already at {result.along} = {number(est)}, the "
                f"{edge} value swept; {interval}"
            )
        else:
            lines.append(
                f"{at}: {label} >= {result.p:g} needs {result.along} {needs} {number(est)} "
                f"(monotone fit); {interval}"
            )
    return lines


def _interval(lo: float, hi: float, smallest: bool, level: str, along: str) -> str:
    ruled = f"P >= p is ruled out at {number(lo)}" if math.isfinite(lo) else ""
    shown = f"established at {number(hi)}" if math.isfinite(hi) else ""
    if math.isfinite(lo) and math.isfinite(hi):
        span = f"({number(lo)}, {number(hi)}]" if smallest else f"[{number(hi)}, {number(lo)})"
        return f"interval {span} ({level} Wilson bounds: {ruled}, {shown})."
    if math.isfinite(lo):
        return (
            f"above {number(lo)} ({ruled}), but not established at any value swept: more "
            f"replicates or a longer {along} range would close the interval."
        )
    if math.isfinite(hi):
        return (
            f"at most {number(hi)} ({level} Wilson bounds: {shown}); not ruled out at any value "
            f"swept below it."
        )
    return "no arm rules it in or out at this number of replicates (add replicates)."


def _groups(
    arms: pl.DataFrame, by: str, along: str
) -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = {}
    for (b,), part in arms.sort(by, along).group_by(by, maintain_order=True):
        out[float(b)] = (
            part[along].cast(pl.Float64).to_numpy(),
            part["runs"].cast(pl.Int64).to_numpy(),
            part["k"].cast(pl.Float64).to_numpy(),
        )
    return out


def _sse(group: tuple[np.ndarray, np.ndarray, np.ndarray], *, increasing: bool) -> float:
    a, n, k = group
    used = n > 0
    if not used.any():
        return 0.0
    order = np.argsort(a if increasing else -a, kind="stable")
    n_, k_ = n[order][used[order]], k[order][used[order]]
    phat = k_ / n_
    fit = isotonic(phat, n_.astype(float))
    return float(np.sum(n_ * (phat - fit) ** 2))


def number(value: Any) -> str:
    v = float(value)
    return f"{v:.0f}" if v.is_integer() and abs(v) < 1e15 else f"{v:.3g}"


__all__ = ["Frontier", "crossing", "describe", "frontier", "isotonic", "number"]
