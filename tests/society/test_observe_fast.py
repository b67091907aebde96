"""The metrics row's cheaper forms give the same bits as the numpy expressions they replace.

Each helper is compared bit for bit with the plain numpy form, in both of the engine's modes:
the numpy forms of small runs and the fused kernels that sweep workers use at every size
(:func:`society.fusion.use_everywhere`).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from society_helpers import esteban_ray_reference
from society_helpers import reference_graphs as graphs

from society import fusion
from society import metrics as m
from society.network import Network


def bits(x: float) -> bytes:
    return struct.pack("<d", float(x))


@pytest.fixture
def everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused kernels at every size, for this test only (as in a sweep worker)."""
    pytest.importorskip("numba")
    monkeypatch.setitem(fusion._EVERYWHERE, "on", True)


def opinions(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for n in (4, 20, 300, 1000):
        x = rng.standard_normal(n) * 0.3
        camps = np.where(rng.random(n) < 0.5, -0.6, 0.4) + 0.01 * rng.standard_normal(n)
        out += [x, np.round(x, 1), camps, 0.25 + 1e-11 * rng.random(n)]
    return out


def test_bin_edges_are_linspace() -> None:
    rng = np.random.default_rng(1)
    ends = [(0.0, 1.0), (-0.0, 0.0), (-1e300, 1e300), (-np.inf, np.inf), (np.nan, 1.0)]
    ends += [(0.0, 5e-324), (1.0, 1.0 + 2e-16), (1e12, 1e12 + 1e-3)]
    for _ in range(500):
        lo = float(rng.standard_normal() * 10 ** rng.uniform(-12, 12))
        ends.append((lo, lo + float(10 ** rng.uniform(-14, 3))))
    with np.errstate(all="ignore"):
        for lo, hi in ends:
            for bins in (1, 2, 3, 64):
                expected = np.linspace(lo, hi, bins + 1)
                assert m._bin_edges(lo, hi, bins).tobytes() == expected.tobytes(), (lo, hi)
    # A batch's rows (ranges a batch bins: finite, hi - lo > 1e-12) give each row's edges.
    rows = [(lo, hi) for lo, hi in ends if np.isfinite(lo) and np.isfinite(hi) and hi - lo > 1e-12]
    lo_hi = np.array(rows)
    for bins in (1, 64):
        together = m.bin_edges_rows(lo_hi[:, 0], lo_hi[:, 1], bins)
        for (lo, hi), got in zip(rows, together, strict=True):
            assert got.tobytes() == m._bin_edges(lo, hi, bins).tobytes(), (lo, hi)


@pytest.mark.parametrize("seed", range(2))
def test_esteban_ray_is_the_same_in_both_modes(seed: int, everywhere: None) -> None:
    for x in opinions(seed):
        ordered = np.sort(x)
        for bins in (3, 64):
            expected = bits(esteban_ray_reference(x, bins=bins))
            assert bits(m.esteban_ray(x, bins=bins)) == expected
            assert bits(m.esteban_ray(ordered, bins=bins, presorted=True)) == expected
            fusion._EVERYWHERE["on"] = False
            assert bits(m.esteban_ray(ordered, bins=bins, presorted=True)) == expected
            fusion._EVERYWHERE["on"] = True


def modularity_reference(net: Network, labels: np.ndarray) -> float:
    k = int(labels.max()) + 1
    strength = net.degree.astype(np.float64)
    total = strength.sum()
    la = labels[net.u]
    inside = la == labels[net.v]
    e_c = np.bincount(la[inside], minlength=k) / 1.0
    d_c = np.bincount(labels, weights=strength, minlength=k)
    return float(np.sum(2.0 * e_c / total - (d_c / total) ** 2))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("case", range(3))
def test_modularity_in_plain_floats_is_numpys_sum(
    case: int, fused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fused:
        pytest.importorskip("numba")
        monkeypatch.setitem(fusion._EVERYWHERE, "on", True)
    net = graphs()[case]
    rng = np.random.default_rng(case)
    x = rng.standard_normal(net.n)
    strength = m.node_strength(net)
    camps = (x > 0).view(np.int8)
    x_a, x_b = m.link_ends(net, x)
    camp_ends = (x_a > 0).view(np.int8), (x_b > 0).view(np.int8)
    for labels in (camps, np.zeros(net.n, np.int8), np.ones(net.n, np.int8)):
        expected = bits(modularity_reference(net, labels))
        assert bits(m.modularity(net, labels)) == expected
        ends = camp_ends if labels is camps else None
        assert bits(m.modularity(net, labels, strength=strength, ends=ends)) == expected
    for k in (3, 7, 8, 12):  # either side of the plain-float sum's eight terms
        labels = rng.integers(0, k, net.n)
        assert bits(m.modularity(net, labels)) == bits(modularity_reference(net, labels))


def test_summed_camp_terms_is_numpys_sum() -> None:
    rng = np.random.default_rng(4)
    for _ in range(2000):
        k = int(rng.integers(1, 8))
        e_c = rng.integers(0, 50, k) * float(rng.choice([1.0, 0.5]))
        d_c = rng.random(k) * 10 ** rng.uniform(-3, 3)
        total = float(d_c.sum() * rng.uniform(1.0, 3.0))
        expected = np.add.reduce(2.0 * e_c / total - (d_c / total) ** 2, axis=None)
        got = m.summed_camp_terms(e_c.tolist(), d_c.tolist(), total)
        assert bits(got) == bits(expected)


def test_truth_distance_is_the_array_mean() -> None:
    """The same bits as the array expression, for scalar and per-claim truths, NaN, signed
    zeros, and float32 beliefs."""
    rng = np.random.default_rng(8)
    for n in (1, 2, 20, 301):
        for claims in (1, 3, 7, 8, 9):
            beliefs = rng.random((n, claims))
            beliefs[: n // 2, 0] = -0.0
            if n > 5:
                beliefs[2, -1] = np.nan
            per_claim = rng.random(claims)
            for truth in (0.5, -0.0, 0.0, per_claim, per_claim.astype(np.float32)):
                for b in (beliefs, beliefs.astype(np.float32)):
                    expected = np.abs(m.column_medians(b) - truth).mean()
                    got = m.truth_distance(b, truth)
                    assert type(got) is float and bits(got) == bits(expected), (n, claims)


@pytest.mark.parametrize("seed", range(2))
def test_pearson_in_plain_floats_is_numpys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for n in (2, 3, 20, 1000):
        for scale in (1e-12, 1.0, 1e150):
            a, b = rng.standard_normal(n) * scale, rng.standard_normal(n)
            da, db = a - a.mean(), b - b.mean()
            saa, sbb = (da * da).sum(), (db * db).sum()
            expected = float((da * db).sum() / np.sqrt(saa * sbb))
            if saa < 1e-24 * n or sbb < 1e-24 * n:
                expected = 0.0
            assert bits(m.pearson(m.spread(a), m.spread(b))) == bits(expected)
