"""An in-process backend that needs no network: deterministic, free and instant."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from .synth import break_instance, seed_from, synthesize
from .types import Completion, CompletionRequest

__all__ = ["STUB_FAULTS", "StubBackend"]

STUB_FAULTS = frozenset({"ok", "malformed", "schema_invalid"})


class StubBackend:
    """Answer every request with a schema-valid JSON object derived from its cache key.

    Parameters
    ----------
    faults : sequence of str, optional
        Deterministic fault schedule by call index: entry ``i`` applies to the ``i``-th call
        (``"ok"``, ``"malformed"`` = not JSON, ``"schema_invalid"`` = JSON violating the
        schema). Calls past the end are ``"ok"`` unless ``cycle`` is true.
    cycle : bool
        Repeat ``faults`` forever.
    latency_s : float
        Simulated latency (``asyncio.sleep``), 0 by default.

    Examples
    --------
    >>> import asyncio
    >>> from llm_backends.types import CompletionRequest
    >>> schema = {"type": "object", "properties": {"x": {"type": "integer", "minimum": 1,
    ...           "maximum": 3}}, "required": ["x"]}
    >>> req = CompletionRequest(model="stub", messages=(("user", "go"),), json_schema=schema)
    >>> c = asyncio.run(StubBackend().complete(req))
    >>> c.parsed["x"] in (1, 2, 3), c.parsed == asyncio.run(StubBackend().complete(req)).parsed
    (True, True)
    """

    def __init__(
        self, faults: Sequence[str] = (), *, cycle: bool = False, latency_s: float = 0.0
    ) -> None:
        unknown = set(faults) - STUB_FAULTS
        if unknown:
            raise ValueError(f"unknown stub faults {sorted(unknown)}; use {sorted(STUB_FAULTS)}")
        self.faults = tuple(faults)
        self.cycle = cycle
        self.latency_s = latency_s
        self.calls = 0

    def _fault(self, index: int) -> str:
        if not self.faults:
            return "ok"
        if self.cycle:
            return self.faults[index % len(self.faults)]
        return self.faults[index] if index < len(self.faults) else "ok"

    async def complete(self, request: CompletionRequest) -> Completion:
        fault = self._fault(self.calls)
        self.calls += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        seed = seed_from(request.cache_key())
        if fault == "malformed":
            text = '{"unterminated": '
        elif fault == "schema_invalid":
            text = json.dumps(break_instance(request.json_schema, seed))
        else:
            text = json.dumps(synthesize(request.json_schema, seed))
        parsed = None
        if fault != "malformed":
            obj = json.loads(text)
            parsed = obj if isinstance(obj, dict) else None
        prompt_chars = sum(len(content) for _, content in request.messages)
        return Completion(
            text=text,
            parsed=parsed,
            # Rough 4-characters-per-token estimate so budgets behave plausibly offline.
            prompt_tokens=max(1, prompt_chars // 4),
            completion_tokens=max(1, len(text) // 4),
            latency_s=self.latency_s,
        )

    async def aclose(self) -> None:
        return None
