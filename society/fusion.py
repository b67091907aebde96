"""Whether a population is large enough for the fused kernels of :mod:`society.fused`.

Importing numba and loading the compiled kernels costs about a second per process; the fused
kernels save tens of milliseconds a day at 100,000 instances but a fraction of a millisecond at
1,000, where a year would not recover the start-up. Both forms give the same bits, so the
threshold changes speed only, never results.
"""

from __future__ import annotations

from types import ModuleType

#: Population size from which the fused kernels replace the numpy expressions.
FUSED_MIN = 20_000


def fused(n: int) -> ModuleType | None:
    """:mod:`society.fused` when ``n`` instances are worth its start-up cost, else None (numba
    is then not imported at all).

    >>> fused(1_000) is None
    True
    """
    if n < FUSED_MIN:
        return None
    import society.fused

    return society.fused
