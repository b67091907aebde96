"""LLM backends for society: one small protocol, several backends that wrap each other.

Typical stack for a paid run::

    inner = FastOpenAICompatibleBackend(base_url, model, api_key_env="OPENAI_API_KEY")
    backend = CachedBackend(ResilientBackend(inner, budget=Budget(max_calls=10_000)), cache)
    completions = await complete_many(backend, requests)  # or ask_structured per decision

and for replay ``ReplayBackend(cache)`` in place of the whole stack. The SDK-based
:class:`OpenAICompatibleBackend` is the reference implementation; the HTTP backends are
imported lazily so that stub-only runs never import ``openai`` or ``aiohttp``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cache import CachedBackend, ReplayBackend, ResponseCache
from .dispatch import complete_many
from .errors import (
    BackendError,
    BudgetExhausted,
    CacheCorruptError,
    CacheUnusableError,
    ConfigError,
    ReplayMissError,
)
from .protocol import Backend, FallbackRecorder
from .resilience import Budget, ResilientBackend
from .structured import ask_structured, pydantic_validator
from .stub import StubBackend
from .types import Completion, CompletionRequest
from .validation import validate

if TYPE_CHECKING:
    from .endpoint import CheckResult, EndpointCheckError
    from .fast_openai import FastOpenAICompatibleBackend
    from .openai_compat import OpenAICompatibleBackend

__all__ = [
    "Backend",
    "BackendError",
    "Budget",
    "BudgetExhausted",
    "CacheCorruptError",
    "CacheUnusableError",
    "CachedBackend",
    "CheckResult",
    "Completion",
    "CompletionRequest",
    "ConfigError",
    "EndpointCheckError",
    "FallbackRecorder",
    "FastOpenAICompatibleBackend",
    "OpenAICompatibleBackend",
    "ReplayBackend",
    "ReplayMissError",
    "ResilientBackend",
    "ResponseCache",
    "StubBackend",
    "ask_structured",
    "complete_many",
    "pydantic_validator",
    "validate",
]

_LAZY = {
    "OpenAICompatibleBackend": "openai_compat",
    "FastOpenAICompatibleBackend": "fast_openai",
    "CheckResult": "endpoint",
    "EndpointCheckError": "endpoint",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llm_backends' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
