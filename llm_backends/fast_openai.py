"""High-throughput OpenAI-compatible backend on a lean aiohttp transport.

Same request body, error kinds and messages as the SDK-based
:class:`~llm_backends.openai_compat.OpenAICompatibleBackend` (both go through
:mod:`llm_backends._wire` and :mod:`llm_backends.endpoint`), at a fraction of the CPU per
request: no pydantic response models, no per-request option merging, one pooled
``aiohttp`` session with keep-alive connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from ._wire import build_payload, completion_from_body
from .endpoint import Endpoint, server_message
from .errors import BAD_RESPONSE, CONNECTION, TIMEOUT, BackendError, kind_for_status
from .errors import parse_retry_after as _retry_after
from .limits import DEFAULT_MAX_REPLY_BYTES, BodyReader
from .types import Completion, CompletionRequest

__all__ = ["FastOpenAICompatibleBackend"]

_CHUNK_BYTES = 64 * 1024


class FastOpenAICompatibleBackend(Endpoint):
    """OpenAI-compatible chat completions over a pooled ``aiohttp`` session.

    Parameters
    ----------
    base_url, model, api_key_env, timeout_s, max_reply_bytes
        As for :class:`~llm_backends.openai_compat.OpenAICompatibleBackend`.
    max_connections : int
        Size of the keep-alive connection pool (``TCPConnector(limit=...)``); requests
        beyond it queue inside aiohttp.

    Notes
    -----
    The session is created on first use inside the running event loop, so the backend
    may be constructed anywhere; it must then be used from that one loop.

    Bodies are read in chunks through a :class:`~llm_backends.limits.BodyReader`, so a huge
    body is dropped once it passes the cap instead of being buffered. Replies are requested
    uncompressed and not decompressed: a compression bomb cannot pass the cap, and a server
    that compresses anyway gets ``bad_response``.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_connections: int = 512,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        super().__init__(
            base_url,
            model,
            api_key_env=api_key_env,
            timeout_s=timeout_s,
            max_reply_bytes=max_reply_bytes,
        )
        self.max_connections = max_connections
        self._headers = {
            "Authorization": f"Bearer {self._key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        self._chat_url = f"{self.base_url}/chat/completions"
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections, ttl_dns_cache=300, enable_cleanup_closed=False
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                # The body is bytes we encoded ourselves; skip aiohttp's JSON machinery.
                json_serialize=json.dumps,
                raise_for_status=False,
                auto_decompress=False,
            )
        return self._session

    async def _request(
        self, method: str, url: str, payload: bytes | None, what: str
    ) -> tuple[Any, float]:
        session = self._get_session()
        start = time.perf_counter()
        reader = BodyReader(self.limits, f"{self.base_url}{what}")
        error: BackendError | None = None
        try:
            async with session.request(method, url, data=payload, headers=self._headers) as resp:
                status = resp.status
                headers = resp.headers
                reader.expect(resp.content_length)
                async for chunk in resp.content.iter_chunked(_CHUNK_BYTES):
                    reader.feed(chunk)
        except BackendError as exc:
            # Over the cap: leaving the `async with` early drops the connection unread.
            error = exc
        except TimeoutError:
            error = BackendError(TIMEOUT, f"request to {self.base_url} timed out{what}")
        except (aiohttp.ClientConnectionError, OSError):
            error = BackendError(CONNECTION, f"cannot reach {self.base_url}{what}")
        except aiohttp.ClientError:
            error = BackendError(BAD_RESPONSE, f"unexpected response from {self.base_url}{what}")
        if error is not None:
            # Raised outside the `except` blocks so aiohttp's exception (whose request_info
            # holds our Authorization header) is not chained as __context__.
            raise error
        latency = time.perf_counter() - start
        raw = reader.finish()  # refuses a body nested too deeply before json.loads sees it
        try:
            body: Any = json.loads(raw)
        except (ValueError, RecursionError):
            body = raw[:300].decode("utf-8", "replace")
            if status < 400:
                raise BackendError(
                    BAD_RESPONSE, f"unexpected response from {self.base_url}{what}"
                ) from None
        if status >= 400:
            detail = server_message(body, self._key)
            raise BackendError(
                kind_for_status(status),
                f"HTTP {status} from {self.base_url}{what}: {detail}",
                status=status,
                retry_after=_retry_after(headers),
            )
        return body, latency

    async def complete(self, request: CompletionRequest) -> Completion:
        payload = json.dumps(build_payload(request, model=request.model or self.model))
        what = f" (decision {request.decision!r})"
        body, latency = await self._request("POST", self._chat_url, payload.encode(), what)
        return completion_from_body(
            body, latency, self.limits, f"{self.base_url}{what}", secrets=(self._key,)
        )

    async def list_models(self) -> list[str]:
        """Model ids the endpoint advertises."""
        body, _ = await self._request("GET", f"{self.base_url}/models", None, "")
        try:
            return [str(m["id"]) for m in body["data"]]
        except (KeyError, TypeError):
            raise BackendError(
                BAD_RESPONSE, f"unexpected /models reply from {self.base_url}"
            ) from None

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # Let the connector's transports finish closing before the loop goes away.
            await asyncio.sleep(0)
        self._session = None
