"""Routing SIGINT and SIGTERM to a handler while a run or sweep is in progress."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only; elsewhere a no-op); returns
    the handlers to put back with :func:`restore`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def restore(previous: dict[int, Any]) -> None:
    """Put back handlers from :func:`install` or :func:`current_handlers`."""
    for sig, handler in previous.items():
        if handler is not None:  # None: not set from Python, so nothing to put back
            signal.signal(sig, handler)


def current_handlers() -> dict[int, Any]:
    """The handlers of SIGINT and SIGTERM now, for :func:`restore` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}


def ignore_interrupts() -> None:
    """In a worker process: leave SIGINT to the parent, which decides how to stop (a Ctrl-C
    in a terminal reaches every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class StopRequests:
    """SIGINT and SIGTERM received while a run is in progress, each passed on as a request to
    stop at the end of the day.

    A signal can come at any moment: before the model exists (it is then asked to stop as
    soon as it is attached), or while it is busy, e.g. writing a checkpoint (the request only
    sets when to stop, so the write finishes).
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._request_stop: Callable[[], None] | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if self._request_stop is not None:
            self._request_stop()

    def forward_to(self, request_stop: Callable[[], None]) -> None:
        """Pass every request, from now on and any already received, to ``request_stop``."""
        self._request_stop = request_stop
        if self.received:
            request_stop()


@contextmanager
def stop_requests() -> Iterator[StopRequests]:
    """Route SIGINT and SIGTERM to a :class:`StopRequests` for the ``with`` block."""
    requests = StopRequests()
    previous = install(requests)
    try:
        yield requests
    finally:
        restore(previous)
