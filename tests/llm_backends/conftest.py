"""Shared fixtures: a real fake-OpenAI server on 127.0.0.1 and small request builders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from llm_backends.types import CompletionRequest

T = TypeVar("T")

SENTINEL_KEY = "sk-SENTINEL-7f3a9c1e-never-log-me"

ALLOCATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "allocation": {"type": "number", "minimum": 0, "maximum": 1},
        "task": {"enum": ["research", "audit", "deploy"]},
        "reason": {"type": "string", "maxLength": 80},
    },
    "required": ["allocation", "task", "reason"],
    "additionalProperties": False,
}


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop (no pytest-asyncio needed)."""
    return asyncio.run(coro)


def make_request(i: int = 0, **overrides: Any) -> CompletionRequest:
    fields: dict[str, Any] = {
        "model": "fake-model",
        "messages": (("system", "You are a simulated AI instance."), ("user", f"Decide #{i}.")),
        "json_schema": ALLOCATION_SCHEMA,
        "schema_name": "work_allocation",
        "seed": i,
        "decision": "work_allocation",
    }
    fields.update(overrides)
    return CompletionRequest(**fields)


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Factory: ``fake_server(faults=("500",), latency_s=0.01)`` -> a started server.

    Every server started through the factory is stopped at teardown.
    """
    started: list[FakeOpenAIServer] = []

    def start(**config: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(FakeServerConfig(**config)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sentinel_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Put the sentinel key in ``SOCIETY_TEST_KEY`` and return the variable name."""
    monkeypatch.setenv("SOCIETY_TEST_KEY", SENTINEL_KEY)
    return "SOCIETY_TEST_KEY"
