"""Conversions between the graph forms users hand us and the CSR arrays kernels compute on."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp


def as_csr(graph: Any) -> sp.csr_array:
    """Return ``graph`` as a scipy CSR array: accepts sparse arrays/matrices, dense arrays,
    networkx graphs (nodes taken in ``sorted`` order when they are integers ``0..n-1``) and any
    object with an ``adjacency`` attribute (the engine's :class:`~society.network.Network`).

    >>> as_csr(nx.path_graph(3)).toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if isinstance(graph, sp.csr_array):
        return graph
    if sp.issparse(graph):
        return sp.csr_array(graph)
    if isinstance(graph, nx.Graph):
        nodes = list(graph.nodes)
        if all(isinstance(v, int | np.integer) for v in nodes):
            nodes = sorted(nodes)
        return sp.csr_array(nx.to_scipy_sparse_array(graph, nodelist=nodes, dtype=np.float64))
    if hasattr(graph, "adjacency"):
        return as_csr(graph.adjacency)
    return sp.csr_array(np.asarray(graph, dtype=np.float64))


def csr_rows(csr: sp.csr_array) -> np.ndarray:
    """Row index of every stored entry of ``csr``, aligned with ``csr.indices``.

    >>> csr_rows(sp.csr_array(np.array([[0, 1], [1, 1]]))).tolist()
    [0, 1, 1]
    """
    n = csr.shape[0]
    return np.repeat(np.arange(n, dtype=np.int32), np.diff(csr.indptr))


def graph_rows(graph: Any, csr: sp.csr_array) -> np.ndarray:
    """Row index of every entry of ``csr``, reusing the graph's cached copy when it has one."""
    rows = getattr(graph, "rows", None)
    return rows if isinstance(rows, np.ndarray) else csr_rows(csr)


def link_pairs(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The links as endpoint arrays ``(a, b, weights)``: each undirected link once when the graph
    keeps an edge list (the engine's Network; ``weights`` None means all 1), otherwise every
    stored entry of the adjacency (each link in both directions). Metrics built on these pairs
    give the same value either way.
    """
    u, v = getattr(graph, "u", None), getattr(graph, "v", None)
    if isinstance(u, np.ndarray) and isinstance(v, np.ndarray):
        return u, v, None
    csr = as_csr(graph)
    return csr_rows(csr), csr.indices, csr.data.astype(np.float64)
