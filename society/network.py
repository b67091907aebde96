"""The communication graph: an undirected edge list, its CSR view, and homophilous rewiring.

The edge list is the truth (rewiring moves edge endpoints in place); the CSR adjacency the
kernels compute on is derived from it and rebuilt only after the edges change. A networkx graph
is built on request for users (:meth:`Network.to_networkx`); the hot path never touches one,
which keeps 100,000 instances within a few hundred bytes of graph each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

from society.fusion import fused
from society.graphs import csr_rows
from society.state import Saved

try:  # scipy's CSR kernels, called directly on the hot path (see _product, _coo_to_csr)
    from scipy.sparse import _sparsetools
except ImportError:  # pragma: no cover - private module moved: the public operators instead
    _sparsetools = None


@dataclass
class Network:
    """``n`` nodes joined by undirected edges ``(u[k], v[k])``; duplicates count as weight 2."""

    n: int
    u: np.ndarray
    v: np.ndarray
    _adjacency: sp.csr_array | None = field(default=None, repr=False)
    _rows: np.ndarray | None = field(default=None, repr=False)
    _reading: sp.csr_array | None = field(default=None, repr=False)
    _degree: np.ndarray | None = field(default=None, repr=False)
    version: int = field(default=0, repr=False, compare=False)  # counts edge changes

    def save_state(self) -> Saved:
        return Saved(arrays={"u": self.u, "v": self.v})

    def load_state(self, saved: Saved) -> None:
        self.u, self.v = saved.arrays["u"].copy(), saved.arrays["v"].copy()
        self.edges_changed()

    @property
    def adjacency(self) -> sp.csr_array:
        """Symmetric CSR adjacency (float weights); cached until the edges change."""
        if self._adjacency is None:
            rows = np.concatenate([self.u, self.v])
            cols = np.concatenate([self.v, self.u])
            self._adjacency = _coo_to_csr(self.n, rows, cols)
        return self._adjacency

    @property
    def rows(self) -> np.ndarray:
        """Row index of every stored CSR entry (cached with the adjacency)."""
        if self._rows is None:
            self._rows = csr_rows(self.adjacency)
        return self._rows

    @property
    def reading(self) -> sp.csr_array:
        """``<k> D^-1 A``: each node hears the mean of its neighbours, weighted as if it had the
        mean degree. Keeps a hub from summing hundreds of voices into an extreme belief while
        leaving the mean-field coupling ``K <k>`` of docs/model.md unchanged."""
        if self._reading is None:
            adj = self.adjacency
            scale = self._reading_scale(np.diff(adj.indptr).astype(np.float64))
            self._reading = sp.csr_array(
                (adj.data * np.repeat(scale, np.diff(adj.indptr)), adj.indices, adj.indptr),
                shape=adj.shape,
            )
        return self._reading

    @property
    def degree(self) -> np.ndarray:
        """Number of links of each node (a repeated link counts twice); cached."""
        if self._degree is None:
            if self._adjacency is not None or fused(self.n) is None:
                self._degree = np.diff(self.adjacency.indptr)
            else:  # the same counts without building the CSR view (large, rewired daily)
                counts = np.bincount(self.u, minlength=self.n)
                counts += np.bincount(self.v, minlength=self.n)
                self._degree = counts.astype(np.int32)
        return self._degree

    def neighbour_sum(self, x: np.ndarray) -> np.ndarray:
        """``adjacency @ x`` for a 1-D ``x``: the sum over each node's neighbours.

        Large networks (rewired every day) compute it from the edge list, in the CSR product's
        order of addition, rather than rebuild the CSR view for it: the same bits, without
        the rebuild.
        """
        kernels = fused(self.n)
        if kernels is None or self._adjacency is not None:
            return _product(self.adjacency, x)
        x = np.asarray(x, dtype=np.float64)
        result: np.ndarray = kernels.neighbour_sum(self.u, self.v, x, self.n)
        return result

    def read(self, t: np.ndarray) -> np.ndarray:
        """``reading @ t`` for a 2-D ``t`` (see :attr:`reading`), from the edge list for large
        networks as :meth:`neighbour_sum` does."""
        kernels = fused(self.n)
        if kernels is None or self._reading is not None:
            return _product(self.reading, t)
        scale = self._reading_scale(self.degree.astype(np.float64))
        result: np.ndarray = kernels.scaled_neighbour_sums(self.u, self.v, t, scale)
        return result

    def _reading_scale(self, degree: np.ndarray) -> np.ndarray:
        """Each node's weight on the mean of its neighbours: the mean degree over its own."""
        return np.divide(self.mean_degree, degree, out=np.zeros_like(degree), where=degree > 0)

    @property
    def mean_degree(self) -> float | np.ndarray:
        """``<k>``, twice the links over the nodes (a block of runs has one per node)."""
        return 2.0 * self.n_edges / self.n

    @property
    def n_edges(self) -> int:
        return int(self.u.size)

    def move_links(self, links: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """Give links ``links`` (distinct indices) the new ends ``(u, v)``. The cached degrees
        follow the move (a few links a day: cheaper than recounting every link); the CSR
        views are dropped."""
        degree = self._degree
        if degree is not None:
            np.subtract.at(degree, self.u[links], 1)
            np.subtract.at(degree, self.v[links], 1)
            np.add.at(degree, u, 1)
            np.add.at(degree, v, 1)
        self.u[links] = u
        self.v[links] = v
        self.edges_changed()
        self._degree = degree

    def edges_changed(self) -> None:
        """Drop the cached CSR view after ``u``/``v`` were modified."""
        self._adjacency = None
        self._rows = None
        self.version += 1
        self._reading = None
        self._degree = None

    def to_networkx(self) -> nx.Graph:
        """The graph as a networkx Graph with nodes ``0..n-1`` (built on request)."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(zip(self.u.tolist(), self.v.tolist(), strict=True))
        return g


def _product(matrix: sp.csr_array, x: np.ndarray) -> np.ndarray:
    """``matrix @ x`` for a float64 vector or C-ordered matrix ``x``, through scipy's own CSR
    kernel without the operator's dispatch: a few calls a day, whose dispatch costs more than
    the product at 1,000 instances. The same routine on the same arrays, so the same bits."""
    if (
        _sparsetools is None
        or x.dtype != np.float64
        or matrix.data.dtype != np.float64
        or not x.flags.c_contiguous
        or x.ndim not in (1, 2)
    ):
        out: np.ndarray = matrix @ x
        return out
    rows, cols = matrix.shape
    result = np.zeros((rows, *x.shape[1:]))
    if x.ndim == 1:
        _sparsetools.csr_matvec(rows, cols, matrix.indptr, matrix.indices, matrix.data, x, result)
    else:
        _sparsetools.csr_matvecs(
            rows,
            cols,
            x.shape[1],
            matrix.indptr,
            matrix.indices,
            matrix.data,
            x.ravel(),
            result.ravel(),
        )
    return result


def _coo_to_csr(n: int, rows: np.ndarray, cols: np.ndarray) -> sp.csr_array:
    """CSR of unit entries at ``(rows, cols)``, built in one O(nnz) pass.

    The rewired graph is rebuilt every day, so this is on the hot path: scipy's public
    constructor also sorts column indices and sums duplicates (3x slower at 100k instances).
    A repeated link simply stays two entries of weight 1 (weight 2 in every product).
    """
    data = np.ones(rows.size, dtype=np.float64)
    if _sparsetools is None:  # pragma: no cover - private module moved: the public path
        return sp.csr_array((data, (rows, cols)), shape=(n, n))
    indptr = np.empty(n + 1, dtype=np.int32)
    indices = np.empty(rows.size, dtype=np.int32)
    values = np.empty(rows.size, dtype=np.float64)
    _sparsetools.coo_tocsr(n, n, rows.size, rows, cols, data, indptr, indices, values)
    return sp.csr_array((values, indices, indptr), shape=(n, n))


def small_world(
    n: int, mean_degree: int, shortcut_prob: float, rng: np.random.Generator
) -> Network:
    """Watts-Strogatz-style graph: a ring lattice whose far ends are rewired with ``shortcut_prob``.

    Built in numpy (networkx's generator is a Python loop, too slow and too large at 100k).

    >>> net = small_world(10, 4, 0.0, np.random.default_rng(0))
    >>> net.n_edges, int(net.degree.min()), int(net.degree.max())
    (20, 4, 4)
    """
    half = max(1, mean_degree // 2)
    base = np.repeat(np.arange(n, dtype=np.int64), half)
    offset = np.tile(np.arange(1, half + 1, dtype=np.int64), n)
    far = (base + offset) % n
    move = rng.random(far.size) < shortcut_prob
    far[move] = rng.integers(0, n, size=int(move.sum()))
    return _clean(n, base, far)


def random_graph(n: int, mean_degree: int, rng: np.random.Generator) -> Network:
    """Erdos-Renyi-style graph with about ``n * mean_degree / 2`` distinct edges.

    >>> net = random_graph(1000, 8, np.random.default_rng(0))
    >>> 3900 < net.n_edges <= 4000
    True
    """
    m = n * mean_degree // 2
    u = rng.integers(0, n, size=m)
    v = rng.integers(0, n, size=m)
    return _clean(n, u, v)


def complete_graph(n: int) -> Network:
    """Everyone linked to everyone: the mean-field comparison of the network mechanisms.

    >>> complete_graph(5).n_edges
    10
    """
    u, v = np.triu_indices(n, k=1)
    return Network(n, u.astype(np.int32), v.astype(np.int32))


def _clean(n: int, u: np.ndarray, v: np.ndarray) -> Network:
    """Drop self-loops and duplicate edges; store endpoints as int32 (ordered ``u < v``)."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keep = lo != hi
    # np.unique's result, by sort and mask: numpy 2's unique hashes before it sorts, 80x
    # slower on the million links of a 1M-instance graph.
    key = np.sort(lo[keep] * n + hi[keep])
    if key.size:
        key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    return Network(n, (key // n).astype(np.int32), (key % n).astype(np.int32))


def homophilous_rewire(
    net: Network,
    opinion: np.ndarray,
    *,
    candidate_prob: float,
    disagreement: float,
    window: int,
    rng: np.random.Generator,
) -> int:
    """Move links across disagreements to like-minded nodes (Holme-Newman, continuous opinions).

    Each edge is a candidate with probability ``candidate_prob`` (interaction x rewiring
    probability). For a candidate whose ends differ by more than ``disagreement``, one end
    (chosen at random) keeps the link and the other end is replaced by a node drawn from the
    ``window`` nodes nearest in opinion to the keeper. Returns the number of links moved; the
    edge count never changes.
    """
    rule = RewireRule(candidate_prob, disagreement, window)
    return homophilous_rewire_runs([net], net.u, net.v, [0], opinion[None, :], [rule], [rng])[0]


@dataclass(frozen=True)
class RewireRule:
    """One run's rewiring parameters (see :func:`homophilous_rewire`)."""

    candidate_prob: float
    disagreement: float
    window: int


def homophilous_rewire_runs(
    nets: Sequence[Network],
    u: np.ndarray,
    v: np.ndarray,
    first_link: Sequence[int],
    opinion: np.ndarray,
    rules: Sequence[RewireRule],
    rngs: Sequence[np.random.Generator],
) -> list[int]:
    """:func:`homophilous_rewire` for runs laid end to end: run ``b``'s network is ``nets[b]``,
    its links are ``(u, v)[first_link[b]:]`` in node numbers offset by ``b n`` (a block
    network's edge list), its opinions ``opinion[b]`` (one row per run). Every run draws from
    its own stream what it draws alone, in the same order; the arithmetic between the draws is
    done for all runs at once. Returns the links each run moved.
    """
    runs, n = opinion.shape
    moved = [0] * runs
    # Each run's candidate links, from its own stream.
    picked: list[tuple[int, np.ndarray]] = []
    for b, (net, rule, rng) in enumerate(zip(nets, rules, rngs, strict=True)):
        m = net.n_edges
        if m == 0 or rule.candidate_prob <= 0:
            continue
        k = rng.binomial(m, rule.candidate_prob)
        if k > 0:
            picked.append((b, rng.choice(m, size=k, replace=False)))
    if not picked:
        return moved
    flat = opinion.reshape(-1)
    links = np.concatenate([cand + first_link[b] for b, cand in picked])
    ends_u, ends_v = u[links], v[links]
    limit = np.repeat([rules[b].disagreement for b, _ in picked], [c.size for _, c in picked])
    disagree = np.abs(flat[ends_u] - flat[ends_v]) > limit
    # The runs with a disagreeing candidate draw which end keeps each link and where in the
    # keeper's window the other end goes; the others draw nothing more, as alone.
    active: list[tuple[int, np.ndarray, np.ndarray]] = []  # run, its links, their positions
    swaps, offsets, widths = [], [], []  # per disagreeing candidate; widths per run
    at = 0
    for b, cand in picked:
        mine = disagree[at : at + cand.size]
        where = np.flatnonzero(mine) + at
        at += cand.size
        if where.size == 0:
            continue
        width = min(rules[b].window, n)
        swaps.append(rngs[b].random(where.size) < 0.5)
        offsets.append(rngs[b].integers(0, width, size=where.size))
        widths.append(width)
        active.append((b, cand[mine], where))
    if not active:
        return moved
    where = np.concatenate([w for _, _, w in active])
    keeper = np.where(np.concatenate(swaps), ends_v[where], ends_u[where])
    order, rank = _ranks(opinion, [b for b, _, _ in active])
    width = np.repeat(widths, [w.size for _, _, w in active])
    base = keeper - keeper % n  # each link's run's first node
    # A window of nodes nearest in opinion, shifted to lie inside the ranking: clipping instead
    # would pile links onto the most extreme nodes and grow artificial hubs.
    start = np.minimum(np.maximum(rank[keeper] - width // 2, 0), n - width)
    target = order[base + start + np.concatenate(offsets)].astype(np.int32)
    keeper = keeper - base.astype(keeper.dtype)
    ok = target != keeper
    at = 0
    for b, cand, w in active:
        mine = slice(at, at + w.size)
        at += w.size
        keep = ok[mine]
        nets[b].move_links(cand[keep], keeper[mine][keep], target[mine][keep])
        moved[b] = int(np.count_nonzero(keep))
    return moved


def _ranks(opinion: np.ndarray, runs: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(order, rank)`` over the whole batch, filled for ``runs``: each run's nodes in stable
    opinion order (local numbers) and each node's place in its run's order."""
    n = opinion.shape[1]
    order = np.empty(opinion.shape, dtype=np.int64)
    rank = np.empty(opinion.shape, dtype=np.int64)
    rows = np.asarray(runs)
    ordered = stable_orders(opinion[rows])
    order[rows] = ordered
    rank[rows[:, None], ordered] = np.arange(n)
    return order.reshape(-1), rank.reshape(-1)


def stable_orders(x: np.ndarray) -> np.ndarray:
    """``np.argsort(x, axis=1, kind="stable")`` of a 2-D ``x``, several times faster on long
    rows.

    numpy's default sort (SIMD where the CPU has it) orders values correctly but may order equal
    values any way; the stable order is the one order by (value, index). So in a row where no
    two values tie (and none is NaN), the default sort's order is the stable one; a row with a
    tie or a NaN is sorted again alone, stably. All rows are sorted in one call.

    >>> stable_orders(np.array([[0.3, 0.1, 0.3, 0.2]])).tolist()
    [[1, 3, 0, 2]]
    """
    order = np.argsort(x, axis=1)
    if x.shape[1] < 2:
        return order
    values = np.take_along_axis(x, order, axis=1)
    tied = np.isnan(values[:, -1]) | (values[:, 1:] == values[:, :-1]).any(axis=1)
    for i in np.flatnonzero(tied):
        order[i] = np.argsort(x[i], kind="stable")
    return order
