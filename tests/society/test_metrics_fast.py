"""The metrics' fast forms give the same bits as the numpy expressions they replace.

A row of ``metrics.parquet`` must not depend on which form computed it, so each shortcut of
:mod:`society.metrics` (shared intermediates, np.histogram without its wrapper, a sort for a
partition, np.roots without its preamble) is compared bit for bit with the plain numpy form,
on data with ties, signed zeros, values on bin edges, isolated nodes and repeated links.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from society_helpers import esteban_ray_reference
from society_helpers import reference_graphs as graphs

from society import metrics as m
from society.mechanisms.generations import _monic_roots, basin_interval
from society.network import Network


def bits(x: float) -> bytes:
    return struct.pack("<d", float(x))


def samples(seed: int) -> list[np.ndarray]:
    """Opinion-like arrays: continuous, tied (rounded), signed zeros, narrow, constant."""
    rng = np.random.default_rng(seed)
    out = []
    for n in (5, 50, 999, 1000):
        x = rng.standard_normal(n) * 0.3
        tied = np.round(x, 1)
        zeros = x.copy()
        zeros[: n // 3] = 0.0
        zeros[n // 3 : n // 2] = -0.0
        narrow = 0.25 + 1e-11 * rng.random(n)
        out += [x, tied, zeros, narrow, np.full(n, 0.4)]
    return out


# -- the numpy expressions the metrics used before ------------------------------------------
def correlation_reference(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    saa, sbb = (da * da).sum(), (db * db).sum()
    if saa < 1e-24 * a.size or sbb < 1e-24 * b.size:
        return 0.0
    return float((da * db).sum() / np.sqrt(saa * sbb))


def bimodality_reference(x: np.ndarray) -> float:
    n = x.size
    if n < 4:
        return 0.0
    d = x - x.mean()
    d2 = d * d
    m2 = d2.mean()
    if m2 <= 1e-150:
        return 0.0
    m3 = (d2 * d).sum() / n
    m4 = (d2 * d2).sum() / n
    g1 = m3 / m2**1.5
    g2 = m4 / (m2 * m2) - 3.0
    skew = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    kurt = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)
    return float((skew * skew + 1.0) / (kurt + 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def clusters_reference(x: np.ndarray, gap: float = 0.01, min_share: float = 0.05) -> int:
    x = np.sort(x)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(x) > gap) + 1, [x.size]])
    return int(np.sum(np.diff(edges) >= min_share * x.size))


def modularity_reference(net: Network, labels: np.ndarray) -> float:
    a, b = net.u, net.v
    k = int(labels.max()) + 1
    strength = net.degree.astype(np.float64)
    total = strength.sum()
    la = labels[a]
    inside = la == labels[b]
    e_c = np.bincount(la[inside], minlength=k) / 1.0
    d_c = np.bincount(labels, weights=strength, minlength=k)
    return float(np.sum(2.0 * e_c / total - (d_c / total) ** 2))


def neighbour_correlation_reference(net: Network, x: np.ndarray) -> float:
    strength = net.degree.astype(np.float64)
    has = strength > 0
    if has.sum() < 2:
        return 0.0
    total = net.adjacency @ x
    return correlation_reference(x[has], total[has] / strength[has])


# -- the tests ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_opinion_metrics_match_their_numpy_forms(seed: int) -> None:
    for x in samples(seed):
        s = m.spread(x)
        ordered = np.sort(x)
        assert bits(m.variance(s)) == bits(x.var())
        assert bits(m.bimodality_coefficient(x, x_spread=s)) == bits(bimodality_reference(x))
        for bins in (2, 3, 64):
            expected = bits(esteban_ray_reference(x, bins=bins))
            assert bits(m.esteban_ray(x, bins=bins)) == expected
            assert bits(m.esteban_ray(ordered, bins=bins, presorted=True)) == expected
        for gap in (0.0, 0.01, 0.2):
            expected_clusters = clusters_reference(x, gap)
            assert m.opinion_clusters(ordered, gap, presorted=True) == expected_clusters
            assert m.opinion_clusters(x, gap) == expected_clusters
        y = x[::-1] + 0.1 * np.sin(np.arange(x.size))
        assert bits(m.correlation(x, y)) == bits(correlation_reference(x, y))


def test_histogram_matches_numpy_on_edges_and_narrow_ranges() -> None:
    """Values on, just below and just above every edge; ranges too narrow for 64 bins."""
    rng = np.random.default_rng(11)
    for trial in range(300):
        bins = int(rng.choice([1, 3, 64]))
        offset = float(rng.choice([0.0, -2.5, 1e6, 1e12]))
        x = offset + 10 ** rng.uniform(-13, 1) * rng.random(int(rng.integers(2, 300)))
        lo, hi = float(x.min()), float(x.max())
        if not hi > lo:
            continue
        edges = np.linspace(lo, hi, bins + 1)
        near = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
        x = np.sort(np.concatenate([x, near[(near >= lo) & (near <= hi)]]))
        try:
            counts, expected_edges = np.histogram(x, bins=bins, range=(lo, hi))
        except ValueError as err:  # too many bins: the fast form fails the same way
            for presorted in (False, True):
                with pytest.raises(ValueError, match=str(err)[:20]):
                    m._histogram(x, lo, hi, bins, presorted=presorted)
            continue
        for presorted in (False, True):
            got, got_edges = m._histogram(x, lo, hi, bins, presorted=presorted)
            assert got.tolist() == counts.tolist(), (trial, presorted)
            assert got_edges.tobytes() == expected_edges.tobytes()


@pytest.mark.parametrize("case", range(3))
def test_link_metrics_match_their_numpy_forms(case: int) -> None:
    net = graphs()[case]
    rng = np.random.default_rng(case)
    for x in (rng.standard_normal(net.n) * 0.3, np.round(rng.standard_normal(net.n), 1)):
        strength = m.node_strength(net)
        x_a, x_b = m.link_ends(net, x)
        camps = (x > 0).view(np.int8)
        camp_ends = (x_a > 0).view(np.int8), (x_b > 0).view(np.int8)
        expected = bits(neighbour_correlation_reference(net, x))
        assert bits(m.neighbour_correlation(net, x)) == expected
        shared = m.neighbour_correlation(net, x, strength=strength, x_spread=m.spread(x))
        assert bits(shared) == expected
        for labels, ends in ((camps, camp_ends), (np.zeros(net.n, np.int8), None)):
            expected = bits(modularity_reference(net, labels))
            assert bits(m.modularity(net, labels)) == expected
            assert bits(m.modularity(net, labels, strength=strength, ends=ends)) == expected
        three = rng.integers(0, 3, net.n)
        assert bits(m.modularity(net, three)) == bits(modularity_reference(net, three))
        for threshold in (0.0, 0.1, 0.3):
            expected = np.count_nonzero(np.abs(x[net.u] - x[net.v]) > threshold) / net.u.size
            assert m.active_link_density(net, x, threshold, ends=(x_a, x_b)) == expected


def partitioned_medians(x: np.ndarray) -> np.ndarray:
    """The medians as they were taken before: a partition of each column (numpy's median)."""
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
        med = (col[h - 1] + col[h]) / 2.0 if n % 2 == 0 else col[h]
        out[j] = np.nan if np.isnan(col[-1]) else med
    return out


def test_truth_distance_matches_the_partitioned_medians() -> None:
    """A sort may give a zero median the other sign than a partition; the distance may not."""
    rng = np.random.default_rng(5)
    for n in (1, 2, 7, 1000, 1001):
        for beliefs in (rng.random((n, 3)), np.round(rng.standard_normal((n, 4)), 1)):
            beliefs[: n // 2, 0] = -0.0
            beliefs[n // 2 :, 0] = 0.0
            if n > 5:
                beliefs[3, 1] = np.nan
            for truth in (0.0, 0.5, -0.0):
                claims = np.full(beliefs.shape[1], truth)
                expected = np.mean(np.abs(partitioned_medians(beliefs) - claims))
                assert bits(m.truth_distance(beliefs, truth)) == bits(expected)


def test_basin_roots_match_np_roots() -> None:
    rng = np.random.default_rng(2)
    for trial in range(2000):
        c = tuple(float(v) for v in rng.standard_normal(3) * 10 ** rng.uniform(-4, 4, 3))
        zeros = trial % 4  # trailing zero coefficients: roots at 0
        c = c[: 3 - zeros] + (0.0,) * zeros
        expected = np.roots([-1.0, *c])
        got = _monic_roots(c)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), c


def test_basin_interval_as_before_on_the_doc_cases() -> None:
    assert [round(x, 3) for x in basin_interval(0.4, 0.1, 0.9, erosion=0.005)] == [0.366, 0.836]
    assert basin_interval(np.float64(1e-300), 0.1, 0.9) is None
    assert basin_interval(0.1, 0.1, 0.8) is None
    assert math.isfinite(basin_interval(np.float64(0.75), 0.077, np.float64(0.95))[0])


def test_basin_interval_gives_the_same_bits_for_numpy_scalars_and_floats() -> None:
    """The lab's state holds np.float64; the basin is solved in plain floats (the same IEEE
    operations): every argument as a numpy scalar or a float gives the same edges, bit for bit,
    with and without a faithfulness floor, erosion and hack loss, basin or none."""
    rng = np.random.default_rng(7)
    found = 0
    for _ in range(400):
        rho, delta, top = rng.uniform(0.05, 2.0), rng.uniform(0.02, 0.3), rng.uniform(0.7, 1.0)
        extra = {
            "erosion": rng.choice([0.0, rng.uniform(0, 0.05)]),
            "hack_loss": rng.choice([0.0, rng.uniform(0, 0.02)]),
            "floor": rng.choice([0.0, rng.uniform(0, 0.7)]),
        }
        as_numpy = basin_interval(
            np.float64(rho), delta, np.float64(top), **{k: np.float64(v) for k, v in extra.items()}
        )
        as_float = basin_interval(
            float(rho), float(delta), float(top), **{k: float(v) for k, v in extra.items()}
        )
        assert (as_numpy is None) == (as_float is None)
        if as_numpy is not None and as_float is not None:
            found += 1
            assert [bits(x) for x in as_numpy] == [bits(x) for x in as_float]
            assert all(type(x) is float for x in as_numpy)
    assert 50 < found < 400  # both kinds of case were drawn
