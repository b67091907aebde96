"""The one protocol every backend implements.

Backends compose by wrapping (``CachedBackend(ResilientBackend(FastOpenAICompatibleBackend
(...)))``), in the style of httpx transports: each layer adds one concern and forwards the
rest.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .types import Completion, CompletionRequest

__all__ = ["Backend", "FallbackRecorder"]


@runtime_checkable
class Backend(Protocol):
    """Something that answers :class:`~llm_backends.types.CompletionRequest` objects.

    ``complete`` either returns a :class:`~llm_backends.types.Completion` or raises
    :class:`~llm_backends.errors.BackendError`; it never returns partial garbage silently.
    ``aclose`` releases connections and files and is idempotent.
    """

    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class FallbackRecorder(Protocol):
    """Optional capability: persist a fallback so replay reproduces it exactly."""

    def record_fallback(self, request: CompletionRequest, completion: Completion) -> None: ...
