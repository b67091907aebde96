"""Routing SIGINT and SIGTERM to a handler while a run or sweep is in progress."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only; elsewhere a no-op); returns
    the handlers to put back with :func:`restore`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """In a worker process: leave SIGINT to the parent, which decides how to stop (a Ctrl-C
    in a terminal reaches every process of the group)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
