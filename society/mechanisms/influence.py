"""Opinion-dynamics kernels: vectorized, pure, and the ones the engine itself calls.

Every function here takes arrays (and, where a network matters, a sparse adjacency or a
networkx graph) and returns new arrays; none keeps state. The engine's value and belief steps
are :func:`bounded_confidence_drift` and :func:`coupled_belief_step`; the classic models
(DeGroot, Friedkin-Johnsen, Deffuant, Hegselmann-Krause, voter, Holme-Newman) live beside
them so that the validation suite checks the same code the engine runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from society.fusion import fused
from society.graphs import as_csr, link_pairs

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def bounded_confidence_drift(
    adjacency: Any,
    x: FloatArray,
    eps: FloatArray | float,
) -> FloatArray:
    """Return the bounded-confidence pull on each node, ``sum_j W_ij 1{|x_i-x_j|<eps_i} (x_j-x_i)``.

    ``W`` is the row-normalised adjacency (each node averages over all its neighbours, so a
    node whose neighbours all lie outside its confidence bound feels no pull, as in
    Hegselmann-Krause and Deffuant on graphs). This is the influence term of the engine's value
    equation (docs/model.md, section 6).

    Parameters
    ----------
    adjacency : scipy sparse array, networkx graph, or the engine's Network
        Who listens to whom (row i lists the nodes i reads; entries are weights). A Network
        is read from its undirected edge list, each link once and used both ways, which
        halves the work on the engine's hot path.
    x : array of shape (n,)
        Opinions (alignment, in the engine).
    eps : float or array of shape (n,)
        Confidence bound of each reader.

    Returns
    -------
    array of shape (n,)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]))
    >>> bounded_confidence_drift(A, np.array([0.5, 0.6, 0.9]), 0.2).round(3).tolist()
    [0.05, -0.1, 0.0]
    """
    n = x.shape[0]
    eps_of = eps if isinstance(eps, np.ndarray) else np.full(n, float(eps))
    u, v, w = link_pairs(adjacency)
    if w is None:
        # Undirected edge list (the engine's Network): each link read once, used both ways.
        degree = getattr(adjacency, "degree", None)
        if not isinstance(degree, np.ndarray):
            degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
        kernels = fused(n)
        if kernels is not None:  # the same sums in one pass (the engine's hottest loop)
            x = np.asarray(x, dtype=np.float64)
            eps_of = np.asarray(eps_of, dtype=np.float64)
            out: FloatArray = kernels.bounded_confidence_pull(x, u, v, eps_of, degree)
            return out
        diff = x[v] - x[u]
        gap = np.abs(diff)
        pulled = np.bincount(u, weights=diff * (gap < eps_of[u]), minlength=n)
        pulled -= np.bincount(v, weights=diff * (gap < eps_of[v]), minlength=n)
    else:
        diff = (x[v] - x[u]) * w
        degree = np.bincount(u, weights=w, minlength=n)
        pulled = np.bincount(u, weights=diff * (np.abs(x[v] - x[u]) < eps_of[u]), minlength=n)
    return np.divide(pulled, degree, out=np.zeros(n), where=degree > 0)


def coupled_belief_step(
    adjacency: Any,
    x: FloatArray,
    *,
    coupling: float | FloatArray,
    gain: float | FloatArray,
    grounding: FloatArray,
    truth: FloatArray,
    h: float | FloatArray,
) -> FloatArray:
    """Advance beliefs one step of ``dx/dt = -x + K A tanh(alpha x) + eta q (theta - x)``.

    Semi-implicit Euler: the decay and grounding terms are taken at the new time, the social
    term at the old one, so a step of any length ``h`` is stable (the engine takes many
    subjective days per simulated day). With ``K*alpha*<k> > 1 + eta*<q>`` the neutral state is
    unstable and beliefs lock into a consensus that evidence cannot pull back to ``theta``
    (docs/model.md's delusional society).

    Parameters
    ----------
    adjacency : scipy sparse array or networkx graph
        Unnormalised adjacency ``A``.
    x : array of shape (n, m)
        Beliefs of n instances about m claims.
    coupling, gain : float or array of shape (n, 1)
        ``K`` and ``alpha`` (a column: each instance's own, as in a batch of runs).
    grounding : array of shape (n,)
        ``eta * q_i``, each instance's pull toward evidence.
    truth : array of shape (m,) or (n, m)
        ``theta``, the truth of each claim, or the evidence each instance saw of it.
    h : float or array of shape (n, 1)
        Step length in subjective time.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.csr_array(np.zeros((2, 2)))
    >>> x = np.array([[0.0], [2.0]])
    >>> coupled_belief_step(A, x, coupling=0.0, gain=1.0, grounding=np.array([1.0, 1.0]),
    ...                     truth=np.array([1.0]), h=1e9).round(6).tolist()
    [[0.5], [0.5]]
    """
    read = getattr(adjacency, "read", None)  # the engine's Network: its reading, maybe fused
    pulled = np.tanh(gain * x)
    heard = read(pulled) if read is not None else as_csr(adjacency) @ pulled
    kernels = fused(x.shape[0])
    if kernels is not None and truth.shape == x.shape and x.dtype == np.float64:
        g = np.asarray(grounding, np.float64)
        if np.ndim(h) == 0 and np.ndim(coupling) == 0:
            out: FloatArray = kernels.belief_update(
                x,
                heard,
                float(coupling),
                g,
                truth,
                float(h),
            )
            return out
        # One step length and coupling per row (a batch of runs, each with its own).
        k = np.broadcast_to(np.asarray(coupling, np.float64).reshape(-1), g.shape).copy()
        hs = np.broadcast_to(np.asarray(h, np.float64).reshape(-1), g.shape).copy()
        out = kernels.belief_update_rows(x, heard, k, g, truth, hs)
        return out
    social = coupling * heard
    g = grounding[:, None]
    target = truth if truth.ndim == 2 else truth[None, :]
    return (x + h * (social + g * target)) / (1.0 + h * (1.0 + g))


def row_stochastic(adjacency: Any) -> sp.csr_array:
    """Return ``D^-1 A``, the row-normalised adjacency (rows with no entries stay zero).

    >>> import scipy.sparse as sp
    >>> row_stochastic(sp.csr_array(np.array([[1, 1], [0, 2]]))).toarray().tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    csr = as_csr(adjacency).astype(np.float64)
    sums = np.asarray(csr.sum(axis=1)).ravel()
    inv = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sp.csr_array(sp.diags_array(inv) @ csr)


# ---------------------------------------------------------------------------------------------
# Classic opinion-dynamics models (validated against published results by society.validation)
# ---------------------------------------------------------------------------------------------

_STOCHASTIC_TOL = 1e-9


def _check_int(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_epsilon(epsilon: Any) -> float:
    eps = float(epsilon)
    if not 0.0 < eps <= 1.0:
        raise ValueError(f"epsilon must be in (0, 1], got {epsilon!r}")
    return eps


def _opinions(x: Any, name: str = "x") -> FloatArray:
    arr = np.array(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of opinions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _stochastic(W: Any) -> sp.csr_array:
    """``W`` as a float CSR array, checked square, non-negative and row-stochastic."""
    csr = as_csr(W).astype(np.float64)
    if csr.ndim != 2 or csr.shape[0] != csr.shape[1]:
        raise ValueError(f"W must be a square matrix, got shape {csr.shape}")
    if csr.nnz and (not np.all(np.isfinite(csr.data)) or csr.data.min() < 0):
        raise ValueError("W must have finite, non-negative entries")
    sums = np.asarray(csr.sum(axis=1)).ravel()
    worst = float(np.max(np.abs(sums - 1.0))) if sums.size else 0.0
    if worst > _STOCHASTIC_TOL:
        raise ValueError(
            f"W must be row-stochastic (every row sums to 1); worst row is off by {worst:.3g} "
            "(use row_stochastic(A) to normalise an adjacency)"
        )
    return csr


def _state_matching(x: Any, n: int, name: str) -> FloatArray:
    arr = np.array(x, dtype=np.float64)
    if arr.ndim not in (1, 2) or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},) or ({n}, m) to match W, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def degroot(W: Any, x: FloatArray, steps: int) -> FloatArray:
    """DeGroot averaging: apply ``x <- W x`` ``steps`` times (DeGroot 1974).

    Parameters
    ----------
    W : sparse or dense array, or networkx graph, shape (n, n)
        Row-stochastic trust matrix (``row_stochastic(A)`` of an adjacency ``A``).
    x : array of shape (n,) or (n, m)
        Initial opinions (m independent topics in columns).
    steps : int
        Number of synchronous updates.

    On a connected undirected graph with self-loops and ``W = D^-1 A`` the opinions converge to
    the degree-weighted mean ``sum_i d_i x_i / sum_i d_i``.

    >>> import networkx as nx
    >>> g = nx.path_graph(3)
    >>> g.add_edges_from((i, i) for i in range(3))
    >>> degroot(row_stochastic(g), np.array([0.0, 0.0, 1.0]), 200).round(6).tolist()
    [0.285714, 0.285714, 0.285714]
    """
    csr = _stochastic(W)
    out = _state_matching(x, csr.shape[0], "x")
    for _ in range(_check_int("steps", steps)):
        out = csr @ out
    return out


def friedkin_johnsen(
    W: Any, lam: FloatArray | float, u: FloatArray, x0: FloatArray, steps: int
) -> FloatArray:
    """Friedkin-Johnsen dynamics ``x <- Lambda W x + (I - Lambda) u`` for ``steps`` steps.

    ``Lambda = diag(lam)`` is each agent's susceptibility to others; ``1 - lam`` its stubborn
    attachment to its prejudice ``u`` (Friedkin & Johnsen 1990). With every ``lam < 1`` the
    opinions converge to ``(I - Lambda W)^-1 (I - Lambda) u``.

    Parameters
    ----------
    W : row-stochastic (n, n) matrix (sparse, dense or networkx graph).
    lam : float or array of shape (n,), each in [0, 1].
    u : array of shape (n,) or (n, m), the prejudices.
    x0 : array with the shape of ``u``, the initial opinions.
    steps : int

    >>> W = np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> friedkin_johnsen(W, 0.5, np.array([0.0, 1.0]), np.array([0.0, 1.0]), 100).round(6).tolist()
    [0.25, 0.75]
    """
    csr = _stochastic(W)
    n = csr.shape[0]
    prejudice = _state_matching(u, n, "u")
    out = _state_matching(x0, n, "x0")
    if out.shape != prejudice.shape:
        raise ValueError(f"x0 must have the shape of u {prejudice.shape}, got {out.shape}")
    lam_arr = np.array(lam, dtype=np.float64)
    if lam_arr.ndim == 0:
        lam_arr = np.full(n, float(lam_arr))
    if lam_arr.shape != (n,):
        raise ValueError(f"lam must be a float or an array of shape ({n},), got {lam_arr.shape}")
    if not np.all((lam_arr >= 0.0) & (lam_arr <= 1.0)):
        raise ValueError("lam must lie in [0, 1] (susceptibility to others)")
    if prejudice.ndim == 2:
        lam_arr = lam_arr[:, None]
    anchor = (1.0 - lam_arr) * prejudice
    for _ in range(_check_int("steps", steps)):
        out = lam_arr * (csr @ out) + anchor
    return out


def _apply_meetings(x: FloatArray, a: np.ndarray, b: np.ndarray, eps: float, mu: float) -> None:
    """Apply Deffuant meetings ``(a[k], b[k])`` (``a[k] != b[k]``) to ``x`` in place, in order.

    The meetings are peeled into conflict-free layers: a layer is every remaining meeting that
    is the earliest remaining meeting of both its agents. No agent appears twice in a layer and
    every earlier meeting of its agents has already been applied, so updating a layer at once
    reproduces applying the meetings one by one.
    """
    m = a.size
    first = np.full(x.size, m, dtype=np.int64)
    idx = np.arange(m)
    while idx.size:
        np.minimum.at(first, a, idx)
        np.minimum.at(first, b, idx)
        ready = (first[a] == idx) & (first[b] == idx)
        first[a] = m
        first[b] = m
        ia, ib = a[ready], b[ready]
        xa, xb = x[ia], x[ib]
        d = xb - xa
        d *= np.where(np.abs(d) < eps, mu, 0.0)
        x[ia] = xa + d
        x[ib] = xb - d
        keep = ~ready
        idx, a, b = idx[keep], a[keep], b[keep]


def deffuant(
    x: FloatArray,
    epsilon: float,
    mu: float,
    rounds: int,
    rng: np.random.Generator,
    graph: Any = None,
) -> FloatArray:
    """Deffuant-Weisbuch bounded-confidence model (Deffuant et al. 2000); returns new opinions.

    A round is ``N // 2`` random pairwise meetings, so each agent meets once per round on
    average. In a meeting of ``i`` and ``j`` with ``|x_i - x_j| < epsilon`` both move toward
    each other: ``x_i += mu (x_j - x_i)``, ``x_j += mu (x_i - x_j)``. Without ``graph`` the
    partners are two distinct agents drawn uniformly (complete mixing); on ``graph`` a meeting
    is along an edge drawn uniformly (edge weights are ignored; isolated nodes never meet).

    The meetings of a round are applied in their sampled order: they are split into
    conflict-free layers (a meeting goes one layer after the later of the previous meetings of
    its two agents) and each layer is one vectorized update, which is exactly the sequential
    dynamics.

    Parameters
    ----------
    x : array of shape (n,)
        Initial opinions.
    epsilon : float in (0, 1]
        Confidence bound.
    mu : float in (0, 0.5]
        Convergence parameter.
    rounds : int
        Number of rounds.
    rng : numpy Generator
    graph : sparse array or networkx graph, optional
        Who can meet whom (undirected; self-loops ignored).

    >>> rng = np.random.default_rng(0)
    >>> x = deffuant(rng.uniform(size=1000), 0.5, 0.5, 200, rng)
    >>> float(x.max() - x.min()) < 1e-6
    True
    """
    out = _opinions(x)
    n = out.size
    eps = _check_epsilon(epsilon)
    if not 0.0 < float(mu) <= 0.5:
        raise ValueError(f"mu must be in (0, 0.5], got {mu!r}")
    rounds = _check_int("rounds", rounds)
    if graph is None:
        if n < 2:
            raise ValueError(f"x must hold at least 2 agents, got {n}")
        eu = ev = np.empty(0, dtype=np.int64)
    else:
        csr = as_csr(graph)
        if csr.shape != (n, n):
            raise ValueError(f"graph must have shape ({n}, {n}) to match x, got {csr.shape}")
        sym = sp.coo_array(csr + csr.T)
        keep = sym.row < sym.col
        eu, ev = sym.row[keep].astype(np.int64), sym.col[keep].astype(np.int64)
        if eu.size == 0:
            raise ValueError("graph must have at least one edge between distinct nodes")
    per_round = max(1, n // 2)
    for _ in range(rounds):
        if graph is None:
            a = rng.integers(0, n, per_round)
            b = (a + rng.integers(1, n, per_round)) % n
        else:
            e = rng.integers(0, eu.size, per_round)
            a, b = eu[e], ev[e]
        _apply_meetings(out, a, b, eps, float(mu))
    return out


def hegselmann_krause(
    x: FloatArray, epsilon: float, max_steps: int = 1000, tol: float = 1e-9
) -> FloatArray:
    """Hegselmann-Krause model on the complete graph (Hegselmann & Krause 2002).

    Synchronously, every agent moves to the mean of all opinions within ``epsilon`` of its
    own (``|x_i - x_j| <= epsilon``, itself included), until no opinion moves by more than
    ``tol`` or ``max_steps`` steps. Each step is O(N) after one O(N log N) sort: the dynamics
    preserve order, so the agents stay sorted, and each window mean is a difference of prefix
    sums found with ``searchsorted``. Rounding is kept from ever breaking the order (a running
    maximum) or leaving the initial range (a clip), both of which hold exactly in exact
    arithmetic. (The engine's :func:`bounded_confidence_drift` averages over all neighbours of
    a sparse graph, which is a different normalisation; this kernel is the textbook model.)

    >>> hegselmann_krause(np.array([0.0, 0.1, 0.2, 0.9, 1.0]), 0.15).round(6).tolist()
    [0.1, 0.1, 0.1, 0.95, 0.95]
    """
    arr = _opinions(x)
    eps = _check_epsilon(epsilon)
    max_steps = _check_int("max_steps", max_steps)
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    if arr.size == 0:
        return arr
    order = np.argsort(arr, kind="stable")
    xs = arr[order]
    lo_bound, hi_bound = float(xs[0]), float(xs[-1])
    sums = np.empty(xs.size + 1)
    sums[0] = 0.0
    for _ in range(max_steps):
        centre = float(xs.mean())
        np.cumsum(xs - centre, out=sums[1:])
        lo = np.searchsorted(xs, xs - eps, side="left")
        hi = np.searchsorted(xs, xs + eps, side="right")
        new = (sums[hi] - sums[lo]) / (hi - lo) + centre
        np.maximum.accumulate(new, out=new)
        np.clip(new, lo_bound, hi_bound, out=new)
        moved = float(np.max(np.abs(new - xs)))
        xs = new
        if moved <= tol:
            break
    out = np.empty_like(xs)
    out[order] = xs
    return out


def _neighbour_table(graph: Any, n: int, *, allow_isolated: bool) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of an unweighted graph on ``n`` nodes, self-loops dropped."""
    csr = as_csr(graph)
    if csr.shape != (n, n):
        raise ValueError(f"graph must have shape ({n}, {n}) to match the states, got {csr.shape}")
    csr = sp.csr_array(csr + csr.T)  # undirected: j is i's neighbour if either lists the other
    csr.setdiag(0)
    csr.eliminate_zeros()
    csr.sort_indices()
    degree = np.diff(csr.indptr)
    if not allow_isolated and np.any(degree == 0):
        bad = np.flatnonzero(degree == 0)
        raise ValueError(
            f"graph has {bad.size} isolated node(s) (first: {int(bad[0])}); a voter needs a "
            "neighbour to copy"
        )
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)


_VOTER_BLOCK = 1 << 20  # entries of a (sweep x runs) index array simulated at once


def _voter_block(
    codes: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    rng: np.random.Generator,
    max_sweeps: int,
) -> FloatArray:
    """Run the voter model in place on ``codes`` (R, N); return sweeps to consensus per run.

    Empty ``indptr`` means the complete graph without self-loops.
    """
    n_runs, n = codes.shape
    complete = indptr.size == 0
    degree = np.diff(indptr)
    result = np.full(n_runs, np.nan)
    result[np.all(codes == codes[:, :1], axis=1)] = 0.0
    active = np.flatnonzero(np.isnan(result))
    for sweep in range(max_sweeps):
        if active.size == 0:
            break
        k = active.size
        pick = rng.integers(0, n, size=(n, k))
        if complete:
            other = (pick + rng.integers(1, n, size=(n, k))) % n
        else:
            offset = (rng.random((n, k)) * degree[pick]).astype(np.int64)
            other = indices[indptr[pick] + offset]
        base = (np.arange(k) * n)[None, :]
        flat_pick, flat_other = pick + base, other + base
        block = codes[active]
        start = block.copy()
        flat = block.reshape(-1)
        for t in range(n):
            flat[flat_pick[t]] = flat[flat_other[t]]
        codes[active] = block
        done = np.all(block == block[:, :1], axis=1)
        for r in np.flatnonzero(done).tolist():
            # replay this run's sweep to find the update that completed the consensus
            s = start[r].tolist()
            last = 0
            for t, (i, j) in enumerate(zip(pick[:, r].tolist(), other[:, r].tolist(), strict=True)):
                if s[i] != s[j]:
                    s[i] = s[j]
                    last = t
            result[active[r]] = sweep + (last + 1) / n
        active = active[~done]
    return result


def voter(
    graph: Any, states: np.ndarray, rng: np.random.Generator, max_sweeps: int
) -> tuple[np.ndarray, Any]:
    """Voter model (Clifford & Sudbury 1973; Holley & Liggett 1975), run to consensus.

    An update picks a node uniformly at random and copies the state of a uniformly chosen
    neighbour; a sweep is ``N`` updates. ``states`` may hold one run (shape ``(N,)``) or many
    independent runs on the same graph (shape ``(R, N)``), which are simulated together, each
    update vectorized over the runs still going.

    Parameters
    ----------
    graph : sparse array, networkx graph, or None
        Undirected network; ``None`` is the complete graph without self-loops (every other node
        is a neighbour). Isolated nodes are an error.
    states : integer (or any discrete) array of shape (N,) or (R, N)
    rng : numpy Generator
    max_sweeps : int
        Give up after this many sweeps.

    Returns
    -------
    states : array like ``states``
        The final states.
    sweeps_to_consensus : float or array of shape (R,)
        Updates until every node holds one state, divided by ``N`` (0 if it started so);
        ``nan`` where no consensus was reached within ``max_sweeps``.

    >>> rng = np.random.default_rng(0)
    >>> final, t = voter(None, np.array([0, 1] * 5), rng, max_sweeps=1000)
    >>> bool(np.all(final == final[0])) and t > 0
    True
    """
    arr = np.array(states)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 1:
        raise ValueError(f"states must have shape (N,) or (R, N), got {arr.shape}")
    single = arr.ndim == 1
    runs = arr.reshape(1, -1) if single else arr
    n_runs, n = runs.shape
    max_sweeps = _check_int("max_sweeps", max_sweeps)
    if graph is None:
        if n < 2:
            raise ValueError(f"states must hold at least 2 nodes on the complete graph, got {n}")
        indptr = indices = np.empty(0, dtype=np.int64)
    else:
        indptr, indices = _neighbour_table(graph, n, allow_isolated=False)
    uniq, inverse = np.unique(runs, return_inverse=True)
    codes = inverse.reshape(n_runs, n).astype(np.int64)
    result = np.full(n_runs, np.nan)
    # Runs are independent: simulate them in blocks that keep a sweep's index arrays small.
    block_runs = max(1, _VOTER_BLOCK // n)
    for lo in range(0, n_runs, block_runs):
        hi = min(n_runs, lo + block_runs)
        result[lo:hi] = _voter_block(codes[lo:hi], indptr, indices, rng, max_sweeps)
    values = uniq[codes]  # back to the caller's state values
    if single:
        return values[0], float(result[0])
    return values, result


def holme_newman(
    n: int,
    mean_degree: float,
    gamma: float,
    phi: float,
    rng: np.random.Generator,
    max_steps: int | None = None,
) -> tuple[sp.csr_array, np.ndarray]:
    """Coevolving voter model of Holme & Newman (2006), run until no edge joins two opinions.

    Start: ``M = round(n * mean_degree / 2)`` edges between uniformly drawn pairs of distinct
    vertices (multi-edges allowed) and ``G = round(n / gamma)`` opinions assigned uniformly at
    random. Each step picks a vertex ``i`` uniformly among those with degree > 0 and one of its
    edges ``(i, j)`` uniformly. With probability ``phi`` the edge's far end moves from ``j`` to
    a vertex drawn uniformly among the other holders of ``i``'s opinion (nothing happens if
    ``i`` holds it alone); otherwise ``i`` adopts ``j``'s opinion. The run stops when every
    connected component is of one opinion (no discordant edge) or after ``max_steps`` steps.
    The transition between one giant community and many small ones is near ``phi = 0.46``
    for ``mean_degree = 4``, ``gamma = 10``.

    The loop is plain Python over incremental structures (neighbour lists holding one entry
    per edge end, per-opinion member lists with positions, a running count of discordant
    edges), about 0.4 microseconds a step; N = 3200 at small ``phi`` (about N^2 steps) takes a
    few seconds.

    Returns
    -------
    graph : scipy CSR array (n, n)
        Final symmetric adjacency; entries count parallel edges.
    opinions : int array of shape (n,)

    >>> g, ops = holme_newman(200, 4, 10, 0.9, np.random.default_rng(0))
    >>> rows, cols = g.nonzero()
    >>> bool(np.all(ops[rows] == ops[cols]))
    True
    """
    n = _check_int("n", n, 2)
    if not 0 < mean_degree < n - 1:
        raise ValueError(f"mean_degree must be in (0, n - 1), got {mean_degree!r}")
    if not 0 < gamma <= n:
        raise ValueError(f"gamma (agents per opinion) must be in (0, n], got {gamma!r}")
    if not 0.0 <= phi <= 1.0:
        raise ValueError(f"phi must be in [0, 1], got {phi!r}")
    if max_steps is not None:
        max_steps = _check_int("max_steps", max_steps)
    n_edges = round(n * mean_degree / 2)
    n_opinions = max(1, round(n / gamma))
    eu = rng.integers(0, n, n_edges)
    ev = (eu + rng.integers(1, n, n_edges)) % n
    op_arr = rng.integers(0, n_opinions, n)
    discordant = int(np.count_nonzero(op_arr[eu] != op_arr[ev]))
    op: list[int] = op_arr.tolist()
    adj: list[list[int]] = [[] for _ in range(n)]
    for p, q in zip(eu.tolist(), ev.tolist(), strict=True):
        adj[p].append(q)
        adj[q].append(p)
    members: list[list[int]] = [[] for _ in range(n_opinions)]
    pos = [0] * n
    for i, g in enumerate(op):
        pos[i] = len(members[g])
        members[g].append(i)
    steps = 0
    limit = max_steps if max_steps is not None else -1
    chunk = 1 << 16
    while discordant > 0 and steps != limit:
        picks = rng.integers(0, n, chunk).tolist()
        ends = rng.random(chunk).tolist()
        rewire = (rng.random(chunk) < phi).tolist()
        targets = rng.random(chunk).tolist()
        for t in range(chunk):
            i = picks[t]
            nb = adj[i]
            k = len(nb)
            if k == 0:
                continue  # only vertices with degree > 0 take steps
            steps += 1
            slot = int(ends[t] * k)
            j = nb[slot]
            oi = op[i]
            if rewire[t]:
                mem = members[oi]
                new = mem[int(targets[t] * len(mem))]
                if new != i:
                    nb[slot] = new
                    adj[j].remove(i)
                    adj[new].append(i)
                    if op[j] != oi:
                        discordant -= 1
            else:
                oj = op[j]
                if oj != oi:
                    mem = members[oi]
                    last = mem.pop()
                    if last != i:
                        mem[pos[i]] = last
                        pos[last] = pos[i]
                    pos[i] = len(members[oj])
                    members[oj].append(i)
                    op[i] = oj
                    for w in nb:
                        ow = op[w]
                        if ow == oi:
                            discordant += 1
                        elif ow == oj:
                            discordant -= 1
            if discordant == 0 or steps == limit:
                break
    rows = np.repeat(np.arange(n), [len(nb) for nb in adj])
    cols = np.fromiter((w for nb in adj for w in nb), dtype=np.int64, count=rows.size)
    graph = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    graph.sum_duplicates()
    return graph, np.asarray(op, dtype=np.int64)
