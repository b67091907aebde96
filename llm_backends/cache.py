"""Persistent response cache, the cached backend and the replay backend.

Durability rule: a paid response is committed to SQLite *before* it is handed to the
caller, so killing the run at any instant loses nothing that was paid for. The cache holds
request identities (hashes), reply text and accounting only; never API keys or headers.

Integrity rule: every row carries a SHA-256 digest of its key and value, checked whenever the
row is read; replay checks every row before it starts. A row that fails its digest, or a
truncated or damaged file, raises :class:`~llm_backends.errors.CacheCorruptError` naming the
file. It is never treated as a miss: that would silently pay again while recording, or end a
replay with a misleading miss.

Endpoint rule: a cache opened for an endpoint (its base URL and model) is bound to it, and its
keys include it, so one server's replies are never served as another's; opening it for
another endpoint raises :class:`~llm_backends.errors.CacheUnusableError`. A cache written
before caches were bound keeps its keys and is bound to the first endpoint that opens it.

Lock rule: when another process holds the write lock longer than ``lock_wait_s``, a paid reply
goes to a side file beside the cache (:mod:`llm_backends.cache_journal`) before it is used, and
into the cache once the lock is free; nothing paid for waits on the lock or is lost to it.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from typing import Any

from .cache_journal import PendingRows, Row, journals_of, read_journal, writer_alive
from .errors import CacheCorruptError, CacheUnusableError, ReplayMissError
from .protocol import Backend
from .types import Completion, CompletionRequest

__all__ = [
    "CachedBackend",
    "ReplayBackend",
    "ResponseCache",
    "bound_endpoint",
    "check_cache_path",
    "endpoint_mismatch",
    "pending_journals",
    "row_digest",
]

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

ENDPOINT_KEY_VERSION = "society-llm-endpoint-v1"
"""Mixed into the keys of a cache bound to an endpoint (see :meth:`ResponseCache.key_for`)."""

LOCK_WAIT_S = 2.0
"""How long a write waits for another process's lock before its row goes to the side file
(and how long closing waits to write the side file's rows into the cache)."""

# SQLite's primary result codes for a damaged file ("database disk image is malformed"), for
# a file that is not a database at all (e.g. a truncated header), and for a lock held by
# another connection.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_INSERT = (
    "INTO responses (key, decision, model, " + _COLUMNS + ", created, digest) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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


def _is_busy(err: sqlite3.Error) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


def check_cache_path(path: str | os.PathLike[str]) -> None:
    """Refuse a cache path that cannot hold a cache, before anything is paid for.

    Raises
    ------
    CacheUnusableError
        When ``path`` is a directory or another non-file, a symbolic link to nothing, or
        lies under something that is not a directory.
    """
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise CacheUnusableError(
            str(p),
            f"it is a symbolic link to '{os.readlink(p)}', which does not exist. Point "
            "llm.cache at a file (or leave it unset for RUN_DIR/llm_cache.sqlite), or fix the "
            "link",
        )
    if p.exists() and not p.is_file():
        what = "a directory" if p.is_dir() else "not a regular file"
        raise CacheUnusableError(
            str(p),
            f"it is {what}. Point llm.cache at a file (or leave it unset for "
            "RUN_DIR/llm_cache.sqlite)",
        )
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise CacheUnusableError(
                    str(p),
                    f"'{parent}' is not a directory. Point llm.cache at a file in a directory",
                )
            break


def bound_endpoint(path: str | os.PathLike[str]) -> str | None:
    """The endpoint the cache file at ``path`` is bound to, read without writing anything;
    ``None`` when it is unbound, absent or unreadable (opening it says why)."""
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM cache_meta WHERE name = 'endpoint'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


def endpoint_mismatch(path: Path, bound: str, endpoint: str) -> CacheUnusableError:
    """The error for a cache bound to endpoint ``bound`` opened for ``endpoint``."""
    return CacheUnusableError(
        str(path),
        f"it holds replies recorded from {bound}, and this run asks {endpoint}. Serving "
        "them would pass one server's answers off as another's. Give this run its own cache "
        "(leave llm.cache unset, or point it at a new file), or delete the file to record "
        "afresh",
    )


def pending_journals(path: str | os.PathLike[str]) -> list[Path]:
    """The side files beside cache ``path`` whose rows are not in it yet (see the lock rule)."""
    return journals_of(Path(path))


class ResponseCache:
    """SQLite store of completions keyed by :meth:`key_for` (a request's
    :meth:`~CompletionRequest.cache_key`, with the endpoint's identity when bound).

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
    endpoint : str or None
        Identity of the endpoint whose replies this cache holds (e.g.
        ``"http://127.0.0.1:8000/v1 (model m)"``). The cache is bound to the first endpoint
        that opens it and its keys include it (see the module's endpoint rule). ``None``: the
        identity the cache is bound to, if any.
    lock_wait_s : float
        How long a write waits for another process's write lock before its row goes to the
        side file (see the module's lock rule).

    Raises
    ------
    CacheCorruptError
        From any method (and the constructor) when the file is damaged or a row fails its
        digest (see :func:`row_digest`).
    CacheUnusableError
        From the constructor, when the path cannot hold a cache (:func:`check_cache_path`),
        the file cannot be opened, or it is bound to another endpoint.

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

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durable: bool = False,
        endpoint: str | None = None,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> None:
        self.path = Path(path)
        self.lock_wait_s = lock_wait_s
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._pending = PendingRows(self.path, durable=durable)
        check_cache_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            existed = self.path.is_file() and self.path.stat().st_size > 0
            # isolation_level=None: autocommit; each statement is its own durable transaction.
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=lock_wait_s
            )
        except (OSError, sqlite3.Error) as err:
            raise self._unusable(err) from None
        self._db = db
        try:
            with self._guard():
                db.text_factory = _decode_text
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                if existed:
                    self._check(db, "quick_check")
                db.execute(_SCHEMA)
                db.execute(_META_SCHEMA)
                self._legacy_through = self._upgrade(db)
                self.endpoint, self._endpoint_keys = self._bind(db, endpoint)
                self._merge_journals(db)
        except sqlite3.Error as err:
            self.close()
            raise self._unusable(err) from None
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------------------
    def _unusable(self, err: BaseException) -> CacheUnusableError:
        reason = getattr(err, "strerror", None) or str(err)
        if isinstance(err, sqlite3.Error) and _is_busy(err):
            return CacheUnusableError(
                str(self.path),
                f"another process has held it locked for more than {self.lock_wait_s:g} s "
                f"(SQLite: {err}). Let that process finish, or give this run its own cache",
            )
        return CacheUnusableError(
            str(self.path),
            f"it cannot be opened or created ({reason}). Point llm.cache at a writable file "
            "(or leave it unset for RUN_DIR/llm_cache.sqlite)",
        )

    def _meta(self, db: sqlite3.Connection, name: str) -> str | None:
        row = db.execute("SELECT value FROM cache_meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _bind(self, db: sqlite3.Connection, endpoint: str | None) -> tuple[str | None, bool]:
        """The endpoint this cache holds replies of, and whether its keys include it; binds
        an unbound cache to ``endpoint``."""
        bound = self._meta(db, "endpoint")
        if bound is None and endpoint is not None:
            # Rows already there were keyed without an endpoint (a cache from before caches
            # were bound): they keep their keys, and so does every row written from now on.
            scheme = "request" if db.execute("SELECT 1 FROM responses").fetchone() else "endpoint"
            db.execute("BEGIN IMMEDIATE")
            try:
                for name, value in (("endpoint", endpoint), ("key_scheme", scheme)):
                    db.execute(
                        "INSERT OR IGNORE INTO cache_meta (name, value) VALUES (?, ?)",
                        (name, value),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            bound = self._meta(db, "endpoint")
        if bound is not None and endpoint is not None and bound != endpoint:
            raise endpoint_mismatch(self.path, bound, endpoint)
        return bound, bound is not None and self._meta(db, "key_scheme") == "endpoint"

    def _merge_journals(self, db: sqlite3.Connection) -> None:
        """Write the side files of processes that died with rows pending into the cache (or
        take them over while the lock is still held)."""
        for journal in journals_of(self.path):
            if writer_alive(journal):
                continue  # that process writes them itself
            entries = list(read_journal(journal))
            for _verb, (key, _d, _m, *values, _created, digest) in entries:
                if digest != row_digest(str(key), values):
                    raise CacheCorruptError(
                        str(journal), f"the row for key {key} fails its checksum"
                    )
            self._pending.adopt(journal, entries)
        if len(self._pending):
            self._flush(db, wait_s=0.0)

    # -- integrity ----------------------------------------------------------------------
    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn SQLite's reports of a damaged file into :class:`CacheCorruptError` (and of a
        lock held too long into :class:`CacheUnusableError`)."""
        try:
            yield
        except sqlite3.DatabaseError as err:
            if _is_busy(err):  # writes queue behind a lock; only a read can end here
                raise self._unusable(err) from None
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
        """Check every row's digest (and that each row is readable); return the row count
        (rows still waiting in a side file included).

        Replay calls this before serving anything, so a damaged cache stops a replay before
        the simulation starts rather than part way through it.
        """
        count = 0
        with self._lock, self._guard():
            keys = set()
            rows = self._conn().execute(f"SELECT rowid, key, digest, {_COLUMNS} FROM responses")
            for rowid, key, digest, *values in rows:
                self._verified(str(key), rowid, digest, values)
                keys.add(str(key))
                count += 1
            count += sum(key not in keys for key in self._pending.rows)
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

    def key_for(self, request: CompletionRequest) -> str:
        """The key ``request``'s reply is stored under: its
        :meth:`~CompletionRequest.cache_key`, mixed with the endpoint's identity when the
        cache is bound to one (caches bound before they held earlier rows keep plain keys)."""
        key = request.cache_key()
        if not self._endpoint_keys:
            return key
        material = json.dumps([ENDPOINT_KEY_VERSION, key, self.endpoint], separators=(",", ":"))
        return hashlib.sha256(material.encode()).hexdigest()

    def get(self, key: str) -> Completion | None:
        """The stored completion for ``key`` (``cache_hit`` as stored: False), or ``None``.

        Raises
        ------
        CacheCorruptError
            When the row fails its digest or the file is damaged.
        """
        with self._lock, self._guard():
            waiting = self._pending.rows.get(key)
            if waiting is not None:
                values: Sequence[Any] = waiting[1][3:11]
            else:
                row = (
                    self._conn()
                    .execute(
                        f"SELECT rowid, digest, {_COLUMNS} FROM responses WHERE key = ?", (key,)
                    )
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
        key = self.key_for(request)
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
            db = self._conn()
            # While rows wait for the lock, one quick try (no waiting: the lock was held a
            # moment ago) and the new row queues behind them, so they are written in order.
            queued = len(self._pending) > 0 and not self._flush(db, wait_s=0.0)
            if queued or not self._insert(db, [(verb, row)], wait_s=self.lock_wait_s):
                self._pending.add(verb, row)

    def _insert(
        self, db: sqlite3.Connection, rows: Sequence[tuple[str, Row]], wait_s: float
    ) -> bool:
        """Write ``rows`` in one transaction, waiting at most ``wait_s`` for another
        process's lock; False (nothing written) if it is still held."""
        db.execute(f"PRAGMA busy_timeout = {round(wait_s * 1000)}")
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if _is_busy(err):
                return False
            raise
        try:
            for verb, row in rows:
                db.execute(f"{verb} {_INSERT}", row)
            db.execute("COMMIT")
        except sqlite3.OperationalError as err:
            db.execute("ROLLBACK")
            if _is_busy(err):
                return False
            raise
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.execute(f"PRAGMA busy_timeout = {round(self.lock_wait_s * 1000)}")
        return True

    def _flush(self, db: sqlite3.Connection, wait_s: float) -> bool:
        """Write the rows waiting in side files into the cache; True once none wait."""
        if not len(self._pending):
            return True
        if not self._insert(db, list(self._pending.rows.values()), wait_s=wait_s):
            return False
        self._pending.written()
        return True

    def flush(self, wait_s: float | None = None) -> int:
        """Write the rows waiting for another process's lock into the cache, waiting at most
        ``wait_s`` (default ``lock_wait_s``); return how many still wait (kept durable in the
        side file, merged by whoever opens the cache next)."""
        with self._lock, self._guard():
            if self._db is not None:
                self._flush(self._db, self.lock_wait_s if wait_s is None else wait_s)
            return len(self._pending)

    @property
    def waiting(self) -> int:
        """Rows paid for that wait in the side file for another process's lock."""
        return len(self._pending)

    def put(self, request: CompletionRequest, completion: Completion) -> None:
        """Store (or overwrite) the completion for ``request``; durable on return (in the
        cache, or in the side file while another process holds the lock)."""
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
            if key in self._pending.rows:
                return True
            row = self._conn().execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        with self._lock, self._guard():
            db = self._conn()
            (n,) = db.execute("SELECT COUNT(*) FROM responses").fetchone()
            extra = sum(
                db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is None
                for key in self._pending.rows
            )
        return int(n) + extra

    def close(self) -> None:
        """Write any waiting rows (waiting at most ``lock_wait_s``) and close the database
        (idempotent). Rows the lock still keeps out stay in the side file."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._flush(self._db, self.lock_wait_s)
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
        key = self.cache.key_for(request)
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
        """Close ``inner`` and write any replies still waiting for another process's lock
        on the cache (see :meth:`ResponseCache.flush`)."""
        await self.inner.aclose()
        self.cache.flush()


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
        key = self.cache.key_for(request)
        cached = self.cache.get(key)
        if cached is None:
            self.cache.check_integrity()  # a damaged index is damage, not a miss
            raise ReplayMissError(request.decision, key)
        self.hits += 1
        return replace(cached, cache_hit=True)

    async def aclose(self) -> None:
        return None
