"""Persistent response cache, the cached backend and the replay backend.

Durability rule: a paid response is committed to SQLite *before* it is handed to the
caller, so killing the run at any instant loses nothing that was paid for. The cache holds
request identities (hashes), reply text and accounting only; never API keys or headers.

Integrity rule: every row carries a SHA-256 digest of its key and value, checked whenever the
row is read; replay checks every row before it starts. A row that fails its digest, or a
truncated or damaged file, raises :class:`~llm_backends.errors.CacheCorruptError` naming the
file. It is never treated as a miss: that would silently pay again while recording, or end a
replay with a misleading miss.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .errors import CacheCorruptError, ReplayMissError
from .protocol import Backend
from .types import Completion, CompletionRequest

__all__ = ["CachedBackend", "ReplayBackend", "ResponseCache", "row_digest"]

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
    created           REAL NOT NULL,
    digest            TEXT
)
"""

# Bookkeeping of the cache itself. ``legacy_rows_through`` is the largest rowid written before
# the cache had digests: those rows (and only those) may lack one.
_META_SCHEMA = "CREATE TABLE IF NOT EXISTS cache_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"

_COLUMNS = (
    "text, parsed, prompt_tokens, completion_tokens, latency_s, retries, fallback, error_kind"
)

DIGEST_VERSION = "society-llm-row-v1"
"""Mixed into every row digest, so a change in what is digested never passes old digests."""

# SQLite's primary result codes for a damaged file ("database disk image is malformed") and
# for a file that is not a database at all (e.g. a truncated header).
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


def row_digest(key: str, values: Sequence[object]) -> str:
    """SHA-256 hex digest of a row's key and values, exactly as they are stored.

    >>> row_digest("k", ("text", None, 1, 2, 0.5, 0, 0, None))[:12]
    'e3602795c68e'
    """
    material = json.dumps([DIGEST_VERSION, key, *values], separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _decode_text(raw: bytes) -> str:
    # A flipped byte can make stored text invalid UTF-8; decode it anyway (lone surrogates
    # mark the bad bytes) so the row reaches its digest check and is reported as damaged,
    # instead of the sqlite3 module raising an unrelated decoding error.
    return raw.decode("utf-8", "surrogateescape")


def _is_damage(err: sqlite3.DatabaseError) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


class ResponseCache:
    """SQLite store of completions keyed by :meth:`CompletionRequest.cache_key`.

    Parameters
    ----------
    path : str or Path
        Database file (created with its directory). Opened in WAL mode so readers never
        block the writer and a crash never corrupts committed rows. An existing file gets
        SQLite's ``quick_check`` first.
    durable : bool
        ``False`` (default): ``synchronous=NORMAL``. Every ``put`` is its own committed
        transaction, written to the WAL with ``write(2)`` before ``put`` returns, which
        survives SIGKILL of the process (the data sits in the OS page cache). ``True``:
        ``synchronous=FULL``, an fsync per commit, which also survives power loss at a
        cost of milliseconds per write.

    Raises
    ------
    CacheCorruptError
        From any method (and the constructor) when the file is damaged or a row fails its
        digest (see :func:`row_digest`).

    Notes
    -----
    Calls are short synchronous SQLite statements made from the event-loop thread; a
    lock makes the object safe to share between threads as well.

    A cache written before rows had digests is upgraded in place when opened: the column is
    added, its old rows are remembered as legacy (served unverified), and every row written
    from then on carries a digest.

    Examples
    --------
    >>> import tempfile, os
    >>> from llm_backends.types import Completion, CompletionRequest
    >>> d = tempfile.mkdtemp()
    >>> cache = ResponseCache(os.path.join(d, "c.sqlite"))
    >>> req = CompletionRequest(model="m", messages=(("user", "hi"),))
    >>> cache.put(req, Completion(text='{"a": 1}', parsed={"a": 1}))
    >>> cache.get(req.cache_key()).parsed, len(cache), cache.verify()
    ({'a': 1}, 1, 1)
    >>> cache.close()
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        existed = self.path.is_file() and self.path.stat().st_size > 0
        with self._guard():
            # isolation_level=None: autocommit; each statement is its own durable transaction.
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._db = db
            db.text_factory = _decode_text
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            if existed:
                self._check(db, "quick_check")
            db.execute(_SCHEMA)
            db.execute(_META_SCHEMA)
            self._legacy_through = self._upgrade(db)

    # -- integrity ----------------------------------------------------------------------
    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's reports of a damaged file into :class:`CacheCorruptError`."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            if not _is_damage(err):
                raise
            raise CacheCorruptError(str(self.path), f"SQLite: {err}") from err

    def _damaged(self, detail: str) -> CacheCorruptError:
        return CacheCorruptError(str(self.path), detail)

    def _check(self, db: sqlite3.Connection, pragma: str) -> None:
        # One line per problem: the message has to stay one paragraph.
        problems = [" ".join(str(row[0]).split()) for row in db.execute(f"PRAGMA {pragma}")]
        if problems != ["ok"]:
            raise self._damaged(f"SQLite {pragma}: {'; '.join(problems[:3])}")

    def _upgrade(self, db: sqlite3.Connection) -> int:
        """Add the digest column to a cache written before digests; return the largest
        rowid that may lack a digest (0 when every row must have one)."""
        columns = {row[1] for row in db.execute("PRAGMA table_info(responses)")}
        if "digest" not in columns:
            db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read inside the write lock: another process may have upgraded meanwhile.
                columns = {row[1] for row in db.execute("PRAGMA table_info(responses)")}
                if "digest" not in columns:
                    db.execute("ALTER TABLE responses ADD COLUMN digest TEXT")
                    db.execute(
                        "INSERT OR REPLACE INTO cache_meta (name, value) SELECT "
                        "'legacy_rows_through', CAST(COALESCE(MAX(rowid), 0) AS TEXT) "
                        "FROM responses"
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        row = db.execute(
            "SELECT value FROM cache_meta WHERE name = 'legacy_rows_through'"
        ).fetchone()
        if row is None:
            return 0
        try:
            return int(row[0])
        except ValueError:
            raise self._damaged(f"cache_meta.legacy_rows_through = {row[0]!r}") from None

    def _verified(self, key: str, rowid: int, digest: str | None, values: Sequence[object]) -> None:
        if digest is None:
            if rowid <= self._legacy_through:
                return  # written before rows had digests: served as it is
            raise self._damaged(f"the row for key {key} has no checksum")
        if digest != row_digest(key, values):
            raise self._damaged(f"the row for key {key} fails its checksum")

    def verify(self) -> int:
        """Check every row's digest (and that each row is readable); return the row count.

        Replay calls this before serving anything, so a damaged cache stops a replay before
        the simulation starts rather than part way through it.
        """
        count = 0
        with self._lock, self._guard():
            rows = self._conn().execute(f"SELECT rowid, key, digest, {_COLUMNS} FROM responses")
            for rowid, key, digest, *values in rows:
                self._verified(str(key), rowid, digest, values)
                count += 1
        return count

    def check_integrity(self) -> None:
        """SQLite's full ``integrity_check`` (tables against their indexes).

        Replay runs it on a miss: a damaged index can hide a row that is there, and that must
        be reported as damage, not as a miss.
        """
        with self._lock, self._guard():
            self._check(self._conn(), "integrity_check")

    # -- rows ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"ResponseCache({self.path}) is closed")
        return self._db

    def get(self, key: str) -> Completion | None:
        """The stored completion for ``key`` (``cache_hit`` as stored: False), or ``None``.

        Raises
        ------
        CacheCorruptError
            When the row fails its digest or the file is damaged.
        """
        with self._lock, self._guard():
            row = (
                self._conn()
                .execute(f"SELECT rowid, digest, {_COLUMNS} FROM responses WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        rowid, digest, *values = row
        self._verified(key, rowid, digest, values)
        text, parsed, p_tok, c_tok, latency, retries, fallback, error_kind = values
        try:
            parsed_obj = None if parsed is None else json.loads(parsed)
        except (ValueError, RecursionError):
            raise self._damaged(f"the row for key {key} holds unreadable JSON") from None
        return Completion(
            text=text,
            parsed=parsed_obj,
            prompt_tokens=p_tok,
            completion_tokens=c_tok,
            latency_s=latency,
            retries=retries,
            fallback=bool(fallback),
            error_kind=error_kind,
        )

    def _write(self, verb: str, request: CompletionRequest, completion: Completion) -> None:
        key = request.cache_key()
        # Each value converted to its column's type first, so what is digested here is
        # exactly what SQLite gives back (an int latency would come back as a REAL).
        values = (
            str(completion.text),
            None if completion.parsed is None else json.dumps(completion.parsed),
            int(completion.prompt_tokens),
            int(completion.completion_tokens),
            float(completion.latency_s),
            int(completion.retries),
            int(completion.fallback),
            None if completion.error_kind is None else str(completion.error_kind),
        )
        row = (
            key,
            request.decision,
            request.model,
            *values,
            time.time(),
            row_digest(key, values),
        )
        with self._lock, self._guard():
            self._conn().execute(
                f"{verb} INTO responses (key, decision, model, {_COLUMNS}, created, digest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        with self._lock, self._guard():
            row = self._conn().execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock, self._guard():
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

    Parameters
    ----------
    cache : ResponseCache
    verify : bool
        Check every row's digest now (:meth:`ResponseCache.verify`), so a damaged recording
        fails before the replay starts. On by default.

    Raises
    ------
    CacheCorruptError
        When a row fails its digest or the file is damaged, here or on any later read; a
        miss is double-checked with SQLite's ``integrity_check`` first.
    """

    def __init__(self, cache: ResponseCache, *, verify: bool = True) -> None:
        self.cache = cache
        self.hits = 0
        if verify:
            cache.verify()

    async def complete(self, request: CompletionRequest) -> Completion:
        key = request.cache_key()
        cached = self.cache.get(key)
        if cached is None:
            self.cache.check_integrity()  # a damaged index is damage, not a miss
            raise ReplayMissError(request.decision, key)
        self.hits += 1
        return replace(cached, cache_hit=True)

    async def aclose(self) -> None:
        return None
