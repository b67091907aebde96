"""Mend near-miss replies: the documented repair policy for structured replies.

Small models, and servers that only constrain part of a schema, often send a reply that is
*almost* valid: a share of 1.2, ``"confidence": 7.0`` for an integer, a rationale one sentence
too long, or an object cut off by ``max_tokens`` in its last string. Re-asking costs a call
and rarely helps a small model; throwing the answer away wastes one that was paid for. So a
reply that fails validation is first offered to :func:`repair_reply`, which applies only
these mends, each named in the notes it returns:

- **unterminated object**: a reply cut off (usually by ``max_tokens``) inside a string is
  closed there; a member the cut went through otherwise (a number, an array) is dropped, and
  if it was required the reply stays invalid;
- **text around the object**: prose or a code fence around one JSON object is dropped;
- **control characters** (raw newlines) inside strings are accepted;
- **out of bounds**: a number outside ``minimum``/``maximum`` is clamped to the bound (never
  NaN or an infinity, which stay invalid);
- **not an integer**: a whole float (``7.0``) becomes ``7``; other floats round;
- **not in the enum**: a number becomes the nearest numeric member; a string matches a
  member ignoring case and surrounding spaces;
- **numbers or booleans written as strings** (``"0.5"``, ``"true"``) are converted;
- **too long**: a string is cut to ``maxLength``, an array to ``maxItems``;
- **unexpected property** (with ``additionalProperties: false``) is dropped;
- **missing free text**: a missing required string property without ``minLength`` or
  ``enum`` (a rationale cut off with the reply) becomes ``""``.

Anything else (a missing number, a wrong choice between enum strings, an array too short)
is not guessed at: the reply stays invalid, and the caller re-asks or falls back. A repaired
reply is marked ``repaired`` (:class:`~llm_backends.types.Completion`), never silently
passed off as the model's own valid answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .validation import resolve_ref, validate

__all__ = ["close_truncated", "repair_reply"]

_MAX_CUTS = 64
_STRICT = json.JSONDecoder()
_LENIENT = json.JSONDecoder(strict=False)  # raw newlines inside strings
_SCALAR_TAIL = frozenset("0123456789+-.eEtrufalsn")  # the end of a number, true, false, null


def repair_reply(text: str, schema: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """Mend ``text`` toward ``schema``: ``(object, notes)`` when the mended reply is valid,
    ``(None, notes)`` when it is beyond the policy above.

    Examples
    --------
    >>> s = {"type": "object", "additionalProperties": False, "required": ["share", "why"],
    ...      "properties": {"share": {"type": "number", "minimum": 0, "maximum": 1},
    ...                     "why": {"type": "string", "maxLength": 10}}}
    >>> mended, notes = repair_reply('{"share": 2.5, "why": "because it is', s)
    >>> mended
    {'share': 1, 'why': 'because it'}
    >>> notes
    ['unterminated object closed', 'share: 2.5 clamped to 1', 'why: cut to 10 characters']
    >>> repair_reply('{"why": "x"}', s)[0] is None
    True
    """
    notes: list[str] = []
    obj = _parse(text, notes)
    if obj is None:
        return None, notes
    mended = _coerce(obj, schema, schema, "", notes)
    if not isinstance(mended, dict) or validate(mended, schema):
        return None, notes
    return mended, notes


def _unfenced(text: str) -> str:
    """``text`` without a Markdown code fence around it (plain string tests: a regex here
    backtracks quadratically on long runs of spaces, and replies are up to 64 KiB)."""
    body = text.strip()
    if body.startswith("```"):
        body = body[3:].lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if body.endswith("```"):
        body = body[:-3]
    return body.strip()


def _parse(text: str, notes: list[str]) -> dict[str, Any] | None:
    body = _unfenced(text)
    start = body.find("{")
    if start < 0:
        notes.append("no JSON object in the reply")
        return None
    if start > 0:
        notes.append("text before the object dropped")
        body = body[start:]
    decoded = _decode(body)
    if decoded is None:
        closed = close_truncated(body)
        if closed is None:
            notes.append("reply is not a JSON object and cannot be closed")
            return None
        notes.append("unterminated object closed")
        return closed
    obj, end, lenient = decoded
    if body[end:].strip():
        notes.append("text after the object dropped")
    if not isinstance(obj, dict):
        return None
    if lenient:
        notes.append("control characters inside strings accepted")
    return obj


def _decode(body: str) -> tuple[Any, int, bool] | None:
    """``(value, end, lenient)`` of the JSON value opening ``body``; ``lenient`` when it only
    parses with raw control characters (newlines) allowed inside strings."""
    for decoder, lenient in ((_STRICT, False), (_LENIENT, True)):
        try:
            obj, end = decoder.raw_decode(body)
        except (ValueError, RecursionError):
            continue
        return obj, end, lenient
    return None


def close_truncated(text: str) -> dict[str, Any] | None:
    """The object a reply cut off mid-way most plausibly meant, or None.

    Closes an open string and the open braces; when the result does not parse (a key
    without its value, a dangling comma), cuts back to the last complete member and closes
    there. A number, ``true``/``false``/``null`` or an array the cut went through is dropped,
    never closed: ``1`` may have been the start of ``10``, and a shorter array is another
    answer.

    >>> close_truncated('{"a": 1, "b": "half a sent')
    {'a': 1, 'b': 'half a sent'}
    >>> close_truncated('{"a": 1, "b": ')
    {'a': 1}
    >>> close_truncated('{"a": "x", "n": 1')
    {'a': 'x'}
    >>> close_truncated('{"a": "x", "list": [1, 2')
    {'a': 'x'}
    >>> close_truncated('[1, 2') is None
    True
    """
    if not text.startswith("{"):
        return None
    stack: list[str] = []
    in_string = escaped = False
    cuts: list[tuple[int, str]] = []  # (position of a comma, closers needed there)
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if not stack:
                return None
            stack.pop()
        elif ch == ",":
            cuts.append((i, "".join(reversed(stack))))
    tail = text[:-1] if escaped else text
    candidates = []
    in_scalar = not in_string and text.rstrip()[-1:] in _SCALAR_TAIL
    if not in_scalar and "]" not in stack:
        candidates.append(tail + ('"' if in_string else "") + "".join(reversed(stack)))
    candidates += [
        text[:pos] + closers for pos, closers in reversed(cuts[-_MAX_CUTS:]) if "]" not in closers
    ]
    for candidate in candidates:
        try:
            obj = json.loads(candidate, strict=False)
        except (ValueError, RecursionError):
            continue
        return obj if isinstance(obj, dict) else None
    return None


def _coerce(  # noqa: PLR0911 (one branch per mend)
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, notes: list[str]
) -> Any:
    schema = resolve_ref(schema, root)
    where = path or "$"
    typ = schema.get("type")
    enum = schema.get("enum")
    if typ in ("number", "integer") or (enum and all(_is_number(v) for v in enum)):
        value = _number_from_string(value, where, notes)
        if not _is_number(value) or not math.isfinite(value):
            return value  # NaN, Infinity or 1e400 is nobody's near miss
        members = [m for m in enum or () if _is_number(m)]
        if members:
            nearest = min(members, key=lambda m: (abs(m - value), m))
            if nearest != value:
                notes.append(f"{where}: {_show(value)} not allowed, nearest is {nearest}")
            elif type(nearest) is not type(value):
                notes.append(f"{where}: {_show(value)} read as {nearest}")
            return nearest
        if typ == "integer" and isinstance(value, float):
            rounded = round(value) if math.isfinite(value) else value
            if rounded != value:
                notes.append(f"{where}: {_show(value)} rounded to {rounded}")
            value = rounded
        return _clamp(value, schema, where, notes)
    if enum and isinstance(value, str) and value not in enum:
        for member in enum:
            if isinstance(member, str) and member.lower() == value.strip().lower():
                notes.append(f"{where}: {_show(value)} read as {member!r}")
                return member
        return value
    if typ == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        notes.append(f"{where}: string {_show(value)} read as a boolean")
        return value.strip().lower() == "true"
    if typ == "string" and isinstance(value, str):
        limit = schema.get("maxLength")
        if isinstance(limit, int) and len(value) > limit:
            notes.append(f"{where}: cut to {limit} characters")
            return value[:limit]
        return value
    if typ == "array" and isinstance(value, list):
        limit = schema.get("maxItems")
        if isinstance(limit, int) and len(value) > limit:
            notes.append(f"{where}: cut to {limit} items")
            value = value[:limit]
        items = schema.get("items")
        if isinstance(items, Mapping):
            value = [_coerce(v, items, root, f"{where}[{i}]", notes) for i, v in enumerate(value)]
        return value
    if isinstance(value, dict) and (typ == "object" or "properties" in schema):
        return _coerce_object(value, schema, root, path, notes)
    return value


def _coerce_object(
    value: dict[str, Any],
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    path: str,
    notes: list[str],
) -> dict[str, Any]:
    props: Mapping[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, item in value.items():
        sub_path = f"{path}.{name}" if path else name
        if name in props:
            out[name] = _coerce(item, props[name], root, sub_path, notes)
        elif schema.get("additionalProperties", True) is False:
            notes.append(f"{path or '$'}: unexpected property {name!r} dropped")
        else:
            out[name] = item
    for name in schema.get("required", ()):
        sub = resolve_ref(props.get(name, {}), root)
        free_text = sub.get("type") == "string" and "enum" not in sub and not sub.get("minLength")
        if name not in out and free_text:
            notes.append(f"{path + '.' if path else ''}{name}: missing, left empty")
            out[name] = ""
    return out


def _clamp(value: float, schema: Mapping[str, Any], where: str, notes: list[str]) -> float:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None and value < lo:
        notes.append(f"{where}: {_show(value)} clamped to {lo}")
        return lo
    if hi is not None and value > hi:
        notes.append(f"{where}: {_show(value)} clamped to {hi}")
        return hi
    return value


def _number_from_string(value: Any, where: str, notes: list[str]) -> Any:
    if not isinstance(value, str):
        return value
    try:
        number = float(value.strip())
    except ValueError:
        return value
    if not math.isfinite(number):
        return value
    notes.append(f"{where}: string {_show(value)} read as a number")
    return int(number) if number.is_integer() else number


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else "NaN"
    return text if len(text) <= 40 else text[:37] + "..."
