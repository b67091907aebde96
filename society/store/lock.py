"""An exclusive lock on a run or sweep directory while one process writes it.

The lock is ``fcntl.flock`` on a lock file inside the directory that holds the writer's PID as
text. The OS drops a flock when its process dies, however it dies (SIGKILL included), so a
crashed writer never leaves a stale lock: its lock file may stay behind with a dead PID in it,
but the next writer locks it all the same. A clean release removes the file, so a finished
directory lists only its results. Readers (``society.load``, ``society report``,
``society plot``) never take the lock.

The lock is advisory: it keeps ``society`` processes apart, not other programs. Where the OS
has no ``flock`` (Windows), directories are not locked.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from types import TracebackType

from society.errors import RunDirectoryError, printable
from society.store.files import link_error, open_nofollow

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: How long a process that found the directory locked waits for the holder's PID to appear in
#: the lock file (the holder writes it right after locking).
HOLDER_WAIT_S = 1.0


class DirectoryLocked(RunDirectoryError):
    """Another process holds the directory's write lock (exit code 2).

    ``holder`` is its PID, or ``None`` if it could not be read.
    """

    def __init__(self, message: str = "", holder: int | None = None) -> None:
        super().__init__(message, holder)  # all state in args: survives SimPy's and pickle's copies
        self.holder = holder


class DirLock:
    """The write lock of one directory, held from :meth:`acquire` to :meth:`release`.

    Parameters
    ----------
    path : Path
        The lock file (``DIR/.lock``); its directory must exist.
    what : str
        What the directory holds, for the error message (``"run"``, ``"sweep"``).
    advice : str
        What to do instead, ending the error message (e.g. how to continue the work later).

    Examples
    --------
    >>> import tempfile
    >>> lock = DirLock(Path(tempfile.mkdtemp()) / ".lock", what="run", advice="")
    >>> with lock:
    ...     int(lock.path.read_text()) == os.getpid()
    True
    >>> lock.path.exists()
    False
    """

    def __init__(self, path: Path, *, what: str, advice: str) -> None:
        self.path = Path(path)
        self.what = what
        self.advice = advice
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting; raise :class:`DirectoryLocked` naming the holder.

        The lock file is never opened through a link (a link named ``.lock`` is refused), and
        the lock is held on a read-only descriptor: the PID is written through a second one,
        closed at once, so a held lock keeps no file open for writing (which would stop the
        directory's filesystem from being remounted read-only, for one).
        """
        if self._fd is not None or fcntl is None:
            return
        while True:
            try:
                fd = open_nofollow(self.path, os.O_RDONLY | os.O_CREAT)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise link_error(self.path, self.path.parent, self.what) from None
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise self._locked_error(holder) from None
            except BaseException:
                os.close(fd)
                raise
            # The previous holder removes the file when it releases: if that happened between
            # our open and our flock, we hold a lock on a deleted file that a third process
            # cannot see, so only a lock on the file the path names counts; try again.
            if _names(self.path, fd):
                break
            os.close(fd)
        try:
            _write_pid(self.path, fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Give the lock up and remove the lock file (a no-op if not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Removed while still locked: whoever opened it meanwhile sees it is gone and retries.
            if _names(self.path, fd):
                self.path.unlink()
        except OSError:
            pass  # the directory itself was removed or made read-only: nothing to clean
        finally:
            os.close(fd)

    def __enter__(self) -> DirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _locked_error(self, holder: int | None) -> DirectoryLocked:
        who = f"process {holder}" if holder is not None else "another process"
        stop = f", or stop it with `kill {holder}`" if holder is not None else ""
        return DirectoryLocked(
            f"'{printable(self.path.parent)}' is locked: {who} is writing a {self.what} there "
            f"(it holds {printable(self.path)}). Wait until it finishes{stop}, then try again. "
            f"{self.advice}".strip(),
            holder,
        )


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (itself, not through a link)."""
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except FileNotFoundError:
        return False


def _write_pid(path: Path, locked: int) -> None:
    """Write this process's PID into the lock file open (and locked) as ``locked``."""
    fd = open_nofollow(path, os.O_WRONLY)
    try:
        if not os.path.samestat(os.fstat(fd), os.fstat(locked)):
            raise OSError(errno.ESTALE, "the lock file was replaced while it was taken", path)
        pid = f"{os.getpid()}\n".encode()
        # Overwrite, then cut: the file is never empty, so a waiting reader sees a PID.
        os.pwrite(fd, pid, 0)
        os.ftruncate(fd, len(pid))
    finally:
        os.close(fd)


def _read_holder(fd: int) -> int | None:
    """The PID in the lock file open as ``fd``, once it names a live process.

    The file can be caught between the holder's lock and its write, and a file left by a
    killed writer holds that writer's dead PID until the new holder overwrites it; both last
    microseconds, so the PID is read again until it names a live process (or time runs out).
    """
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        pid = int(text) if text.isdigit() else None
        if (pid is not None and _alive(pid)) or time.monotonic() > deadline:
            return pid
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True
