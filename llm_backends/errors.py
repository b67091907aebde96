"""Error kinds and the exceptions that carry them.

Every backend failure is reduced to a small closed vocabulary of *kinds* so that retry
policies, fallbacks and run logs never depend on a particular SDK's exception classes.
Messages built here must never contain secrets: :func:`redact` is applied to anything that
may echo a server response.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable, Mapping

__all__ = [
    "AUTH",
    "BAD_RESPONSE",
    "BUDGET_EXHAUSTED",
    "CACHE_CORRUPT",
    "CACHE_UNUSABLE",
    "CONNECTION",
    "FALLBACK_KINDS",
    "INVALID_REPLY",
    "NOT_FOUND",
    "RATE_LIMITED",
    "REDACTED",
    "REPLAY_MISS",
    "RETRYABLE_KINDS",
    "SERVER_ERROR",
    "TIMEOUT",
    "BackendError",
    "BudgetExhausted",
    "CacheCorruptError",
    "CacheUnusableError",
    "ConfigError",
    "ReplayMissError",
    "kind_for_status",
    "parse_retry_after",
    "redact",
]

RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECTION = "connection"
AUTH = "auth"
NOT_FOUND = "not_found"
BAD_RESPONSE = "bad_response"
BUDGET_EXHAUSTED = "budget_exhausted"
REPLAY_MISS = "replay_miss"
INVALID_REPLY = "invalid_reply"
CACHE_CORRUPT = "cache_corrupt"
CACHE_UNUSABLE = "cache_unusable"

REDACTED = "[REDACTED]"
"""What a secret found in a server's words is replaced by."""

RETRYABLE_KINDS = frozenset({RATE_LIMITED, SERVER_ERROR, TIMEOUT, CONNECTION})
"""Kinds worth another attempt: the same request may succeed later."""

FALLBACK_KINDS = frozenset(RETRYABLE_KINDS | {BAD_RESPONSE, BUDGET_EXHAUSTED, INVALID_REPLY})
"""Kinds after which a decision falls back to the stub policy instead of aborting the run.

``invalid_reply`` arrives here as an error when a transport refuses a reply outright (over
``llm.max_reply_bytes``, or nested too deeply to parse safely); replies that parse but fail
the schema become ``invalid_reply`` fallbacks in the structured layer, after a re-ask.
``auth``, ``not_found``, ``replay_miss``, ``cache_corrupt`` and ``cache_unusable`` are
configuration errors:
falling back would silently turn an LLM run into a stub run, so they propagate.
"""


class BackendError(Exception):
    """A backend call failed.

    Parameters
    ----------
    kind : str
        One of the kind constants of this module.
    message : str
        What happened, in one line, without secrets.
    status : int or None
        HTTP status when there was one.
    retry_after : float or None
        Seconds the server asked us to wait (``Retry-After``), if any.
    retries : int
        Attempts already spent when the error surfaced (set by the resilience layer).

    Notes
    -----
    ``args`` always holds exactly the positional arguments that rebuild the error, in
    constructor order, here and in every subclass. SimPy re-raises an exception that leaves
    a process as ``type(e)(*e.args)``, and pickle (process-pool sweeps) rebuilds it from
    ``args`` too, so an error must survive that copy with its kind, message and attributes;
    a keyword-only or extra constructor argument would turn it into a ``TypeError``.
    Assigning ``retries`` keeps ``args`` in step.

    Examples
    --------
    >>> e = BackendError(AUTH, "HTTP 401", 401)
    >>> copy = type(e)(*e.args)
    >>> (str(copy), copy.status, copy.retries)
    ('[auth] HTTP 401', 401, 0)
    """

    def __init__(
        self,
        kind: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        retries: int = 0,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self._retries = retries
        self.args = self._rebuild_args()

    def _rebuild_args(self) -> tuple[object, ...]:
        """The positional arguments that rebuild this error (see Notes)."""
        return (self.kind, self.message, self.status, self.retry_after, self.retries)

    @property
    def retries(self) -> int:
        return self._retries

    @retries.setter
    def retries(self, value: int) -> None:
        self._retries = value
        self.args = self._rebuild_args()

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


class BudgetExhausted(BackendError):
    """The call or token budget is spent; raised before any network traffic."""

    def __init__(self, message: str, retries: int = 0) -> None:
        super().__init__(BUDGET_EXHAUSTED, message, retries=retries)

    def _rebuild_args(self) -> tuple[object, ...]:
        return (self.message, self.retries)


class ReplayMissError(BackendError):
    """Replay asked for a request that was never recorded.

    Attributes
    ----------
    decision : str
        The engine decision whose request was missing.
    key : str
        Its cache key.
    """

    def __init__(self, decision: str, key: str, retries: int = 0) -> None:
        self.decision = decision
        self.key = key
        super().__init__(
            REPLAY_MISS,
            f"replay miss: decision {decision!r} with cache key {key} is not in the cache "
            "(the run diverged from the recording, or the recording is incomplete)",
            retries=retries,
        )

    def _rebuild_args(self) -> tuple[object, ...]:
        return (self.decision, self.key, self.retries)


class CacheCorruptError(BackendError):
    """The response cache cannot be trusted: a row failed its checksum, or the SQLite file is
    truncated or damaged.

    Never a miss: serving a damaged cache as if a reply were simply absent would silently
    re-pay for it (recording) or abort with a misleading replay miss (replay).

    Attributes
    ----------
    path : str
        The cache file.
    detail : str
        What failed (which key, or SQLite's own words).
    """

    def __init__(self, path: str, detail: str, retries: int = 0) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            CACHE_CORRUPT,
            f"the LLM response cache '{path}' is damaged ({detail}). Its replies cannot be "
            "trusted: re-record the run (society run the scenario again, which pays for the "
            "calls again), or delete the file to start a fresh cache",
            retries=retries,
        )

    def _rebuild_args(self) -> tuple[object, ...]:
        return (self.path, self.detail, self.retries)


class CacheUnusableError(BackendError):
    """The response cache cannot be used: its path is a directory or a dangling link, it
    cannot be opened or created, it was recorded against another endpoint, or another process
    holds it locked for longer than a run waits.

    Attributes
    ----------
    path : str
        The cache file.
    detail : str
        Why, and what to do, in words that complete the sentence "cannot be used: ...".
    """

    def __init__(self, path: str, detail: str, retries: int = 0) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            CACHE_UNUSABLE,
            f"the LLM response cache '{path}' cannot be used: {detail}",
            retries=retries,
        )

    def _rebuild_args(self) -> tuple[object, ...]:
        return (self.path, self.detail, self.retries)


class ConfigError(ValueError):
    """A backend is misconfigured (e.g. the API-key environment variable is unset)."""


def kind_for_status(status: int) -> str:
    """Map an HTTP status code to an error kind.

    >>> [kind_for_status(s) for s in (401, 403, 404, 429, 500, 503, 400)]
    ['auth', 'auth', 'not_found', 'rate_limited', 'server_error', 'server_error', 'bad_response']
    """
    if status in (401, 403):
        return AUTH
    if status == 404:
        return NOT_FOUND
    if status == 429:
        return RATE_LIMITED
    if status == 408:
        return TIMEOUT
    if status >= 500:
        return SERVER_ERROR
    return BAD_RESPONSE


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` / ``Retry-After`` headers.

    Accepts delta-seconds and HTTP dates; returns ``None`` when absent or unparsable.

    >>> parse_retry_after({"Retry-After": "2"})
    2.0
    >>> parse_retry_after({"retry-after-ms": "1500"})
    1.5
    >>> parse_retry_after({}) is None
    True
    """
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lower.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) / divisor
        except ValueError:
            if name == "retry-after-ms":
                continue
            try:
                parsed = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                continue
            value = parsed.timestamp() - time.time()
        if math.isfinite(value):
            return max(0.0, value)
    return None


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-trivial secret in ``text`` by :data:`REDACTED`.

    Servers echo API keys in error bodies ("Incorrect API key provided: ...") and may reflect
    them in replies, so anything derived from a response goes through here before it reaches
    an exception, a log, the cache or a Parquet file.

    >>> redact("bad key sk-123456789", ["sk-123456789"])
    'bad key [REDACTED]'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
