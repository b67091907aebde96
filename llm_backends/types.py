"""Value types shared by every backend: the request that goes out and the completion that
comes back.

Both are frozen so a request can be used as a cache identity and a completion can be shared
between the cache, the engine and the run log without defensive copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "CACHE_KEY_VERSION",
    "STRUCTURED_MODES",
    "Completion",
    "CompletionRequest",
    "Message",
]

Message = tuple[str, str]
"""One chat message as ``(role, content)``."""

CACHE_KEY_VERSION = "society-llm-v1"
"""Mixed into every cache key so a change in key semantics never serves stale entries."""


STRUCTURED_MODES = ("json_schema", "json_object", "prompt")
"""How a request asks for its schema, strongest first: OpenAI-style ``response_format``
``json_schema``; ``json_object`` carrying the schema (llama.cpp's server, some vLLM and Ollama
versions); or the schema written into the prompt, with validation and one re-ask."""


def _canonical_json(value: Any) -> str:
    # sort_keys + fixed separators + ensure_ascii make the encoding independent of dict
    # insertion order and of the platform's default encoding.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass(frozen=True)
class CompletionRequest:
    """One structured chat-completion request.

    Parameters
    ----------
    model : str
        Model name sent to the endpoint.
    messages : tuple of (role, content)
        The conversation. Lists are converted to tuples so the request stays immutable.
    json_schema : dict or None
        JSON schema the reply must satisfy; ``None`` asks for free text.
    schema_name : str
        Name sent with the schema (OpenAI requires one).
    temperature : float
    seed : int or None
        Forwarded to the endpoint; also part of the cache key.
    max_tokens : int
    structured : {"json_schema", "json_object", "prompt"}
        How the schema reaches the endpoint (see :data:`STRUCTURED_MODES`). Part of the cache
        key, except for the default ``json_schema``, so caches recorded before modes existed
        still replay.
    decision : str
        Label of the engine decision (e.g. ``"work_allocation"``). Used in logs and error
        messages, *not* in the cache key: two decisions sending identical requests share the
        answer.
    metadata : mapping
        Free-form bookkeeping (instance id, step, ...). Not sent, not in the cache key.

    Examples
    --------
    >>> r = CompletionRequest(model="m", messages=[("user", "hi")], decision="demo")
    >>> r.messages
    (('user', 'hi'),)
    >>> r.cache_key() == CompletionRequest(model="m", messages=(("user", "hi"),)).cache_key()
    True
    >>> len(r.cache_key())
    64
    """

    model: str
    messages: tuple[Message, ...]
    json_schema: Mapping[str, Any] | None = None
    schema_name: str = "reply"
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int = 512
    structured: str = "json_schema"
    decision: str = "unspecified"
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        msgs = tuple((str(role), str(content)) for role, content in self.messages)
        object.__setattr__(self, "messages", msgs)
        if not msgs:
            raise ValueError("CompletionRequest needs at least one message")
        if self.structured not in STRUCTURED_MODES:
            raise ValueError(
                f"structured must be one of {STRUCTURED_MODES}, got {self.structured!r}"
            )

    def key_material(self) -> dict[str, Any]:
        """Return exactly the fields that identify the answer (see :meth:`cache_key`)."""
        material: dict[str, Any] = {
            "v": CACHE_KEY_VERSION,
            "model": self.model,
            "messages": [list(m) for m in self.messages],
            "schema": None
            if self.json_schema is None
            else {"name": self.schema_name, "schema": self.json_schema},
            "temperature": float(self.temperature),
            "seed": self.seed,
            "max_tokens": int(self.max_tokens),
        }
        if self.structured != "json_schema" and self.json_schema is not None:
            # The same schema asked for another way is another request: a grammar-constrained
            # reply and a prompted one differ.
            material["structured"] = self.structured
        return material

    def cache_key(self) -> str:
        """SHA-256 hex digest of the canonical JSON of (model, messages, schema, temperature,
        seed, max_tokens).

        Stable across processes, Python versions and dict orderings; ``decision`` and
        ``metadata`` are deliberately excluded.
        """
        return hashlib.sha256(_canonical_json(self.key_material()).encode()).hexdigest()

    def with_messages(self, *extra: Message) -> CompletionRequest:
        """Return a copy with ``extra`` messages appended (used for re-asks)."""
        return replace(self, messages=self.messages + tuple(extra))


@dataclass(frozen=True)
class Completion:
    """The answer to a :class:`CompletionRequest`, or the record of a fallback.

    Parameters
    ----------
    text : str
        Raw reply content. Untrusted: parse it, never evaluate it.
    parsed : dict or None
        The reply as a JSON object once it has been parsed (and, after
        :func:`~llm_backends.structured.ask_structured`, validated); ``None`` otherwise.
    prompt_tokens, completion_tokens : int
        Usage reported by the endpoint (estimated by the stub).
    latency_s : float
        Wall time of the call that produced the reply (the original call for cache hits).
    cache_hit : bool
        True when no endpoint was paid for this completion.
    retries : int
        Extra attempts spent (transport retries plus re-asks).
    repaired : bool
        True when the reply was a near miss that
        :func:`~llm_backends.repair.repair_reply` mended (a number clamped into its bounds, a
        string cut to its length, an unterminated object closed, ...); ``parsed`` holds the
        mended object. Distinct from ``fallback``: the model's answer is used.
    fallback : bool
        True when the caller must use its stub policy instead of ``parsed``.
    error_kind : str or None
        Why a fallback happened (``"invalid_reply"``, ``"budget_exhausted"``, ...).
    """

    text: str
    parsed: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cache_hit: bool = False
    retries: int = 0
    repaired: bool = False
    fallback: bool = False
    error_kind: str | None = None

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens
