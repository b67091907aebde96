"""Schema synthesis and validation, the stub backend, the dispatcher and the fake server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llm_helpers import ALLOCATION_SCHEMA, make_request, run
from pydantic import BaseModel, Field

from llm_backends.dispatch import complete_many
from llm_backends.errors import BackendError
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from llm_backends.fast_openai import FastOpenAICompatibleBackend
from llm_backends.stub import StubBackend
from llm_backends.synth import break_instance, synthesize
from llm_backends.types import Completion, CompletionRequest
from llm_backends.validation import parse_json_object, validate

ServerFactory = Callable[..., FakeOpenAIServer]


class Peer(BaseModel):
    name: str = Field(min_length=2, max_length=12)
    trust: float = Field(gt=0, lt=1)


class Update(BaseModel):
    belief: float = Field(ge=-1, le=1)
    stance: Literal["defer", "verify", "ignore"]
    peers: list[Peer] = Field(min_length=1, max_length=3)
    note: str | None = None
    step: int = Field(ge=0, le=100)


SCHEMAS: list[dict[str, Any]] = [ALLOCATION_SCHEMA, Update.model_json_schema()]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**64 - 1), st.sampled_from(SCHEMAS))
def test_synthesized_values_are_valid(seed: int, schema: dict[str, Any]) -> None:
    value = synthesize(schema, seed)
    assert validate(value, schema) == []
    assert synthesize(schema, seed) == value


def test_synthesized_values_satisfy_pydantic() -> None:
    for seed in range(50):
        Update.model_validate(synthesize(Update.model_json_schema(), seed))


@pytest.mark.parametrize("schema", SCHEMAS)
def test_broken_values_are_invalid(schema: dict[str, Any]) -> None:
    assert validate(break_instance(schema, 3), schema)


def test_validator_reports_types_enums_bounds_and_items() -> None:
    schema = Update.model_json_schema()
    errors = validate(
        {"belief": 2, "stance": "obey", "peers": [{"name": "x", "trust": 1}], "step": True},
        schema,
    )
    text = "\n".join(errors)
    assert "belief: 2 is above the maximum 1" in text
    assert "stance" in text and "obey" in text
    assert "peers[0].name: shorter than 2" in text
    assert "must be < 1" in text
    assert "step: expected integer, got boolean" in text


def test_parse_json_object_never_evaluates() -> None:
    obj, problem = parse_json_object("__import__('os').system('echo pwned')")
    assert obj is None and problem is not None and "not valid JSON" in problem


def test_stub_is_deterministic_and_counts() -> None:
    stub = StubBackend()
    a = run(stub.complete(make_request(1)))
    b = run(StubBackend().complete(make_request(1)))
    c = run(stub.complete(make_request(2)))
    assert a == b and a.text != c.text and stub.calls == 2
    assert validate(a.parsed, ALLOCATION_SCHEMA) == []


def test_stub_fault_schedule() -> None:
    stub = StubBackend(faults=("malformed", "schema_invalid", "ok"), cycle=True)
    out = [run(stub.complete(make_request())) for _ in range(4)]
    assert out[0].parsed is None
    assert out[1].parsed is not None and validate(out[1].parsed, ALLOCATION_SCHEMA)
    assert validate(out[2].parsed, ALLOCATION_SCHEMA) == []
    assert out[3].parsed is None
    with pytest.raises(ValueError, match="unknown stub faults"):
        StubBackend(faults=("explode",))


def test_complete_many_preserves_order() -> None:
    class Jittery(StubBackend):
        async def complete(self, request: CompletionRequest) -> Completion:
            # Later requests finish first, so order must come from the dispatcher.
            await asyncio.sleep(0.001 * (20 - int(request.seed or 0)))
            return await super().complete(request)

    requests = [make_request(i) for i in range(20)]
    out = run(complete_many(Jittery(), requests, concurrency=8))
    expected = [run(StubBackend().complete(r)) for r in requests]
    assert [c.text for c in out] == [c.text for c in expected]


def test_complete_many_propagates_first_error(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("ok", "ok", "500"))

    async def go() -> None:
        backend = FastOpenAICompatibleBackend(server.base_url, "fake-model")
        try:
            await complete_many(backend, [make_request(i) for i in range(10)], concurrency=1)
        finally:
            await backend.aclose()

    with pytest.raises(BackendError, match="server_error"):
        run(go())
    assert server.stats()["chat_requests"] == 3


def test_complete_many_over_http(fake_server: ServerFactory) -> None:
    server = fake_server(latency_s=0.05)

    async def go() -> list[Completion]:
        backend = FastOpenAICompatibleBackend(server.base_url, "fake-model")
        try:
            return await complete_many(backend, [make_request(i) for i in range(200)])
        finally:
            await backend.aclose()

    out = run(go())
    assert len(out) == 200 and all(c.parsed is not None for c in out)
    assert server.stats()["chat_requests"] == 200


def test_fake_server_in_a_process_with_reset() -> None:
    with FakeOpenAIServer(FakeServerConfig(faults=("500",)), process=True) as server:
        assert server.base_url.startswith("http://127.0.0.1:")

        async def once() -> BackendError | Completion:
            backend = FastOpenAICompatibleBackend(server.base_url, "fake-model")
            try:
                return await backend.complete(make_request())
            except BackendError as exc:
                return exc
            finally:
                await backend.aclose()

        assert isinstance(run(once()), BackendError)
        assert run(once()).parsed is not None  # type: ignore[union-attr]
        server.reset(FakeServerConfig(faults=("429",)))
        assert server.stats()["requests"] == 0
        assert isinstance(run(once()), BackendError)
        assert server.stats()["statuses"] == {"429": 1}
    with pytest.raises(OSError):
        server.stats()  # stopped


def test_fake_server_rejects_unknown_faults() -> None:
    with pytest.raises(ValueError, match="unknown faults"):
        FakeServerConfig(faults=("meteor",))
