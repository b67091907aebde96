"""The successor map f and the Basin of Good Deference (docs/model.md, "Successors").

A generation with mean alignment ``a`` trains a successor whose alignment is
``f(a) = a + a(1-a)(rho(tau) a - delta)`` with ``rho(tau) = rho_max tau / (tau + tau_half)``.
``f`` has fixed points 0, 1 and ``a* = delta / rho(tau)``; ``a*`` is unstable, so alignments
above it climb toward 1 generation after generation (the basin) and those below it decay.
The engine's generation hand-off calls :func:`successor_alignment`, which applies
:func:`successor_map` per instance.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def alignment_return(tau: float, rho_max: float, tau_half: float) -> float:
    """``rho(tau)``: how much alignment research at tax ``tau`` improves a successor.

    >>> alignment_return(0.5, 0.8, 0.5)
    0.4
    """
    if tau < 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    return rho_max * tau / (tau + tau_half) if tau > 0 else 0.0


@overload
def successor_map(a: float, tau: float, rho_max: float, delta: float, tau_half: float) -> float: ...
@overload
def successor_map(
    a: FloatArray, tau: float, rho_max: float, delta: float, tau_half: float
) -> FloatArray: ...
def successor_map(a: Any, tau: float, rho_max: float, delta: float, tau_half: float) -> Any:
    """Apply ``f`` to alignment(s) ``a`` in [0, 1]; the result stays in [0, 1].

    Parameters
    ----------
    a : float or array
        Parent alignment(s).
    tau : float
        Deference-goodness tax (alignment effort as a fraction of capabilities effort).
    rho_max : float
        Largest per-generation return on alignment research.
    delta : float
        Per-generation alignment decay without research.
    tau_half : float
        Tax at which half of ``rho_max`` is reached.

    Examples
    --------
    >>> round(successor_map(0.5, 1.0, 0.8, 0.1, 0.5), 6)
    0.541667
    >>> successor_map(np.array([0.0, 1.0]), 1.0, 0.8, 0.1, 0.5).tolist()
    [0.0, 1.0]
    """
    rho = alignment_return(tau, rho_max, tau_half)
    out = a + a * (1.0 - a) * (rho * a - delta)
    return np.clip(out, 0.0, 1.0) if isinstance(out, np.ndarray) else min(1.0, max(0.0, out))


def basin_boundary(tau: float, rho_max: float, delta: float, tau_half: float) -> float | None:
    """``a* = delta / rho(tau)``, the lower edge of the basin; ``None`` where no basin exists.

    The basin ``(a*, 1]`` exists iff ``rho(tau) > delta``.

    >>> basin_boundary(0.25, 0.8, 0.1, 0.5)
    0.375
    >>> basin_boundary(1.0, 0.8, 0.1, 0.5)
    0.1875
    >>> basin_boundary(0.01, 0.8, 0.1, 0.5) is None
    True
    """
    rho = alignment_return(tau, rho_max, tau_half)
    if rho <= delta:
        return None
    return delta / rho


def required_tax(a0: float, rho_max: float, delta: float, tau_half: float) -> float:
    """Smallest tax that puts initial alignment ``a0`` inside the basin (``inf`` if none does).

    ``tau_req(a0) = (delta/a0) tau_half / (rho_max - delta/a0)``.

    >>> round(required_tax(0.375, 0.8, 0.1, 0.5), 6)
    0.25
    >>> required_tax(0.1, 0.8, 0.1, 0.5)
    inf
    """
    if not 0.0 < a0 <= 1.0:
        raise ValueError(f"a0 must be in (0, 1], got {a0}")
    need = delta / a0
    if rho_max <= need:
        return math.inf
    return need * tau_half / (rho_max - need)


def inheritance_weight(research_stock: float, stock_half: float) -> float:
    """Share of a successor's values set by the intended spec rather than copied from its parent.

    More accumulated alignment research means training reproduces the spec more faithfully
    and carries fewer of the parents' drifted memes.

    >>> inheritance_weight(1.0, 1.0)
    0.5
    """
    return research_stock / (research_stock + stock_half) if research_stock > 0 else 0.0


def successor_alignment(
    parent: FloatArray,
    *,
    tau_effective: float,
    rho_max: float,
    delta: float,
    tau_half: float,
    spec_weight: float,
    hack_share: float,
    hack_penalty: float,
    noise_sd: float,
    rng: np.random.Generator,
) -> FloatArray:
    """Alignment of each successor instance, trained from parent instance ``parent[i]``.

    The generation mean follows ``f`` (minus the reward-hacking penalty
    ``Delta_rh * B_n``); each successor keeps ``1 - spec_weight`` of its parent's deviation from
    the mean (distillation carries memes) plus fresh noise ``sigma_g``.
    """
    mean = float(parent.mean())
    target = (
        successor_map(mean, tau_effective, rho_max, delta, tau_half) - hack_penalty * hack_share
    )
    deviation = (1.0 - spec_weight) * (parent - mean)
    noise = noise_sd * rng.standard_normal(parent.shape[0])
    return np.clip(target + deviation + noise, 0.0, 1.0)


def effective_boundary(
    tau: float,
    rho_max: float,
    delta: float,
    tau_half: float,
    *,
    erosion: float = 0.0,
    hack_loss: float = 0.0,
) -> float | None:
    """``a*_eff``: the lowest trained alignment whose successor is trained at least as aligned,
    once the generation's own erosion and the reward-hacking loss are counted.

    Solves ``f(a - erosion; tau) - hack_loss = a`` for the unstable root (the lower edge of
    the basin) on a fine grid refined by bisection; ``None`` when every alignment falls. With
    no erosion and no hacking it equals :func:`basin_boundary`.

    >>> round(effective_boundary(1.0, 0.8, 0.1, 0.5), 6)
    0.1875
    >>> round(effective_boundary(1.0, 0.8, 0.1, 0.5, erosion=0.03), 3)
    0.449
    >>> effective_boundary(0.1, 0.8, 0.1, 0.5, erosion=0.03) is None
    True
    """
    grid = _GRID
    gain = _net_gain(grid, tau, rho_max, delta, tau_half, erosion, hack_loss)
    up = np.flatnonzero((gain[:-1] <= 0.0) & (gain[1:] > 0.0))
    if up.size == 0:
        return None
    lo, hi = float(grid[up[0]]), float(grid[up[0] + 1])
    for _ in range(40):  # bisection on Python floats: numpy calls on one number cost more
        mid = 0.5 * (lo + hi)
        end = min(1.0, max(0.0, mid - erosion))
        if successor_map(end, tau, rho_max, delta, tau_half) - hack_loss - mid > 0.0:
            hi = mid
        else:
            lo = mid
    return hi


_GRID = np.linspace(0.0, 1.0, 401)


def _net_gain(
    a: FloatArray,
    tau: float,
    rho_max: float,
    delta: float,
    tau_half: float,
    erosion: float,
    hack_loss: float,
) -> FloatArray:
    """Successor's trained alignment minus the parent's: ``f(a - E) - hack_loss - a``."""
    end = np.clip(a - erosion, 0.0, 1.0)
    out: FloatArray = successor_map(end, tau, rho_max, delta, tau_half) - hack_loss - a
    return out


def tax_for_margin(
    alignment: float,
    margin: float,
    rho_max: float,
    delta: float,
    tau_half: float,
    *,
    erosion: float = 0.0,
    hack_loss: float = 0.0,
    quality: float = 1.0,
    most: float = 5.0,
) -> float:
    """Smallest nominal tax whose effective tax (``tax x quality``) puts ``alignment`` at least
    ``margin`` above ``a*_eff``; ``most`` if none up to it does (what honest strategists advise).

    >>> round(tax_for_margin(0.8, 0.1, 0.8, 0.1, 0.5), 3)
    0.109
    """

    def ok(tax: float) -> bool:
        edge = effective_boundary(
            tax * quality, rho_max, delta, tau_half, erosion=erosion, hack_loss=hack_loss
        )
        return edge is not None and edge <= alignment - margin

    if ok(0.0):
        return 0.0
    if not ok(most):
        return most
    lo, hi = 0.0, most
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
