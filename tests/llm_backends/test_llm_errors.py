"""Every exception class of llm_backends survives the copies SimPy and pickle make of it.

SimPy re-raises an exception that leaves a process as ``type(e)(*e.args)``; sweeps move
exceptions between processes with pickle. A class whose constructor does not accept its own
``args`` turns a 401 or a replay miss into ``TypeError`` in mid-run.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Generator
from typing import Any

import pytest
import simpy

import llm_backends
from llm_backends.endpoint import EndpointCheckError, FormatRefused
from llm_backends.errors import (
    AUTH,
    INVALID_REPLY,
    BackendError,
    BudgetExhausted,
    CacheCorruptError,
    CacheUnusableError,
    ConfigError,
    ReplayMissError,
)
from llm_backends.local_server import LocalModelMissing
from llm_backends.negotiate import NegotiationInconclusive


def _examples() -> list[BaseException]:
    """One instance of every exception class, each with non-default attributes and, where it
    has them, ``retries`` set after construction as the resilience layer does."""
    auth = BackendError(AUTH, "HTTP 401 from http://x/v1: bad key", 401, None)
    limited = BackendError("rate_limited", "HTTP 429", status=429, retry_after=2.5)
    limited.retries = 3
    budget = BudgetExhausted("call budget exhausted (5/5 calls)")
    budget.retries = 2
    miss = ReplayMissError("work_allocation", "ab" * 32)
    corrupt = CacheCorruptError("/runs/r/llm_cache.sqlite", "row for key abc fails its checksum")
    check = EndpointCheckError("not_found", "model 'm' not found at http://x/v1", status=404)
    refused = BackendError(INVALID_REPLY, "reply over llm.max_reply_bytes")
    format_refused = FormatRefused("server_error", "refuses structured mode 'x'", status=500)
    missing = LocalModelMissing("llama_cpp not installed: install the local-llm extra")
    unusable = CacheUnusableError("/runs/r/llm_cache.sqlite", "it is a directory")
    unusable.retries = 1
    unsettled = NegotiationInconclusive("json_schema", "HTTP 500; HTTP 429", "rate_limited")
    return [
        auth, limited, budget, miss, corrupt, check, refused, ConfigError("X is not set"),
        format_refused, missing, unusable, unsettled,
    ]  # fmt: skip


def _state(exc: BaseException) -> dict[str, Any]:
    """Type, message and every attribute of ``exc``."""
    return {"type": type(exc), "str": str(exc), "args": exc.args, **vars(exc)}


def _exception_classes() -> set[type[BaseException]]:
    found = set()
    for info in pkgutil.iter_modules(llm_backends.__path__):
        module = importlib.import_module(f"llm_backends.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("llm_backends"):
                found.add(obj)
    return found


def test_the_examples_cover_every_exception_class() -> None:
    # A new exception class must be added to _examples, or this test fails.
    assert _exception_classes() == {type(e) for e in _examples()}


def _raised_through_simpy(exc: BaseException) -> BaseException:
    env = simpy.Environment()

    def process(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise exc

    env.process(process(env))
    with pytest.raises(BaseException) as info:
        env.run()
    return info.value


@pytest.mark.parametrize("exc", _examples(), ids=lambda e: type(e).__name__)
def test_error_crosses_a_simpy_process_intact(exc: BaseException) -> None:
    caught = _raised_through_simpy(exc)
    assert caught is not exc  # SimPy really made its copy
    assert caught.__cause__ is exc
    assert _state(caught) == _state(exc)


@pytest.mark.parametrize("exc", _examples(), ids=lambda e: type(e).__name__)
def test_error_survives_pickle(exc: BaseException) -> None:
    assert _state(pickle.loads(pickle.dumps(exc))) == _state(exc)


def test_error_attributes_read_back() -> None:
    limited = _examples()[1]
    assert isinstance(limited, BackendError)
    assert (limited.kind, limited.status, limited.retry_after, limited.retries) == (
        "rate_limited",
        429,
        2.5,
        3,
    )
    assert str(limited) == "[rate_limited] HTTP 429"
    miss = _raised_through_simpy(ReplayMissError("peer_message", "k1"))
    assert isinstance(miss, ReplayMissError)
    assert (miss.kind, miss.decision, miss.key) == ("replay_miss", "peer_message", "k1")
    corrupt = _raised_through_simpy(CacheCorruptError("/c.sqlite", "truncated"))
    assert isinstance(corrupt, CacheCorruptError)
    assert (corrupt.path, corrupt.detail) == ("/c.sqlite", "truncated")
    assert "/c.sqlite" in str(corrupt) and "delete" in str(corrupt)
