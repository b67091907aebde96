"""Metrics of a society's state: pure functions of arrays (and a graph), one number each.

Every column of ``metrics.parquet`` that describes the population is computed here; the engine
calls these functions on its state arrays and nothing else. A graph argument may be a scipy
sparse adjacency, a networkx graph, or the engine's :class:`~society.network.Network`.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from society.arrays import mean
from society.fusion import fused
from society.graphs import as_csr, graph_rows, link_pairs

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def wasserstein1(a: FloatArray, b: FloatArray, *, presorted: bool = False) -> float:
    """Earth mover's (W1) distance between the empirical distributions of ``a`` and ``b``
    (``presorted``: both are sorted already, as the engine keeps them, so no sort is needed).

    >>> wasserstein1(np.array([0.0, 1.0]), np.array([0.5, 1.5]))
    0.5
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if not presorted:
        a, b = np.sort(a), np.sort(b)
    if a.shape == b.shape:
        return mean(np.abs(a - b))
    # Different sizes: integrate |F_a - F_b| over the merged support.
    support = np.concatenate([a, b])
    support.sort()
    widths = np.diff(support)
    cdf_a = np.searchsorted(a, support[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, support[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def distance_from_point(a: FloatArray, point: float) -> float:
    """W1 distance between the distribution of ``a`` and a point mass at ``point``.

    >>> distance_from_point(np.array([0.5, 1.0]), 1.0)
    0.25
    """
    return mean(np.abs(np.asarray(a) - point))


class Spread(NamedTuple):
    """An array's deviations from its mean, their squares and the sum of those: the first
    steps its variance, Sarle's bimodality and a Pearson r all take. A row of metrics needs
    all three of the opinions, so it computes them once (:func:`spread`)."""

    d: FloatArray
    d2: FloatArray
    ss: Any  # the squares' sum, a numpy scalar like ndarray.sum()'s


def spread(x: FloatArray) -> Spread:
    """``x - x.mean()``, its square and the square's sum, with the reductions ``x.mean()`` and
    ``x.var()`` use (numpy's pairwise ``add.reduce`` over the whole array, divided by the
    count): the variance ``ss / n`` is ``x.var()`` to the bit.

    >>> s = spread(np.array([1.0, 2.0, 6.0]))
    >>> s.d.tolist(), float(s.ss)
    ([-2.0, -1.0, 3.0], 14.0)
    """
    # ndarray.mean()'s Python wrapper costs more than its sum at 1,000 instances; for float64
    # it is this sum divided by the count. Other dtypes keep their own mean (an integer
    # array's is summed in float64).
    mu = np.add.reduce(x, axis=None) / x.size if x.dtype == np.float64 else x.mean()
    d = x - mu
    d2 = d * d
    return Spread(d, d2, np.add.reduce(d2, axis=None))


def variance(s: Spread) -> float:
    """``x.var()`` from ``spread(x)``.

    >>> variance(spread(np.array([1.0, 2.0, 6.0]))) == float(np.array([1.0, 2.0, 6.0]).var())
    True
    """
    return float(s.ss / s.d.size)


def bimodality_coefficient(x: FloatArray, *, x_spread: Spread | None = None) -> float:
    """Sarle's sample bimodality coefficient ``(g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3)))``.

    ``g`` is the sample skewness and ``k`` the sample excess kurtosis (both bias-corrected).
    Uniform data give 5/9, normal data 1/3; values above 5/9 suggest two modes. A constant
    sample has no shape and gives 0. ``x_spread`` is ``spread(x)`` when the caller has it.

    >>> rng = np.random.default_rng(0)
    >>> abs(bimodality_coefficient(rng.uniform(size=200_000)) - 5 / 9) < 0.01
    True
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 4:
        return 0.0
    s = x_spread if x_spread is not None else spread(x)
    d, d2 = s.d, s.d2
    # The moments as plain floats: the scalar arithmetic below is then Python's, the same
    # IEEE operations numpy's scalars do at a fraction of their cost (but the power stays
    # numpy's, whose overflow is inf where Python's raises).
    m2 = float(s.ss) / n
    if m2 <= 1e-150:  # no spread (and m2 * m2 below would underflow to 0)
        return 0.0
    # Elementwise products, not np.dot: a 1-D dot goes through multithreaded BLAS, which is
    # 100x slower than this on a busy 2-core machine.
    m3 = float(np.add.reduce(d2 * d, axis=None)) / n
    m4 = float(np.add.reduce(d2 * d2, axis=None)) / n
    return sarle(n, m2, m3, m4)


def sarle(n: int, m2: float, m3: float, m4: float) -> float:
    """Sarle's bimodality coefficient of ``n`` values from their central moments (``m2`` above
    1e-150; see :func:`bimodality_coefficient`)."""
    g1 = m3 / float(np.float64(m2) ** 1.5)
    g2 = m4 / (m2 * m2) - 3.0
    skew = g1 * math.sqrt(n * (n - 1)) / (n - 2)
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)
    return (skew * skew + 1.0) / (kurt + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def esteban_ray(
    x: FloatArray, alpha: float = 1.6, bins: int = 64, *, presorted: bool = False
) -> float:
    """Esteban-Ray polarization ``sum_ij p_i^(1+alpha) p_j |y_i - y_j|`` over a histogram.

    Opinions are binned on their own range; the index is 0 for a consensus and grows with a
    few large, distant groups. ``presorted``: ``x`` is sorted, so its ends are its range.

    >>> esteban_ray(np.full(10, 0.3))
    0.0
    >>> round(esteban_ray(np.array([0.0] * 5 + [1.0] * 5), bins=2), 4)
    0.0825
    """
    x = np.asarray(x, dtype=np.float64)
    lo = hi = math.nan
    if presorted and x.size:
        lo, hi = float(x[0]), float(x[-1])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        # (A NaN sorts last, where min() returns it: let np.histogram see what it saw before.)
        lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-12:
        return 0.0
    counts, edges = opinion_histogram(x, lo, hi, bins, presorted=presorted)
    return float(esteban_ray_terms(counts / x.size, edges, alpha))


def opinion_histogram(
    x: FloatArray, lo: float, hi: float, bins: int, *, presorted: bool = False
) -> tuple[Any, FloatArray]:
    """``np.histogram(x, bins, range=(lo, hi))`` for ``x`` within ``[lo, hi]``: the fused
    kernel's counts where it is loaded, else :func:`_histogram`'s (the same counts)."""
    kernels = fused(x.size)
    if kernels is not None:  # np.histogram's equal-bin path in one pass, same counts
        return kernels.uniform_histogram(x, edges := _bin_edges(lo, hi, bins)), edges
    return _histogram(x, lo, hi, bins, presorted=presorted)


def esteban_ray_terms(p: FloatArray, edges: FloatArray, alpha: float) -> FloatArray:
    """Each histogram's sum of ``p_i^(1+alpha) p_j |y_i - y_j|`` over its bins (``p`` and
    ``edges`` one histogram, or one a row), the terms multiplied in that order and added as
    numpy adds each histogram's ``bins^2`` of them."""
    y = 0.5 * (edges[..., :-1] + edges[..., 1:])
    # A column times a row broadcasts as ufunc.outer does, without its wrapper.
    terms = (p ** (1.0 + alpha))[..., :, None] * p[..., None, :]
    dist = y[..., :, None] - y[..., None, :]
    terms *= np.abs(dist, out=dist)
    out: FloatArray = np.add.reduce(terms.reshape(*p.shape[:-1], -1), axis=-1)
    return out


def _histogram(
    x: FloatArray, lo: float, hi: float, bins: int, *, presorted: bool = False
) -> tuple[Any, FloatArray]:
    """``np.histogram(x, bins, range=(lo, hi))`` for ``x`` within ``[lo, hi]``: its edges and
    its counts, without its checks and wrappers (a hundred microseconds a call). Ranges
    np.histogram rejects go to it, so they fail as they did.

    np.histogram scales each value to a bin index, then corrects it by one step where the
    value lies outside that bin's edges (the last bin closed). Unsorted values get those
    operations; sorted ones (``presorted``) are counted between the edges directly, which is
    the same once the correction always reaches the right bin (see below).

    >>> counts, edges = _histogram(np.array([0.0, 0.1, 0.5, 1.0]), 0.0, 1.0, 4)
    >>> counts.tolist(), edges.tolist()
    ([2, 0, 1, 1], [0.0, 0.25, 0.5, 0.75, 1.0])
    >>> _histogram(np.array([0.0, 0.1, 0.5, 1.0]), 0.0, 1.0, 4, presorted=True)[0].tolist()
    [2, 0, 1, 1]
    """
    step = (hi - lo) / bins
    if not (math.isfinite(lo) and math.isfinite(hi) and step > 0.0):
        return np.histogram(x, bins=bins, range=(lo, hi))
    edges = _bin_edges(lo, hi, bins)
    # Each edge and each scaled index is off its exact value by at most ten ulps of
    # max(|lo|, |hi|). A step a billion times wider than that keeps the edges increasing
    # (np.histogram rejects them otherwise: "too many bins for data range") and the index
    # within one bin of the value's own, which numpy's one-step correction then reaches.
    wide = step > 1e-9 * max(abs(lo), abs(hi))
    if not wide and (edges[1:] <= edges[:-1]).any():
        return np.histogram(x, bins=bins, range=(lo, hi))
    if presorted and wide:
        # Bin i holds e_i <= x < e_i+1 (the last also x = hi): differences of the number
        # of values below each edge.
        # (Every edge searched, the ends then set: fewer calls than searching the inner ones.)
        below = x.searchsorted(edges)
        below[0], below[-1] = 0, x.size
        return below[1:] - below[:-1], edges
    f = x - lo
    f /= hi - lo
    f *= bins
    k = f.astype(np.intp)
    # numpy's corrections with masks, written as arithmetic on the index (the same result):
    # lo <= x <= hi puts k in [0, bins], and only k == bins moves down to the last bin;
    np.minimum(k, bins - 1, out=k)
    # one step down where x is below its bin's left edge;
    k -= x < edges[k]
    # one step up where x reaches the next edge, except from the last bin, whose right
    # edge is closed (an infinite edge there: x is finite).
    right = edges[1:].copy()
    right[-1] = math.inf
    k += x >= right[k]
    return np.bincount(k, minlength=bins), edges


def _bin_edges(lo: float, hi: float, bins: int) -> FloatArray:
    """``np.linspace(lo, hi, bins + 1)``, the edges np.histogram gives equal bins, without
    linspace's wrappers (several microseconds, the cost of the histogram at 1,000 values).

    linspace multiplies ``arange(bins + 1)`` by ``(hi - lo) / bins``, adds ``lo`` and sets the
    last edge to ``hi``: the same operations here, so the same bits, for any ``lo`` and
    ``hi`` (NaN and infinities included) except a step that is exactly zero, which linspace
    takes another way and is left to it.

    >>> _bin_edges(0.0, 1.0, 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    step = (hi - lo) / bins
    if step == 0.0:
        return np.linspace(lo, hi, bins + 1)
    edges = _arange(bins + 1) * step
    edges += lo
    edges[-1] = hi
    return edges


def bin_edges_rows(lo: FloatArray, hi: FloatArray, bins: int) -> FloatArray:
    """:func:`_bin_edges` of each pair ``(lo[r], hi[r])``, one row each, in the same
    operations (so the same bits); every ``hi > lo``.

    >>> bin_edges_rows(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 2).tolist()
    [[0.0, 0.5, 1.0], [1.0, 2.0, 3.0]]
    """
    edges: FloatArray = _arange(bins + 1)[None, :] * ((hi - lo) / bins)[:, None]
    edges += lo[:, None]
    edges[:, -1] = hi
    return edges


@functools.cache
def _arange(n: int) -> FloatArray:
    """``np.arange(n, dtype=float64)``, made once (read-only: callers get products of it)."""
    out = np.arange(n, dtype=np.float64)
    out.flags.writeable = False
    return out


def cluster_labels(x: FloatArray, gap: float = 0.01) -> np.ndarray:
    """Label opinions by cluster: sorted opinions split wherever neighbours differ by > ``gap``.

    >>> cluster_labels(np.array([0.1, 0.9, 0.105, 0.5])).tolist()
    [0, 2, 0, 1]
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    breaks = np.concatenate([[0], (np.diff(x[order]) > gap).astype(np.int64)])
    labels = np.empty(x.size, dtype=np.int64)
    labels[order] = np.cumsum(breaks)
    return labels


def opinion_clusters(
    x: FloatArray, gap: float = 0.01, min_share: float = 0.05, *, presorted: bool = False
) -> int:
    """Number of major opinion clusters: groups split at gaps > ``gap`` holding >= ``min_share``
    (``presorted``: ``x`` is sorted already).

    >>> opinion_clusters(np.array([0.1] * 10 + [0.9] * 10 + [0.5]))
    2
    """
    x = np.asarray(x, dtype=np.float64)
    if not presorted:
        x = np.sort(x)
    n = x.size
    if n == 0:
        return 0
    # Each cluster ends at a gap (np.diff's subtraction) or at the end; its size is integer
    # arithmetic, so counting few clusters in Python gives the same answer as in numpy.
    # (nonzero() of the 1-D mask is flatnonzero without its wrapper.)
    gaps = (x[1:] - x[:-1] > gap).nonzero()[0]
    if gaps.size <= 32:
        # A cluster ends after each gap's left item: at gap + 1.
        bounds = [0, *(g + 1 for g in gaps.tolist()), n]
        least = min_share * n
        return sum(hi - lo >= least for lo, hi in itertools.pairwise(bounds))
    bounds_array = np.concatenate(([0], gaps + 1, [n]))
    return int(np.count_nonzero(bounds_array[1:] - bounds_array[:-1] >= min_share * n))


def neighbour_correlation(
    graph: Any,
    x: FloatArray,
    *,
    strength: np.ndarray | None = None,
    x_spread: Spread | None = None,
) -> float:
    """Pearson r between each node's opinion and the mean opinion of its neighbours.

    High values mean people hear what they already think (an echo chamber). Nodes without
    neighbours are left out; a constant opinion gives 0. A caller that has them already may
    pass ``node_strength(graph)`` and ``spread(x)``.

    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1), (2, 3)])
    >>> neighbour_correlation(g, np.array([0.0, 0.0, 1.0, 1.0]))
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    if strength is None:
        strength = node_strength(graph)
    has = strength > 0
    count = int(np.count_nonzero(has))
    if count < 2:
        return 0.0
    # The engine's Network sums over neighbours without its CSR view when that is faster.
    neighbour_sum = getattr(graph, "neighbour_sum", None)
    total = neighbour_sum(x) if neighbour_sum is not None else as_csr(graph) @ x
    if count < x.size:
        return correlation(x[has], total[has] / strength[has])
    # Everyone has a neighbour (the usual case): no selection to copy, and x's own spread.
    return pearson(x_spread if x_spread is not None else spread(x), spread(total / strength))


def modularity(
    graph: Any,
    labels: np.ndarray,
    *,
    strength: np.ndarray | None = None,
    ends: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Newman modularity ``Q = sum_c [e_c / m - (d_c / 2m)^2]`` of a partition into ``labels``.

    A caller that has them already may pass ``node_strength(graph)`` and ``ends``, the labels
    at the two ends of every link of :func:`link_pairs` (used where the fused kernel is not).

    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1), (2, 3)])
    >>> modularity(g, np.array([0, 0, 1, 1]))
    0.5
    """
    a, b, w = link_pairs(graph)
    labels = np.asarray(labels)
    # (The reductions ndarray.max() and .sum() call, without their wrappers.)
    k = int(np.maximum.reduce(labels, axis=None)) + 1 if labels.size else 0
    if strength is None:
        strength = node_strength(graph)
    total = np.add.reduce(strength, axis=None)
    if total <= 0:
        return 0.0
    kernels = fused(labels.size)
    if kernels is not None and w is None and labels.dtype.kind in "iu":
        # The engine's edge list: both counts in one pass (the same sums as the bincounts).
        e_c, d_c = kernels.camp_counts(labels, a, b, strength, k)
    else:
        # take(), not labels[a]: fancy indexing converts an int32 index first (3x slower).
        la, lb = ends if ends is not None else (labels.take(a), labels.take(b))
        d_c = np.bincount(labels, weights=strength, minlength=k)
        if w is None and k <= 2 and labels.dtype.kind in "biu":
            return _two_camp_modularity(la, lb, d_c, float(total))
        inside = la == lb
        if w is None:
            e_c = np.bincount(la[inside], minlength=k) / 1.0
        else:  # adjacency entries list each link in both directions
            e_c = np.bincount(la[inside], weights=w[inside], minlength=k) / 2.0
    # total = sum of degrees = 2m, so e_c / m = 2 e_c / total.
    if k < 8:
        return summed_camp_terms(e_c.tolist(), d_c.tolist(), float(total))
    return float(np.add.reduce(2.0 * e_c / total - (d_c / total) ** 2, axis=None))


def summed_camp_terms(e_c: list[Any], d_c: list[float], total: float) -> float:
    """``sum_c [2 e_c / total - (d_c / total)^2]`` over the camps of ``d_c``, as numpy sums
    the array of those terms, in plain floats: the same IEEE operations (numpy's ``x ** 2`` is
    ``x * x``; an integer count times 2.0 is the float count times 2.0), and below eight terms
    numpy's pairwise sum adds them one after another to 0.0 (its sum of [-0.0] is 0.0). Five
    array operations on a few items cost more than this.

    >>> summed_camp_terms([1, 1], [2.0, 2.0], 4.0)
    0.5
    """
    q = 0.0
    for e, d in zip(e_c, d_c, strict=False):  # e_c may list a camp d_c does not hold
        share = d / total
        q += 2.0 * e / total - share * share
    return q


def _two_camp_modularity(la: np.ndarray, lb: np.ndarray, d_c: np.ndarray, total: float) -> float:
    """Newman modularity of labels 0 and 1 (the engine's two camps; ``d_c`` holds one or two
    camps), from the labels ``la``, ``lb`` at the ends of each unit link: the links inside
    each camp are integer counts (what bincount counts); a few array calls fewer, at about the
    cost of one another."""
    both = int(np.count_nonzero(la & lb))
    return summed_camp_terms([int(np.count_nonzero(la == lb)) - both, both], d_c.tolist(), total)


def active_link_density(
    graph: Any,
    x: FloatArray,
    threshold: float,
    *,
    ends: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """Share of links whose two ends disagree by more than ``threshold``.

    With discrete opinions (threshold below the smallest step) this is the voter model's
    density of active links; it falls to 0 as a network sorts itself into echo chambers.
    ``ends``: ``x`` at the two ends of every link of :func:`link_pairs`, when the caller has
    them (used where the fused kernel is not).

    >>> import networkx as nx
    >>> active_link_density(nx.path_graph(3), np.array([0.0, 0.0, 1.0]), 0.5)
    0.5
    """
    a, b, _ = link_pairs(graph)
    if a.size == 0:
        return 0.0
    x = np.asarray(x)
    kernels = fused(x.size)
    if kernels is not None and x.dtype == np.float64:
        return float(kernels.links_apart(x, a, b, float(threshold)) / a.size)
    xa, xb = ends if ends is not None else (x.take(a), x.take(b))
    return float(np.count_nonzero(np.abs(xa - xb) > threshold) / a.size)


def link_ends(graph: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` at the two ends of every link of :func:`link_pairs`: the gather several link
    metrics of one array start with, done once.

    >>> import networkx as nx
    >>> [e.tolist() for e in link_ends(nx.path_graph(3), np.array([5, 6, 7]))]
    [[5, 6, 6, 7], [6, 5, 7, 6]]
    """
    a, b, _ = link_pairs(graph)
    return x.take(a), x.take(b)


def largest_community_share(graph: Any, opinions: np.ndarray) -> float:
    """Share of nodes in the largest connected group that holds one opinion (S_max / N).

    Holme & Newman (2006) call a community a connected component of the subgraph whose edges
    join nodes of equal opinion.

    >>> import networkx as nx
    >>> largest_community_share(nx.path_graph(4), np.array([1, 1, 1, 2]))
    0.75
    """
    csr = as_csr(graph)
    n = csr.shape[0]
    if n == 0:
        return 0.0
    rows = graph_rows(graph, csr)
    opinions = np.asarray(opinions)
    same = opinions[rows] == opinions[csr.indices]
    agree = sp.csr_array((np.ones(int(same.sum())), (rows[same], csr.indices[same])), shape=(n, n))
    _, comp = connected_components(agree, directed=False)
    return float(np.bincount(comp).max() / n)


def truth_distance(beliefs: FloatArray, truth: FloatArray | float) -> float:
    """Mean over claims of the distance between the median belief and the truth (one value
    per claim, or one for all).

    >>> truth_distance(np.array([[0.0, 1.0], [0.2, 1.0], [0.4, 1.0]]), np.array([1.0, 1.0]))
    0.4
    """
    return mean(np.abs(column_medians(beliefs) - truth))


def column_medians(x: FloatArray) -> FloatArray:
    """``np.median(x, axis=0)``, from one sort of the columns: numpy's vectorised sort is 2-3x
    faster than its partition (a branchy introselect) on each day's fresh beliefs, at 1,000
    instances and at 100,000, and picks the same order statistics (NaN wherever a column holds
    one, as numpy's), except that a median of zero may have the other sign.

    >>> column_medians(np.array([[1.0, 4.0], [3.0, np.nan], [2.0, 0.0], [9.0, 1.0]])).tolist()
    [2.5, nan]
    """
    n, m = x.shape
    if n == 0:
        return np.full(m, np.nan)
    h = n // 2
    cols = x.T.copy()
    cols.sort(axis=1)
    # numpy's median is the mean of the middle pair: (a + b) / 2.
    med = (cols[:, h - 1] + cols[:, h]) / 2.0 if n % 2 == 0 else cols[:, h].astype(np.float64)
    med[np.isnan(cols[:, -1])] = np.nan
    return med


def correlation(a: FloatArray, b: FloatArray) -> float:
    """Pearson r of ``a`` and ``b``; 0 where either is constant (no information).

    >>> correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) > 0.98
    True
    """
    if a.size < 2:
        return 0.0
    return pearson(spread(a), spread(b))


def row_correlations(x: FloatArray, y: FloatArray) -> list[float]:
    """:func:`correlation` of each row of ``x`` with the same row of ``y`` (a batch of runs,
    one a row), summed along each row as numpy sums the row alone: each row's own bits.

    >>> row_correlations(np.array([[1.0, 2.0, 3.0]]), np.array([[3.0, 2.0, 1.0]]))
    [-1.0]
    """
    n = x.shape[1]
    if n < 2:
        return [0.0] * x.shape[0]
    dx = x - (np.add.reduce(x, axis=1) / n)[:, None]
    dy = y - (np.add.reduce(y, axis=1) / n)[:, None]
    sxx, syy = np.add.reduce(dx * dx, axis=1), np.add.reduce(dy * dy, axis=1)
    sxy = np.add.reduce(dx * dy, axis=1)
    return [
        pearson_of(float(sxx[b]), float(syy[b]), n, n, lambda b=b: sxy[b])
        for b in range(x.shape[0])
    ]


def pearson(sa: Spread, sb: Spread) -> float:
    """Pearson r from the :func:`spread` of each array (of two or more items); 0 where either
    is constant.

    >>> pearson(spread(np.array([1.0, 2.0, 3.0])), spread(np.array([3.0, 2.0, 1.0])))
    -1.0
    """
    # Plain floats: the same IEEE product, square root and quotient as numpy's scalars, at a
    # fraction of their cost (the denominator is at least 1e-48: the quotient cannot raise).
    saa, sbb = float(sa.ss), float(sb.ss)
    return pearson_of(saa, sbb, sa.d.size, sb.d.size, lambda: np.add.reduce(sa.d * sb.d, axis=None))


def pearson_of(saa: float, sbb: float, na: int, nb: int, sab: Any) -> float:
    """Pearson r from the sums of squared deviations and (``sab()``, asked only when needed)
    the sum of their products; 0 where either array is constant."""
    if saa < 1e-24 * na or sbb < 1e-24 * nb:
        return 0.0
    return float(sab()) / math.sqrt(saa * sbb)


def node_strength(graph: Any) -> np.ndarray:
    """Sum of each node's link weights (its degree for 0/1 links), from the graph's cached
    degree when it keeps one.

    >>> import networkx as nx
    >>> node_strength(nx.path_graph(3)).tolist()
    [1.0, 2.0, 1.0]
    """
    degree = getattr(graph, "degree", None)
    if isinstance(degree, np.ndarray):
        return degree.astype(np.float64)
    csr = as_csr(graph)
    out: np.ndarray = csr @ np.ones(csr.shape[1])
    return out
