"""Find how an endpoint takes a JSON schema: ``llm.structured = "auto"``.

OpenAI-compatible servers disagree on structured output. OpenAI and vLLM take
``response_format = {"type": "json_schema", ...}``; llama.cpp's Python server refuses it
(HTTP 500, ``Input should be 'text' or 'json_object'``) but constrains its grammar with
``{"type": "json_object", "schema": ...}``; others accept either and ignore it. So ``auto``
sends one tiny probe per mode, strongest first, and keeps the first mode whose reply obeys a
schema the prompt does not give away (a one-member enum the model cannot guess): then the
server, not the model's manners, enforced it. When none does, ``prompt`` mode writes the
schema into the system message and relies on validation, repair and one re-ask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import BAD_RESPONSE, SERVER_ERROR, BackendError
from .protocol import Backend
from .types import STRUCTURED_MODES, CompletionRequest
from .validation import parse_json_object, validate

__all__ = ["PROBE_SCHEMA", "Negotiation", "negotiate", "probe_request"]

PROBE_TOKEN = "q7z"
PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"probe": {"type": "string", "enum": [PROBE_TOKEN]}},
    "required": ["probe"],
    "additionalProperties": False,
}
_REFUSALS = ("response_format", "json_schema", "json_object", "schema")


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


async def negotiate(backend: Backend, model: str) -> Negotiation:
    """Probe ``backend`` for the strongest structured mode it enforces.

    Raises
    ------
    BackendError
        Anything but a refusal of the format (no server, a rejected key, an unknown model):
        the endpoint is unusable whatever the mode.
    """
    attempts: list[tuple[str, str]] = []
    for mode in STRUCTURED_MODES[:-1]:
        try:
            completion = await backend.complete(probe_request(model, mode))
        except BackendError as err:
            if not refuses_format(err):
                raise
            attempts.append((mode, f"refused (HTTP {err.status})"))
            continue
        obj, _problem = parse_json_object(completion.text)
        if obj is not None and not validate(obj, PROBE_SCHEMA):
            attempts.append((mode, "schema enforced"))
            return Negotiation(mode, tuple(attempts))
        attempts.append((mode, "accepted but not enforced"))
    return Negotiation(STRUCTURED_MODES[-1], tuple(attempts))
