"""Fused loops over the edge list and the CSR adjacency (numba).

Each kernel here replaces a chain of numpy calls over the links (gathers, masks, two
``bincount`` and a divide) with one pass: a small run's day is mostly per-call overhead and a
large run's mostly temporaries. Every loop adds in the order numpy's own routine adds
(``bincount`` walks its input in order) and none lets the compiler reassociate or fuse a
multiply-add (no ``fastmath``), so results are bit-identical to the numpy expressions they
replace; tests/test_fused.py checks them against those expressions.

They pay off only for large populations: importing numba and loading the compiled kernels
costs about a second per process, which a small run's whole year does not recover. Callers
reach them through :func:`society.fusion.fused`, which gates them by size; both forms give the
same bits. Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def bounded_confidence_pull(
    x: np.ndarray, u: np.ndarray, v: np.ndarray, eps: np.ndarray, degree: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """``sum_j 1{|x_i - x_j| < eps_i} (x_j - x_i) / degree_i`` over the undirected links
    ``(u[k], v[k])``, each read both ways (0 where ``degree_i`` is 0)."""
    n = x.shape[0]
    # Two sums, as the numpy form's two bincounts: toward v (read by u) and toward u (read by v).
    up = np.zeros(n)
    down = np.zeros(n)
    for k in range(u.shape[0]):
        a = u[k]
        b = v[k]
        d = x[b] - x[a]
        g = abs(d)
        if g < eps[a]:
            up[a] += d
        if g < eps[b]:
            down[b] += d
    out = np.zeros(n)
    for i in range(n):
        if degree[i] > 0:
            out[i] = (up[i] - down[i]) / degree[i]
    return out


@njit(cache=True, nogil=True)
def camp_counts(
    labels: np.ndarray, u: np.ndarray, v: np.ndarray, strength: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Per camp: links with both ends in it, and the summed strength of its nodes (the two
    bincounts of Newman modularity, in their order)."""
    inside = np.zeros(k)
    for e in range(u.shape[0]):
        la = labels[u[e]]
        if la == labels[v[e]]:
            inside[la] += 1.0
    total = np.zeros(k)
    for i in range(labels.shape[0]):
        total[labels[i]] += strength[i]
    return inside, total


@njit(cache=True, nogil=True)
def links_apart(
    x: np.ndarray, u: np.ndarray, v: np.ndarray, threshold: float
) -> int:  # pragma: no cover - compiled
    """Links whose ends differ by more than ``threshold``."""
    count = 0
    for e in range(u.shape[0]):
        if abs(x[u[e]] - x[v[e]]) > threshold:
            count += 1
    return count


@njit(cache=True, nogil=True)
def uniform_histogram(x: np.ndarray, edges: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Counts of ``x`` in the equal bins ``edges`` (``np.linspace(lo, hi, bins + 1)``, with
    ``lo <= x <= hi``), binned exactly as ``np.histogram``'s equal-bin path: the scaled index,
    then the one-ulp corrections against the edges, the last bin closed."""
    bins = edges.shape[0] - 1
    lo = edges[0]
    denom = edges[bins] - lo
    counts = np.zeros(bins, dtype=np.int64)
    for i in range(x.shape[0]):
        xi = x[i]
        k = int(((xi - lo) / denom) * bins)
        if k == bins:
            k -= 1
        if xi < edges[k]:
            k -= 1
        if xi >= edges[k + 1] and k != bins - 1:
            k += 1
        counts[k] += 1
    return counts


def warm() -> None:
    """Load every kernel for the argument types the engine passes (int32 edge lists and
    degrees, int8 camps), so no run pays the loading."""
    x = np.zeros(2)
    ends = np.zeros(1, dtype=np.int32)
    bounded_confidence_pull(x, ends, ends, x, np.ones(2, dtype=np.int32))
    camp_counts(np.zeros(2, dtype=np.int8), ends, ends, x, 1)
    links_apart(x, ends, ends, 0.0)
    uniform_histogram(x + np.array([0.0, 1.0]), np.linspace(0.0, 1.0, 3))
    neighbour_sum(ends, ends, x, 2)
    scaled_neighbour_sums(ends, ends, np.zeros((2, 3)), x)
    belief_update(np.zeros((2, 3)), np.zeros((2, 3)), 1.0, x, np.zeros((2, 3)), 1.0)
    belief_update_rows(np.zeros((2, 3)), np.zeros((2, 3)), x, x, np.zeros((2, 3)), x)


@njit(cache=True, nogil=True)
def neighbour_sum(
    u: np.ndarray, v: np.ndarray, x: np.ndarray, n: int
) -> np.ndarray:  # pragma: no cover - compiled
    """``A @ x`` for the symmetric adjacency of the links ``(u[k], v[k])``, without building A.

    Each node's terms are added in the order of its row in :attr:`Network.adjacency` (the links
    where it is ``u`` in edge order, then those where it is ``v``), the order scipy's product
    adds them in, so the sums are the same bits."""
    y = np.zeros(n)
    for k in range(u.shape[0]):
        y[u[k]] += x[v[k]]
    for k in range(u.shape[0]):
        y[v[k]] += x[u[k]]
    return y


@njit(cache=True, nogil=True)
def scaled_neighbour_sums(
    u: np.ndarray, v: np.ndarray, t: np.ndarray, scale: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """``diag(scale) A @ t`` for a 2-D ``t`` (:attr:`Network.reading` times ``t``), in the
    order scipy's product adds (see :func:`neighbour_sum`)."""
    n = scale.shape[0]
    m = t.shape[1]
    y = np.zeros((n, m))
    for k in range(u.shape[0]):
        i = u[k]
        j = v[k]
        a = scale[i]
        for c in range(m):
            y[i, c] += a * t[j, c]
    for k in range(u.shape[0]):
        i = v[k]
        j = u[k]
        a = scale[i]
        for c in range(m):
            y[i, c] += a * t[j, c]
    return y


@njit(cache=True, nogil=True)
def belief_update(
    x: np.ndarray,
    heard: np.ndarray,
    coupling: float,
    grounding: np.ndarray,
    target: np.ndarray,
    h: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """``(x + h (coupling heard + g target)) / (1 + h (1 + g))`` elementwise, ``g`` per row:
    the semi-implicit belief step of :func:`~society.mechanisms.influence.coupled_belief_step`
    with the same operations in the same order, without its four temporaries."""
    n, m = x.shape
    out = np.empty((n, m))
    for i in range(n):
        g = grounding[i]
        denominator = 1.0 + h * (1.0 + g)
        for c in range(m):
            social = coupling * heard[i, c]
            out[i, c] = (x[i, c] + h * (social + g * target[i, c])) / denominator
    return out


@njit(cache=True, nogil=True)
def belief_update_rows(
    x: np.ndarray,
    heard: np.ndarray,
    coupling: np.ndarray,
    grounding: np.ndarray,
    target: np.ndarray,
    h: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`belief_update` with ``coupling`` and ``h`` one per row (a batch of runs, each
    with its own), in the same operations and order."""
    n, m = x.shape
    out = np.empty((n, m))
    for i in range(n):
        g = grounding[i]
        hi = h[i]
        denominator = 1.0 + hi * (1.0 + g)
        for c in range(m):
            social = coupling[i] * heard[i, c]
            out[i, c] = (x[i, c] + hi * (social + g * target[i, c])) / denominator
    return out
