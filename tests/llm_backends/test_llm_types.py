"""Cache keys are stable, canonical and cover exactly the answer-determining fields."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from llm_helpers import ALLOCATION_SCHEMA, make_request

from llm_backends.types import Completion, CompletionRequest

# Pinned so an accidental change of key semantics (which would orphan every recorded cache)
# fails loudly; bump CACHE_KEY_VERSION deliberately instead.
GOLDEN_KEY = "e926aeae15b90345410c073528afc365de5d80f6f8712ebe3be816c455c372de"


def test_key_is_pinned_and_repeatable() -> None:
    assert make_request().cache_key() == GOLDEN_KEY
    assert make_request().cache_key() == GOLDEN_KEY


def test_key_is_stable_across_processes() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests/llm_backends');"
        "from llm_helpers import make_request; print(make_request().cache_key())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "123", "PYTHONPATH": "."},
    )  # fmt: skip
    assert out.stdout.strip() == make_request().cache_key()


def test_key_ignores_dict_order_decision_and_metadata() -> None:
    reordered = dict(reversed(list(ALLOCATION_SCHEMA.items())))
    base = make_request()
    assert make_request(json_schema=reordered).cache_key() == base.cache_key()
    assert make_request(decision="other", metadata={"instance": 3}).cache_key() == base.cache_key()


def test_key_changes_with_each_answer_determining_field() -> None:
    base = make_request()
    variants = [
        replace(base, model="other-model"),
        base.with_messages(("user", "more")),
        replace(base, json_schema={"type": "object"}),
        replace(base, schema_name="other"),
        replace(base, json_schema=None),
        replace(base, temperature=0.7),
        replace(base, seed=None),
        replace(base, max_tokens=7),
    ]
    keys = {v.cache_key() for v in variants}
    assert base.cache_key() not in keys
    assert len(keys) == len(variants)


@given(st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), st.text()), min_size=1))
def test_key_is_a_function_of_messages(messages: list[tuple[str, str]]) -> None:
    a = CompletionRequest(model="m", messages=messages)  # type: ignore[arg-type]  # lists accepted
    b = CompletionRequest(model="m", messages=tuple(messages))
    assert a.cache_key() == b.cache_key()
    assert a.cache_key() != a.with_messages(("user", "x")).cache_key()


def test_completion_total_tokens() -> None:
    assert Completion(text="", prompt_tokens=3, completion_tokens=4).total_tokens == 7
