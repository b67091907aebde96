"""ask_structured: validation, a single re-ask quoting the error, and fallbacks."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from llm_helpers import make_request, run
from pydantic import BaseModel, Field

from llm_backends.errors import BackendError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.resilience import Budget, ResilientBackend
from llm_backends.structured import ask_structured
from llm_backends.stub import StubBackend
from llm_backends.types import Completion, CompletionRequest

ServerFactory = Callable[..., FakeOpenAIServer]


class Recording:
    """Wrap a backend and keep the requests it was asked (the client is not patched)."""

    def __init__(self, inner: OpenAICompatibleBackend | StubBackend) -> None:
        self.inner = inner
        self.requests: list[CompletionRequest] = []

    async def complete(self, request: CompletionRequest) -> Completion:
        self.requests.append(request)
        return await self.inner.complete(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _ask(backend: Recording, request: CompletionRequest, **kw: object) -> Completion:
    try:
        return await ask_structured(backend, request, **kw)  # type: ignore[arg-type]
    finally:
        await backend.aclose()


def test_valid_reply_passes_through(fake_server: ServerFactory) -> None:
    server = fake_server()
    backend = Recording(OpenAICompatibleBackend(server.base_url, "fake-model"))
    completion = run(_ask(backend, make_request()))
    assert completion.parsed is not None and not completion.fallback
    assert completion.retries == 0 and len(backend.requests) == 1


@pytest.mark.parametrize("fault", ["malformed", "schema_invalid"])
def test_invalid_then_valid_reasks_once_quoting_the_error(
    fault: str, fake_server: ServerFactory
) -> None:
    server = fake_server(faults=(fault,))
    backend = Recording(OpenAICompatibleBackend(server.base_url, "fake-model"))
    completion = run(_ask(backend, make_request()))
    assert completion.parsed is not None and not completion.fallback
    assert completion.retries == 1
    assert len(backend.requests) == 2
    reask = backend.requests[1]
    role, bad_reply = reask.messages[-2]
    assert role == "assistant"
    # The invalid reply is quoted back verbatim.
    assert ("Sure! Here is" if fault == "malformed" else "unexpected_field") in bad_reply
    assert reask.messages[-1][0] == "user"
    feedback = reask.messages[-1][1]
    assert "Your reply was invalid" in feedback
    expected = "not valid JSON" if fault == "malformed" else "missing required property"
    assert expected in feedback


def test_invalid_twice_falls_back(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("malformed", "schema_invalid"))
    backend = Recording(OpenAICompatibleBackend(server.base_url, "fake-model"))
    completion = run(_ask(backend, make_request()))
    assert completion.fallback and completion.error_kind == "invalid_reply"
    assert completion.parsed is None
    assert len(backend.requests) == 2  # exactly one re-ask
    assert completion.prompt_tokens > 0  # both attempts were paid for and are accounted
    assert server.stats()["chat_requests"] == 2


def test_budget_exhausted_falls_back_without_network(fake_server: ServerFactory) -> None:
    server = fake_server()
    inner = ResilientBackend(
        OpenAICompatibleBackend(server.base_url, "fake-model"), budget=Budget(max_calls=0)
    )
    completion = run(_ask(Recording(inner), make_request()))  # type: ignore[arg-type]
    assert completion.fallback and completion.error_kind == "budget_exhausted"
    assert server.stats()["requests"] == 0


def test_retries_exhausted_falls_back_with_kind(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("500",), cycle=True)
    inner = ResilientBackend(
        OpenAICompatibleBackend(server.base_url, "fake-model"), max_retries=1, base_delay=0.01
    )
    completion = run(_ask(Recording(inner), make_request()))  # type: ignore[arg-type]
    assert completion.fallback and completion.error_kind == "server_error"
    assert completion.retries == 1


def test_misconfiguration_is_raised_not_hidden(fake_server: ServerFactory) -> None:
    server = fake_server()
    backend = Recording(OpenAICompatibleBackend(server.base_url, "fake-model"))
    with pytest.raises(BackendError) as info:
        run(_ask(backend, make_request(model="missing-model")))
    assert info.value.kind == "not_found"


def test_pydantic_validator_is_applied() -> None:
    class Strict(BaseModel):
        allocation: float = Field(ge=0, le=0.0001)  # the stub will almost surely exceed it

    backend = Recording(StubBackend())
    completion = run(_ask(backend, make_request(), validator=Strict))
    assert completion.fallback and completion.error_kind == "invalid_reply"
    assert "allocation" in backend.requests[1].messages[-1][1]


def test_stub_faults_drive_the_same_path() -> None:
    backend = Recording(StubBackend(faults=("schema_invalid",)))
    completion = run(_ask(backend, make_request()))
    assert not completion.fallback and completion.retries == 1
    assert json.loads(completion.text) == completion.parsed
