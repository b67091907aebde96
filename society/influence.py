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

from society.graphs import as_csr, csr_rows

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def bounded_confidence_drift(
    adjacency: Any,
    x: FloatArray,
    eps: FloatArray | float,
    *,
    rows: np.ndarray | None = None,
) -> FloatArray:
    """Return the bounded-confidence pull on each node, ``sum_j W_ij 1{|x_i-x_j|<eps_i} (x_j-x_i)``.

    ``W`` is the row-normalised adjacency (each node averages over all its neighbours, so a
    node whose neighbours all lie outside its confidence bound feels no pull, as in
    Hegselmann-Krause and Deffuant on graphs). This is the influence term of the engine's value
    equation (DESIGN.md section 3).

    Parameters
    ----------
    adjacency : scipy sparse array or networkx graph
        Who listens to whom; row i lists the nodes i reads.
    x : array of shape (n,)
        Opinions (alignment, in the engine).
    eps : float or array of shape (n,)
        Confidence bound of each reader.
    rows : array, optional
        The row index of every stored entry (``csr_rows(adjacency)``); pass it to skip
        recomputing it in a hot loop.

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
    csr = as_csr(adjacency)
    if rows is None:
        rows = csr_rows(csr)
    cols = csr.indices
    eps_rows = eps[rows] if isinstance(eps, np.ndarray) else eps
    diff = x[cols] - x[rows]
    diff *= np.abs(diff) < eps_rows
    degree = np.diff(csr.indptr)
    pulled = np.bincount(rows, weights=diff, minlength=x.shape[0])
    return np.divide(pulled, degree, out=np.zeros_like(pulled), where=degree > 0)


def coupled_belief_step(
    adjacency: Any,
    x: FloatArray,
    *,
    coupling: float,
    gain: float,
    grounding: FloatArray,
    truth: FloatArray,
    h: float,
) -> FloatArray:
    """Advance beliefs one step of ``dx/dt = -x + K A tanh(alpha x) + eta q (theta - x)``.

    Semi-implicit Euler: the decay and grounding terms are taken at the new time, the social
    term at the old one, so a step of any length ``h`` is stable (the engine takes many
    subjective days per simulated day). With ``K*alpha*<k> > 1 + eta*<q>`` the neutral state is
    unstable and beliefs lock into a consensus that evidence cannot pull back to ``theta``
    (DESIGN.md's delusional society).

    Parameters
    ----------
    adjacency : scipy sparse array or networkx graph
        Unnormalised adjacency ``A``.
    x : array of shape (n, m)
        Beliefs of n instances about m claims.
    coupling, gain : float
        ``K`` and ``alpha``.
    grounding : array of shape (n,)
        ``eta * q_i``, each instance's pull toward evidence.
    truth : array of shape (m,) or (n, m)
        ``theta``, the truth of each claim, or the evidence each instance saw of it.
    h : float
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
    csr = as_csr(adjacency)
    social = coupling * (csr @ np.tanh(gain * x))
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
