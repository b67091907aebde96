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
    """Large populations get the kernels; a small run in a fresh process does not even import
    numba (a process that imported society.sweeps.preload uses them at every size)."""
    import subprocess
    import sys

    assert gate(FUSED_MIN) is fused
    code = (
        "import sys; from society.fusion import fused, FUSED_MIN\n"
        "from society import load_scenario; from society.model import SocietyModel\n"
        "SocietyModel(load_scenario('tiny', overrides={'days': 3})).run()\n"
        "print(fused(FUSED_MIN - 1) is None, 'numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


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


@pytest.mark.parametrize("case", range(3))
def test_edge_list_sums_match_the_csr_products(case: int) -> None:
    net, x = graphs()[case]
    assert fused.neighbour_sum(net.u, net.v, x, net.n).tobytes() == (net.adjacency @ x).tobytes()
    t = np.tanh(np.random.default_rng(case).standard_normal((net.n, 3)))
    degree = np.diff(net.adjacency.indptr).astype(np.float64)
    scale = np.divide(2.0 * net.n_edges / net.n, degree, out=np.zeros(net.n), where=degree > 0)
    got = fused.scaled_neighbour_sums(net.u, net.v, t, scale)
    assert got.tobytes() == (net.reading @ t).tobytes()


def test_belief_update_matches_the_numpy_step() -> None:
    rng = np.random.default_rng(3)
    x, heard, target = (rng.standard_normal((500, 4)) for _ in range(3))
    g = rng.random(500)
    expected = (x + 0.7 * (1.3 * heard + g[:, None] * target)) / (1.0 + 0.7 * (1.0 + g[:, None]))
    assert fused.belief_update(x, heard, 1.3, g, target, 0.7).tobytes() == expected.tobytes()
    # One coupling and step length per row (a batch of runs), against the numpy columns.
    k, h = rng.random(500), rng.random(500) * 5
    expected = (x + h[:, None] * (k[:, None] * heard + g[:, None] * target)) / (
        1.0 + h[:, None] * (1.0 + g[:, None])
    )
    got = fused.belief_update_rows(x, heard, k, g, target, h)
    assert got.tobytes() == expected.tobytes()


def test_stable_orders_of_one_row_are_its_stable_argsort() -> None:
    from society.network import stable_orders

    rng = np.random.default_rng(4)
    for x in (
        rng.random(5_000),
        np.round(rng.random(5_000), 2),  # many ties
        np.append(rng.random(100), np.nan),
        np.array([1.0]),
    ):
        assert stable_orders(x[None, :])[0].tolist() == np.argsort(x, kind="stable").tolist()


def test_stable_orders_sort_each_row_as_alone() -> None:
    from society.network import stable_orders

    rng = np.random.default_rng(5)
    rows = np.stack(
        [
            rng.random(400),
            np.round(rng.random(400), 1),  # ties: sorted again alone
            np.append(rng.random(399), np.nan),
            np.full(400, 0.5),
        ]
    )
    assert stable_orders(rows).tolist() == np.argsort(rows, axis=1, kind="stable").tolist()


def test_moved_links_keep_the_degrees_counted() -> None:
    net = small_world(300, 6, 0.1, np.random.default_rng(5))
    before = net.degree.copy()
    links = np.array([3, 10, 11, 200])
    ends = np.array([7, 7, 8, 9], dtype=np.int32), np.array([20, 21, 22, 7], dtype=np.int32)
    net.move_links(links, *ends)
    recount = np.bincount(net.u, minlength=300) + np.bincount(net.v, minlength=300)
    assert net.degree.tolist() == recount.tolist() != before.tolist()
    assert net.degree.tolist() == np.diff(net.adjacency.indptr).tolist()


def test_a_run_with_the_fused_kernels_is_the_same_run(tmp_path) -> None:
    """Small runs take the numpy forms unless a process opted in (sweep workers): a run in a
    process that uses the fused kernels everywhere gives the same metrics, bit for bit."""
    import subprocess
    import sys

    import polars as pl

    from society import load_scenario
    from society.model import SocietyModel

    over = {"population.size": 600, "days": 60, "outcomes.stop_on_catastrophe": False}
    code = (
        "import sys; from society.fusion import use_everywhere; use_everywhere()\n"
        "from society import load_scenario; from society.model import SocietyModel\n"
        f"m = SocietyModel(load_scenario('echo_chamber', overrides={over!r})); m.run()\n"
        "m.metrics_frame().write_parquet(sys.argv[1])\n"
    )
    out = tmp_path / "fused.parquet"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)
    solo = SocietyModel(load_scenario("echo_chamber", overrides=over))
    solo.run()
    assert solo.metrics_frame().equals(pl.read_parquet(out), null_equal=True)


def test_cleaned_links_are_numpys_unique() -> None:
    from society.network import _clean

    rng = np.random.default_rng(6)
    for n in (1, 10, 3_000):
        u, v = rng.integers(0, n, size=4 * n), rng.integers(0, n, size=4 * n)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        key = np.unique(lo[lo != hi] * n + hi[lo != hi])
        net = _clean(n, u, v)
        assert net.u.tolist() == (key // n).tolist() and net.v.tolist() == (key % n).tolist()
