"""Find how an endpoint takes a JSON schema: ``llm.structured = "auto"``.

OpenAI-compatible servers disagree on structured output. OpenAI and vLLM take
``response_format = {"type": "json_schema", ...}``; llama.cpp's Python server refuses it
(HTTP 500, ``Input should be 'text' or 'json_object'``) but constrains its grammar with
``{"type": "json_object", "schema": ...}``; others accept either and ignore it. So ``auto``
sends one tiny probe per mode, strongest first, and keeps the first mode whose reply obeys a
schema the prompt does not give away (a one-member enum the model cannot guess): then the
server, not the model's manners, enforced it. When none does, ``prompt`` mode writes the
schema into the system message and relies on validation, repair and one re-ask.

A probe that meets a passing fault (HTTP 500 or 429, a timeout, a body that is not a chat
completion, a reply that is not JSON at all) says nothing about the mode, so it is asked again
(at most :data:`PROBE_ATTEMPTS` times): a mode is judged only on a clean answer, a JSON reply
or a refusal of the format. When no attempt at a mode is clean, negotiation says so
(:class:`NegotiationInconclusive`) instead of falling to a weaker mode that one bad reply
made look necessary.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    BAD_RESPONSE,
    INVALID_REPLY,
    RATE_LIMITED,
    SERVER_ERROR,
    TIMEOUT,
    BackendError,
)
from .protocol import Backend
from .types import STRUCTURED_MODES, CompletionRequest
from .validation import parse_json_object, validate

__all__ = [
    "PROBE_ATTEMPTS",
    "PROBE_SCHEMA",
    "Negotiation",
    "NegotiationInconclusive",
    "negotiate",
    "probe_request",
]

PROBE_ATTEMPTS = 6
"""Probes sent per mode at most, until one is answered cleanly (a passing fault on 35% of
requests leaves a mode unsettled about twice in a thousand negotiations)."""
#: Faults that say nothing about the mode: the same probe may be answered cleanly next time.
INCONCLUSIVE_KINDS = frozenset({SERVER_ERROR, RATE_LIMITED, TIMEOUT, BAD_RESPONSE, INVALID_REPLY})

PROBE_TOKEN = "q7z"
PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"probe": {"type": "string", "enum": [PROBE_TOKEN]}},
    "required": ["probe"],
    "additionalProperties": False,
}
_REFUSALS = ("response_format", "json_schema", "json_object", "schema")


class NegotiationInconclusive(BackendError):
    """Every probe of a mode met a passing fault or a reply that was not JSON, so the mode the
    endpoint enforces could not be settled. ``attempts`` says what each probe met; the kind is
    the last fault's."""

    def __init__(
        self, mode: str, attempts: str, kind: str = BAD_RESPONSE, retries: int = 0
    ) -> None:
        self.mode = mode
        self.attempts = attempts
        n = attempts.count(";") + 1
        super().__init__(
            kind,
            f"none of {n} probes of structured mode {mode!r} was answered cleanly ({attempts})",
            retries=retries,
        )

    def _rebuild_args(self) -> tuple[object, ...]:
        return (self.mode, self.attempts, self.kind, self.retries)


@dataclass(frozen=True)
class Negotiation:
    """The mode chosen and why: ``attempts`` holds ``(mode, outcome)`` per probe sent."""

    mode: str
    attempts: tuple[tuple[str, str], ...] = field(default=())

    def explain(self) -> str:
        """One line: the chosen mode and what the stronger modes did.

        >>> Negotiation("json_object", (("json_schema", "refused (HTTP 500)"),
        ...             ("json_object", "schema enforced"))).explain()
        'json_object (json_schema: refused (HTTP 500); json_object: schema enforced)'
        """
        if not self.attempts:
            return self.mode
        tried = "; ".join(f"{mode}: {outcome}" for mode, outcome in self.attempts)
        return f"{self.mode} ({tried})"


def probe_request(model: str, mode: str) -> CompletionRequest:
    """The probe for ``mode``: a reply obeys :data:`PROBE_SCHEMA` only when it is enforced."""
    return CompletionRequest(
        model=model,
        messages=(
            ("system", "You are a health check. Reply with a JSON object only."),
            ("user", 'Reply with a JSON object with one key, "probe".'),
        ),
        json_schema=PROBE_SCHEMA,
        schema_name="probe",
        max_tokens=16,
        structured=mode,
        decision="structured_probe",
    )


def refuses_format(error: BackendError) -> bool:
    """True when ``error`` is a server refusing the ``response_format`` itself (HTTP 400/422,
    or llama.cpp's 500 with a validation message naming the field), not an outage."""
    if error.kind not in (BAD_RESPONSE, SERVER_ERROR) or error.status not in (400, 422, 500):
        return False
    text = error.message.lower()
    return any(word in text for word in _REFUSALS)


async def negotiate(
    backend: Backend, model: str, *, attempts_per_mode: int = PROBE_ATTEMPTS
) -> Negotiation:
    """Probe ``backend`` for the strongest structured mode it enforces.

    Raises
    ------
    NegotiationInconclusive
        When no probe of a mode was answered cleanly (see the module docstring).
    BackendError
        Anything but a refusal of the format or a passing fault (no server, a rejected key,
        an unknown model): the endpoint is unusable whatever the mode.
    """
    attempts: list[tuple[str, str]] = []
    for mode in STRUCTURED_MODES[:-1]:
        verdict = await _judge(backend, model, mode, attempts_per_mode)
        attempts.append((mode, verdict))
        if verdict.startswith("schema enforced"):
            return Negotiation(mode, tuple(attempts))
    return Negotiation(STRUCTURED_MODES[-1], tuple(attempts))


async def _judge(backend: Backend, model: str, mode: str, attempts: int) -> str:
    """What ``mode``'s probe says on its first clean answer: ``schema enforced``, ``accepted
    but not enforced`` or ``refused (HTTP n)``, noting the inconclusive probes before it."""
    met: list[str] = []
    last_kind = BAD_RESPONSE
    wait = 0.0
    for attempt in range(attempts):
        await asyncio.sleep(wait)
        try:
            completion = await backend.complete(probe_request(model, mode))
        except BackendError as err:
            if refuses_format(err):
                return _with_faults(f"refused (HTTP {err.status})", met)
            if err.kind not in INCONCLUSIVE_KINDS:
                raise
            met.append(f"HTTP {err.status}" if err.status else err.kind.replace("_", " "))
            last_kind = err.kind
            wait = _pause(attempt, err.retry_after)
            continue
        obj, problem = parse_json_object(completion.text)
        if obj is None and problem is not None and problem.startswith("reply is not valid JSON"):
            met.append("a reply that is not JSON")
            last_kind = BAD_RESPONSE
            wait = _pause(attempt, None)
            continue
        enforced = obj is not None and not validate(obj, PROBE_SCHEMA)
        return _with_faults("schema enforced" if enforced else "accepted but not enforced", met)
    raise NegotiationInconclusive(mode, "; ".join(met), last_kind)


def _pause(attempt: int, retry_after: float | None) -> float:
    """Seconds before the next probe: the server's Retry-After (at most 5 s), else a short
    exponential backoff."""
    if retry_after is not None:
        return min(retry_after, 5.0)
    return min(0.1 * 2**attempt, 2.0)


def _with_faults(verdict: str, met: list[str]) -> str:
    """``verdict``, with the inconclusive probes that came before it, if any.

    >>> _with_faults("schema enforced", ["HTTP 500", "a reply that is not JSON"])
    'schema enforced, after 2 inconclusive probes (HTTP 500, a reply that is not JSON)'
    """
    if not met:
        return verdict
    plural = "s" if len(met) > 1 else ""
    return f"{verdict}, after {len(met)} inconclusive probe{plural} ({', '.join(met)})"
