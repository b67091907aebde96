"""Response cache: write-before-use, SIGKILL survival, replay with zero network calls."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from llm_helpers import SENTINEL_KEY, make_request, run

from llm_backends.cache import CachedBackend, ReplayBackend, ResponseCache
from llm_backends.dispatch import complete_many
from llm_backends.errors import ReplayMissError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.resilience import Budget, ResilientBackend
from llm_backends.structured import ask_structured
from llm_backends.stub import StubBackend
from llm_backends.types import Completion

ServerFactory = Callable[..., FakeOpenAIServer]
HERE = Path(__file__).parent


def _comparable(c: Completion) -> tuple[object, ...]:
    return (c.text, c.parsed, c.prompt_tokens, c.completion_tokens, c.fallback, c.error_kind)


def test_cache_hit_after_miss(tmp_path: Path) -> None:
    stub = StubBackend()
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        backend = CachedBackend(stub, cache)
        first = run(backend.complete(make_request()))
        second = run(backend.complete(make_request()))
    assert not first.cache_hit and second.cache_hit
    assert _comparable(first) == _comparable(second)
    assert stub.calls == 1


def test_write_is_committed_before_the_caller_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = ResponseCache(path)
    backend = CachedBackend(StubBackend(), cache)
    request = make_request()
    completion = run(backend.complete(request))
    # A second, independent connection already sees the row: it was committed, not just
    # buffered in our connection, by the time complete() returned.
    with sqlite3.connect(path) as other:
        row = other.execute(
            "SELECT text FROM responses WHERE key = ?", (request.cache_key(),)
        ).fetchone()
    assert row == (completion.text,)
    cache.close()


def test_concurrent_identical_requests_are_paid_once(tmp_path: Path) -> None:
    stub = StubBackend(latency_s=0.05)
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        out = run(complete_many(CachedBackend(stub, cache), [make_request()] * 8, concurrency=8))
    assert stub.calls == 1
    assert sum(not c.cache_hit for c in out) == 1
    assert len({c.text for c in out}) == 1


def test_sigkilled_recorder_keeps_every_response_it_received(
    fake_server: ServerFactory, tmp_path: Path
) -> None:
    server = fake_server(latency_s=0.01)
    path = tmp_path / "run.sqlite"
    n = 12
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parents[1]), str(HERE)]))
    proc = subprocess.run(
        [sys.executable, str(HERE / "_record_then_die.py"), server.base_url, str(path), str(n)],
        check=False, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    received = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("GOT ")]
    assert len(received) == n
    served = server.stats()["statuses"]["200"]
    assert served == n
    with ResponseCache(path) as cache:
        assert len(cache) == served
        assert all(key in cache for key in received)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_replay_is_identical_with_zero_requests(fake_server: ServerFactory, tmp_path: Path) -> None:
    server = fake_server(faults=("500",) + ("ok",) * 5 + ("schema_invalid",))
    requests = [make_request(i) for i in range(20)]
    path = tmp_path / "run.sqlite"

    async def record() -> list[Completion]:
        inner = ResilientBackend(
            OpenAICompatibleBackend(server.base_url, "fake-model"), base_delay=0.01
        )
        backend = CachedBackend(inner, ResponseCache(path))
        out = [await ask_structured(backend, r) for r in requests]
        await backend.aclose()
        backend.cache.close()
        return out

    recorded = run(record())
    assert any(c.retries for c in recorded)  # the 500 and the schema-invalid reply happened
    served = server.stats()["requests"]

    async def replay() -> list[Completion]:
        with ResponseCache(path) as cache:
            return [await ask_structured(ReplayBackend(cache), r) for r in requests]

    replayed = run(replay())
    assert [_comparable(c) for c in replayed] == [_comparable(c) for c in recorded]
    assert all(c.cache_hit for c in replayed)
    assert server.stats()["requests"] == served  # zero network calls during replay


def test_replay_miss_names_decision_and_key(tmp_path: Path) -> None:
    request = make_request(decision="honeypot_answer")
    with ResponseCache(tmp_path / "empty.sqlite") as cache, pytest.raises(ReplayMissError) as info:
        run(ReplayBackend(cache).complete(request))
    assert "honeypot_answer" in str(info.value)
    assert request.cache_key() in str(info.value)
    assert info.value.kind == "replay_miss"


def test_replay_miss_is_not_turned_into_a_fallback(tmp_path: Path) -> None:
    with ResponseCache(tmp_path / "empty.sqlite") as cache, pytest.raises(ReplayMissError):
        run(ask_structured(ReplayBackend(cache), make_request()))


def test_budget_fallback_is_recorded_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    requests = [make_request(i) for i in range(4)]

    async def record() -> list[Completion]:
        inner = ResilientBackend(StubBackend(), budget=Budget(max_calls=2))
        with ResponseCache(path) as cache:
            backend = CachedBackend(inner, cache)
            return [await ask_structured(backend, r) for r in requests]

    recorded = run(record())
    assert [c.fallback for c in recorded] == [False, False, True, True]
    assert recorded[2].error_kind == "budget_exhausted"

    async def replay() -> list[Completion]:
        with ResponseCache(path) as cache:
            return [await ask_structured(ReplayBackend(cache), r) for r in requests]

    assert [_comparable(c) for c in run(replay())] == [_comparable(c) for c in recorded]


def test_recorded_fallback_can_be_retried_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "run.sqlite"
    request = make_request()
    with ResponseCache(path) as cache:
        first = run(
            ask_structured(
                CachedBackend(ResilientBackend(StubBackend(), budget=Budget(max_calls=0)), cache),
                request,
            )
        )
        assert first.fallback
        again = run(ask_structured(CachedBackend(StubBackend(), cache), request))
        assert again.fallback and again.cache_hit  # default: reproduce the fallback
        retried = run(
            ask_structured(CachedBackend(StubBackend(), cache, retry_fallbacks=True), request)
        )
        assert not retried.fallback and retried.parsed is not None
        assert not cache.get(request.cache_key()).fallback  # type: ignore[union-attr]


def test_sentinel_key_never_reaches_the_cache_file(
    fake_server: ServerFactory, tmp_path: Path, sentinel_env: str
) -> None:
    server = fake_server(api_key=SENTINEL_KEY, faults=("malformed", "malformed", "500"))
    path = tmp_path / "run.sqlite"

    async def go() -> None:
        inner = ResilientBackend(
            OpenAICompatibleBackend(server.base_url, "fake-model", api_key_env=sentinel_env),
            base_delay=0.01,
        )
        with ResponseCache(path) as cache:
            backend = CachedBackend(inner, cache)
            for i in range(5):
                await ask_structured(backend, make_request(i))
            await backend.aclose()

    run(go())
    assert server.stats()["statuses"]["200"] >= 5
    files = list(tmp_path.iterdir())
    assert files
    for file in files:
        assert SENTINEL_KEY.encode() not in file.read_bytes(), file
