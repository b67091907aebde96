"""The response cache: bound to the endpoint whose replies it holds, and never losing a paid
reply to another process's lock (a real second process holds it), nor to a path that cannot
hold a cache."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from llm_helpers import make_request, run

from llm_backends.cache import CachedBackend, ResponseCache, pending_journals
from llm_backends.errors import CacheUnusableError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.stub import StubBackend
from llm_backends.types import Completion

HERE = Path(__file__).resolve().parent
A = "http://127.0.0.1:8001/v1 (model 'fake-model')"
B = "http://127.0.0.1:8002/v1 (model 'fake-model')"
ServerFactory = Callable[..., FakeOpenAIServer]


def _rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


# -- the endpoint ---------------------------------------------------------------------------


def test_keys_include_the_endpoint(tmp_path: Path) -> None:
    request = make_request(1)
    with ResponseCache(tmp_path / "a.sqlite", endpoint=A) as a:
        key_a = a.key_for(request)
    with ResponseCache(tmp_path / "b.sqlite", endpoint=B) as b:
        key_b = b.key_for(request)
    with ResponseCache(tmp_path / "plain.sqlite") as plain:  # no endpoint named: plain keys
        assert plain.key_for(request) == request.cache_key()
    assert len({key_a, key_b, request.cache_key()}) == 3


def test_a_cache_bound_to_one_endpoint_refuses_another(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    request = make_request(2)
    with ResponseCache(path, endpoint=A) as cache:
        cache.put(request, Completion(text="from A"))
    with pytest.raises(CacheUnusableError) as refused:
        ResponseCache(path, endpoint=B)
    message = str(refused.value)
    assert f"'{path}' cannot be used" in message
    assert f"recorded from {A}, and this run asks {B}" in message
    with ResponseCache(path) as reader:  # opened without a name: the endpoint it is bound to
        assert reader.endpoint == A
        assert reader.get(reader.key_for(request)).text == "from A"  # type: ignore[union-attr]


def test_a_cache_from_before_binding_keeps_its_keys_and_is_bound(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    request = make_request(3)
    with ResponseCache(path) as old:  # written with no endpoint named, as before
        old.put(request, Completion(text="recorded"))
    with ResponseCache(path, endpoint=A) as cache:
        assert cache.key_for(request) == request.cache_key()
        assert cache.get(cache.key_for(request)).text == "recorded"  # type: ignore[union-attr]
    with pytest.raises(CacheUnusableError, match="recorded from"):
        ResponseCache(path, endpoint=B)


# -- a path that cannot hold a cache ---------------------------------------------------------


def test_paths_that_cannot_hold_a_cache_are_refused_naming_them(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    dangling = tmp_path / "dangling.sqlite"
    dangling.symlink_to(tmp_path / "nowhere" / "x.sqlite")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    cases = {
        folder: "it is a directory",
        dangling: "it is a symbolic link to",
        a_file / "c.sqlite": f"'{a_file}' is not a directory",
    }
    for path, needle in cases.items():
        with pytest.raises(CacheUnusableError) as info:
            ResponseCache(path)
        assert f"'{path}' cannot be used: {needle}" in str(info.value), info.value
        assert "\n" not in str(info.value)
    assert not (tmp_path / "nowhere").exists()


# -- another process holds the lock ----------------------------------------------------------


@pytest.fixture
def lock_holder() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Start a real second process holding ``BEGIN EXCLUSIVE`` on a database; stopped at the
    end of the test if it still runs."""
    started: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_hold_lock.py"), str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "LOCKED"
        return proc

    yield hold
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "RELEASED"
    proc.wait(10)


def test_replies_paid_while_another_process_holds_the_lock_are_kept_and_written_later(
    fake_server: ServerFactory,
    lock_holder: Callable[[Path], subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    server = fake_server()
    path = tmp_path / "shared.sqlite"
    ResponseCache(path).close()  # the cache exists; now another process locks it
    holder = lock_holder(path)
    cache = ResponseCache(path, lock_wait_s=0.2)
    backend = CachedBackend(OpenAICompatibleBackend(server.base_url, "fake-model"), cache)
    requests = [make_request(i) for i in range(6)]

    async def session() -> None:
        first = [await backend.complete(r) for r in requests]
        assert server.stats()["chat_requests"] == 6
        # Nothing reached SQLite, and nothing was lost: the six rows wait in the side file,
        # and asking again is served from them without paying twice.
        assert _rows(path) == 0 and cache.waiting == 6
        [journal] = pending_journals(path)
        assert len(journal.read_text().splitlines()) == 6
        again = [await backend.complete(r) for r in requests]
        assert [c.text for c in again] == [c.text for c in first]
        assert all(c.cache_hit for c in again) and server.stats()["chat_requests"] == 6
        release(holder)
        await backend.aclose()  # the lock is free: the waiting rows are written

    run(session())
    assert _rows(path) == 6 and cache.waiting == 0 and pending_journals(path) == []
    cache.close()


def test_a_recorder_killed_while_the_lock_is_held_loses_no_reply(
    fake_server: ServerFactory,
    lock_holder: Callable[[Path], subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    server = fake_server()
    path = tmp_path / "shared.sqlite"
    ResponseCache(path).close()
    holder = lock_holder(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1]), str(HERE)]))
    n = 5
    proc = subprocess.run(
        [sys.executable, str(HERE / "_record_then_die.py"), server.base_url, str(path), str(n),
         "0.2"],
        check=False, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    received = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("GOT ")]
    assert len(received) == n == server.stats()["chat_requests"]
    assert _rows(path) == 0 and len(pending_journals(path)) == 1
    release(holder)
    # Whoever opens the cache next writes the dead recorder's rows into it.
    with ResponseCache(path) as cache:
        assert len(cache) == n and all(key in cache for key in received)
    assert _rows(path) == n and pending_journals(path) == []


def test_a_lock_held_at_startup_on_a_new_cache_is_a_clean_error(
    lock_holder: Callable[[Path], subprocess.Popen[str]], tmp_path: Path
) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()  # an empty database: opening it must create the tables
    lock_holder(path)
    with pytest.raises(CacheUnusableError) as info:
        ResponseCache(path, lock_wait_s=0.2)
    assert "another process has held it locked for more than 0.2 s" in str(info.value)
    stub = StubBackend()
    assert stub.calls == 0  # nothing was asked, so nothing paid was lost
