"""Timings of the classic opinion-dynamics kernels in society.mechanisms.influence.

Run: ``python benchmarks/kernels.py`` (single-threaded numpy work; a few tens of seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from society.mechanisms.influence import deffuant, hegselmann_krause, holme_newman, voter
from society.metrics import largest_community_share


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of ``repeats`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    rng = np.random.default_rng(0)

    n, rounds = 10_000, 200
    x0 = rng.uniform(size=n)
    for eps in (0.2, 0.5):
        t, _ = best_of(3, lambda eps=eps: deffuant(x0, eps, 0.5, rounds, rng))
        pairs = rounds * (n // 2)
        print(
            f"deffuant        N={n} eps={eps} complete mixing: {rounds} rounds in {t:.3f} s = "
            f"{pairs / t / 1e6:.2f} M pair-updates/s"
        )

    graph = nx.random_regular_graph(6, n, seed=1)
    t, _ = best_of(3, lambda: deffuant(x0, 0.2, 0.5, rounds, rng, graph=graph))
    print(
        f"deffuant        N={n} eps=0.2 on a 6-regular graph: {rounds * (n // 2) / t / 1e6:.2f} "
        "M pair-updates/s"
    )

    for eps in (0.18, 0.25):
        t, _ = best_of(3, lambda eps=eps: hegselmann_krause(rng.uniform(size=n), eps))
        print(f"hegselmann_krause N={n} eps={eps} to convergence: {t * 1e3:.1f} ms")
    big = 1_000_000
    t, _ = best_of(1, lambda: hegselmann_krause(rng.uniform(size=big), 0.1))
    print(f"hegselmann_krause N={big} eps=0.1 to convergence: {t:.2f} s")

    runs, m = 1000, 200
    states = np.tile(np.repeat([0, 1], m // 2), (runs, 1))
    t, (_, sweeps) = best_of(1, lambda: voter(None, states, rng, max_sweeps=100 * m))
    updates = float(np.sum(sweeps)) * m
    print(
        f"voter           K_{m}, {runs} runs to consensus: {t:.2f} s "
        f"({updates / t / 1e6:.1f} M updates/s, mean {np.mean(sweeps):.1f} sweeps)"
    )
    t, (_, one) = best_of(1, lambda: voter(None, states[0], rng, max_sweeps=100 * m))
    print(f"voter           K_{m}, one run: {t * 1e3:.1f} ms ({one:.1f} sweeps)")

    for size, phi in ((3200, 0.05), (3200, 0.9), (800, 0.05)):
        t, (g, ops) = best_of(1, lambda size=size, phi=phi: holme_newman(size, 4, 10, phi, rng))
        print(
            f"holme_newman    N={size} <k>=4 gamma=10 phi={phi}: {t:.2f} s "
            f"(S/N = {largest_community_share(g, ops):.3f})"
        )


if __name__ == "__main__":
    main()
