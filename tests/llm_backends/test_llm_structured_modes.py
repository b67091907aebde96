"""Structured-output modes: what goes on the wire, the cache key, and ``auto`` negotiation
against servers of each flavour (OpenAI-like, llama.cpp-like, ignoring the format)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from llm_helpers import make_request, run

from llm_backends import FastOpenAICompatibleBackend, OpenAICompatibleBackend
from llm_backends._wire import SCHEMA_IN_PROMPT, build_payload
from llm_backends.errors import BackendError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.negotiate import PROBE_ATTEMPTS, NegotiationInconclusive, negotiate
from llm_backends.structured import ask_structured
from llm_backends.types import CACHE_KEY_VERSION, CompletionRequest

ServerFactory = Callable[..., FakeOpenAIServer]


def ask_all(server: FakeOpenAIServer, requests: list[CompletionRequest], **kw: object) -> list:
    """Ask each request in turn through one aiohttp backend (on one event loop)."""
    backend = FastOpenAICompatibleBackend(server.base_url, "fake-model")

    async def go() -> list:
        try:
            return [await ask_structured(backend, r, **kw) for r in requests]  # type: ignore[arg-type]
        finally:
            await backend.aclose()

    return run(go())


CLIENTS = [OpenAICompatibleBackend, FastOpenAICompatibleBackend]


def test_each_mode_puts_the_schema_where_that_server_flavour_reads_it() -> None:
    schema_mode = build_payload(make_request(structured="json_schema"))
    object_mode = build_payload(make_request(structured="json_object"))
    prompt_mode = build_payload(make_request(structured="prompt"))
    schema = dict(make_request().json_schema or {})
    assert schema_mode["response_format"]["type"] == "json_schema"
    assert schema_mode["response_format"]["json_schema"]["schema"] == schema
    assert object_mode["response_format"] == {"type": "json_object", "schema": schema}
    assert "response_format" not in prompt_mode
    system = prompt_mode["messages"][0]
    assert system["role"] == "system" and SCHEMA_IN_PROMPT in system["content"]
    written = system["content"].split(SCHEMA_IN_PROMPT, 1)[1].strip()
    assert json.loads(written) == schema
    # The request itself is untouched: the schema is added on the wire only.
    assert SCHEMA_IN_PROMPT not in make_request(structured="prompt").messages[0][1]


def test_prompt_mode_adds_a_system_message_when_there_is_none() -> None:
    request = CompletionRequest(
        model="m", messages=(("user", "go"),), json_schema={"type": "object"}, structured="prompt"
    )
    messages = build_payload(request)["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]


def test_the_mode_is_part_of_the_cache_key_and_json_schema_keys_are_unchanged() -> None:
    keys = {mode: make_request(structured=mode).cache_key() for mode in
            ("json_schema", "json_object", "prompt")}  # fmt: skip
    assert len(set(keys.values())) == 3
    # Caches recorded before modes existed (always json_schema) keep their keys.
    legacy = make_request().key_material()
    assert "structured" not in legacy and legacy["v"] == CACHE_KEY_VERSION
    assert keys["json_schema"] == make_request().cache_key()
    with pytest.raises(ValueError, match="structured must be one of"):
        make_request(structured="xml")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("flavour", "mode", "tried"),
    [
        ({}, "json_schema", ["json_schema: schema enforced"]),
        (
            {"formats": ("json_object",), "format_error_status": 500},
            "json_object",
            ["json_schema: refused (HTTP 500)", "json_object: schema enforced"],
        ),
        (
            {"formats": ("json_object",), "format_error_status": 400},
            "json_object",
            ["json_schema: refused (HTTP 400)", "json_object: schema enforced"],
        ),
        (
            {"formats": (), "refuse_formats": False},
            "prompt",
            ["json_schema: accepted but not enforced", "json_object: accepted but not enforced"],
        ),
    ],
)
def test_auto_picks_the_strongest_mode_the_server_enforces(
    fake_server: ServerFactory, client: type, flavour: dict[str, object], mode: str,
    tried: list[str],
) -> None:  # fmt: skip
    server = fake_server(**flavour)
    backend = client(server.base_url, "fake-model", api_key_env="UNSET_LOCAL_KEY")

    async def go() -> object:
        try:
            return await negotiate(backend, "fake-model")
        finally:
            await backend.aclose()

    chosen = run(go())
    assert chosen.mode == mode  # type: ignore[attr-defined]
    assert [f"{m}: {o}" for m, o in chosen.attempts] == tried  # type: ignore[attr-defined]
    assert server.stats()["chat_requests"] == len(tried)


def test_negotiation_does_not_hide_an_outage_or_a_bad_key(fake_server: ServerFactory) -> None:
    def probe(server: FakeOpenAIServer) -> None:
        backend = FastOpenAICompatibleBackend(server.base_url, "fake-model")

        async def go() -> None:
            try:
                await negotiate(backend, "fake-model")
            finally:
                await backend.aclose()

        run(go())

    outage = fake_server(faults=("500",), cycle=True)
    with pytest.raises(NegotiationInconclusive) as inconclusive:
        probe(outage)
    assert inconclusive.value.kind == "server_error"  # "injected server error" names no format
    assert outage.stats()["chat_requests"] == PROBE_ATTEMPTS  # then it stopped asking
    with pytest.raises(BackendError) as info:
        probe(fake_server(api_key="sk-right"))
    assert info.value.kind == "auth"


def _negotiate(server: FakeOpenAIServer) -> object:
    backend = OpenAICompatibleBackend(server.base_url, "fake-model")

    async def go() -> object:
        try:
            return await negotiate(backend, "fake-model")
        finally:
            await backend.aclose()

    return run(go())


@pytest.mark.parametrize(
    ("flavour", "probe_faults", "mode", "tried"),
    [
        # A malformed reply, a 500 and a 429 say nothing about json_schema: asked again, the
        # server enforces it. (Read as verdicts, they would have sunk the run to prompt mode.)
        (
            {},
            ("malformed", "500", "429"),
            "json_schema",
            [
                "json_schema: schema enforced, after 3 inconclusive probes (a reply that is not "
                "JSON, HTTP 500, HTTP 429)"
            ],
        ),
        (
            {"formats": ("json_object",), "format_error_status": 500},
            # An injected 500 names no format: inconclusive. The refusal that follows is clean.
            ("500", "malformed"),
            "json_object",
            [
                "json_schema: refused (HTTP 500), after 1 inconclusive probe (HTTP 500)",
                "json_object: schema enforced",
            ],
        ),
    ],
)
def test_a_probe_that_meets_a_passing_fault_is_asked_again(
    fake_server: ServerFactory,
    flavour: dict[str, object],
    probe_faults: tuple[str, ...],
    mode: str,
    tried: list[str],
) -> None:
    server = fake_server(probe_faults=probe_faults, retry_after_s=0.05, **flavour)
    chosen = _negotiate(server)
    assert chosen.mode == mode  # type: ignore[attr-defined]
    assert [f"{m}: {o}" for m, o in chosen.attempts] == tried  # type: ignore[attr-defined]
    assert server.stats()["probe_requests"] == len(probe_faults) + 1


def test_a_mode_no_probe_settles_is_reported_not_guessed(fake_server: ServerFactory) -> None:
    server = fake_server(probe_faults=("malformed", "429") * PROBE_ATTEMPTS, retry_after_s=0.05)
    with pytest.raises(NegotiationInconclusive) as info:
        _negotiate(server)
    message = str(info.value)
    assert f"none of {PROBE_ATTEMPTS} probes of structured mode 'json_schema'" in message
    assert "a reply that is not JSON; HTTP 429; a reply that is not JSON" in message
    assert server.stats()["chat_requests"] == PROBE_ATTEMPTS  # json_object was never tried


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompt"])
def test_every_mode_gets_valid_replies_from_a_server_that_reads_it(
    fake_server: ServerFactory, mode: str
) -> None:
    flavour = {"formats": (), "refuse_formats": False} if mode == "prompt" else {}
    server = fake_server(**flavour)
    replies = ask_all(server, [make_request(i, structured=mode) for i in range(5)])
    assert all(r.parsed is not None and not r.fallback and not r.repaired for r in replies)
    assert server.stats()["chat_requests"] == 5  # no re-asks


def test_near_misses_are_repaired_without_a_reask(fake_server: ServerFactory) -> None:
    server = fake_server(faults=("near_miss",), cycle=True)
    replies = ask_all(server, [make_request(i) for i in range(6)])
    assert all(r.repaired and r.parsed is not None and not r.fallback for r in replies)
    assert all(r.retries == 0 for r in replies)
    assert server.stats()["chat_requests"] == 6
    # Asked not to repair, the same near misses cost a re-ask each, and then fall back.
    server = fake_server(faults=("near_miss",), cycle=True)
    (strict,) = ask_all(server, [make_request(0)], repair=False)
    assert strict.fallback and strict.error_kind == "invalid_reply"
    assert server.stats()["chat_requests"] == 2
