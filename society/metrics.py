"""Metrics of a society's state: pure functions of arrays (and a graph), one number each.

Every column of ``metrics.parquet`` that describes the population is computed here; the engine
calls these functions on its state arrays and nothing else. A graph argument may be a scipy
sparse adjacency, a networkx graph, or the engine's :class:`~society.network.Network`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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
        return float(np.mean(np.abs(a - b)))
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
    return float(np.mean(np.abs(np.asarray(a) - point)))


def bimodality_coefficient(x: FloatArray) -> float:
    """Sarle's sample bimodality coefficient ``(g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3)))``.

    ``g`` is the sample skewness and ``k`` the sample excess kurtosis (both bias-corrected).
    Uniform data give 5/9, normal data 1/3; values above 5/9 suggest two modes. A constant
    sample has no shape and gives 0.

    >>> rng = np.random.default_rng(0)
    >>> abs(bimodality_coefficient(rng.uniform(size=200_000)) - 5 / 9) < 0.01
    True
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 4:
        return 0.0
    d = x - x.mean()
    d2 = d * d
    m2 = d2.mean()
    if m2 <= 1e-150:  # no spread (and m2 * m2 below would underflow to 0)
        return 0.0
    # Elementwise products, not np.dot: a 1-D dot goes through multithreaded BLAS, which is
    # 100x slower than this on a busy 2-core machine.
    m3 = (d2 * d).sum() / n
    m4 = (d2 * d2).sum() / n
    g1 = m3 / m2**1.5
    g2 = m4 / (m2 * m2) - 3.0
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)
    return float((skew * skew + 1.0) / (kurt + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def esteban_ray(x: FloatArray, alpha: float = 1.6, bins: int = 64) -> float:
    """Esteban-Ray polarization ``sum_ij p_i^(1+alpha) p_j |y_i - y_j|`` over a histogram.

    Opinions are binned on their own range; the index is 0 for a consensus and grows with a
    few large, distant groups.

    >>> esteban_ray(np.full(10, 0.3))
    0.0
    >>> round(esteban_ray(np.array([0.0] * 5 + [1.0] * 5), bins=2), 4)
    0.0825
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-12:
        return 0.0
    kernels = fused(x.size)
    if kernels is not None:  # np.histogram's equal-bin path in one pass, same counts
        edges = np.linspace(lo, hi, bins + 1)
        counts = kernels.uniform_histogram(x, edges)
    else:
        counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    p = counts / x.size
    y = 0.5 * (edges[:-1] + edges[1:])
    dist = np.abs(y[:, None] - y[None, :])
    return float(np.sum((p ** (1.0 + alpha))[:, None] * p[None, :] * dist))


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


def opinion_clusters(x: FloatArray, gap: float = 0.01, min_share: float = 0.05) -> int:
    """Number of major opinion clusters: groups split at gaps > ``gap`` holding >= ``min_share``.

    >>> opinion_clusters(np.array([0.1] * 10 + [0.9] * 10 + [0.5]))
    2
    """
    x = np.sort(np.asarray(x, dtype=np.float64))
    if x.size == 0:
        return 0
    edges = np.concatenate([[0], np.flatnonzero(np.diff(x) > gap) + 1, [x.size]])
    return int(np.sum(np.diff(edges) >= min_share * x.size))


def neighbour_correlation(graph: Any, x: FloatArray) -> float:
    """Pearson r between each node's opinion and the mean opinion of its neighbours.

    High values mean people hear what they already think (an echo chamber). Nodes without
    neighbours are left out; a constant opinion gives 0.

    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1), (2, 3)])
    >>> neighbour_correlation(g, np.array([0.0, 0.0, 1.0, 1.0]))
    1.0
    """
    x = np.asarray(x, dtype=np.float64)
    strength = node_strength(graph)
    has = strength > 0
    if has.sum() < 2:
        return 0.0
    # The engine's Network sums over neighbours without its CSR view when that is faster.
    neighbour_sum = getattr(graph, "neighbour_sum", None)
    total = neighbour_sum(x) if neighbour_sum is not None else as_csr(graph) @ x
    mean_nb = total[has] / strength[has]
    return correlation(x[has], mean_nb)


def modularity(graph: Any, labels: np.ndarray) -> float:
    """Newman modularity ``Q = sum_c [e_c / m - (d_c / 2m)^2]`` of a partition into ``labels``.

    >>> import networkx as nx
    >>> g = nx.Graph([(0, 1), (2, 3)])
    >>> modularity(g, np.array([0, 0, 1, 1]))
    0.5
    """
    a, b, w = link_pairs(graph)
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if labels.size else 0
    strength = node_strength(graph)
    total = strength.sum()
    if total <= 0:
        return 0.0
    kernels = fused(labels.size)
    if kernels is not None and w is None and labels.dtype.kind in "iu":
        # The engine's edge list: both counts in one pass (the same sums as the bincounts).
        e_c, d_c = kernels.camp_counts(labels, a, b, strength, k)
    else:
        la = labels[a]
        inside = la == labels[b]
        e_c = np.bincount(la[inside], weights=None if w is None else w[inside], minlength=k) / (
            1.0 if w is None else 2.0  # adjacency entries list each link in both directions
        )
        d_c = np.bincount(labels, weights=strength, minlength=k)
    # total = sum of degrees = 2m, so e_c / m = 2 e_c / total.
    return float(np.sum(2.0 * e_c / total - (d_c / total) ** 2))


def active_link_density(graph: Any, x: FloatArray, threshold: float) -> float:
    """Share of links whose two ends disagree by more than ``threshold``.

    With discrete opinions (threshold below the smallest step) this is the voter model's
    density of active links; it falls to 0 as a network sorts itself into echo chambers.

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
    return float(np.count_nonzero(np.abs(x[a] - x[b]) > threshold) / a.size)


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


def truth_distance(beliefs: FloatArray, truth: FloatArray) -> float:
    """Mean over claims of the distance between the median belief and the truth.

    >>> truth_distance(np.array([[0.0, 1.0], [0.2, 1.0], [0.4, 1.0]]), np.array([1.0, 1.0]))
    0.4
    """
    return float(np.mean(np.abs(column_medians(beliefs) - truth)))


def column_medians(x: FloatArray) -> FloatArray:
    """``np.median(x, axis=0)``, column by column: a partition of each contiguous column is
    several times faster than numpy's partition along the strided axis, and picks the same
    order statistics (NaN wherever a column holds one, as numpy's).

    >>> column_medians(np.array([[1.0, 4.0], [3.0, np.nan], [2.0, 0.0], [9.0, 1.0]])).tolist()
    [2.5, nan]
    """
    n, m = x.shape
    out = np.empty(m)
    if n == 0:
        out.fill(np.nan)
        return out
    h = n // 2
    kth = [h - 1, h, n - 1] if n % 2 == 0 else [h, n - 1]
    for j in range(m):
        col = x[:, j].copy()
        col.partition(kth)
        # numpy's median is the mean of the middle pair: (a + b) / 2.
        med = (col[h - 1] + col[h]) / 2.0 if n % 2 == 0 else col[h]
        out[j] = np.nan if np.isnan(col[-1]) else med
    return out


def correlation(a: FloatArray, b: FloatArray) -> float:
    """Pearson r of ``a`` and ``b``; 0 where either is constant (no information).

    >>> correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])) > 0.98
    True
    """
    if a.size < 2:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    saa, sbb = (da * da).sum(), (db * db).sum()
    if saa < 1e-24 * a.size or sbb < 1e-24 * b.size:
        return 0.0
    return float((da * db).sum() / np.sqrt(saa * sbb))


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
