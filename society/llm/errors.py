"""The user errors an LLM-backed run can stop with once it has started.

Fallback kinds (timeouts, 5xx, invalid replies, a spent budget) never stop a run: the stub
policy decides instead and the policy counts it. What is left stops the run because no
fallback would be honest: a key revoked in mid-run, a model that disappeared, a replay that
asks for a reply the recording does not have, a damaged response cache. Each becomes an
:class:`LLMRunError`, a :class:`~society.errors.SocietyError`, so the CLI prints one paragraph
that says what to do and exits 2 instead of showing a traceback.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from llm_backends.errors import (
    AUTH,
    CACHE_CORRUPT,
    CACHE_UNUSABLE,
    NOT_FOUND,
    REPLAY_MISS,
    BackendError,
    CacheCorruptError,
    ReplayMissError,
)
from society.errors import SocietyError

if TYPE_CHECKING:
    from society.scenario import LLM


class LLMRunError(SocietyError):
    """An LLM-backed run stopped on a problem the user has to fix.

    Parameters
    ----------
    message : str
        One paragraph: what happened and what to do.
    kind : str
        The backend error kind behind it (``auth``, ``not_found``, ``replay_miss``,
        ``cache_corrupt``, ...).

    Notes
    -----
    ``args`` is ``(message, kind)``, which is what the constructor takes, so the error
    survives SimPy's ``type(e)(*e.args)`` copy and pickle.

    Examples
    --------
    >>> e = LLMRunError("the key was rejected", "auth")
    >>> copy = type(e)(*e.args)
    >>> str(copy), copy.kind, copy.exit_code
    ('the key was rejected', 'auth', 2)
    """

    def __init__(self, message: str = "", kind: str = "") -> None:
        super().__init__(message, kind)
        self.kind = kind

    def __str__(self) -> str:
        return str(self.args[0])


def run_error(err: BackendError, p: LLM, now: float) -> LLMRunError:
    """The user error for a backend error that stopped the run at simulation time ``now``
    (named as the run's day ``floor(now) + 1``, as the metrics and interruptions count)."""
    where = f"llm.base_url = {p.base_url!r}"
    when = f"on day {math.floor(now) + 1}"
    if isinstance(err, CacheCorruptError) or err.kind in (CACHE_CORRUPT, CACHE_UNUSABLE):
        text = f"LLM decisions stopped {when}: {err.message}."
    elif isinstance(err, ReplayMissError) or err.kind == REPLAY_MISS:
        text = (
            f"cannot replay {when}: {err.message}. The recording is incomplete (a killed run, or "
            "a cache file that was cut short) or the scenario or code changed since it was "
            "recorded. Re-record the run without --replay, or replay a complete recording."
        )
    elif err.kind == AUTH:
        text = (
            f"the LLM endpoint rejected the API key from environment variable "
            f"{p.api_key_env} {when} ({where}): {err.message}. Set a valid key and run again "
            "(`society run --resume RUN_DIR` continues from the last checkpoint; replies "
            "already paid for are served from the run's cache)."
        )
    elif err.kind == NOT_FOUND:
        text = (
            f"the LLM endpoint no longer serves llm.model = {p.model!r} {when} ({where}): "
            f"{err.message}. Fix llm.model or the server and run again (`society run --resume "
            "RUN_DIR` continues from the last checkpoint)."
        )
    else:
        text = f"LLM decisions stopped {when} ({where}): {err}."
    return LLMRunError(text, err.kind)
