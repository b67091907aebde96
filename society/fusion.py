"""Whether a population is large enough for the fused kernels of :mod:`society.fused`.

Importing numba and loading the compiled kernels costs about a second per process; the fused
kernels save tens of milliseconds a day at 100,000 instances but a fraction of a millisecond at
1,000, where a year would not recover the start-up. Both forms give the same bits, so the
threshold changes speed only, never results. A process that runs many runs (a sweep's worker)
pays the start-up once: :func:`use_everywhere` loads the kernels and uses them at every size.
"""

from __future__ import annotations

from types import ModuleType

#: Population size from which the fused kernels replace the numpy expressions.
FUSED_MIN = 20_000

_EVERYWHERE = {"on": False}  # set by use_everywhere(); inherited by processes forked after it


def use_everywhere() -> None:
    """Load (or compile) the fused kernels now and use them whatever the size: for a process
    that will run many runs, such as the sweep engines' fork server, whose workers inherit
    the loaded kernels."""
    import society.fused

    society.fused.warm()
    _EVERYWHERE["on"] = True


def fused(n: int) -> ModuleType | None:
    """:mod:`society.fused` when ``n`` instances are worth its start-up cost, else None (numba
    is then not imported at all).

    >>> fused(FUSED_MIN).__name__
    'society.fused'
    """
    if n < FUSED_MIN and not _EVERYWHERE["on"]:
        return None
    import society.fused

    return society.fused
