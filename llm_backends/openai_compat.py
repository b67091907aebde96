"""Reference backend: the official ``openai`` SDK's ``AsyncOpenAI`` client.

Correct and well-tested, but it spends ~3 ms of CPU per request; see
:mod:`llm_backends.fast_openai` for the high-throughput transport with identical semantics.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from functools import cache
from typing import Any

import openai

from ._wire import build_payload, completion_from_body
from .endpoint import Endpoint, server_message
from .errors import (
    BAD_RESPONSE,
    CONNECTION,
    TIMEOUT,
    BackendError,
    kind_for_status,
    parse_retry_after,
)
from .limits import DEFAULT_MAX_REPLY_BYTES, BodyReader, ReplyLimits
from .types import Completion, CompletionRequest

__all__ = ["OpenAICompatibleBackend"]

# The decision a request belongs to, for error messages raised from inside the SDK's HTTP
# client (the response hook runs in the task that called the SDK, so it sees this value).
_WHAT: ContextVar[str] = ContextVar("_WHAT", default="")


@cache
def _bounded_stream_type(byte_stream: type) -> type:
    """A subclass of the HTTP library's ``AsyncByteStream`` (``httpx`` or ``httpx2``, whichever
    the installed SDK uses) that feeds every chunk through a :class:`BodyReader`."""

    class BoundedStream(byte_stream):
        def __init__(self, inner: Any, reader: BodyReader) -> None:
            self._inner = inner
            self._reader = reader

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._inner:
                self._reader.feed(chunk)
                yield chunk
            self._reader.finish()

        async def aclose(self) -> None:
            await self._inner.aclose()

    return BoundedStream


def _detached(error: BackendError) -> BackendError:
    """``error`` without the exceptions it was raised during: the SDK's hold the request,
    whose headers carry the API key."""
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    return error


def _bounding_hook(limits: ReplyLimits, base_url: str) -> Callable[[Any], Awaitable[None]]:
    """An httpx ``response`` event hook that bounds the body the SDK is about to read.

    It runs once the headers are in and before the body is read, and swaps the response's
    byte stream for one that refuses the body as soon as it passes the cap (and checks its
    nesting depth at the end), so the SDK never buffers or parses a hostile body. The hook
    sees raw bytes, so compressed bodies are refused: we ask for ``identity``.
    """

    async def hook(response: Any) -> None:
        where = f"{base_url}{_WHAT.get()}"
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise BackendError(
                BAD_RESPONSE,
                f"unexpected response from {where}: body compressed with {encoding!r} although "
                "an uncompressed one was asked for",
            )
        reader = BodyReader(limits, where)
        declared = response.headers.get("content-length", "")
        reader.expect(int(declared) if declared.isdigit() else None)
        http = sys.modules[type(response).__module__.partition(".")[0]]
        response.stream = _bounded_stream_type(http.AsyncByteStream)(response.stream, reader)

    return hook


class OpenAICompatibleBackend(Endpoint):
    """Any OpenAI-compatible chat-completions endpoint, through ``AsyncOpenAI``.

    Parameters
    ----------
    base_url : str
        E.g. ``"https://api.openai.com/v1"`` or ``"http://127.0.0.1:8000/v1"``.
    model : str
        Default model: used by :meth:`check` and for requests whose ``model`` is empty.
    api_key_env : str
        Name of the environment variable holding the key. Required (non-empty) for
        non-local URLs; the key itself is never logged, cached or put in a message.
    timeout_s : float
        SDK-level request timeout.
    max_reply_bytes : int
        Largest message content accepted, in UTF-8 bytes; bodies are capped at 8 x this
        + 64 KiB and read incrementally (see :mod:`llm_backends.limits`). A reply over a
        bound is refused with kind ``invalid_reply``.

    Notes
    -----
    The SDK's own retries are disabled (``max_retries=0``):
    :class:`~llm_backends.resilience.ResilientBackend` owns the retry policy, so attempts
    are counted and budgeted in one place.

    Raises
    ------
    ConfigError
        If ``api_key_env`` is unset for a non-local URL.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        super().__init__(
            base_url,
            model,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            max_reply_bytes=max_reply_bytes,
        )
        http_client = openai.DefaultAsyncHttpxClient(
            event_hooks={"response": [_bounding_hook(self.limits, self.base_url)]}
        )
        self._client = openai.AsyncOpenAI(
            api_key=self._key,
            base_url=self.base_url,
            timeout=timeout_s,
            max_retries=0,
            default_headers={"Accept-Encoding": "identity"},
            http_client=http_client,
        )

    def _error(self, exc: Exception, request: CompletionRequest | None) -> BackendError:
        what = f" (decision {request.decision!r})" if request is not None else ""
        if isinstance(exc.__cause__, BackendError):
            # Our response hook refused the body; older SDKs wrap that in APIConnectionError.
            return _detached(exc.__cause__)
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(TIMEOUT, f"request to {self.base_url} timed out{what}")
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(CONNECTION, f"cannot reach {self.base_url}{what}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            headers = dict(exc.response.headers.items())
            detail = server_message(exc.body, self._key)
            return BackendError(
                kind_for_status(status),
                f"HTTP {status} from {self.base_url}{what}: {detail}",
                status=status,
                retry_after=parse_retry_after(headers),
            )
        # APIResponseValidationError and friends: the endpoint spoke, but not OpenAI.
        return BackendError(BAD_RESPONSE, f"unexpected response from {self.base_url}{what}")

    async def complete(self, request: CompletionRequest) -> Completion:
        payload = build_payload(request, model=request.model or self.model)
        what = f" (decision {request.decision!r})"
        start = time.perf_counter()
        error: BackendError | None = None
        token = _WHAT.set(what)
        try:
            response = await self._client.chat.completions.create(**payload)
        except BackendError as exc:  # refused by the response hook
            error = _detached(exc)
        except openai.OpenAIError as exc:
            error = self._error(exc, request)
        finally:
            _WHAT.reset(token)
        if error is not None:
            # Raised outside the `except` block so the SDK exception is neither __cause__ nor
            # __context__: it holds the request (whose headers carry the key) and the raw
            # server message (which may echo it).
            raise error
        latency = time.perf_counter() - start
        body: Any = response.model_dump() if hasattr(response, "model_dump") else response
        return completion_from_body(
            body, latency, self.limits, f"{self.base_url}{what}", secrets=(self._key,)
        )

    async def list_models(self) -> list[str]:
        """Model ids the endpoint advertises."""
        try:
            page = await self._client.models.list()
        except BackendError as exc:  # refused by the response hook
            error = _detached(exc)
        except openai.OpenAIError as exc:
            error = self._error(exc, None)
        else:
            return [m.id for m in page.data]
        raise error  # outside `except`: see complete()

    async def aclose(self) -> None:
        await self._client.close()
