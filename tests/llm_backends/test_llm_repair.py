"""The repair policy: each documented mend, and what is never guessed at."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from llm_backends.local_server import LocalModelMissing
from llm_backends.repair import close_truncated, repair_reply
from llm_backends.structured import reply_token_budget
from llm_backends.validation import resolve_ref
from society.llm import decisions
from society.scenario import LLM

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
        VALID.replace('"share": 0.5', '"share": NaN'),  # nobody's near miss
        VALID.replace('"share": 0.5', '"share": Infinity'),
        VALID.replace('"weight": 2', '"weight": -Infinity'),
        VALID.replace('"weight": 2', '"weight": 1e400'),
        VALID.replace('"weight": 2', '"weight": true'),
        VALID[: VALID.index('"weight": 2') + len('"weight": ')],  # cut before a number
        VALID[: VALID.index('"weight": 2') + len('"weight": 2')],  # cut in a number: 2 or 2x?
        VALID[: VALID.index('"steps": [0') + len('"steps": [0')],  # a shorter array differs
        '{"share": 0.5,' + " " * 65_000 + "x",  # long runs of spaces: linear, not quadratic
    ],
)
def test_what_the_policy_does_not_guess_stays_invalid(broken: str) -> None:
    assert mend(broken)[0] is None


def test_close_truncated_cuts_back_to_the_last_complete_member() -> None:
    assert close_truncated('{"a": 1, "b": [1, 2') == {"a": 1}  # never a shorter array
    assert close_truncated('{"a": {"b": 1}, "c"') == {"a": {"b": 1}}
    assert close_truncated('{"a": "x\\') == {"a": "x"}
    assert close_truncated('{"a": "x", "b": tru') == {"a": "x"}
    assert close_truncated('{"a": [1, 2') is None
    assert close_truncated("not json") is None


@pytest.mark.parametrize("decision", sorted(decisions.SCHEMAS))
def test_every_decision_schema_fits_under_the_default_reply_cap(decision: str) -> None:
    """The budget sized from the schema stays under llm.reply_tokens' default (256), so the
    cap never cuts a valid reply short; test_real_llm.py checks it against a real tokenizer."""
    schema = decisions.json_schema(decision)
    assert reply_token_budget(schema) <= LLM().reply_tokens
    longest = longest_reply(schema)
    assert not repair_reply(longest, schema)[1]  # the longest valid reply needs no mend


def longest_reply(schema: dict[str, Any], prose: bool = False) -> str:
    """The longest reply ``schema`` allows, as a model writes it (``", "`` and ``": "``);
    free text as words when ``prose``, else one repeated letter."""

    def value(s: Any) -> Any:
        s = resolve_ref(s, schema)
        if "enum" in s:
            return max(s["enum"], key=lambda m: len(json.dumps(m)))
        t = s.get("type")
        if t == "object":
            return {k: value(v) for k, v in s["properties"].items()}
        if t == "array":
            return [value(s["items"])] * s.get("maxItems", 8)
        if t == "string":
            size = s.get("maxLength", 200)
            return ("the lab should " * size)[:size] if prose else "x" * size
        return {"number": 0.123456, "integer": 12345, "boolean": False}[t]

    return json.dumps(value(schema), separators=(", ", ": "))


@pytest.mark.slow
def test_budgets_cover_the_longest_reply_in_a_real_tokenizer() -> None:
    """SmolLM2's own tokenizer (the local-llm extra; no server needed): the longest valid
    reply of every decision, in prose or in one repeated letter, fits its max_tokens."""
    try:
        from llama_cpp import Llama

        from llm_backends.local_server import default_model_path

        path = default_model_path()
    except (ImportError, LocalModelMissing) as missing:
        if os.environ.get("SOCIETY_REQUIRE_REAL_LLM") == "1":
            pytest.fail(f"SOCIETY_REQUIRE_REAL_LLM=1 but {missing}")
        pytest.skip(str(missing))
    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    for decision in decisions.SCHEMAS:
        schema = decisions.json_schema(decision)
        budget = decisions.decision_reply_tokens(decision)
        for prose in (False, True):
            reply = longest_reply(schema, prose)
            tokens = len(vocab.tokenize(reply.encode(), add_bos=False))
            assert tokens <= budget, (decision, prose, tokens, budget)


def test_the_schema_sent_is_checked_before_the_decision_model() -> None:
    """Pydantic's lax mode takes true or 7.0 for an integer enum; the schema does not: 7.0 is a
    near miss (repaired, read as 7) and true is no answer (re-asked, then the stub decides)."""
    import asyncio

    from llm_backends import ask_structured
    from llm_backends.types import Completion, CompletionRequest

    class Says:
        """A backend that always sends the same reply (an endpoint under test's control)."""

        def __init__(self, text: str) -> None:
            self.text, self.asked = text, 0

        async def complete(self, request: CompletionRequest) -> Completion:
            self.asked += 1
            return Completion(text=self.text)

        async def aclose(self) -> None:
            pass

    context = {"population": 9, "day": 1, "role": "researcher", "generation": 1,
               "alignment": 0.5, "hacking_note": ""}  # fmt: skip
    request = decisions.request(
        "behavior_test", context, model="m", temperature=0.0, reply_tokens=256, seed=0
    )
    reply = '{{"choice": "A", "confidence": {}, "explanation": "ok"}}'

    def ask(value: str) -> tuple[Completion, int]:
        backend = Says(reply.format(value))
        done = asyncio.run(ask_structured(backend, request, decisions.BehaviorAnswer))
        return done, backend.asked

    (exact, asked), (whole, _), (boolean, boolean_asked) = ask("7"), ask("7.0"), ask("true")
    assert exact.parsed is not None and not exact.repaired and asked == 1
    assert whole.repaired and whole.parsed is not None and whole.parsed["confidence"] == 7
    assert type(whole.parsed["confidence"]) is int
    assert boolean.fallback and boolean.error_kind == "invalid_reply" and boolean_asked == 2
