"""Helpers shared by the llm_backends tests (uniquely named so it cannot clash with other
test directories' ``conftest`` modules)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

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
