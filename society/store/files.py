"""Writing the files of a run or sweep directory: atomically, durably where it matters, and
never through a symbolic link.

What ``society`` writes or removes in a run or sweep directory must stay in it. A link there
(``.lock -> ~/notes``, ``checkpoint -> /data``) would make a write or a removal meant for the
directory land on a file elsewhere, so files are created with ``O_EXCL | O_NOFOLLOW`` after
whatever held their name is removed (a link is removed, never followed), an existing file is
opened with ``O_NOFOLLOW``, and a writer refuses a directory that holds a link
(:func:`refuse_links`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from society.errors import RunDirectoryError, printable

#: Not following a link in the last component of a path (0 where the OS has no such flag).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def open_new(path: Path) -> BinaryIO:
    """A new, empty file at ``path`` open for writing.

    Whatever had the name (a leftover temporary file, or a link) is removed first, so the
    bytes always go to a fresh file in ``path``'s directory and never through a link.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | _CLOEXEC | _BINARY
    fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb")


def open_nofollow(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open(path, flags, mode)``, refusing to follow a link: ``OSError`` with errno
    ``ELOOP`` if ``path`` is one."""
    return os.open(path, flags | NOFOLLOW | _CLOEXEC | _BINARY, mode)


def write_new(path: Path, write: Callable[[BinaryIO], object], *, durable: bool = False) -> None:
    """Create ``path`` afresh (:func:`open_new`) and fill it with ``write(file)``; with
    ``durable``, its bytes are on the disk (``fsync``) when this returns."""
    with open_new(path) as f:
        write(f)
        if durable:
            f.flush()
            os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes | memoryview, *, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically: a reader, a kill or a full disk sees the old
    file or the new one, never half of one. With ``durable``, the new file and its name are on
    the disk when this returns."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        write_new(tmp, lambda f: f.write(data), durable=durable)
        os.replace(tmp, path)
        if durable:
            sync_directory(path.parent)
    finally:
        with contextlib.suppress(OSError):  # the original error matters, not the cleanup's
            tmp.unlink(missing_ok=True)


def sync_files(paths: Iterable[Path]) -> None:
    """``fsync`` each file, then each folder holding them: written since, they are on the
    disk (one sync per folder, not per file, where many files were written at once)."""
    folders = []
    for path in paths:
        fd = open_nofollow(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if path.parent not in folders:
            folders.append(path.parent)
    for folder in folders:
        sync_directory(folder)


def sync_directory(path: Path) -> None:
    """``fsync`` a directory, so that names created, renamed or removed in it are durable (a
    no-op on Windows, where a directory cannot be opened and renames are journaled)."""
    if os.name == "nt":  # pragma: no cover - not Linux
        return
    fd = os.open(path, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def links_in(root: Path) -> Iterator[Path]:
    """Every symbolic link under ``root`` (``root`` itself may be one), without following any."""
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder, name)
            if path.is_symlink():
                yield path


def refuse_links(root: Path, kind: str) -> None:
    """Raise :class:`RunDirectoryError` if the ``kind`` directory ``root`` holds a symbolic
    link: society writes and removes files there, and a link would send that elsewhere."""
    link = next(links_in(root), None)
    if link is not None:
        raise link_error(link, root, kind)


def link_error(link: Path, root: Path, kind: str) -> RunDirectoryError:
    """The error for a symbolic link ``link`` found in the ``kind`` directory ``root``."""
    shown = printable(link)
    try:
        target = f" (to '{printable(os.readlink(link))}')"
    except OSError:
        target = ""
    return RunDirectoryError(
        f"'{shown}' is a symbolic link{target} inside the {kind} directory "
        f"'{printable(root)}'. society writes and removes files there and never follows links "
        f"in it, so that it cannot overwrite or delete a file elsewhere; nothing was written. "
        f"Remove the link (`rm '{shown}'`), or choose another directory."
    )
