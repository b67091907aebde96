"""What the two OpenAI-compatible backends share: API-key resolution, error wording and
the ``check()`` probe used by ``society llm check``."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import AUTH, CONNECTION, NOT_FOUND, TIMEOUT, BackendError, ConfigError, redact
from .limits import DEFAULT_MAX_REPLY_BYTES, ReplyLimits
from .negotiate import NegotiationInconclusive, negotiate, refuses_format
from .types import Completion, CompletionRequest
from .validation import parse_json_object, validate

__all__ = [
    "CheckResult",
    "Endpoint",
    "EndpointCheckError",
    "FormatRefused",
    "check_endpoint",
    "resolve_api_key",
]

LOCAL_PLACEHOLDER_KEY = "sk-local-no-key"
"""Sent to loopback endpoints when no key is configured (local servers ignore it)."""

CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok"]},
        "number": {"type": "integer", "minimum": 1, "maximum": 9},
    },
    "required": ["status", "number"],
    "additionalProperties": False,
}


def resolve_api_key(api_key_env: str, *, local: bool) -> str:
    """Read the API key from the environment variable named ``api_key_env``.

    Raises
    ------
    ConfigError
        When the variable is unset or empty and the endpoint is not local. The message
        names the variable, never a value.
    """
    key = os.environ.get(api_key_env, "")
    if key:
        return key
    if local:
        return LOCAL_PLACEHOLDER_KEY
    raise ConfigError(
        f"environment variable {api_key_env} is not set; it must hold the API key for this "
        "non-local endpoint"
    )


def server_message(body: Any, secret: str) -> str:
    """The ``error.message`` of an error body (or a short excerpt), with the key redacted."""
    message: Any = body
    if isinstance(body, dict):
        err = body.get("error", body)
        message = err.get("message", err) if isinstance(err, dict) else err
    text = str(message)
    if len(text) > 300:
        text = text[:300] + "..."
    return redact(text, [secret])


class _Probeable(Protocol):
    base_url: str
    model: str
    api_key_env: str

    async def complete(self, request: CompletionRequest) -> Completion: ...

    async def list_models(self) -> list[str]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class CheckResult:
    """Outcome of :func:`check_endpoint`.

    ``structured`` is the mode the check used: the one asked for, or with ``"auto"`` the
    strongest the endpoint enforces (``negotiation`` says what each stronger mode did).
    ``schema_honoured`` is False when the endpoint answered but the reply broke the check's
    schema; runs still work then, through repairs, re-asks and fallbacks, but cost more.
    """

    base_url: str
    model: str
    latency_s: float
    schema_honoured: bool
    reply: str
    prompt_tokens: int
    completion_tokens: int
    structured: str = "json_schema"
    negotiation: str = ""


class EndpointCheckError(BackendError):
    """The endpoint is unusable; the message says why in one line."""


class FormatRefused(EndpointCheckError):
    """The endpoint refused the structured mode it was asked to use (``auto`` avoids it)."""


async def check_endpoint(backend: _Probeable, structured: str = "auto") -> CheckResult:
    """Send one small structured request through ``backend`` and report on it.

    With ``structured="auto"`` the endpoint is first probed for the strongest structured
    mode it enforces (:func:`~llm_backends.negotiate.negotiate`); the check then uses it.

    Raises
    ------
    EndpointCheckError
        Dead endpoint, wrong model, rejected key or timeout, with a message naming the URL,
        the model and the API-key variable (never the key).
    NegotiationInconclusive
        With ``"auto"``, when no probe of a mode was answered cleanly.
    """
    start = time.perf_counter()
    try:
        negotiation = ""
        if structured == "auto":
            chosen = await negotiate(backend, backend.model)
            structured, negotiation = chosen.mode, chosen.explain()
        start = time.perf_counter()
        completion = await backend.complete(_check_request(backend.model, structured))
    except NegotiationInconclusive:
        raise  # the endpoint answered, only never cleanly: not a verdict on the endpoint
    except BackendError as exc:
        raise await _unusable(backend, exc, structured) from None
    latency = time.perf_counter() - start
    obj, _problem = parse_json_object(completion.text)
    honoured = obj is not None and not validate(obj, CHECK_SCHEMA)
    return CheckResult(
        base_url=backend.base_url,
        model=backend.model,
        latency_s=latency,
        schema_honoured=honoured,
        reply=completion.text[:200],
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        structured=structured,
        negotiation=negotiation,
    )


def _check_request(model: str, structured: str) -> CompletionRequest:
    return CompletionRequest(
        model=model,
        messages=(
            ("system", "You are a health check. Reply with JSON only."),
            ("user", 'Reply with {"status": "ok", "number": 7}.'),
        ),
        json_schema=CHECK_SCHEMA,
        schema_name="health_check",
        max_tokens=32,
        structured=structured,
        decision="llm_check",
    )


async def _unusable(backend: _Probeable, exc: BackendError, structured: str) -> EndpointCheckError:
    """The check's one-line verdict on an endpoint that failed it."""
    where = f"{backend.base_url} (model {backend.model!r})"
    detail = exc.message
    if refuses_format(exc):
        return FormatRefused(
            exc.kind,
            f"{where} refuses structured mode {structured!r} (HTTP {exc.status}): {detail}",
            status=exc.status,
        )
    if exc.kind == CONNECTION:
        msg = f"cannot connect to {backend.base_url}: is the server running? ({detail})"
    elif exc.kind == AUTH:
        msg = (
            f"{backend.base_url} rejected the API key from environment variable "
            f"{backend.api_key_env} (HTTP {exc.status}): {detail}"
        )
    elif exc.kind == NOT_FOUND:
        msg = f"model {backend.model!r} not found at {backend.base_url}"
        try:
            names = await backend.list_models()
        except BackendError:
            names = []
        if names:
            shown = ", ".join(sorted(names)[:10])
            msg += f"; available models: {shown}"
    elif exc.kind == TIMEOUT:
        msg = f"no reply from {where}: {detail}"
    else:
        msg = f"{where} failed the check: {detail}"
    return EndpointCheckError(exc.kind, msg, status=exc.status)


class Endpoint:
    """What both OpenAI-compatible backends are: a base URL, a model, a key read once from
    the environment variable ``api_key_env``, and the bounds on what the endpoint may send
    back (``max_reply_bytes``, see :mod:`llm_backends.limits`). The key lives only in
    ``_key``; ``repr`` names the variable, never the value."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        from ._wire import is_local_url

        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.limits = ReplyLimits(max_reply_bytes=max_reply_bytes)
        self._key = resolve_api_key(api_key_env, local=is_local_url(self.base_url))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    async def check(self, structured: str = "auto") -> CheckResult:
        """Probe the endpoint (see :func:`check_endpoint`)."""
        # Every concrete subclass adds the complete() and list_models() the probe calls.
        return await check_endpoint(self, structured)  # type: ignore[arg-type]
