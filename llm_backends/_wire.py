"""OpenAI chat-completions wire format, shared by the SDK and the aiohttp backends.

Keeping request building and reply reading in one place is what lets the fast transport
promise "same semantics as the reference SDK backend".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .errors import BAD_RESPONSE, BackendError, redact
from .limits import ReplyLimits, check_content
from .types import Completion, CompletionRequest

__all__ = [
    "SCHEMA_IN_PROMPT",
    "build_payload",
    "completion_from_body",
    "is_local_url",
    "response_format",
]

SCHEMA_IN_PROMPT = "Reply with only a JSON object that satisfies this JSON schema:"
"""Opens the line that ``prompt`` mode adds to the system message, followed by the schema."""

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})


def is_local_url(url: str) -> bool:
    """True for loopback endpoints (local servers often need no API key).

    >>> is_local_url("http://127.0.0.1:8000/v1"), is_local_url("https://api.openai.com/v1")
    (True, False)
    """
    host = urlsplit(url).hostname or ""
    return host in _LOCAL_HOSTS


def response_format(request: CompletionRequest) -> dict[str, Any] | None:
    """The ``response_format`` field for ``request``: ``None`` for free text and for
    ``prompt`` mode; ``json_object`` with the schema beside it for servers that constrain
    their grammar with it (llama.cpp) and refuse ``json_schema``; else OpenAI's
    ``json_schema``."""
    if request.json_schema is None or request.structured == "prompt":
        return None
    if request.structured == "json_object":
        return {"type": "json_object", "schema": dict(request.json_schema)}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": request.schema_name,
            "schema": dict(request.json_schema),
            "strict": True,
        },
    }


def build_payload(request: CompletionRequest, model: str | None = None) -> dict[str, Any]:
    """JSON body of ``POST /chat/completions`` for ``request``."""
    messages = [{"role": role, "content": content} for role, content in request.messages]
    if request.structured == "prompt" and request.json_schema is not None:
        _schema_into_prompt(messages, request.json_schema)
    payload: dict[str, Any] = {
        "model": model or request.model,
        "messages": messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.seed is not None:
        payload["seed"] = request.seed
    fmt = response_format(request)
    if fmt is not None:
        payload["response_format"] = fmt
    return payload


def _schema_into_prompt(messages: list[dict[str, str]], schema: Mapping[str, Any]) -> None:
    """Write the schema at the end of the first system message (a new one if there is none):
    in ``prompt`` mode the model reads it instead of the server enforcing it."""
    line = f"{SCHEMA_IN_PROMPT} {json.dumps(schema, separators=(',', ':'))}"
    for message in messages:
        if message["role"] == "system":
            message["content"] = f"{message['content']}\n\n{line}"
            return
    messages.insert(0, {"role": "system", "content": line})


def _parse_content(text: str) -> dict[str, Any] | None:
    # Only json.loads: replies are data. Validation against the schema is the structured
    # layer's job; here we just offer the parsed object when there is one.
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def completion_from_body(
    body: Any,
    latency_s: float,
    limits: ReplyLimits | None = None,
    where: str = "the endpoint",
    secrets: Sequence[str] = (),
) -> Completion:
    """Read a chat-completions response body into a :class:`Completion`.

    ``limits`` bounds the message content (default :class:`~llm_backends.limits.ReplyLimits`);
    ``where`` names the endpoint and decision in error messages. Each of ``secrets`` (the API
    key) is redacted from the content before it is parsed: a server that reflects the key
    must not get it into the cache, ``llm_calls.parquet`` or a log.

    Raises
    ------
    BackendError
        kind ``bad_response`` when the body is not a chat completion; ``invalid_reply`` when
        its content is over ``limits.max_reply_bytes`` or nested too deeply.
    """
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(BAD_RESPONSE, "response has no choices[0].message.content") from None
    if text is None:
        refusal = choice["message"].get("refusal") if isinstance(choice, Mapping) else None
        raise BackendError(BAD_RESPONSE, f"response content is empty (refusal={refusal!r})")
    if not isinstance(text, str):
        raise BackendError(BAD_RESPONSE, "response content is not a string")
    check_content(text, limits or ReplyLimits(), where)
    text = redact(text, secrets)
    usage = body.get("usage")
    return Completion(
        text=text,
        parsed=_parse_content(text),
        prompt_tokens=_token_count(usage, "prompt_tokens"),
        completion_tokens=_token_count(usage, "completion_tokens"),
        latency_s=latency_s,
    )


def _token_count(usage: Any, name: str) -> int:
    # Usage is reported by the endpoint, so it is untrusted too: anything but a non-negative
    # integer counts as unreported (0) rather than crashing the run.
    value = usage.get(name) if isinstance(usage, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if 0 <= value < 2**53 else 0
