"""Tests of the classic opinion-dynamics kernels in society.mechanisms.influence."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from society.mechanisms.generations import successor_map
from society.mechanisms.influence import (
    _apply_meetings,
    bounded_confidence_drift,
    deffuant,
    degroot,
    friedkin_johnsen,
    hegselmann_krause,
    holme_newman,
    row_stochastic,
    voter,
)
from society.validation import voter_complete_exact

opinions = hnp.arrays(
    np.float64,
    st.integers(2, 60),
    elements=st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False),
)


def sequential_meetings(x, a, b, eps, mu):
    """The textbook one-meeting-at-a-time Deffuant loop."""
    x = x.copy()
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        d = x[j] - x[i]
        if abs(d) < eps:
            d *= mu
            x[i] += d
            x[j] -= d
    return x


def loop_graph(n=30, seed=1):
    g = nx.connected_watts_strogatz_graph(n, 4, 0.3, seed=seed)
    g.add_edges_from((i, i) for i in g.nodes)
    return g


# --- DeGroot / Friedkin-Johnsen ---------------------------------------------------------------


def test_degroot_converges_to_degree_weighted_mean():
    g = loop_graph()
    x0 = np.random.default_rng(0).uniform(size=30)
    d = np.array([g.degree(i) - 1 for i in range(30)], dtype=float)
    x = degroot(row_stochastic(g), x0, 2000)
    assert np.max(np.abs(x - d @ x0 / d.sum())) < 1e-10


def test_degroot_matrix_of_topics_and_zero_steps():
    W = row_stochastic(loop_graph())
    x0 = np.random.default_rng(1).uniform(size=(30, 3))
    assert np.array_equal(degroot(W, x0, 0), x0)
    one = degroot(W, x0, 1)
    assert np.allclose(one, W.toarray() @ x0)


def test_degroot_rejects_bad_arguments():
    W = row_stochastic(loop_graph())
    with pytest.raises(ValueError, match="row-stochastic"):
        degroot(sp.csr_array(np.array([[1.0, 1.0], [0.0, 1.0]])), np.zeros(2), 1)
    with pytest.raises(ValueError, match="non-negative"):
        degroot(np.array([[1.5, -0.5], [0.0, 1.0]]), np.zeros(2), 1)
    with pytest.raises(ValueError, match="square"):
        degroot(np.ones((2, 3)) / 3, np.zeros(2), 1)
    with pytest.raises(ValueError, match=r"x must have shape \(30,\)"):
        degroot(W, np.zeros(29), 1)
    with pytest.raises(ValueError, match="steps"):
        degroot(W, np.zeros(30), -1)


def test_friedkin_johnsen_closed_form():
    g = loop_graph()
    W = row_stochastic(g)
    rng = np.random.default_rng(2)
    lam, u = rng.uniform(0.1, 0.9, 30), rng.uniform(size=30)
    x = friedkin_johnsen(W, lam, u, rng.uniform(size=30), 600)
    closed = np.linalg.solve(np.eye(30) - lam[:, None] * W.toarray(), (1 - lam) * u)
    assert np.max(np.abs(x - closed)) < 1e-10


def test_friedkin_johnsen_limits():
    W = row_stochastic(loop_graph())
    rng = np.random.default_rng(3)
    u, x0 = rng.uniform(size=30), rng.uniform(size=30)
    # lam = 0: fully stubborn, everyone returns to u; lam = 1: DeGroot
    assert np.allclose(friedkin_johnsen(W, 0.0, u, x0, 1), u)
    assert np.allclose(friedkin_johnsen(W, 1.0, u, x0, 50), degroot(W, x0, 50))


def test_friedkin_johnsen_rejects_bad_arguments():
    W = row_stochastic(loop_graph())
    z = np.zeros(30)
    with pytest.raises(ValueError, match="lam must lie in"):
        friedkin_johnsen(W, 1.5, z, z, 1)
    with pytest.raises(ValueError, match="lam must be a float or an array"):
        friedkin_johnsen(W, np.zeros(3), z, z, 1)
    with pytest.raises(ValueError, match="x0 must have the shape of u"):
        friedkin_johnsen(W, 0.5, z, np.zeros((30, 2)), 1)


# --- Deffuant ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_layered_meetings_equal_sequential_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 50))
    m = int(rng.integers(1, 200))
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    x = rng.uniform(size=n)
    y = x.copy()
    _apply_meetings(y, a, b, 0.3, 0.37)
    assert np.array_equal(y, sequential_meetings(x, a, b, 0.3, 0.37))


def test_deffuant_on_graph_matches_sequential_with_same_draws():
    g = nx.path_graph(6)
    x0 = np.linspace(0, 0.5, 6)
    rng = np.random.default_rng(5)
    out = deffuant(x0, 0.15, 0.5, 4, rng, graph=g)
    # replay the same draws by hand: edges (u < v) in CSR order, 3 meetings a round
    eu, ev = np.array([0, 1, 2, 3, 4]), np.array([1, 2, 3, 4, 5])
    rng = np.random.default_rng(5)
    ref = x0.copy()
    for _ in range(4):
        e = rng.integers(0, 5, 3)
        ref = sequential_meetings(ref, eu[e], ev[e], 0.15, 0.5)
    assert np.array_equal(out, ref)


def test_deffuant_graph_isolated_node_and_components_stay_apart():
    g = nx.Graph([(0, 1), (2, 3)])
    g.add_node(4)
    x0 = np.array([0.0, 0.2, 0.8, 1.0, 0.5])
    x = deffuant(x0, 0.5, 0.5, 200, np.random.default_rng(0), graph=g)
    assert x[4] == 0.5
    assert np.allclose(x[:2], 0.1) and np.allclose(x[2:4], 0.9)


def test_deffuant_cluster_count_follows_epsilon():
    from society.metrics import opinion_clusters

    rng = np.random.default_rng(7)
    x = deffuant(rng.uniform(size=1000), 0.1, 0.5, 400, rng)
    assert 4 <= opinion_clusters(x) <= 6  # about 1 / (2 eps) = 5


def test_deffuant_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    x = np.zeros(10)
    with pytest.raises(ValueError, match=r"epsilon must be in \(0, 1\]"):
        deffuant(x, 0.0, 0.5, 1, rng)
    with pytest.raises(ValueError, match="epsilon"):
        deffuant(x, 1.5, 0.5, 1, rng)
    with pytest.raises(ValueError, match="mu must be"):
        deffuant(x, 0.5, 0.7, 1, rng)
    with pytest.raises(ValueError, match="rounds"):
        deffuant(x, 0.5, 0.5, 1.5, rng)
    with pytest.raises(ValueError, match="graph must have shape"):
        deffuant(x, 0.5, 0.5, 1, rng, graph=nx.path_graph(9))
    with pytest.raises(ValueError, match="at least one edge"):
        deffuant(x, 0.5, 0.5, 1, rng, graph=nx.empty_graph(10))
    with pytest.raises(ValueError, match="1-D"):
        deffuant(np.zeros((2, 5)), 0.5, 0.5, 1, rng)


@settings(max_examples=60, deadline=None)
@given(opinions, st.floats(0.01, 1.0), st.floats(0.01, 0.5), st.integers(0, 2**32 - 1))
def test_deffuant_conserves_mean_and_range_on_complete_mixing(x, eps, mu, seed):
    out = deffuant(x, eps, mu, 5, np.random.default_rng(seed))
    assert out.min() >= x.min() and out.max() <= x.max()
    assert math.isclose(out.mean(), x.mean(), rel_tol=0, abs_tol=1e-12)


# --- Hegselmann-Krause ------------------------------------------------------------------------


def hk_brute(x, eps):
    near = np.abs(x[:, None] - x[None, :]) <= eps
    return (near * x[None, :]).sum(axis=1) / near.sum(axis=1)


def test_hegselmann_krause_one_step_equals_brute_force():
    x = np.random.default_rng(0).uniform(size=300)
    assert np.allclose(hegselmann_krause(x, 0.1, max_steps=1), hk_brute(x, 0.1), atol=1e-13)


def test_hegselmann_krause_fixed_point():
    x = hegselmann_krause(np.random.default_rng(1).uniform(size=2000), 0.1)
    assert np.max(np.abs(hk_brute(x, 0.1) - x)) < 1e-9
    # clusters left are more than epsilon apart
    centres = np.unique(x.round(9))
    assert np.all(np.diff(centres) > 0.1)


def test_hegselmann_krause_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilon"):
        hegselmann_krause(np.zeros(5), -0.1)
    with pytest.raises(ValueError, match="max_steps"):
        hegselmann_krause(np.zeros(5), 0.1, max_steps=-1)
    with pytest.raises(ValueError, match="finite"):
        hegselmann_krause(np.array([0.0, np.nan]), 0.1)


@settings(max_examples=80, deadline=None)
@given(opinions, st.floats(0.01, 1.0))
def test_hegselmann_krause_preserves_order_and_range(x, eps):
    out = hegselmann_krause(x, eps, max_steps=50)
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)
    assert out.min() >= x.min() and out.max() <= x.max()


def test_bounded_confidence_drift_zero_at_hk_fixed_point_on_complete_graph():
    x = hegselmann_krause(np.random.default_rng(2).uniform(size=200), 0.15)
    drift = bounded_confidence_drift(nx.complete_graph(200), x, 0.15)
    assert np.max(np.abs(drift)) < 1e-9


# --- voter ------------------------------------------------------------------------------------


def test_voter_mean_time_on_small_complete_graph_matches_exact_formula():
    n, runs = 10, 20_000
    states = np.tile(np.repeat([0, 1], n // 2), (runs, 1))
    final, sweeps = voter(None, states, np.random.default_rng(0), max_sweeps=500)
    assert not np.isnan(sweeps).any()
    assert np.all(final == final[:, :1])
    se = sweeps.std() / math.sqrt(runs)
    assert abs(sweeps.mean() - voter_complete_exact(n)) < 4 * se


def test_voter_networkx_complete_graph_agrees_with_none():
    n, runs = 10, 10_000
    states = np.tile(np.repeat([0, 1], n // 2), (runs, 1))
    _, t = voter(nx.complete_graph(n), states, np.random.default_rng(1), max_sweeps=500)
    assert abs(t.mean() - voter_complete_exact(n)) < 4 * t.std() / math.sqrt(runs)


def test_voter_consensus_time_resolution_is_one_update():
    _, t = voter(None, np.repeat([0, 1], 5), np.random.default_rng(3), max_sweeps=100)
    assert t > 0 and math.isclose(t * 10, round(t * 10))
    _, t0 = voter(None, np.full(10, 7), np.random.default_rng(3), max_sweeps=100)
    assert t0 == 0.0


def test_voter_keeps_value_types_and_reports_nan_without_consensus():
    states = np.array(["a", "b", "c"] * 20)
    final, t = voter(nx.cycle_graph(60), states, np.random.default_rng(0), max_sweeps=1)
    assert set(final.tolist()) <= {"a", "b", "c"}
    assert math.isnan(t)


def test_voter_rejects_isolated_nodes_and_bad_shapes():
    g = nx.path_graph(4)
    g.add_node(4)
    with pytest.raises(ValueError, match="isolated node"):
        voter(g, np.zeros(5, dtype=int), np.random.default_rng(0), 10)
    with pytest.raises(ValueError, match="graph must have shape"):
        voter(nx.path_graph(3), np.zeros(5, dtype=int), np.random.default_rng(0), 10)
    with pytest.raises(ValueError, match="states must have shape"):
        voter(None, np.zeros((2, 2, 2)), np.random.default_rng(0), 10)


# --- Holme-Newman -----------------------------------------------------------------------------


@pytest.mark.parametrize("phi", [0.0, 0.3, 0.9, 1.0])
def test_holme_newman_ends_with_no_discordant_edge(phi):
    n = 300
    g, ops = holme_newman(n, 4, 10, phi, np.random.default_rng(0))
    rows, cols = g.nonzero()
    assert np.all(ops[rows] == ops[cols])
    assert g.sum() == 2 * 600  # edges conserved (entries count parallel edges, both ways)
    assert (g != g.T).nnz == 0 and g.diagonal().sum() == 0
    assert ops.min() >= 0 and ops.max() < 30


def test_holme_newman_phi_one_keeps_opinions():
    rng = np.random.default_rng(4)
    _, ops = holme_newman(200, 4, 10, 1.0, rng)
    # with phi = 1 nobody changes opinion: replay the initial draws (edges, then opinions)
    rng2 = np.random.default_rng(4)
    rng2.integers(0, 200, 400)
    rng2.integers(1, 200, 400)
    initial = rng2.integers(0, 20, 200)
    assert np.array_equal(ops, initial)


def test_holme_newman_max_steps_stops_early():
    g, ops = holme_newman(400, 4, 10, 0.05, np.random.default_rng(0), max_steps=10)
    rows, cols = g.nonzero()
    assert np.any(ops[rows] != ops[cols])


def test_holme_newman_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="phi"):
        holme_newman(100, 4, 10, 1.5, rng)
    with pytest.raises(ValueError, match="mean_degree"):
        holme_newman(100, 0, 10, 0.5, rng)
    with pytest.raises(ValueError, match="gamma"):
        holme_newman(100, 4, 0, 0.5, rng)
    with pytest.raises(ValueError, match="n must be"):
        holme_newman(1, 4, 10, 0.5, rng)


# --- successor map ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(0.0, 1.0)),
    st.floats(0.0, 10.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.01, 5.0),
)
def test_successor_map_keeps_unit_interval(a, tau, rho_max, delta, tau_half):
    for _ in range(5):
        a = successor_map(a, tau, rho_max, delta, tau_half)
        assert np.all((a >= 0.0) & (a <= 1.0))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 25), st.integers(0, 2**32 - 1), st.integers(0, 30))
def test_linear_averaging_stays_in_initial_range(n, seed, steps):
    rng = np.random.default_rng(seed)
    A = rng.uniform(size=(n, n)) * (rng.uniform(size=(n, n)) < 0.5)
    A[np.arange(n), np.arange(n)] += 0.1  # no empty rows
    W = row_stochastic(A)
    x0 = rng.uniform(-3, 3, n)
    x = degroot(W, x0, steps)
    assert x.min() >= x0.min() - 1e-12 and x.max() <= x0.max() + 1e-12
    u = rng.uniform(-3, 3, n)
    y = friedkin_johnsen(W, rng.uniform(size=n), u, x0, steps)
    both = np.concatenate([u, x0])
    assert y.min() >= both.min() - 1e-12 and y.max() <= both.max() + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_voter_only_copies_existing_states(n, n_states, seed):
    rng = np.random.default_rng(seed)
    states = rng.integers(0, n_states, size=(3, n)) * 10 - 7
    final, t = voter(None, states, rng, max_sweeps=5)
    for row_in, row_out, ti in zip(states, final, t, strict=True):
        assert set(row_out.tolist()) <= set(row_in.tolist())
        if not np.isnan(ti):
            assert np.all(row_out == row_out[0]) and 0 <= ti <= 5
