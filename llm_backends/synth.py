"""Deterministic synthesis of schema-valid JSON values.

Shared by :class:`~llm_backends.stub.StubBackend` and the fake HTTP server so that both
produce the same kind of plausible structured reply from nothing but a schema and a seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from typing import Any

__all__ = ["break_instance", "seed_from", "synthesize"]

_WORDS = (
    "alpha", "beta", "gamma", "delta", "signal", "trust", "peer", "work", "audit", "defer",
    "verify", "share", "hold", "update", "report", "test",
)  # fmt: skip
_MAX_ARRAY = 4


def seed_from(material: str | bytes) -> int:
    """64-bit seed from arbitrary text (e.g. a cache key).

    >>> seed_from("abc") == seed_from(b"abc")
    True
    """
    data = material.encode() if isinstance(material, str) else material
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(32):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def _number(schema: Mapping[str, Any], rng: random.Random, integer: bool) -> float | int:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", 0 if integer else 0.0))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + (10 if integer else 1.0)))
    if integer:
        lo_i = int(lo) + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        hi_i = int(hi) - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
        return rng.randint(lo_i, max(lo_i, hi_i))
    # Stay strictly inside the interval so exclusive bounds hold, and round so replies look
    # like what a model would write.
    value = lo + (hi - lo) * (0.05 + 0.9 * rng.random())
    return round(value, 4)


def _gen(  # noqa: PLR0911 (one return per JSON type)
    schema: Mapping[str, Any], root: Mapping[str, Any], rng: random.Random, depth: int
) -> Any:
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _gen(schema[key][0], root, rng, depth)
    if schema.get("allOf"):
        return _gen(schema["allOf"][0], root, rng, depth)
    typ = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(typ, list):
        non_null = [t for t in typ if t != "null"]
        typ = non_null[0] if non_null else "null"
    if typ == "object":
        props: Mapping[str, Any] = schema.get("properties", {})
        if depth > 8:
            return {}
        return {name: _gen(sub, root, rng, depth + 1) for name, sub in props.items()}
    if typ == "array":
        lo = int(schema.get("minItems", 1))
        hi = int(schema.get("maxItems", max(lo, _MAX_ARRAY)))
        n = rng.randint(lo, max(lo, min(hi, lo + _MAX_ARRAY)))
        items = schema.get("items", {"type": "string"})
        return [_gen(items, root, rng, depth + 1) for _ in range(n)]
    if typ == "integer":
        return _number(schema, rng, integer=True)
    if typ == "number":
        return _number(schema, rng, integer=False)
    if typ == "boolean":
        return rng.random() < 0.5
    if typ == "null":
        return None
    lo = int(schema.get("minLength", 0))
    hi = int(schema.get("maxLength", 80))
    text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 6)))
    while len(text) < lo:
        text += " " + rng.choice(_WORDS)
    return text[: max(lo, hi)]


def synthesize(schema: Mapping[str, Any] | None, seed: int) -> Any:
    """A value valid against ``schema``, fully determined by ``(schema, seed)``.

    Every declared property is filled (so ``required`` holds), numbers lie inside their
    bounds, enums pick a member.

    >>> s = {"type": "object", "properties": {"p": {"type": "number", "minimum": 0,
    ...      "maximum": 1}, "c": {"enum": ["a", "b"]}}, "required": ["p", "c"]}
    >>> v = synthesize(s, 7)
    >>> v == synthesize(s, 7) and 0 <= v["p"] <= 1 and v["c"] in ("a", "b")
    True
    """
    if schema is None:
        return {"text": " ".join(random.Random(seed).choice(_WORDS) for _ in range(5))}
    return _gen(schema, schema, random.Random(seed), 0)


def break_instance(schema: Mapping[str, Any] | None, seed: int) -> Any:
    """A JSON value that is *invalid* against ``schema`` (for fault injection).

    Drops the first required property if there is one; otherwise returns a wrong type.
    """
    value = synthesize(schema, seed)
    required = list((schema or {}).get("required", ()))
    if isinstance(value, dict) and required:
        value.pop(required[0], None)
        value["unexpected_field"] = "not in the schema"
        return value
    return ["not", "an", "object"]
