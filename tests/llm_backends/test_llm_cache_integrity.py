"""Every cache row carries a checksum; damage is an error naming the file, never a miss."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from llm_helpers import make_request, run

from llm_backends.cache import CachedBackend, ReplayBackend, ResponseCache, row_digest
from llm_backends.errors import CacheCorruptError
from llm_backends.stub import StubBackend
from llm_backends.types import Completion

MARKER = "REPLY-MARKER-7f3a"


def _record(path: Path, n: int = 40) -> list[str]:
    """Write ``n`` replies (the first carries MARKER, once) and close; return their keys."""
    keys = []
    with ResponseCache(path) as cache:
        for i in range(n):
            request = make_request(i)
            text = f'{{"reason": "{MARKER}"}}' if i == 0 else f'{{"reason": "r{i}"}}'
            cache.put(request, Completion(text=text, prompt_tokens=10 + i, latency_s=0.25))
            keys.append(request.cache_key())
    return keys


def _flip(path: Path, needle: bytes, offset: int = 0) -> None:
    """Change one byte of the only occurrence of ``needle`` in the file."""
    data = bytearray(path.read_bytes())
    at = data.find(needle)
    assert at >= 0 and data.find(needle, at + 1) < 0, "needle must occur exactly once"
    data[at + offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_row_carries_the_digest_of_its_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    keys = _record(path, n=5)
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT key, digest, text, parsed, prompt_tokens, completion_tokens, latency_s, "
            "retries, fallback, error_kind FROM responses"
        ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(keys)
    for key, digest, *values in rows:
        assert len(digest) == 64 and digest == row_digest(key, values)
    assert row_digest(keys[0], ["x"]) != row_digest(keys[1], ["x"])  # the key is digested


def test_a_flipped_byte_in_a_reply_is_damage_not_a_miss(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    keys = _record(path)
    _flip(path, MARKER.encode())
    with ResponseCache(path) as cache:  # the file's structure is intact: it opens
        assert cache.get(keys[1]) is not None  # other rows still verify
        with pytest.raises(CacheCorruptError) as info:
            cache.get(keys[0])
        assert info.value.path == str(path)
        assert f"the row for key {keys[0]} fails its checksum" in str(info.value)
        assert "re-record" in str(info.value) and "delete the file" in str(info.value)
        with pytest.raises(CacheCorruptError):
            cache.verify()
        with pytest.raises(CacheCorruptError):
            ReplayBackend(cache)  # replay checks every row before serving any
        # Recording through the damaged cache neither pays again nor overwrites the row.
        stub = StubBackend()
        with pytest.raises(CacheCorruptError):
            run(CachedBackend(stub, cache).complete(make_request(0)))
        assert stub.calls == 0


def test_a_changed_number_or_checksum_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    keys = _record(path, n=3)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE responses SET prompt_tokens = 11 WHERE key = ?", (keys[0],))
        digest = db.execute("SELECT digest FROM responses WHERE key = ?", (keys[2],)).fetchone()
    # Closed, so the update is checkpointed into the file the flip edits.
    _flip(path, digest[0].encode(), offset=5)
    with ResponseCache(path) as cache:
        assert cache.get(keys[1]) is not None
        for key in (keys[0], keys[2]):
            with pytest.raises(CacheCorruptError, match="fails its checksum"):
                cache.get(key)


@pytest.mark.parametrize("keep", [0.5, 0.97, 50 / 180_000], ids=["half", "last-page", "header"])
def test_a_truncated_cache_file_is_refused_when_opened(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "c.sqlite"
    _record(path, n=300)
    data = path.read_bytes()
    assert len(data) > 100_000
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CacheCorruptError) as info:
        ResponseCache(path)
    assert str(path) in str(info.value) and "SQLite" in info.value.detail
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database at all " * 100)
    with pytest.raises(CacheCorruptError, match="file is not a database"):
        ResponseCache(path)


def test_an_old_cache_without_digests_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = make_request(1)
    with closing(sqlite3.connect(path)) as db, db:  # the schema of caches before digests
        db.execute(
            "CREATE TABLE responses (key TEXT PRIMARY KEY, decision TEXT NOT NULL, model TEXT "
            "NOT NULL, text TEXT NOT NULL, parsed TEXT, prompt_tokens INTEGER NOT NULL, "
            "completion_tokens INTEGER NOT NULL, latency_s REAL NOT NULL, retries INTEGER NOT "
            "NULL, fallback INTEGER NOT NULL, error_kind TEXT, created REAL NOT NULL)"
        )
        db.execute(
            "INSERT INTO responses VALUES (?, 'd', 'm', '{\"a\": 1}', '{\"a\": 1}', 3, 4, 0.5, "
            "0, 0, NULL, 0)",
            (old.cache_key(),),
        )
    with ResponseCache(path) as cache:
        got = cache.get(old.cache_key())
        assert got is not None and got.parsed == {"a": 1} and got.prompt_tokens == 3
        new = make_request(2)
        cache.put(new, Completion(text="{}", parsed={}))
        assert cache.verify() == 2
    with closing(sqlite3.connect(path)) as db, db:
        digests = dict(db.execute("SELECT key, digest FROM responses").fetchall())
        # A row without a digest written after the upgrade cannot pass as an old one.
        db.execute("UPDATE responses SET digest = NULL WHERE key = ?", (new.cache_key(),))
    assert digests[old.cache_key()] is None and len(digests[new.cache_key()]) == 64
    with ResponseCache(path) as cache:
        assert cache.get(old.cache_key()) is not None
        with pytest.raises(CacheCorruptError, match="has no checksum"):
            cache.get(new.cache_key())
