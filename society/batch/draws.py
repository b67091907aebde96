"""Random draws for a batch of runs: each run's block comes from its own stream, in the order
that run would draw alone, so a run in a batch sees the numbers it sees on its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class RunDraws:
    """The random streams of a batch's runs (one per run, in the batch's order), drawn as one.

    It answers the two calls the daily kernels make of a ``numpy.random.Generator``
    (``random`` and ``standard_normal``), for an array whose first axis lays the runs end to
    end: run ``b`` fills rows ``b * size / runs`` onward from its own stream.

    >>> draws = RunDraws([np.random.default_rng(1), np.random.default_rng(2)])
    >>> both = draws.random(4)
    >>> bool((both[2:] == np.random.default_rng(2).random(2)).all())
    True
    """

    def __init__(self, rngs: Sequence[np.random.Generator]) -> None:
        self.rngs = list(rngs)

    def random(self, size: int | tuple[int, ...], runs: Iterable[int] | None = None) -> np.ndarray:
        """Uniform draws in [0, 1); only the runs in ``runs`` draw (the rest of the array
        is 0)."""
        return self._fill("random", size, runs)

    def standard_normal(
        self, size: int | tuple[int, ...], runs: Iterable[int] | None = None
    ) -> np.ndarray:
        """Standard normal draws; only the runs in ``runs`` draw (the rest of the array is 0)."""
        return self._fill("standard_normal", size, runs)

    def _fill(
        self, method: str, size: int | tuple[int, ...], runs: Iterable[int] | None
    ) -> np.ndarray:
        shape = (size,) if isinstance(size, int | np.integer) else tuple(size)
        out = np.empty(shape) if runs is None else np.zeros(shape)
        rows = shape[0] // len(self.rngs)
        for b in range(len(self.rngs)) if runs is None else runs:
            getattr(self.rngs[b], method)(out=out[b * rows : (b + 1) * rows])
        return out
