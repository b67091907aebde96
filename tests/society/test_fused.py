"""The fused kernels give the same bits as the numpy expressions they replace.

Large runs use :mod:`society.fused`, small ones the numpy forms (:mod:`society.fusion`), so a
result must not depend on which one ran: each kernel is compared bit for bit with the numpy
expression it replaces, on graphs with ties, isolated nodes and repeated links.
"""

from __future__ import annotations

import numpy as np
import pytest

from society import fused
from society.fusion import FUSED_MIN
from society.fusion import fused as gate
from society.network import Network, random_graph, small_world


def graphs() -> list[tuple[Network, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = []
    for net in (
        small_world(2_000, 10, 0.1, rng),
        random_graph(1_500, 4, rng),  # some nodes without links
        Network(6, np.array([0, 0, 1, 4], np.int32), np.array([1, 1, 2, 5], np.int32)),
    ):
        x = rng.random(net.n)
        x[: net.n // 4] = np.round(x[: net.n // 4], 1)  # ties: equal opinions, zero gaps
        out.append((net, x))
    return out


def test_the_gate_is_a_size() -> None:
    assert gate(FUSED_MIN - 1) is None
    assert gate(FUSED_MIN) is fused


@pytest.mark.parametrize("case", range(3))
def test_bounded_confidence_pull_matches_the_bincounts(case: int) -> None:
    net, x = graphs()[case]
    eps = np.random.default_rng(case).random(net.n) * 0.4
    eps[::7] = 0.0
    u, v, n = net.u, net.v, net.n
    diff = x[v] - x[u]
    gap = np.abs(diff)
    pulled = np.bincount(u, weights=diff * (gap < eps[u]), minlength=n)
    pulled -= np.bincount(v, weights=diff * (gap < eps[v]), minlength=n)
    expected = np.divide(pulled, net.degree, out=np.zeros(n), where=net.degree > 0)
    got = fused.bounded_confidence_pull(x, u, v, eps, net.degree)
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("case", range(3))
def test_modularity_counts_and_active_links_match(case: int) -> None:
    net, x = graphs()[case]
    labels = (x > 0.5).view(np.int8)
    strength = net.degree.astype(np.float64)
    la = labels[net.u]
    inside = la == labels[net.v]
    e_c, d_c = fused.camp_counts(labels, net.u, net.v, strength, 2)
    assert e_c.tobytes() == (np.bincount(la[inside], minlength=2) / 1.0).tobytes()
    assert d_c.tobytes() == np.bincount(labels, weights=strength, minlength=2).tobytes()
    for threshold in (0.0, 0.1, 0.3):
        expected = np.count_nonzero(np.abs(x[net.u] - x[net.v]) > threshold)
        assert fused.links_apart(x, net.u, net.v, threshold) == expected


@pytest.mark.parametrize("seed", range(4))
def test_histogram_matches_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(3_000), np.linspace(-1, 1, 129)])
    lo, hi = float(x.min()), float(x.max())
    counts, edges = np.histogram(x, bins=64, range=(lo, hi))
    got = fused.uniform_histogram(x, np.linspace(lo, hi, 65))
    assert got.tolist() == counts.tolist()
