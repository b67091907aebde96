"""Bounded endpoint replies: a hostile server on 127.0.0.1 cannot crash a run or bloat the cache.

Every test talks to the real fake server over HTTP through the real ``openai`` client or our
aiohttp client; nothing is monkeypatched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from llm_helpers import make_request, run

from llm_backends.cache import CachedBackend, ReplayBackend, ResponseCache
from llm_backends.endpoint import Endpoint
from llm_backends.errors import INVALID_REPLY, BackendError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.fast_openai import FastOpenAICompatibleBackend
from llm_backends.limits import BodyReader, ReplyLimits, nesting_depth
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.resilience import ResilientBackend
from llm_backends.structured import ask_structured

ServerFactory = Callable[..., FakeOpenAIServer]
CLIENTS = [OpenAICompatibleBackend, FastOpenAICompatibleBackend]
HUGE = 64 * 2**20  # far more than loopback socket buffers hold, so an early stop shows


def _client(kind: type[Endpoint], server: FakeOpenAIServer, **kw: Any) -> Any:
    return kind(server.base_url, "fake-model", api_key_env="SOCIETY_NO_KEY", **kw)


async def _complete(backend: Any) -> Any:
    try:
        return await backend.complete(make_request())
    finally:
        await backend.aclose()


def test_nesting_depth_ignores_strings_and_stops_early() -> None:
    assert nesting_depth(b'{"a": [1, {"b": "[[[[{{{{"}], "c": "\\"]"}') == 3
    assert nesting_depth('{"x": "\\\\"}') == 1  # an escaped backslash ends the string
    assert nesting_depth("[" * 200_000 + "]" * 200_000) == 200_000
    assert nesting_depth("[" * 200_000, stop_above=64) == 65
    assert nesting_depth("") == 0


def test_body_reader_refuses_past_the_cap_and_too_deep() -> None:
    limits = ReplyLimits(max_reply_bytes=1024)
    assert limits.max_body_bytes == 8 * 1024 + 65536
    reader = BodyReader(limits, "here")
    reader.feed(b"x" * limits.max_body_bytes)  # exactly at the cap is fine
    with pytest.raises(BackendError) as info:
        reader.feed(b"x")
    assert (
        info.value.kind == INVALID_REPLY
        and "passed 73729 bytes, over the 73728-byte cap" in info.value.message
    )
    deep = BodyReader(limits, "here")
    deep.feed(b"[" * 65 + b"]" * 65)
    with pytest.raises(BackendError, match="nested more than 64 levels"):
        deep.finish()
    ok = BodyReader(limits, "here")
    ok.feed(b"[" * 64 + b"]" * 64)
    assert len(ok.finish()) == 128


@pytest.mark.parametrize("kind", CLIENTS, ids=lambda k: k.__name__)
def test_a_deep_json_body_is_an_invalid_reply_not_a_recursion_error(
    fake_server: ServerFactory, kind: type[Endpoint]
) -> None:
    server = fake_server(faults=("deep_json", "ok"))
    with pytest.raises(BackendError) as info:
        run(_complete(_client(kind, server)))
    assert info.value.kind == INVALID_REPLY
    assert "nested more than 64 levels" in info.value.message
    assert "'work_allocation'" in info.value.message  # names the decision
    # The same backend instance keeps working: the next (ok) reply parses.
    assert run(_complete(_client(kind, server))).parsed is not None


@pytest.mark.parametrize("kind", CLIENTS, ids=lambda k: k.__name__)
def test_deeply_nested_content_is_refused_before_parsing(
    fake_server: ServerFactory, kind: type[Endpoint]
) -> None:
    server = fake_server(faults=("deep_content",))
    with pytest.raises(BackendError) as info:
        run(_complete(_client(kind, server)))
    assert info.value.kind == INVALID_REPLY
    assert info.value.message.startswith("reply from ")


@pytest.mark.parametrize("kind", CLIENTS, ids=lambda k: k.__name__)
def test_a_huge_streamed_body_is_dropped_unread_at_the_cap(
    fake_server: ServerFactory, kind: type[Endpoint]
) -> None:
    server = fake_server(faults=("huge_content",), huge_bytes=HUGE)
    with pytest.raises(BackendError) as info:
        run(_complete(_client(kind, server)))
    assert info.value.kind == INVALID_REPLY
    assert "over the 589824-byte cap (llm.max_reply_bytes = 65536)" in info.value.message
    # The client hung up long before the end: the server could not send most of the body.
    assert server.stats()["streamed_bytes"] < HUGE / 4


@pytest.mark.parametrize("kind", CLIENTS, ids=lambda k: k.__name__)
def test_content_over_max_reply_bytes_is_refused(
    fake_server: ServerFactory, kind: type[Endpoint]
) -> None:
    # 40 KiB of content is under the body cap of a 4 KiB content limit (96 KiB) but over the
    # content limit itself: it is refused after parsing the envelope, by its size.
    server = fake_server(faults=("huge_content",), huge_bytes=40 * 1024)
    with pytest.raises(BackendError) as info:
        run(_complete(_client(kind, server, max_reply_bytes=4096)))
    assert info.value.kind == INVALID_REPLY
    assert "over llm.max_reply_bytes = 4096" in info.value.message
    assert server.stats()["streamed_bytes"] > 40 * 1024  # it was all sent, and read


@pytest.mark.parametrize("kind", CLIENTS, ids=lambda k: k.__name__)
def test_hostile_replies_fall_back_and_are_cached_as_small_markers(
    fake_server: ServerFactory, kind: type[Endpoint], tmp_path: Path
) -> None:
    faults = ("huge_content", "deep_json", "deep_content", "ok")
    server = fake_server(faults=faults, huge_bytes=10 * 2**20)
    path = tmp_path / "c.sqlite"
    requests = [make_request(i) for i in range(len(faults))]

    async def record() -> list[Any]:
        backend = CachedBackend(ResilientBackend(_client(kind, server), max_retries=2), cache)
        try:
            # One at a time, so fault i meets request i.
            return [await ask_structured(backend, r) for r in requests]
        finally:
            await backend.aclose()

    with ResponseCache(path) as cache:
        recorded = run(record())
    assert [c.fallback for c in recorded] == [True, True, True, False]
    assert {c.error_kind for c in recorded[:3]} == {INVALID_REPLY}
    assert all(c.retries == 0 for c in recorded[:3])  # refused outright: no retry, no re-ask
    assert server.stats()["chat_requests"] == len(faults)
    assert all(0 < len(c.text) <= 300 for c in recorded[:3])  # a marker, not the body
    assert path.stat().st_size < 200_000  # 10 MiB were offered; a few KiB are kept
    with ResponseCache(path) as cache:
        replayed = run(_replay(cache, requests))
    assert [(c.fallback, c.error_kind, c.text) for c in replayed] == [
        (c.fallback, c.error_kind, c.text) for c in recorded
    ]
    assert server.stats()["chat_requests"] == len(faults)  # replay sent nothing


async def _replay(cache: ResponseCache, requests: list[Any]) -> list[Any]:
    backend = ReplayBackend(cache)
    return [await ask_structured(backend, r) for r in requests]


def test_garbage_usage_counts_as_unreported() -> None:
    from llm_backends._wire import completion_from_body

    body = {"choices": [{"message": {"content": json.dumps({"a": 1})}}], "usage": 5}
    assert completion_from_body(body, 0.1).prompt_tokens == 0
    body["usage"] = {"prompt_tokens": "12", "completion_tokens": float("inf")}
    c = completion_from_body(body, 0.1)
    assert (c.prompt_tokens, c.completion_tokens, c.parsed) == (0, 0, {"a": 1})
