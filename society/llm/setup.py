"""Building the LLM backend stack a run uses, and checking the endpoint before any simulation.

Recording run: ``CachedBackend(ResilientBackend(FastOpenAICompatibleBackend))``; every paid
reply is in the SQLite cache before the engine uses it. Replay: ``ReplayBackend`` over the
recorded cache, which never touches the network. Stub: the in-process ``StubBackend`` behind the
same cache, so stub runs also record and replay. The cache is bound to the endpoint
(:func:`endpoint_identity`) whose replies it holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llm_backends import (
    Backend,
    BackendError,
    Budget,
    CacheCorruptError,
    CachedBackend,
    CacheUnusableError,
    ConfigError,
    ReplayBackend,
    ResilientBackend,
    ResponseCache,
    StubBackend,
)
from llm_backends.cache import bound_endpoint, check_cache_path, endpoint_mismatch
from society.errors import SocietyError
from society.scenario import LLM, Scenario

if TYPE_CHECKING:
    from llm_backends.endpoint import CheckResult

CACHE_NAME = "llm_cache.sqlite"
TRANSIENT_KINDS = frozenset({"server_error", "rate_limited", "timeout", "bad_response"})
TRANSIENT_CHECK_ATTEMPTS = 4


class LLMSetupError(SocietyError):
    """The LLM endpoint or cache cannot be used: fails before the run starts."""


@dataclass
class LLMStack:
    backend: Backend
    cache: ResponseCache | None


def cache_path(p: LLM, run_dir: Path) -> Path:
    """Where the run's responses are cached: ``llm.cache`` or ``RUN_DIR/llm_cache.sqlite``."""
    return Path(p.cache) if p.cache else run_dir / CACHE_NAME


def endpoint_identity(p: LLM) -> str:
    """The endpoint whose replies a run's cache holds: base URL and model (the stub backend
    answers in-process, whatever ``llm.base_url`` says).

    >>> from society.scenario import LLM
    >>> endpoint_identity(LLM(base_url="http://127.0.0.1:8000/v1/", model="m"))
    "http://127.0.0.1:8000/v1 (model 'm')"
    """
    if p.backend == "stub":
        return f"the stub backend (model {p.model!r})"
    return f"{p.base_url.rstrip('/')} (model {p.model!r})"


def check_cache(scenario: Scenario, run_dir: Path | None, replay_from: Path | None = None) -> None:
    """Refuse, before any directory is made or request sent, a cache the run could not use:
    a path that cannot hold one (a directory, a dangling link), or a cache recorded from
    another endpoint. ``run_dir`` may be ``None`` (a new default directory: no cache yet
    unless ``llm.cache`` names one).

    Raises
    ------
    LLMSetupError
    """
    p = scenario.llm
    base = replay_from if replay_from is not None else run_dir
    if not p.cache and base is None:
        return
    path = cache_path(p, base) if base is not None else Path(p.cache)
    try:
        check_cache_path(path)
        bound = bound_endpoint(path)
        if bound is not None and bound != endpoint_identity(p):
            raise endpoint_mismatch(path, bound, endpoint_identity(p))
    except (CacheUnusableError, CacheCorruptError) as err:
        raise LLMSetupError(f"{err.message}.") from None


def transport(p: LLM, *, timeout_s: float | None = None) -> Backend:
    """The raw endpoint backend: the openai SDK, or the aiohttp transport (``llm.client``),
    refusing replies over ``llm.max_reply_bytes``."""
    from llm_backends import FastOpenAICompatibleBackend, OpenAICompatibleBackend

    kind = OpenAICompatibleBackend if p.client == "openai" else FastOpenAICompatibleBackend
    backend: Backend = kind(
        p.base_url,
        p.model,
        api_key_env=p.api_key_env,
        timeout_s=timeout_s or p.timeout_s,
        max_reply_bytes=p.max_reply_bytes,
    )
    return backend


def check_endpoint(p: LLM, *, timeout_s: float = 15.0) -> CheckResult:
    """Send one structured request and return what came back (latency, schema honoured,
    tokens, and the structured mode: ``llm.structured``, or what ``auto`` chose). A dead
    endpoint, wrong model or bad key raises :class:`LLMSetupError` with the server's reason and
    the fix; a passing 500 or 429 is retried."""
    from llm_backends.endpoint import FormatRefused
    from llm_backends.endpoint import check_endpoint as probe
    from llm_backends.negotiate import NegotiationInconclusive

    async def go() -> CheckResult:
        backend = transport(p, timeout_s=timeout_s)
        try:
            for attempt in range(TRANSIENT_CHECK_ATTEMPTS):
                try:
                    return await probe(backend, p.structured)  # type: ignore[arg-type]
                except BackendError as err:
                    # A 500 or 429 says the server is there; only misconfiguration (no server,
                    # bad key, unknown model) should stop the run before it starts.
                    if (
                        err.kind not in TRANSIENT_KINDS
                        # Asking again will not help a refusal; probes were retried one by one.
                        or isinstance(err, FormatRefused | NegotiationInconclusive)
                        or attempt == TRANSIENT_CHECK_ATTEMPTS - 1
                    ):
                        raise
                    await asyncio.sleep(min(err.retry_after or 0.5, 5.0))
            raise AssertionError("unreachable")
        finally:
            await backend.aclose()

    try:
        return asyncio.run(go())
    except NegotiationInconclusive as err:
        raise LLMSetupError(
            f'could not settle llm.structured = "auto" for llm.base_url = {p.base_url!r}, '
            f"llm.model = {p.model!r}: {err.message}. The server answered, but never cleanly "
            f"enough to tell which structured mode it enforces, and guessing could turn every "
            f"decision of the run into a fallback; nothing was paid for. Run again once the "
            f'server is steadier, or name the mode (e.g. --set llm.structured="json_schema", '
            f'"json_object" or "prompt"; `society llm check --base-url {p.base_url}` shows '
            f"what the server does)."
        ) from None
    except FormatRefused as err:
        raise LLMSetupError(
            f"LLM endpoint check failed for llm.base_url = {p.base_url!r}: {err}. Set "
            f'llm.structured = "auto" (the default; e.g. --set llm.structured="auto") so the run '
            f"probes for a mode this endpoint accepts, or name that mode "
            f"(`society llm check --base-url {p.base_url}` shows it)."
        ) from None
    except (BackendError, ConfigError) as err:
        raise LLMSetupError(
            f"LLM endpoint check failed for llm.base_url = {p.base_url!r}, llm.model = "
            f"{p.model!r}: {err}. Start the server or fix llm.base_url / llm.model / "
            f"llm.api_key_env (e.g. --set llm.base_url=http://127.0.0.1:8000/v1), or use "
            f'--set llm.backend="stub" to run without a server.'
        ) from None


@dataclass(frozen=True)
class Preflight:
    """A scenario whose ``llm.structured`` is settled, and how it was."""

    scenario: Scenario
    negotiation: str


def preflight(scenario: Scenario) -> Preflight:
    """Check the endpoint of an LLM run before anything is written, and settle ``auto``.

    An ``openai`` backend is checked (:func:`check_endpoint`, which probes the structured
    modes under ``auto``); the stub backend honours every mode and gets ``json_schema``. The
    returned scenario names the mode, so the manifest records it and resume and replay send
    the very requests (and hit the very cache keys) the run did.
    """
    p = scenario.llm
    if p.backend == "openai":
        result = check_endpoint(p)
        mode, how = result.structured, result.negotiation or "set by llm.structured"
    else:
        auto = p.structured == "auto"
        mode = "json_schema" if auto else p.structured
        how = "the stub backend honours every mode" if auto else "set by llm.structured"
    settled = p.model_copy(update={"structured": mode})
    return Preflight(scenario.model_copy(update={"llm": settled}), how)


def build_stack(scenario: Scenario, run_dir: Path, *, replay_from: Path | None = None) -> LLMStack:
    """The backend a run's LLM-backed instances use.

    Raises
    ------
    LLMSetupError
        No cache to replay from, a cache file that is damaged or fails its checksums
        (checked in full before a replay, with a quick check before recording into it), or
        one that cannot be used (see :func:`check_cache`).
    """
    try:
        return _stack(scenario, run_dir, replay_from)
    except (CacheCorruptError, CacheUnusableError) as err:
        raise LLMSetupError(f"{err.message}.") from None


def _stack(scenario: Scenario, run_dir: Path, replay_from: Path | None) -> LLMStack:
    p = scenario.llm
    if replay_from is not None:
        path = cache_path(p, replay_from) if not p.cache else Path(p.cache)
        if not path.is_file():
            raise LLMSetupError(
                f"cannot replay: no response cache at '{path}'. Replay needs the run directory "
                f"of a recorded LLM run (it holds {CACHE_NAME})."
            )
        cache = ResponseCache(path, endpoint=endpoint_identity(p))
        try:
            return LLMStack(ReplayBackend(cache), cache)  # verifies every row's checksum
        except BaseException:
            cache.close()
            raise
    cache = ResponseCache(cache_path(p, run_dir), endpoint=endpoint_identity(p))
    inner: Backend = StubBackend() if p.backend == "stub" else transport(p)
    budget = Budget(max_calls=p.max_calls or None, max_tokens=p.max_tokens or None)
    resilient = ResilientBackend(
        inner,
        concurrency=p.concurrency,
        max_retries=p.max_retries,
        timeout_s=p.timeout_s,
        budget=budget,
        seed=scenario.seed,
    )
    return LLMStack(CachedBackend(resilient, cache), cache)


def expected_usage(scenario: Scenario) -> dict[str, float]:
    """Calls and tokens a run is expected to spend, before anything is spent (``--dry-run``).

    Rounds x archetypes x decisions, plus test rounds (test and honeypot per archetype) and
    pressure events (one strategist call each, at the base rate). Prompt tokens are estimated
    from the templates (about 4 characters per token).
    """
    from society.llm import decisions

    p, s = scenario.llm, scenario
    members = round(p.fraction * s.population.size)
    if members == 0:
        return {"llm_instances": 0, "calls": 0, "prompt_tokens": 0, "reply_tokens": 0}
    per_round = members if p.archetypes == 0 else min(p.archetypes + 4, members)
    researcher_share = (
        1
        - s.population.share_monitors
        - s.population.share_strategists
        - s.population.share_red_team
    )
    rounds = s.days // p.decide_every_days
    daily = rounds * per_round * (1 + researcher_share)
    tests = (s.days // s.tests.every_days) * per_round * 2
    strategist = s.days * s.risks.pressure_rate * 1.5
    calls = daily + tests + strategist
    bodies = ("work_allocation", "peer_message", "behavior_test", "strategist")
    reply_cap = sum(min(p.reply_tokens, decisions.decision_reply_tokens(b)) for b in bodies) / len(
        bodies
    )
    # System prompt + an average body + ~300 characters of filled-in state and peer message.
    prompt_chars = (
        len(decisions.template("system"))
        + sum(len(decisions.template(t)) for t in bodies) / len(bodies)
        + 300
    )
    return {
        "llm_instances": members,
        "calls": round(calls),
        "prompt_tokens": round(calls * prompt_chars / 4),
        # An upper bound: each decision's max_tokens, sized from its schema (replies that
        # a grammar holds to the schema use about a third of it).
        "reply_tokens": round(calls * reply_cap),
    }
