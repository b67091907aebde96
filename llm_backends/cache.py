"""Persistent response cache, the cached backend and the replay backend.

Durability rule: a paid response is committed to SQLite *before* it is handed to the
caller, so killing the run at any instant loses nothing that was paid for. The cache holds
request identities (hashes), reply text and accounting only; never API keys or headers.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

from .errors import ReplayMissError
from .protocol import Backend
from .types import Completion, CompletionRequest

__all__ = ["CachedBackend", "ReplayBackend", "ResponseCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key               TEXT PRIMARY KEY,
    decision          TEXT NOT NULL,
    model             TEXT NOT NULL,
    text              TEXT NOT NULL,
    parsed            TEXT,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_s         REAL NOT NULL,
    retries           INTEGER NOT NULL,
    fallback          INTEGER NOT NULL,
    error_kind        TEXT,
    created           REAL NOT NULL
)
"""

_COLUMNS = (
    "text, parsed, prompt_tokens, completion_tokens, latency_s, retries, fallback, error_kind"
)


class ResponseCache:
    """SQLite store of completions keyed by :meth:`CompletionRequest.cache_key`.

    Parameters
    ----------
    path : str or Path
        Database file (created with its directory). Opened in WAL mode so readers never
        block the writer and a crash never corrupts committed rows.
    durable : bool
        ``False`` (default): ``synchronous=NORMAL``. Every ``put`` is its own committed
        transaction, written to the WAL with ``write(2)`` before ``put`` returns, which
        survives SIGKILL of the process (the data sits in the OS page cache). ``True``:
        ``synchronous=FULL``, an fsync per commit, which also survives power loss at a
        cost of milliseconds per write.

    Notes
    -----
    Calls are short synchronous SQLite statements made from the event-loop thread; a
    lock makes the object safe to share between threads as well.

    Examples
    --------
    >>> import tempfile, os
    >>> from llm_backends.types import Completion, CompletionRequest
    >>> d = tempfile.mkdtemp()
    >>> cache = ResponseCache(os.path.join(d, "c.sqlite"))
    >>> req = CompletionRequest(model="m", messages=(("user", "hi"),))
    >>> cache.put(req, Completion(text='{"a": 1}', parsed={"a": 1}))
    >>> cache.get(req.cache_key()).parsed, len(cache)
    ({'a': 1}, 1)
    >>> cache.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; each statement is its own durable transaction.
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"ResponseCache({self.path}) is closed")
        return self._db

    def get(self, key: str) -> Completion | None:
        """The stored completion for ``key`` (``cache_hit`` as stored: False), or ``None``."""
        with self._lock:
            row = (
                self._conn()
                .execute(f"SELECT {_COLUMNS} FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        text, parsed, p_tok, c_tok, latency, retries, fallback, error_kind = row
        return Completion(
            text=text,
            parsed=None if parsed is None else json.loads(parsed),
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            latency_s=latency,
            retries=retries,
            fallback=bool(fallback),
            error_kind=error_kind,
        )

    def _write(self, verb: str, request: CompletionRequest, completion: Completion) -> None:
        parsed = None if completion.parsed is None else json.dumps(completion.parsed)
        row = (
            request.cache_key(),
            request.decision,
            request.model,
            completion.text,
            parsed,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.latency_s,
            completion.retries,
            int(completion.fallback),
            completion.error_kind,
            time.time(),
        )
        with self._lock:
            self._conn().execute(
                f"{verb} INTO responses (key, decision, model, {_COLUMNS}, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def put(self, request: CompletionRequest, completion: Completion) -> None:
        """Store (or overwrite) the completion for ``request``; committed on return."""
        self._write("INSERT OR REPLACE", request, completion)

    def put_fallback(self, request: CompletionRequest, completion: Completion) -> None:
        """Record a fallback for ``request`` unless a real response is already stored.

        A paid reply is never overwritten: when a fallback followed invalid replies, those
        replies are in the cache and replay reproduces the fallback by re-validating them.
        """
        if not completion.fallback:
            raise ValueError("put_fallback needs a completion with fallback=True")
        self._write("INSERT OR IGNORE", request, completion)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            row = self._conn().execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock:
            (n,) = self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()
        return int(n)

    def close(self) -> None:
        """Close the database (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CachedBackend:
    """Serve from ``cache`` when possible; otherwise ask ``inner`` and persist first.

    Parameters
    ----------
    inner : Backend
        The paid backend (usually a :class:`~llm_backends.resilience.ResilientBackend`, so
        budgets count only real calls).
    cache : ResponseCache
    retry_fallbacks : bool
        When ``False`` (default) a recorded fallback is served like any other entry, so a
        resumed run makes the same decisions. ``True`` asks ``inner`` again instead.

    Notes
    -----
    Identical requests in flight at the same time are coalesced: only one is paid for,
    the others receive its completion with ``cache_hit=True``.
    """

    def __init__(
        self, inner: Backend, cache: ResponseCache, *, retry_fallbacks: bool = False
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.retry_fallbacks = retry_fallbacks
        self.hits = 0
        self.misses = 0
        self._inflight: dict[str, asyncio.Future[Completion]] = {}

    async def complete(self, request: CompletionRequest) -> Completion:
        key = request.cache_key()
        cached = self.cache.get(key)
        if cached is not None and not (cached.fallback and self.retry_fallbacks):
            self.hits += 1
            return replace(cached, cache_hit=True)
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            return replace(await asyncio.shield(pending), cache_hit=True)
        self.misses += 1
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            completion = await self.inner.complete(request)
            # Persist before anyone sees the reply: this is the write-before-use guarantee.
            self.cache.put(request, completion)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                # Waiters re-raise it; mark it retrieved so an unwaited future does not warn.
                future.exception()
            raise
        finally:
            del self._inflight[key]
        future.set_result(completion)
        return completion

    def record_fallback(self, request: CompletionRequest, completion: Completion) -> None:
        """Persist a fallback decision (see :meth:`ResponseCache.put_fallback`)."""
        self.cache.put_fallback(request, completion)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ReplayBackend:
    """Serve strictly from ``cache``; never touch the network.

    A miss raises :class:`~llm_backends.errors.ReplayMissError` naming the decision and the
    key, because a replay that silently fell back would no longer be a replay.
    """

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        self.hits = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        key = request.cache_key()
        cached = self.cache.get(key)
        if cached is None:
            raise ReplayMissError(request.decision, key)
        self.hits += 1
        return replace(cached, cache_hit=True)

    async def aclose(self) -> None:
        return None
