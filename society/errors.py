"""Errors the user can fix. The CLI prints their message as one paragraph and exits 2."""

from __future__ import annotations

import errno
import os
import re


def printable(text: object, limit: int | None = 120) -> str:
    """``text`` with control and other invisible characters escaped (and shortened to
    ``limit``), so that user input echoed in a message keeps it one readable paragraph.

    >>> printable("a\\nb\\u202e")
    'a\\\\nb\\\\u202e'
    """
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return shown if limit is None or len(shown) <= limit else shown[: limit - 3] + "..."


class SocietyError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it.

    The message is kept to one paragraph: any control character it quotes from user input is
    escaped. Anything else that escapes is a bug in society and is shown with its traceback.

    >>> str(SocietyError("bad key 'a\\nb'"))
    "bad key 'a\\\\nb'"
    """

    exit_code = 2

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(printable(message, limit=None), *args)

    def __str__(self) -> str:
        # The message alone: subclasses keep their other state in args too (so copies made by
        # SimPy and pickle keep it), which must not show up in what the user reads.
        return str(self.args[0]) if self.args else ""


class ScenarioError(SocietyError):
    """A scenario file, override or name that cannot be used."""


class RunDirectoryError(SocietyError):
    """An output directory that cannot be written or would overwrite a previous run."""


class Stopped(SocietyError):
    """A run or sweep stopped by a signal after saving what it had; exit 128 + the signal
    (130 for SIGINT, 143 for SIGTERM). The signal is kept in args, so copies keep it."""

    def __init__(self, message: str = "", signum: int = 2) -> None:
        super().__init__(message, signum)
        self.exit_code = 128 + int(signum)


class StorageError(SocietyError):
    """The machine could not store a run's files (disk full, read-only, I/O error): not the
    user's input, so exit 1; the message says what was kept and how to continue."""

    exit_code = 1


STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT, errno.EACCES, errno.EPERM}
#: How a library that drops the errno (polars) still names it: Rust's "(os error 30)".
_OS_ERROR_CODE = re.compile(r"os error (\d+)")


def storage_cause(err: BaseException) -> OSError | None:
    """The storage failure (disk full, read-only, I/O error) behind ``err``, if there is one:
    libraries wrap it (numpy's zip writer, polars), so the whole chain is searched, and a
    failure whose errno was lost (polars raises ``OSError`` with ``errno`` None and the code
    only in its text, "... (os error 30)") is recognised by its text, returned as an
    ``OSError`` with that errno."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [err]
    by_text: OSError | None = None
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in STORAGE_ERRNOS:
            return e
        if by_text is None:
            by_text = _storage_error_in_text(e)
        stack += [e.__cause__, e.__context__]
    return by_text


def _storage_error_in_text(err: BaseException) -> OSError | None:
    """An ``OSError`` for the storage errno ``err``'s message names, if it names one: as Rust
    does ("os error 30"), or, for an ``OSError`` that lost its errno, by its strerror text
    (only there: "Permission denied" in, say, an HTTP error is no disk's)."""
    text = str(err)
    codes = [int(code) for code in _OS_ERROR_CODE.findall(text)]
    if isinstance(err, OSError) and err.errno is None:
        codes += [code for code in sorted(STORAGE_ERRNOS) if os.strerror(code) in text]
    for code in codes:
        if code in STORAGE_ERRNOS:
            filename = err.filename if isinstance(err, OSError) else None
            return OSError(code, os.strerror(code), filename)
    return None


def io_text(err: OSError) -> str:
    """``No space left on device writing 'x' (ENOSPC)``: the failure in words."""
    where = f" writing '{err.filename}'" if err.filename else ""
    code = errno.errorcode.get(err.errno or 0, str(err.errno))
    return f"{err.strerror or type(err).__name__}{where} ({code})"


def storage_fix(err: OSError) -> str:
    """What the user can do about a storage failure, as the start of a sentence."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "Free space"
    if err.errno == errno.EIO:
        return "Check the disk (the device or its filesystem failed; see `dmesg`) and remount it"
    return "Make the directory writable"
