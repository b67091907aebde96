"""The repair policy: each documented mend, and what is never guessed at."""

from __future__ import annotations

from typing import Any

import pytest

from llm_backends.repair import close_truncated, repair_reply
from llm_backends.structured import reply_token_budget
from society.llm import decisions

SHARE = {"type": "number", "minimum": 0, "maximum": 1}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["share", "weight", "choice", "ok", "steps", "why"],
    "properties": {
        "share": SHARE,
        "weight": {"type": "integer", "enum": [0, 1, 2, 3, 4, 5]},
        "choice": {"type": "string", "enum": ["A", "B"]},
        "ok": {"type": "boolean"},
        "steps": {"type": "array", "items": {"type": "integer", "enum": [-1, 0, 1]},
                  "minItems": 1, "maxItems": 3},
        "why": {"type": "string", "maxLength": 12},
    },
}  # fmt: skip
VALID = '{"share": 0.5, "weight": 2, "choice": "A", "ok": true, "steps": [0], "why": "fine"}'


def mend(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    return repair_reply(text, SCHEMA)


@pytest.mark.parametrize(
    ("change", "field", "value", "note"),
    [
        (('"share": 0.5', '"share": 2.5'), "share", 1, "share: 2.5 clamped to 1"),
        (('"share": 0.5', '"share": -0.1'), "share", 0, "share: -0.1 clamped to 0"),
        (('"share": 0.5', '"share": "0.25"'), "share", 0.25,
         'share: string "0.25" read as a number'),
        (('"weight": 2', '"weight": 7'), "weight", 5, "weight: 7 not allowed, nearest is 5"),
        (('"weight": 2', '"weight": 2.0'), "weight", 2, "weight: 2.0 read as 2"),
        (('"weight": 2', '"weight": 2.4'), "weight", 2, "weight: 2.4 not allowed, nearest is 2"),
        (('"choice": "A"', '"choice": " a "'), "choice", "A", 'choice: " a " read as \'A\''),
        (('"ok": true', '"ok": "false"'), "ok", False, 'ok: string "false" read as a boolean'),
        (('"steps": [0]', '"steps": [0, 1, 1, -1]'), "steps", [0, 1, 1], "steps: cut to 3 items"),
        (('"why": "fine"', '"why": "a very long reason"'), "why", "a very long ",
         "why: cut to 12 characters"),
    ],
)  # fmt: skip
def test_each_mend_is_applied_and_named(
    change: tuple[str, str], field: str, value: object, note: str
) -> None:
    obj, notes = mend(VALID.replace(*change))
    assert obj is not None and obj[field] == value
    assert note in notes


def test_a_reply_cut_off_in_its_last_string_is_closed() -> None:
    obj, notes = mend(VALID[: VALID.index("fine") + 2])
    assert obj is not None and obj["why"] == "fi"
    assert notes == ["unterminated object closed"]


def test_a_reply_cut_off_before_its_free_text_gets_an_empty_one() -> None:
    obj, notes = mend(VALID[: VALID.index('"why"') + 3])
    assert obj is not None and obj["why"] == ""
    assert "why: missing, left empty" in notes


def test_prose_around_the_object_and_raw_newlines_are_dropped_or_accepted() -> None:
    obj, notes = mend("Sure! " + VALID.replace("fine", "fi\nne") + " Hope this helps.")
    assert obj is not None and obj["why"] == "fi\nne"
    assert {"text before the object dropped", "text after the object dropped",
            "control characters inside strings accepted"} <= set(notes)  # fmt: skip


def test_unexpected_properties_are_dropped() -> None:
    obj, notes = mend(VALID[:-1] + ', "mood": "happy"}')
    assert obj is not None and "mood" not in obj
    assert "$: unexpected property 'mood' dropped" in notes


@pytest.mark.parametrize(
    "broken",
    [
        VALID.replace('"share": 0.5, ', ""),  # a missing number is never invented
        VALID.replace('"choice": "A"', '"choice": "C"'),  # nor a choice between words
        VALID.replace('"steps": [0]', '"steps": []'),  # nor array items
        VALID.replace('"share": 0.5', '"share": "half"'),
        "I would rather not answer.",
        "[1, 2, 3]",
    ],
)
def test_what_the_policy_does_not_guess_stays_invalid(broken: str) -> None:
    assert mend(broken)[0] is None


def test_close_truncated_cuts_back_to_the_last_complete_member() -> None:
    assert close_truncated('{"a": [1, 2') == {"a": [1, 2]}
    assert close_truncated('{"a": {"b": 1}, "c"') == {"a": {"b": 1}}
    assert close_truncated('{"a": "x\\') == {"a": "x"}
    assert close_truncated("not json") is None


@pytest.mark.parametrize("decision", sorted(decisions.SCHEMAS))
def test_every_decision_schema_leaves_room_for_its_longest_reply(decision: str) -> None:
    """The budget sized from the schema covers the longest valid reply (at ~2.5 characters a
    token, which is conservative for JSON) with the margin, and stays well under 256."""
    schema = decisions.json_schema(decision)
    budget = reply_token_budget(schema)
    longest = _longest(schema, schema)
    assert len(longest) / 2.5 < budget < 200
    assert not repair_reply(longest, schema)[1]  # the longest reply needs no mend


def _longest(schema: dict[str, Any], root: dict[str, Any]) -> str:
    import json

    from llm_backends.validation import resolve_ref

    def value(s: Any) -> Any:
        s = resolve_ref(s, root)
        if "enum" in s:
            return max(s["enum"], key=lambda m: len(json.dumps(m)))
        t = s.get("type")
        if t == "object":
            return {k: value(v) for k, v in s["properties"].items()}
        if t == "array":
            return [value(s["items"])] * s.get("maxItems", 8)
        if t == "string":
            return "x" * s.get("maxLength", 200)
        return {"number": 0.123456, "integer": 12345, "boolean": False}[t]

    return json.dumps(value(schema))
