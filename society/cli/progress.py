"""Progress for a log: what a long command prints when its output is not a terminal."""

from __future__ import annotations

import time

from rich.console import Console


class TenthLines:
    """When ``console`` is not a terminal (a log file, CI), a line at each tenth of the runs
    with the time taken and an estimate of the time left; nothing on a terminal, which has
    its own bar. Without it a sweep or a table that runs for an hour prints nothing until its
    end (rich draws a progress bar only on a terminal)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.on = not (quiet or console.is_terminal)
        self.started = time.monotonic()
        self.first = self.done = self.total = 0  # first: done before this session (a resume)
        self.shown = 0  # tenths already reported

    def start(self, total: int, done: int) -> None:
        """The command starts (again) with ``done`` of ``total`` runs already finished."""
        self.started, self.first, self.done, self.total = time.monotonic(), done, done, total
        self.shown = 10 * done // total if total > 0 else 0

    def advance(self) -> None:
        """One more run is finished."""
        self.update(self.done + 1, self.total)

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` runs are finished."""
        self.done, self.total = done, total
        tenth = 10 * done // total if total > 0 else 0
        if not self.on or tenth <= self.shown:
            return
        self.shown = tenth
        took = time.monotonic() - self.started
        line = f"{done:,}/{total:,} runs ({100 * done // total}%), {duration(took)}"
        if done < total and done > self.first:
            left = took * (total - done) / (done - self.first)
            line += f", about {duration(left)} left"
        self.console.print(line, highlight=False)


def duration(seconds: float) -> str:
    """``"42 s"``, ``"7 min"`` or ``"1 h 05 min"``.

    >>> duration(42.4), duration(420.0), duration(3900.0)
    ('42 s', '7 min', '1 h 05 min')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
