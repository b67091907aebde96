"""Paid replies a locked response cache could not take yet, kept durable beside it.

Another process can hold the SQLite cache's write lock (a shared ``llm.cache``, a tool running
``BEGIN EXCLUSIVE``) for longer than a run may wait. A reply already paid for must not be lost
to that, nor wait for it: the row goes to a side file, ``<cache>.pending-<pid>.jsonl``, one
JSON line per row appended and flushed before the reply is used (the same write-before-use
rule as the cache itself), and is written into the cache as soon as the lock is free. A
process that dies first leaves the file; whoever opens the cache next merges it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import CacheCorruptError

__all__ = ["PendingRows", "Row", "journals_of", "read_journal"]

Row = tuple[Any, ...]
"""One cache row as inserted: key, decision, model, the eight stored values, created, digest."""

_SUFFIX = ".pending-"


def journal_path(cache: Path, pid: int | None = None) -> Path:
    """The side file of process ``pid`` (default: this one) for ``cache``."""
    return cache.with_name(f"{cache.name}{_SUFFIX}{os.getpid() if pid is None else pid}.jsonl")


def journals_of(cache: Path) -> list[Path]:
    """Every side file beside ``cache``, oldest process id first."""
    found = []
    for path in cache.parent.glob(f"{cache.name}{_SUFFIX}*.jsonl"):
        pid = path.name[len(cache.name) + len(_SUFFIX) : -len(".jsonl")]
        if pid.isdigit():
            found.append((int(pid), path))
    return [path for _, path in sorted(found)]


def writer_alive(journal: Path) -> bool:
    """Whether the process that writes ``journal`` is still running (not this one)."""
    pid = int(journal.name.rsplit(_SUFFIX, 1)[1].removesuffix(".jsonl"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def read_journal(path: Path) -> Iterator[tuple[str, Row]]:
    """The ``(verb, row)`` pairs of a side file, in the order they were written.

    A last line without its newline was cut off while being written, so its reply was never
    used: it is skipped. Anything else unreadable is damage.

    Raises
    ------
    CacheCorruptError
        Naming the side file.
    """
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as err:
        raise CacheCorruptError(str(path), f"cannot be read ({err.strerror})") from None
    for number, line in enumerate(lines[:-1], start=1):
        try:
            entry = json.loads(line)
            verb, row = entry["verb"], tuple(entry["row"])
        except (ValueError, KeyError, TypeError, RecursionError):
            raise CacheCorruptError(str(path), f"line {number} is not a cache row") from None
        if verb not in ("INSERT OR REPLACE", "INSERT OR IGNORE") or len(row) != 13:
            raise CacheCorruptError(str(path), f"line {number} is not a cache row")
        yield verb, row


class PendingRows:
    """This process's rows that wait for the cache's write lock, durable in its side file.

    Parameters
    ----------
    cache : Path
        The cache file the rows belong to.
    durable : bool
        fsync each appended line (as the cache's ``synchronous=FULL`` does each commit).
    """

    def __init__(self, cache: Path, *, durable: bool = False) -> None:
        self.path = journal_path(cache)
        self.durable = durable
        self.rows: dict[str, tuple[str, Row]] = {}
        #: Side files of dead processes taken over, removed once their rows are in the cache.
        self.adopted: list[Path] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, verb: str, row: Row) -> None:
        """Append ``row`` to the side file (flushed, or fsynced if durable) and keep it."""
        line = json.dumps({"verb": verb, "row": list(row)}, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="ascii") as f:  # json.dumps escapes the rest
            f.write(line)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        self._keep(verb, row)

    def adopt(self, journal: Path, entries: Sequence[tuple[str, Row]]) -> None:
        """Take over the rows of a dead process's side file until they can be written."""
        self.adopted.append(journal)
        for verb, row in entries:
            self._keep(verb, row)

    def _keep(self, verb: str, row: Row) -> None:
        key = str(row[0])
        if verb == "INSERT OR IGNORE" and key in self.rows:
            return  # a fallback never replaces a reply already waiting
        self.rows[key] = (verb, row)

    def written(self) -> None:
        """Every row is in the cache now: forget them and remove the side files."""
        self.rows.clear()
        for path in [self.path, *self.adopted]:
            path.unlink(missing_ok=True)
        self.adopted.clear()
