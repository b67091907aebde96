"""Both OpenAI-compatible backends against the real fake server over HTTP.

The SDK backend uses the real ``openai.AsyncOpenAI`` client; nothing is monkeypatched.
Every test runs against both backends, which is how "same semantics" is enforced.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from llm_helpers import SENTINEL_KEY, make_request, run

from llm_backends.endpoint import EndpointCheckError
from llm_backends.errors import BackendError, ConfigError
from llm_backends.fake_server import FakeOpenAIServer
from llm_backends.fast_openai import FastOpenAICompatibleBackend
from llm_backends.openai_compat import OpenAICompatibleBackend
from llm_backends.validation import validate

BACKENDS = [OpenAICompatibleBackend, FastOpenAICompatibleBackend]
ServerFactory = Callable[..., FakeOpenAIServer]


def assert_no_secret_in_chain(exc: BaseException | None) -> None:
    """The sentinel appears nowhere in the exception, its args, cause or context chain."""
    while exc is not None:
        for text in (str(exc), repr(exc), repr(exc.args), repr(vars(exc))):
            assert SENTINEL_KEY not in text
        exc = exc.__cause__ or exc.__context__


def _free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _complete_or_error(backend: Any, **req: Any) -> Any:
    try:
        return await backend.complete(make_request(**req))
    except BackendError as exc:
        return exc
    finally:
        await backend.aclose()


@pytest.mark.parametrize("cls", BACKENDS)
def test_valid_structured_reply(cls: type, fake_server: ServerFactory, sentinel_env: str) -> None:
    server = fake_server(api_key=SENTINEL_KEY)
    completion = run(
        _complete_or_error(cls(server.base_url, "fake-model", api_key_env=sentinel_env))
    )
    assert completion.parsed is not None
    assert validate(completion.parsed, make_request().json_schema or {}) == []
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
    assert completion.latency_s > 0
    assert server.stats()["chat_requests"] == 1


@pytest.mark.parametrize("cls", BACKENDS)
def test_both_backends_give_identical_text(fake_server: ServerFactory, cls: type) -> None:
    server = fake_server()
    a = run(_complete_or_error(OpenAICompatibleBackend(server.base_url, "fake-model")))
    b = run(_complete_or_error(cls(server.base_url, "fake-model")))
    assert (a.text, a.parsed, a.prompt_tokens) == (b.text, b.parsed, b.prompt_tokens)


@pytest.mark.parametrize("cls", BACKENDS)
@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ("500", "server_error", 500),
        ("429", "rate_limited", 429),
        ("bad_body", "bad_response", None),
    ],
)
def test_error_kinds(
    cls: type, fault: str, kind: str, status: int | None, fake_server: ServerFactory
) -> None:
    server = fake_server(faults=(fault,), retry_after_s=3)
    exc = run(_complete_or_error(cls(server.base_url, "fake-model")))
    assert isinstance(exc, BackendError)
    assert exc.kind == kind
    if status is not None:
        assert exc.status == status
    if fault == "429":
        assert exc.retry_after == 3.0


@pytest.mark.parametrize("cls", BACKENDS)
def test_unknown_model_is_not_found(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server()
    exc = run(_complete_or_error(cls(server.base_url, "fake-model"), model="no-such-model"))
    assert isinstance(exc, BackendError) and exc.kind == "not_found" and exc.status == 404


@pytest.mark.parametrize("cls", BACKENDS)
def test_transport_timeout(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(faults=("hang",), hang_s=5)
    exc = run(_complete_or_error(cls(server.base_url, "fake-model", timeout_s=0.3)))
    assert isinstance(exc, BackendError) and exc.kind == "timeout"


@pytest.mark.parametrize("cls", BACKENDS)
def test_closed_port_is_connection_error(cls: type) -> None:
    url = f"http://127.0.0.1:{_free_closed_port()}/v1"
    exc = run(_complete_or_error(cls(url, "fake-model")))
    assert isinstance(exc, BackendError) and exc.kind == "connection"


@pytest.mark.parametrize("cls", BACKENDS)
def test_wrong_key_is_auth_and_never_echoed(
    cls: type, fake_server: ServerFactory, sentinel_env: str
) -> None:
    # The server expects another key and, like some real servers, echoes the presented one
    # in its error body: the sentinel must be redacted from everything we raise.
    server = fake_server(api_key="sk-the-right-one")
    exc = run(_complete_or_error(cls(server.base_url, "fake-model", api_key_env=sentinel_env)))
    assert isinstance(exc, BackendError) and exc.kind == "auth" and exc.status == 401
    assert_no_secret_in_chain(exc)


@pytest.mark.parametrize("cls", BACKENDS)
def test_missing_key_env_for_remote_url_names_the_variable(
    cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOCIETY_ABSENT_KEY", raising=False)
    with pytest.raises(ConfigError, match="SOCIETY_ABSENT_KEY"):
        cls("https://api.example.com/v1", "m", api_key_env="SOCIETY_ABSENT_KEY")


@pytest.mark.parametrize("cls", BACKENDS)
def test_repr_hides_key(cls: type, sentinel_env: str) -> None:
    backend = cls("https://api.example.com/v1", "m", api_key_env=sentinel_env)
    assert SENTINEL_KEY not in repr(backend)
    assert sentinel_env in repr(backend)
    run(backend.aclose())


# -- check() -----------------------------------------------------------------------------


async def _check(backend: Any, structured: str = "auto") -> Any:
    try:
        return await backend.check(structured)
    except EndpointCheckError as exc:
        return exc
    finally:
        await backend.aclose()


@pytest.mark.parametrize("cls", BACKENDS)
def test_check_ok_reports_latency_and_schema(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(latency_s=0.05)
    result = run(_check(cls(server.base_url, "fake-model")))
    assert result.schema_honoured is True
    assert result.latency_s >= 0.05


@pytest.mark.parametrize("cls", BACKENDS)
def test_check_notices_ignored_schema(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(faults=("malformed",))
    # Pinned: under auto the probe would meet the fault and choose another mode.
    result = run(_check(cls(server.base_url, "fake-model"), "json_schema"))
    assert result.schema_honoured is False


@pytest.mark.parametrize("cls", BACKENDS)
def test_check_dead_endpoint_fails_fast(cls: type) -> None:
    url = f"http://127.0.0.1:{_free_closed_port()}/v1"
    exc = run(_check(cls(url, "fake-model")))
    assert isinstance(exc, EndpointCheckError)
    assert exc.kind == "connection"
    assert "cannot connect" in str(exc) and url in str(exc)


@pytest.mark.parametrize("cls", BACKENDS)
def test_check_wrong_model_lists_available(cls: type, fake_server: ServerFactory) -> None:
    server = fake_server(models=("fake-model", "other-model"))
    exc = run(_check(cls(server.base_url, "gpt-nope")))
    assert isinstance(exc, EndpointCheckError) and exc.kind == "not_found"
    assert "'gpt-nope' not found" in str(exc)
    assert "fake-model, other-model" in str(exc)


@pytest.mark.parametrize("cls", BACKENDS)
def test_check_bad_key_names_env_var_not_key(
    cls: type, fake_server: ServerFactory, sentinel_env: str
) -> None:
    server = fake_server(api_key="sk-the-right-one")
    exc = run(_check(cls(server.base_url, "fake-model", api_key_env=sentinel_env)))
    assert isinstance(exc, EndpointCheckError) and exc.kind == "auth"
    assert sentinel_env in str(exc)
    assert_no_secret_in_chain(exc)
