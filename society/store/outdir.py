"""What run and sweep directories have in common: a manifest, the figures and report drawn from
them, and the lock a writer holds on them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from society.errors import RunDirectoryError, printable
from society.store.lock import DirLock


class OutputDir:
    """A directory ``society`` writes results to (a run's or a sweep's).

    Subclasses name their own files; the names here are shared by both kinds.
    """

    MANIFEST = "manifest.json"
    FIGURES = "figures"
    REPORT = "report.html"
    LOCK = ".lock"
    #: What the directory holds, as error messages name it.
    KIND = "run or sweep"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock: DirLock | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.path}')"

    def remove_temporaries(self) -> list[Path] | None:
        """Remove what an interrupted write left behind (``*.tmp`` files and folders: every
        file here is written to a temporary name and renamed into place).

        Returns the temporaries still there afterwards: ``[]`` if all went, those that could
        not be removed (a read-only or failing disk), or ``None`` if the directory could not
        even be searched. Never raises: it runs while a run stops on such a disk.
        """
        import shutil

        try:
            found = sorted(self.path.rglob("*.tmp"), key=lambda p: len(p.parts), reverse=True)
        except OSError:
            return None
        left = []
        for tmp in found:
            try:
                if tmp.is_dir() and not tmp.is_symlink():
                    shutil.rmtree(tmp)
                else:
                    tmp.unlink(missing_ok=True)
            except OSError:
                left.append(tmp)
        return [
            tmp
            for tmp in left
            if not any(tmp.is_relative_to(other) for other in left if other != tmp)
        ]

    @property
    def manifest_path(self) -> Path:
        """``manifest.json``: what was run, with which versions, and how it ended."""
        return self.path / self.MANIFEST

    @property
    def figures(self) -> Path:
        """``figures/``: the views as image files (``society run``, ``society plot``)."""
        return self.path / self.FIGURES

    @property
    def report(self) -> Path:
        """``report.html``: the self-contained report (``society report``)."""
        return self.path / self.REPORT

    @property
    def lock_path(self) -> Path:
        """``.lock``: present while a process writes the directory; holds its PID."""
        return self.path / self.LOCK

    def entries(self) -> list[Path]:
        """What the directory holds, apart from its lock file (empty if it does not exist)."""
        if not self.path.is_dir():
            return []
        return [p for p in self.path.iterdir() if p.name != self.LOCK]

    # -- the write lock ------------------------------------------------------------------------
    def acquire(self, advice: str = "") -> None:
        """Lock the (existing) directory for writing, or raise
        :class:`~society.store.lock.DirectoryLocked` naming the process that holds it.
        ``advice`` ends that error message: what the user can do instead."""
        try:
            self._take_lock(advice)
        except OSError as err:
            raise RunDirectoryError(
                f"Cannot write to {self.KIND} directory '{printable(self.path)}' "
                f"({err.strerror or err}); a process that writes it needs to create its lock "
                f"file {self.LOCK} there."
            ) from None

    def _take_lock(self, advice: str) -> None:
        """:meth:`acquire`, with an unwritable directory left as the OSError it raised."""
        if self._lock is None or not self._lock.held:
            lock = DirLock(self.lock_path, what=self.KIND, advice=advice)
            lock.acquire()
            self._lock = lock

    def release(self) -> None:
        """Unlock the directory (a no-op if this object does not hold the lock)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @contextmanager
    def writing(self, advice: str = "") -> Iterator[None]:
        """Hold the write lock for the ``with`` block; released however the block ends."""
        self.acquire(advice)
        try:
            yield
        finally:
            self.release()
