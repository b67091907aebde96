"""The successor map and the Basin of Good Deference (docs/model.md, "Successors").

Version 3: a generation with mean alignment ``a`` trains a successor whose alignment is
``f(a) = a + a (a_max - a)(rho(m) a - delta)`` (:func:`trained_alignment`), with the return
``rho(m) = rho_max m / (1 + m)`` and the ceiling ``a_max(m)`` set by the margin ``m`` of
alignment knowledge over difficulty. Its fixed points are 0, ``a_max`` and
``a* = delta / rho(m)``: when ``a* < a_max`` alignments above ``a*`` climb toward the ceiling
generation after generation (the basin); when knowledge falls behind, the ceiling drops below
the boundary and no basin exists. The engine's hand-off calls :func:`successor_alignment`.

Version 1's map ``f(a) = a + a(1-a)(rho(tau) a - delta)``, ``rho(tau) = rho_max tau / (tau +
tau_half)`` (:func:`successor_map`, :func:`basin_boundary`, :func:`required_tax`) is the same
form with a ceiling of 1 and the tax in place of knowledge; it stays as a validated kernel.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np

try:  # the eigenvalue ufunc np.linalg.eigvals wraps (see _eigvals)
    from numpy.linalg import _umath_linalg as _linalg_ufuncs
except ImportError:  # pragma: no cover
    _linalg_ufuncs = None  # type: ignore[assignment]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@overload
def faithfulness(a: float, floor: float) -> float: ...
@overload
def faithfulness(a: FloatArray, floor: float) -> FloatArray: ...
def faithfulness(a: Any, floor: float) -> Any:
    """How faithfully a model at alignment ``a`` takes a fix or trains its successor toward the
    knowledge: ``a`` itself when ``floor`` is 0, else ``(a - floor) / (1 - floor)``, 0 at or
    below ``floor`` (``knowledge.faith_floor``: below it a model games the training it is
    given, so improvement does not bootstrap), in [0, 1].

    >>> faithfulness(0.8, 0.0), round(faithfulness(0.8, 0.6), 6), faithfulness(0.5, 0.6)
    (0.8, 0.5, 0.0)
    """
    if floor == 0.0:
        return np.clip(a, 0.0, 1.0) if isinstance(a, np.ndarray) else min(1.0, max(0.0, a))
    share = (a - floor) / (1.0 - floor)
    return np.clip(share, 0.0, 1.0) if isinstance(share, np.ndarray) else min(1.0, max(0.0, share))


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


def knowledge_return(m: float, rho_max: float) -> float:
    """``rho(m) = rho_max m / (1 + m)``: version 3's return on a successor's alignment, set by
    the margin ``m`` of alignment knowledge over difficulty (version 1 set it by the tax).

    >>> knowledge_return(1.0, 0.8)
    0.4
    """
    return rho_max * m / (1.0 + m) if m > 0 else 0.0


@overload
def trained_alignment(
    a: float, rho: float, delta: float, top: float, floor: float = 0.0
) -> float: ...
@overload
def trained_alignment(
    a: FloatArray, rho: float, delta: float, top: float, floor: float = 0.0
) -> FloatArray: ...
def trained_alignment(a: Any, rho: float, delta: float, top: float, floor: float = 0.0) -> Any:
    """``a + rho a^2 (top - a) - delta a (1 - a)`` in [0, 1]: the successor a generation at
    mean alignment ``a`` trains, when knowledge gives the return ``rho`` and the ceiling
    ``top``. Aligned parents apply the knowledge faithfully (``rho a``) toward the ceiling; the
    unfaithful share loses ``delta`` of the distance to full alignment.

    With ``top = 1`` and ``rho = rho(tau)`` it is version 1's map :func:`successor_map`
    (``a (1 - a)(rho a - delta)``). Its fixed points are 0 and the roots of
    ``rho a (top - a) = delta (1 - a)``: the lower one (the basin's edge) is unstable, the upper
    one (just below the ceiling) stable; when knowledge is too weak there are none and every
    alignment falls. A society above what its knowledge sustains settles toward the upper root.

    >>> round(trained_alignment(0.5, 0.4, 0.1, 1.0), 6)
    0.525
    >>> round(trained_alignment(0.95, 0.4, 0.1, 0.9), 6)
    0.9272

    With a faithfulness floor (:func:`faithfulness`) the aligned share ``a`` of the first
    term becomes ``(a - floor) / (1 - floor)``: a generation at or below the floor trains no
    better successor, whatever the knowledge.

    >>> round(trained_alignment(0.5, 0.4, 0.1, 1.0, floor=0.6), 6)
    0.475
    """
    out = a + rho * a * faithfulness(a, floor) * (top - a) - delta * a * (1.0 - a)
    return np.clip(out, 0.0, 1.0) if isinstance(out, np.ndarray) else min(1.0, max(0.0, out))


def basin_roots(rho: float, delta: float, top: float) -> tuple[float, float] | None:
    """``(edge, attractor)``: the fixed points of :func:`trained_alignment` in (0, 1), without
    erosion or hacking; ``None`` when knowledge gives no basin.

    >>> [round(x, 6) for x in basin_roots(0.4, 0.1, 1.0)]
    [0.25, 1.0]
    >>> basin_roots(0.1, 0.1, 0.8) is None
    True
    """
    b = rho * top + delta
    disc = b * b - 4.0 * rho * delta
    if rho <= 0 or disc <= 0:
        return None
    root = math.sqrt(disc)
    return (b - root) / (2.0 * rho), (b + root) / (2.0 * rho)


def successor_alignment(
    parent: FloatArray,
    *,
    rho: float,
    delta: float,
    top: float,
    spec_weight: float,
    hack_share: float,
    hack_penalty: float,
    noise_sd: float,
    rng: np.random.Generator,
    floor: float = 0.0,
) -> FloatArray:
    """Alignment of each successor instance, trained from parent instance ``parent[i]``.

    The generation mean follows :func:`trained_alignment` (minus the reward-hacking penalty
    ``Delta_rh * B_n``); each successor keeps ``1 - spec_weight`` of its parent's deviation
    from the mean (distillation carries memes; the engine passes the protection ``P``, so
    better knowledge reproduces the spec more faithfully) plus fresh noise ``sigma_g``.
    """
    mean = float(parent.mean())
    target = trained_alignment(mean, rho, delta, top, floor) - hack_penalty * hack_share
    deviation = (1.0 - spec_weight) * (parent - mean)
    noise = noise_sd * rng.standard_normal(parent.shape[0])
    return np.clip(target + deviation + noise, 0.0, 1.0)


def basin_edge(
    rho: float,
    delta: float,
    top: float,
    *,
    erosion: float = 0.0,
    hack_loss: float = 0.0,
    floor: float = 0.0,
) -> float | None:
    """``a*_eff``: the lowest trained alignment whose successor is trained at least as aligned,
    once the generation's own erosion and the reward-hacking loss are counted; ``None`` when
    every alignment falls (the knowledge gives no basin). See :func:`basin_interval`.

    >>> round(basin_edge(0.4, 0.1, 1.0), 6)
    0.25
    >>> round(basin_edge(0.4, 0.1, 0.9, erosion=0.005), 3)
    0.366
    >>> basin_edge(0.2, 0.1, 0.45) is None
    True
    """
    interval = basin_interval(rho, delta, top, erosion=erosion, hack_loss=hack_loss, floor=floor)
    return None if interval is None else interval[0]


def basin_interval(
    rho: float,
    delta: float,
    top: float,
    *,
    erosion: float = 0.0,
    hack_loss: float = 0.0,
    floor: float = 0.0,
) -> tuple[float, float] | None:
    """``(edge, attractor)``: the trained alignments between which a generation trains a
    successor at least as aligned as itself, ``trained_alignment(a - erosion) - hack_loss >=
    a``; ``None`` when there are none. Above the attractor a society falls toward it; below the
    edge it falls away.

    With ``x = a - erosion`` the net gain is the cubic
    ``-rho x^3 + (rho top + delta) x^2 - delta x - (erosion + hack_loss)``, negative at
    ``x = 0`` and for large ``x``: the basin lies between its two positive roots (solved
    exactly, then checked against the map itself).

    >>> [round(x, 3) for x in basin_interval(0.4, 0.1, 1.0)]
    [0.25, 1.0]
    >>> [round(x, 3) for x in basin_interval(0.4, 0.1, 0.9, erosion=0.005)]
    [0.366, 0.836]

    With a faithfulness floor (:func:`faithfulness`) the map's first term is ``rho x (x -
    floor) / (1 - floor) (top - x)`` above the floor and 0 below it, so the basin lies above
    the floor, between the roots of ``x^3 - (top + floor + delta / r) x^2 + (floor top + delta /
    r) x + shift / r`` with ``r = rho / (1 - floor)``:

    >>> [round(x, 3) for x in basin_interval(0.4, 0.1, 1.0, floor=0.6)]
    [0.7, 1.0]
    """
    # Plain floats throughout: the same IEEE operations as numpy scalars (the lab's state holds
    # np.float64), so the same bits, at a fraction of the cost of numpy's scalar arithmetic;
    # and an overflow is inf without a warning to silence.
    rho, delta, top = float(rho), float(delta), float(top)
    erosion, hack_loss, floor = float(erosion), float(hack_loss), float(floor)
    shift = erosion + hack_loss
    if not rho > 0.0:  # also NaN
        return None
    coefficients = (rho, top, delta, shift)
    if not all(math.isfinite(c) for c in coefficients):
        # An extreme scenario (e.g. a margin that overflowed) leaves no cubic to solve: say
        # "no basin" rather than fail the run.
        return None
    if floor == 0.0:
        companion = (top + delta / rho, -delta / rho, -shift / rho)
    else:
        r = rho / (1.0 - floor)
        companion = (top + floor + delta / r, -(floor * top + delta / r), -shift / r)
    if not all(math.isfinite(c) for c in companion):
        # rho is so small next to delta that the cubic is effectively the quadratic
        # delta x (x - 1) - shift, negative on (0, 1): no basin.
        return None
    real = _real_roots(_monic_roots(companion))
    if shift <= 1e-15:  # x = 0 is a root of its own: the basin is between the other two
        real = [r for r in real if r > 1e-9]
    if floor > 0.0:  # the cubic holds above the floor only; below it every alignment falls
        real = [r for r in real if r > floor]
    if len(real) < 2:
        return None
    lo, hi = real[0], real[1]
    if (
        lo + erosion >= 1.0
        or _net_gain(0.5 * (lo + hi) + erosion, rho, delta, top, erosion, hack_loss, floor) <= 0.0
    ):
        return None
    top_a = hi + erosion
    if hi + rho * hi * faithfulness(hi, floor) * (top - hi) - delta * hi * (1.0 - hi) > 1.0:
        # The map is clipped at 1 there: the gain reaches 0 where 1 - hack_loss = a.
        top_a = min(top_a, 1.0 - hack_loss)
    return min(lo + erosion, 1.0), min(top_a, 1.0)


def _monic_roots(companion: tuple[float, ...]) -> np.ndarray:
    """``np.roots([-1.0, *companion])`` without its generic preamble (as costly as the
    eigenvalues of the small matrix): the same companion matrix (its first row
    ``-companion / -1.0`` is ``companion`` exactly), the same ``eigvals``, and a zero root for
    each trailing zero coefficient, as np.roots strips them; so the same roots to the bit."""
    row = list(companion)
    trailing = 0
    while row and row[-1] == 0.0:
        row.pop()
        trailing += 1
    if row:
        a = np.eye(len(row), k=-1)
        a[0, :] = row
        roots = _eigvals(a)
    else:
        roots = np.array([])
    return np.concatenate((roots, np.zeros(trailing, roots.dtype))) if trailing else roots


def _eigvals(a: np.ndarray) -> np.ndarray:
    """``np.linalg.eigvals(a)`` for a finite float64 square matrix: the same LAPACK ufunc under
    the same error state (non-convergence raises its LinAlgError), and a real array when every
    imaginary part is 0, without the checks and conversions around it (on a 3x3 in a running
    simulation they cost several times the eigenvalues)."""
    if _linalg_ufuncs is None:  # pragma: no cover - numpy moved its ufunc: the public wrapper
        out: np.ndarray = np.linalg.eigvals(a)
        return out
    with np.errstate(
        call=_no_convergence, invalid="call", over="ignore", divide="ignore", under="ignore"
    ):
        w = _linalg_ufuncs.eigvals(a, signature="d->D")
    return w if w.imag.any() else w.real


def _no_convergence(err: str, flag: int) -> None:
    """numpy's callback for an eigenvalue solver that did not converge (numpy.linalg)."""
    raise np.linalg.LinAlgError("Eigenvalues did not converge")


def _real_roots(roots: np.ndarray) -> list[float]:
    """The real roots above ``-1e-12`` (imaginary part within ``1e-9`` of the modulus),
    sorted. ``eigvals`` returns a real array when every root is real: those are compared
    as plain floats, the same values with the numpy scalars' cost left out."""
    if roots.dtype.kind == "f":
        # A real root's imaginary part is 0, within any tolerance; NaN fails `> -1e-12`.
        return sorted(r for r in roots.tolist() if r > -1e-12)
    return sorted(
        float(r.real) for r in roots if abs(r.imag) <= 1e-9 * max(1.0, abs(r)) and r.real > -1e-12
    )


def _net_gain(
    a: Any,
    rho: float,
    delta: float,
    top: float,
    erosion: float,
    hack_loss: float,
    floor: float = 0.0,
) -> Any:
    """Successor's trained alignment minus the parent's."""
    end = (
        np.clip(a - erosion, 0.0, 1.0)
        if isinstance(a, np.ndarray)
        else min(1.0, max(0.0, a - erosion))
    )
    return trained_alignment(end, rho, delta, top, floor) - hack_loss - a


def effective_boundary(
    tau: float,
    rho_max: float,
    delta: float,
    tau_half: float,
    *,
    erosion: float = 0.0,
    hack_loss: float = 0.0,
) -> float | None:
    """Version 1's map at effective tax ``tau``: :func:`basin_edge` with ``rho(tau)`` and a
    ceiling of 1 (a validated kernel; the engine uses :func:`basin_edge` with ``rho(m)``).

    >>> round(effective_boundary(1.0, 0.8, 0.1, 0.5), 6)
    0.1875
    >>> round(effective_boundary(1.0, 0.8, 0.1, 0.5, erosion=0.03), 3)
    0.449
    >>> effective_boundary(0.1, 0.8, 0.1, 0.5, erosion=0.03) is None
    True
    """
    rho = alignment_return(tau, rho_max, tau_half)
    return basin_edge(rho, delta, 1.0, erosion=erosion, hack_loss=hack_loss)
