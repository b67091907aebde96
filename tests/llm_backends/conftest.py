"""Fixtures: a real fake-OpenAI server on 127.0.0.1 and a sentinel API key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from llm_helpers import SENTINEL_KEY

from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig


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
