"""Reference backend: the official ``openai`` SDK's ``AsyncOpenAI`` client.

Correct and well-tested, but it spends ~3 ms of CPU per request; see
:mod:`llm_backends.fast_openai` for the high-throughput transport with identical semantics.
"""

from __future__ import annotations

import time
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
from .types import Completion, CompletionRequest

__all__ = ["OpenAICompatibleBackend"]


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
    ) -> None:
        super().__init__(base_url, model, api_key_env=api_key_env, timeout_s=timeout_s)
        self._client = openai.AsyncOpenAI(
            api_key=self._key, base_url=self.base_url, timeout=timeout_s, max_retries=0
        )

    def _error(self, exc: Exception, request: CompletionRequest | None) -> BackendError:
        what = f" (decision {request.decision!r})" if request is not None else ""
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
        start = time.perf_counter()
        error: BackendError | None = None
        try:
            response = await self._client.chat.completions.create(**payload)
        except openai.OpenAIError as exc:
            error = self._error(exc, request)
        if error is not None:
            # Raised outside the `except` block so the SDK exception is neither __cause__ nor
            # __context__: it holds the request (whose headers carry the key) and the raw
            # server message (which may echo it).
            raise error
        latency = time.perf_counter() - start
        body: Any = response.model_dump() if hasattr(response, "model_dump") else response
        return completion_from_body(body, latency)

    async def list_models(self) -> list[str]:
        """Model ids the endpoint advertises."""
        try:
            page = await self._client.models.list()
        except openai.OpenAIError as exc:
            error = self._error(exc, None)
        else:
            return [m.id for m in page.data]
        raise error  # outside `except`: see complete()

    async def aclose(self) -> None:
        await self._client.close()
