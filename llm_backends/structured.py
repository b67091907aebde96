"""Ask for a structured reply, validate it, mend a near miss, re-ask once, and fall back
cleanly."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import FALLBACK_KINDS, INVALID_REPLY, BackendError
from .protocol import Backend, FallbackRecorder
from .repair import repair_reply
from .types import Completion, CompletionRequest
from .validation import Validator, parse_json_object, resolve_ref, schema_validator

__all__ = ["ask_structured", "pydantic_validator", "reask_request", "reply_token_budget"]

_QUOTE_LIMIT = 1500
_MARKER_LIMIT = 300


def pydantic_validator(model: type[BaseModel]) -> Validator:
    """A :data:`~llm_backends.validation.Validator` backed by a pydantic model.

    >>> from pydantic import BaseModel
    >>> class Alloc(BaseModel):
    ...     share: float
    >>> pydantic_validator(Alloc)({"share": "x"})[0].startswith("share:")
    True
    """

    def _validate(obj: dict[str, Any]) -> list[str]:
        try:
            model.model_validate(obj)
        except ValidationError as exc:
            return [
                f"{'.'.join(str(p) for p in err['loc']) or '$'}: {err['msg']}"
                for err in exc.errors(include_url=False, include_input=False)
            ]
        return []

    return _validate


# Tokens, counted conservatively for BPE tokenizers: every character of a number, sign or
# punctuation may be its own token ("-2, " is 3-4); prose runs about 4 characters a token, and
# a free string gets 1 token per 2 characters in case it is not prose.
_STRING_CHARS_PER_TOKEN = 2
_FREE_STRING_CHARS = 200
_FREE_ARRAY_ITEMS = 8
_MARGIN = 8


def reply_token_budget(schema: Mapping[str, Any]) -> int:
    """Tokens the longest reply ``schema`` allows can take, with a margin: the ``max_tokens``
    a structured request needs. Sized from the schema so a valid reply is not cut off, and a
    runaway one stops early (free strings without ``maxLength`` count as 200 characters,
    arrays without ``maxItems`` as 8 items). Checked against SmolLM2's tokenizer in
    ``tests/society/test_real_llm.py``.

    >>> reply_token_budget({"type": "object", "properties": {"x": {"enum": [0, 10]},
    ...     "why": {"type": "string", "maxLength": 60}}})
    54
    """
    return _reply_tokens(schema, schema, 0) + _MARGIN


def _reply_tokens(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> int:  # noqa: PLR0911
    schema = resolve_ref(schema, root)
    if "const" in schema:
        return len(json.dumps(schema["const"]))
    if "enum" in schema:
        return max((len(json.dumps(m)) for m in schema["enum"]), default=4)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives and depth < 16:
        return max(_reply_tokens(s, root, depth + 1) for s in alternatives)
    typ = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "object" and depth < 16:
        props: Mapping[str, Any] = schema.get("properties", {})
        # '"name": value, ' per member: the name in pieces of about 3 characters, 4 tokens of
        # quotes, colon, comma and space; inside '{}'.
        return 2 + sum(
            math.ceil(len(n) / 3) + 4 + _reply_tokens(s, root, depth + 1) for n, s in props.items()
        )
    if typ == "array" and depth < 16:
        items = schema.get("items", {"type": "string"})
        count = int(schema.get("maxItems", _FREE_ARRAY_ITEMS))
        return 2 + count * (_reply_tokens(items, root, depth + 1) + 2)
    if typ == "string":
        chars = int(schema.get("maxLength", _FREE_STRING_CHARS))
        return math.ceil(chars / _STRING_CHARS_PER_TOKEN) + 2
    return {"integer": 6, "number": 10, "boolean": 2, "null": 2}.get(str(typ), 10)


def _both(first: Validator, second: Validator) -> Validator:
    """``first``'s problems, or ``second``'s when there are none."""

    def _validate(obj: dict[str, Any]) -> list[str]:
        return first(obj) or second(obj)

    return _validate


def _problems(text: str, validator: Validator | None) -> tuple[dict[str, Any] | None, list[str]]:
    obj, problem = parse_json_object(text)
    if obj is None:
        return None, [problem or "reply is not a JSON object"]
    errors = validator(obj) if validator is not None else []
    return (obj, []) if not errors else (None, errors)


def reask_request(request: CompletionRequest, reply: str, errors: list[str]) -> CompletionRequest:
    """The follow-up request quoting the invalid ``reply`` and its validation ``errors``."""
    quoted = reply if len(reply) <= _QUOTE_LIMIT else reply[:_QUOTE_LIMIT] + "...(truncated)"
    problems = "; ".join(errors[:5])
    return request.with_messages(
        ("assistant", quoted),
        (
            "user",
            f"Your reply was invalid: {problems}. Reply again with only a JSON object that "
            "satisfies the schema, with no other text.",
        ),
    )


def _fallback(kind: str, text: str, spent: list[Completion], retries: int) -> Completion:
    return Completion(
        text=text,
        parsed=None,
        prompt_tokens=sum(c.prompt_tokens for c in spent),
        completion_tokens=sum(c.completion_tokens for c in spent),
        latency_s=sum(c.latency_s for c in spent),
        cache_hit=bool(spent) and all(c.cache_hit for c in spent),
        retries=retries,
        fallback=True,
        error_kind=kind,
    )


async def ask_structured(
    backend: Backend,
    request: CompletionRequest,
    validator: Validator | type[BaseModel] | None = None,
    *,
    recorder: FallbackRecorder | None = None,
    repair: bool = True,
) -> Completion:
    """Send ``request`` and return a validated completion or a fallback.

    Parameters
    ----------
    backend : Backend
    request : CompletionRequest
    validator : callable, pydantic model class or None
        Checks the parsed reply. A pydantic model is checked after the request's
        ``json_schema`` (whose types are exact: ``true`` is not an integer). Defaults to the
        ``json_schema`` alone (any JSON object when there is none).
    recorder : FallbackRecorder or None
        Where fallbacks are persisted for replay. Defaults to ``backend`` when it has a
        ``record_fallback`` method (e.g. :class:`~llm_backends.cache.CachedBackend`).
    repair : bool
        Offer an invalid reply to :func:`~llm_backends.repair.repair_reply` (against the
        request's ``json_schema``) before re-asking; a mended reply that passes
        ``validator`` is returned with ``repaired=True``. The mend is a pure function of the
        reply, so replay re-derives it from the cached text.

    Returns
    -------
    Completion
        Either ``parsed`` holds the validated object (``repaired`` says whether it was
        mended), or ``fallback`` is true and
        ``error_kind`` says why (``"invalid_reply"`` after one failed re-ask, or at once when
        the transport refused the reply as over ``llm.max_reply_bytes`` or nested too deeply;
        or the transport kind such as ``"budget_exhausted"``, ``"rate_limited"``,
        ``"timeout"``). ``retries`` adds transport retries and the re-ask. The text of a
        transport fallback is the error message (at most 300 characters), not a reply.

    Raises
    ------
    BackendError
        For kinds that signal misconfiguration rather than bad luck (``auth``,
        ``not_found``, ``replay_miss``, ``cache_corrupt``): falling back would hide them.
    """
    check: Validator | None
    if isinstance(validator, type):
        check = pydantic_validator(validator)
        if request.json_schema is not None:
            # The schema sent is the contract: pydantic's lax mode would take true or 7.0 for
            # an integer enum (equal to 1 and 7), which a grammar never emits.
            check = _both(schema_validator(request.json_schema), check)
    elif validator is not None:
        check = validator
    elif request.json_schema is not None:
        check = schema_validator(request.json_schema)
    else:
        check = None
    if recorder is None and isinstance(backend, FallbackRecorder):
        recorder = backend

    spent: list[Completion] = []
    current = request
    retries = 0
    for round_ in range(2):
        try:
            completion = await backend.complete(current)
        except BackendError as exc:
            if exc.kind not in FALLBACK_KINDS:
                raise
            # The fallback's text is a short marker saying why (never a refused body), so
            # a hostile reply costs the cache a few hundred bytes, not megabytes.
            fb = _fallback(exc.kind, str(exc)[:_MARKER_LIMIT], spent, retries + exc.retries)
            if recorder is not None:
                # Keyed by the request that failed (the re-ask in round 1), which is exactly
                # the lookup replay will make.
                recorder.record_fallback(current, fb)
            return fb
        if completion.fallback:
            # A recorded fallback (replay or resumed run): reproduce it exactly.
            return completion
        spent.append(completion)
        retries += completion.retries
        obj, errors = _problems(completion.text, check)
        if obj is not None:
            return replace(completion, parsed=obj, retries=retries)
        if repair and request.json_schema is not None:
            mended, _notes = repair_reply(completion.text, request.json_schema)
            if mended is not None and not (check(mended) if check is not None else []):
                return replace(completion, parsed=mended, retries=retries, repaired=True)
        if round_ == 0:
            retries += 1
            current = reask_request(request, completion.text, errors)
    # The invalid replies themselves are cached, so replay re-derives this fallback.
    return _fallback(INVALID_REPLY, spent[-1].text, spent, retries)
