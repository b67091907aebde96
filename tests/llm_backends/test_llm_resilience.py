"""Retries, Retry-After, timeouts, concurrency limits and budgets against the fake server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from llm_helpers import make_request, run

from llm_backends.errors import BackendError, BudgetExhausted
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.fast_openai import FastOpenAICompatibleBackend
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.resilience import Budget, ResilientBackend, backoff_delay
from llm_backends.structured import ask_structured
from llm_backends.stub import StubBackend
from llm_backends.types import Completion, CompletionRequest

ServerFactory = Callable[..., FakeOpenAIServer]
BACKENDS = [OpenAICompatibleBackend, FastOpenAICompatibleBackend]


async def _complete(backend: ResilientBackend, request: CompletionRequest) -> Completion:
    try:
        return await backend.complete(request)
    finally:
        await backend.aclose()


@pytest.mark.parametrize("cls", BACKENDS)
def test_retries_server_errors(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(faults=("500", "500"))
    backend = ResilientBackend(cls(server.base_url, "fake-model"), base_delay=0.01)
    completion = run(_complete(backend, make_request()))
    assert completion.parsed is not None
    assert completion.retries == 2
    assert server.stats()["chat_requests"] == 3


@pytest.mark.parametrize("cls", BACKENDS)
def test_429_waits_at_least_retry_after(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(faults=("429",), retry_after_s=1)
    # base_delay tiny: any wait of a second can only come from the Retry-After header.
    backend = ResilientBackend(cls(server.base_url, "fake-model"), base_delay=0.001)
    start = time.monotonic()
    completion = run(_complete(backend, make_request()))
    assert time.monotonic() - start >= 1.0
    assert completion.retries == 1


def test_retry_after_beyond_limit_is_not_waited(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("429",), retry_after_s=30)
    backend = ResilientBackend(
        FastOpenAICompatibleBackend(server.base_url, "fake-model"), max_retry_after=5
    )
    start = time.monotonic()
    with pytest.raises(BackendError) as info:
        run(_complete(backend, make_request()))
    assert info.value.kind == "rate_limited"
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("cls", BACKENDS)
def test_hanging_request_times_out_then_retries(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(faults=("hang",), hang_s=5)
    backend = ResilientBackend(cls(server.base_url, "fake-model"), timeout_s=0.3, base_delay=0.01)
    start = time.monotonic()
    completion = run(_complete(backend, make_request()))
    assert time.monotonic() - start < 3
    assert completion.retries == 1 and completion.parsed is not None


def test_retries_exhausted_raise_with_count(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("500",), cycle=True)
    backend = ResilientBackend(
        FastOpenAICompatibleBackend(server.base_url, "fake-model"), max_retries=2, base_delay=0.01
    )
    with pytest.raises(BackendError) as info:
        run(_complete(backend, make_request()))
    assert info.value.kind == "server_error" and info.value.retries == 2
    assert server.stats()["chat_requests"] == 3


def test_auth_errors_are_not_retried(fake_server: ServerFactory) -> None:
    server = fake_server(api_key="sk-expected")
    backend = ResilientBackend(FastOpenAICompatibleBackend(server.base_url, "fake-model"))
    with pytest.raises(BackendError) as info:
        run(_complete(backend, make_request()))
    assert info.value.kind == "auth"
    assert server.stats()["requests"] == 1


def test_budget_exhaustion_makes_no_network_call(fake_server: ServerFactory) -> None:
    server = fake_server()
    budget = Budget(max_calls=2)
    backend = ResilientBackend(
        FastOpenAICompatibleBackend(server.base_url, "fake-model"), budget=budget
    )

    async def go() -> list[Completion]:
        out = [await backend.complete(make_request(i)) for i in range(2)]
        with pytest.raises(BudgetExhausted):
            await backend.complete(make_request(3))
        await backend.aclose()
        return out

    run(go())
    assert server.stats()["requests"] == 2
    assert budget.calls == 2 and budget.tokens > 0


def test_token_budget(fake_server: ServerFactory) -> None:
    server = fake_server()
    backend = ResilientBackend(
        FastOpenAICompatibleBackend(server.base_url, "fake-model"), budget=Budget(max_tokens=1)
    )

    async def go() -> Completion:
        await backend.complete(make_request(0))
        try:
            return await ask_structured(backend, make_request(1))
        finally:
            await backend.aclose()

    fallback = run(go())
    assert fallback.fallback and fallback.error_kind == "budget_exhausted"
    assert server.stats()["requests"] == 1


def test_concurrency_limit_is_respected() -> None:
    class Probe(StubBackend):
        in_flight = 0
        peak = 0

        async def complete(self, request: CompletionRequest) -> Completion:
            Probe.in_flight += 1
            Probe.peak = max(Probe.peak, Probe.in_flight)
            try:
                return await super().complete(request)
            finally:
                Probe.in_flight -= 1

    backend = ResilientBackend(Probe(latency_s=0.01), concurrency=3)

    async def go() -> None:
        await asyncio.gather(*(backend.complete(make_request(i)) for i in range(20)))

    run(go())
    assert Probe.peak == 3


def test_backoff_is_seeded_and_bounded() -> None:
    import random

    a = [backoff_delay(k, random.Random(1), 0.5, 4.0) for k in range(8)]
    b = [backoff_delay(k, random.Random(1), 0.5, 4.0) for k in range(8)]
    assert a == b
    assert all(0 <= d <= 4.0 for d in a)
    assert backoff_delay(0, random.Random(1), 0.5, 4.0, retry_after=2.5) >= 2.5
