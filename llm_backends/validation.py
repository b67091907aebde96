"""A small, dependency-free JSON-schema validator for LLM replies.

Supports the subset that structured-output endpoints accept and that pydantic's
``model_json_schema()`` emits: ``type`` (single or list), ``enum``, ``const``,
``properties``/``required``/``additionalProperties``, ``items``/``minItems``/``maxItems``,
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``,
``minLength``/``maxLength``, ``anyOf``/``oneOf``/``allOf`` and local ``$ref``
(``#/$defs/...``). Unknown keywords are ignored, as JSON schema prescribes.

Replies are only ever *parsed* with :func:`json.loads`; nothing here evaluates them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Validator", "parse_json_object", "resolve_ref", "schema_validator", "validate"]

Validator = Callable[[dict[str, Any]], list[str]]
"""A callable returning the list of problems with a parsed reply (empty when valid)."""

_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    # bool is a subclass of int in Python but not a number in JSON.
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}

_MAX_ERRORS = 20


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    """``schema`` with its local ``$ref`` (``#/$defs/...``) followed, against ``root``."""
    seen = 0
    while isinstance(ref, str):
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
        ref = schema.get("$ref")
        seen += 1
        if seen > 32:
            raise ValueError("$ref cycle")
    return schema


def _check(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str, out: list[str]
) -> None:
    if len(out) >= _MAX_ERRORS:
        return
    schema = resolve_ref(schema, root)
    where = path or "$"

    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: expected {schema['const']!r}")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {_short(value)} is not one of {list(schema['enum'])!r}")
        return
    typ = schema.get("type")
    if typ is not None:
        types = [typ] if isinstance(typ, str) else list(typ)
        if not any(_TYPE_CHECKS.get(t, lambda _v: True)(value) for t in types):
            out.append(f"{where}: expected {' or '.join(types)}, got {_json_type(value)}")
            return

    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = []
            for sub in schema[key]:
                errs: list[str] = []
                _check(value, sub, root, path, errs)
                branches.append(errs)
            if all(branches):
                out.append(f"{where}: matches none of the {key} alternatives ({branches[0][0]})")
    for sub in schema.get("allOf", ()):
        _check(value, sub, root, path, out)

    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                out.append(f"{where}: missing required property {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            sub_path = f"{path}.{name}" if path else name
            if name in props:
                _check(item, props[name], root, sub_path, out)
            elif extra is False:
                out.append(f"{where}: unexpected property {name!r}")
            elif isinstance(extra, Mapping):
                _check(item, extra, root, sub_path, out)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(f"{where}: needs at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{where}: allows at most {schema['maxItems']} items, got {len(value)}")
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                _check(item, items, root, f"{where}[{i}]", out)
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{where}: longer than {schema['maxLength']} characters")
    elif _TYPE_CHECKS["number"](value):
        if not math.isfinite(value):
            out.append(f"{where}: {value} is not a finite number")
            return
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {value} is above the maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            out.append(f"{where}: {value} must be > {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            out.append(f"{where}: {value} must be < {schema['exclusiveMaximum']}")


def _json_type(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _TYPE_CHECKS[name](value):
            return name
    return type(value).__name__


def _short(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(instance: Any, schema: Mapping[str, Any]) -> list[str]:
    """Return human-readable problems of ``instance`` against ``schema`` (empty if valid).

    Examples
    --------
    >>> s = {"type": "object", "required": ["x"], "additionalProperties": False,
    ...      "properties": {"x": {"type": "number", "minimum": 0, "maximum": 1}}}
    >>> validate({"x": 0.5}, s)
    []
    >>> validate({"x": 2}, s)
    ['x: 2 is above the maximum 1']
    >>> validate({"y": True}, s)
    ["$: missing required property 'x'", "$: unexpected property 'y'"]
    """
    out: list[str] = []
    _check(instance, schema, schema, "", out)
    return out


def schema_validator(schema: Mapping[str, Any]) -> Validator:
    """Wrap :func:`validate` as a :data:`Validator` bound to ``schema``."""

    def _validator(instance: dict[str, Any]) -> list[str]:
        return validate(instance, schema)

    return _validator


def parse_json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """Parse ``text`` as a JSON object: ``(obj, None)`` or ``(None, problem)``.

    Tolerates a Markdown code fence around the object because many models add one even
    when asked not to; anything else must be exactly one JSON object.

    >>> parse_json_object('```json\\n{"a": 1}\\n```')
    ({'a': 1}, None)
    >>> parse_json_object('[1]')
    (None, 'reply is a JSON array, expected an object')
    """
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0].strip()
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return None, f"reply is not valid JSON ({exc})"
    if not isinstance(obj, dict):
        return None, f"reply is a JSON {_json_type(obj)}, expected an object"
    return obj, None
