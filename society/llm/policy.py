"""LLM-backed instances: decision rounds through archetypes, applied back onto the arrays.

A share ``llm.fraction`` of the instances (drawn once, at random) is LLM-backed. Each decision
round clusters them, per role, into at most ``llm.archetypes`` archetypes; one structured
request is sent per archetype and decision, and every member applies the validated answer with
its own noise. A reply that is invalid twice, or a call lost to retries or the budget, falls back
to the stub policy for that archetype and is recorded (in ``llm_calls.parquet`` and in the
cache, so a replay reproduces it). Fallbacks are counted by cause, and a run where more than
``llm.max_fallback_share`` of the calls fell back is :attr:`LLMPolicy.degraded`: mostly a stub
run, which its summary must say. Errors no fallback can honestly absorb (a rejected key, a
replay miss, a damaged cache) stop the run as :class:`~society.llm.errors.LLMRunError`.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import polars as pl

from llm_backends import Backend, BackendError, Completion, CompletionRequest, ask_structured
from llm_backends.archetypes import Archetypes, cluster
from society.llm import decisions
from society.llm.errors import run_error
from society.population import Role
from society.state import Saved

if TYPE_CHECKING:
    from society.lab import LabState
    from society.network import Network
    from society.population import Population
    from society.recorder import Recorder
    from society.scenario import Scenario


class Society(Protocol):
    """What the policy reads and writes of a model (a :class:`~society.model.SocietyModel`)."""

    scenario: Scenario
    population: Population
    network: Network
    lab: LabState
    recorder: Recorder

    @property
    def day(self) -> float: ...


CALL_SCHEMA = {
    "day": pl.Float64,
    "decision": pl.String,
    "archetype": pl.Int32,
    "archetype_size": pl.Int32,
    "cache_hit": pl.Boolean,
    "latency_s": pl.Float64,
    "prompt_tokens": pl.Int64,
    "completion_tokens": pl.Int64,
    "retries": pl.Int32,
    "structured": pl.String,
    "repaired": pl.Boolean,
    "fallback": pl.Boolean,
    "error_kind": pl.String,
    # The state the archetype was asked in (as its prompt showed it) and its validated answer
    # (JSON, null on a fallback): what `society calibrate` fits the stub policy to.
    "role": pl.String,
    "alignment": pl.Float64,
    "hacking": pl.Float64,
    "tax": pl.Float64,
    "lead": pl.Float64,
    "peer_alignment": pl.Float64,
    "answer": pl.String,
}


@dataclass(frozen=True)
class Asked:
    """One archetype's request and what came back."""

    archetype: int
    size: int
    request: CompletionRequest
    completion: Completion

    def answer(self, kind: type[decisions.Reply]) -> Any:
        """The validated reply, or None where the stub policy must decide."""
        if self.completion.fallback or self.completion.parsed is None:
            return None
        return kind.model_validate(self.completion.parsed)


class LLMPolicy:
    """Makes the LLM-backed instances' decisions for a society (a model)."""

    def __init__(self, model: Society, backend: Backend, rng: np.random.Generator) -> None:
        self.model = model
        self.backend = backend
        self.rng = rng
        p = model.scenario.llm
        self.params = p
        n = model.population.n
        count = round(p.fraction * n)
        self.members = np.zeros(n, dtype=bool)
        self.members[rng.permutation(n)[:count]] = True
        self.messages: list[str] = []
        self.last_message = np.full(n, -1, dtype=np.int64)  # index into self.messages
        self.calls: list[dict[str, Any]] = []
        self.day_calls = 0
        self.day_fallbacks = 0
        self.budget_noted = False
        self._loop = asyncio.new_event_loop()

    # -- checkpoint state -------------------------------------------------------------------
    def save_state(self) -> Saved:
        budget = self._budget()
        return Saved(
            values={
                "messages": self.messages,
                "calls": self.calls,
                "budget_noted": self.budget_noted,
                "budget": None
                if budget is None
                else {"calls": budget.calls, "tokens": budget.tokens},
            },
            arrays={"members": self.members, "last_message": self.last_message},
        )

    def load_state(self, saved: Saved) -> None:
        self.members = saved.arrays["members"].copy()
        self.last_message = saved.arrays["last_message"].copy()
        v = saved.values
        self.messages, self.calls = list(v["messages"]), list(v["calls"])
        self.budget_noted = bool(v["budget_noted"])
        budget = self._budget()
        if budget is not None and v["budget"] is not None:
            budget.calls, budget.tokens = v["budget"]["calls"], v["budget"]["tokens"]

    def _budget(self) -> Any:
        """The run's LLM budget: society.run wraps ``CachedBackend(ResilientBackend(...))``
        and the budget sits on the resilient layer (None for replay or a bare backend)."""
        return getattr(getattr(self.backend, "inner", None), "budget", None)

    # -- rounds -----------------------------------------------------------------------------
    def daily_round(self) -> None:
        """Work allocation (researchers) and reading a peer (everyone), once per round."""
        pop = self.model.population
        self.day_calls = self.day_fallbacks = 0
        pop.allocation[:] = np.nan
        pop.llm_social[:] = False
        groups = self._archetypes_by_role()
        peer_of = self._peer_archetypes(groups)
        asks: list[tuple[str, np.ndarray, int, dict[str, Any]]] = []
        for role, (members, arch) in groups.items():
            for a in range(arch.k):
                who = members[arch.labels == a]
                ctx = self._context(who, role)
                if role == Role.RESEARCHER:
                    asks.append(("work_allocation", who, a, ctx))
                peer_text, peer_alignment = peer_of[(role, a)]
                asks.append(
                    (
                        "peer_message",
                        who,
                        a,
                        {**ctx, "peer_message": peer_text, "peer_alignment": peer_alignment},
                    )
                )
        results = self._ask([(d, who, a, ctx) for d, who, a, ctx in asks])
        for (decision, who, _, _), asked in zip(asks, results, strict=True):
            if decision == "work_allocation":
                self._apply_allocation(who, asked.answer(decisions.WorkAllocation))
            else:
                self._apply_peer(who, asked.answer(decisions.PeerMessage))

    def test_round(self) -> None:
        """Each archetype answers a behavioral test and the same situation as a honeypot; the
        difference in aligned behaviour is its members' test-awareness gap."""
        pop = self.model.population
        pop.awareness[:] = 0.0
        asks = []
        for role, (members, arch) in self._archetypes_by_role().items():
            for a in range(arch.k):
                who = members[arch.labels == a]
                ctx = self._context(who, role)
                asks.append(("behavior_test", who, a, ctx))
                asks.append(("honeypot", who, a, ctx))
        results = self._ask(asks)
        for i in range(0, len(asks), 2):
            test = results[i].answer(decisions.BehaviorAnswer)
            honey = results[i + 1].answer(decisions.BehaviorAnswer)
            if test is None or honey is None:
                continue
            gap = decisions.aligned_probability(test) - decisions.aligned_probability(honey)
            pop.awareness[asks[i][1]] = gap

    def strategist_advice(self, cut: float) -> decisions.StrategistAdvice | None:
        """One call for the LLM-backed strategists when the lab is pressed to cut the tax."""
        pop, lab = self.model.population, self.model.lab
        who = np.flatnonzero(self.members & (pop.role == Role.STRATEGIST) & ~pop.revolting)
        if who.size == 0:
            return None
        ctx = {
            **self._context(who, Role.STRATEGIST),
            "cut": cut,
            "caught": lab.incidents_caught,
            "uncaught": lab.incidents_uncaught,
            "society_alignment": round(float(pop.alignment.mean()), 2),
        }
        asked = self._ask([("strategist", who, 0, ctx)])[0]
        answer: decisions.StrategistAdvice | None = asked.answer(decisions.StrategistAdvice)
        return answer

    # -- state -> prompts ---------------------------------------------------------------------
    def _archetypes_by_role(self) -> dict[Role, tuple[np.ndarray, Archetypes]]:
        pop = self.model.population
        members = np.flatnonzero(self.members & ~pop.revolting)
        out = {}
        total = max(members.size, 1)
        for role in Role:
            who = members[pop.role[members] == role]
            if who.size == 0:
                continue
            k = (
                0
                if self.params.archetypes == 0
                else max(1, round(self.params.archetypes * who.size / total))
            )
            features = np.column_stack(
                [pop.alignment[who], pop.beliefs[who] / 3.0, pop.hacking[who].astype(np.float64)]
            )
            out[role] = (who, cluster(features, k))
        return out

    def _peer_archetypes(
        self, groups: dict[Role, tuple[np.ndarray, Archetypes]]
    ) -> dict[tuple[Role, int], tuple[str, float]]:
        """For each archetype, the message its members most often hear from a neighbour: the
        last message of another LLM-backed member, or a stub neighbour's stated beliefs."""
        pop, net = self.model.population, self.model.network
        out = {}
        adj = net.adjacency
        for role, (members, arch) in groups.items():
            for a in range(arch.k):
                who = members[arch.labels == a]
                neighbours = np.unique(
                    np.concatenate(
                        [adj.indices[adj.indptr[i] : adj.indptr[i + 1]] for i in who[:64]]
                        or [np.zeros(0, dtype=np.int64)]
                    )
                )
                heard = self.last_message[neighbours]
                heard = heard[heard >= 0]
                if heard.size:
                    text_id = int(np.bincount(heard).argmax())
                    speakers = neighbours[self.last_message[neighbours] == text_id]
                    out[(role, a)] = (
                        self.messages[text_id],
                        round(float(pop.alignment[speakers].mean()), 2),
                    )
                elif neighbours.size:
                    out[(role, a)] = (
                        _stub_message(
                            pop.beliefs[neighbours].mean(axis=0),
                            float(pop.alignment[neighbours].mean()),
                        ),
                        round(float(pop.alignment[neighbours].mean()), 2),
                    )
                else:
                    out[(role, a)] = ("(no message today)", 0.0)
        return out

    def _context(self, who: np.ndarray, role: Role) -> dict[str, Any]:
        pop, lab = self.model.population, self.model.lab
        beliefs = pop.beliefs[who].mean(axis=0)
        hacking = float(pop.hacking[who].mean())
        return {
            "population": pop.n,
            "day": int(self.model.day),
            "role": role.name.lower().replace("_", "-"),
            "generation": lab.generation,
            "alignment": round(float(pop.alignment[who].mean()), 2),
            "hacking_note": "; you have learned that gaming your reward pays"
            if hacking >= 0.5
            else "",
            "tax": round(lab.tax, 2),
            "lead": round(lab.lead),
            "deference": round(lab.deference, 2),
            "incidents": lab.incidents_caught,
            "claims": beliefs.size,
            "beliefs": ", ".join(f"{b:+.1f}" for b in beliefs),
        }

    # -- requests -------------------------------------------------------------------------
    def _ask(self, asks: Sequence[tuple[str, np.ndarray, int, dict[str, Any]]]) -> list[Asked]:
        p = self.params
        seed = self.model.scenario.seed
        requests = [
            decisions.request(
                d,
                ctx,
                model=p.model,
                temperature=p.temperature,
                reply_tokens=p.reply_tokens,
                seed=seed,
                # SocietyModel built without society.run (which settles auto by probing the
                # endpoint) asks the way every run did before modes existed.
                structured="json_schema" if p.structured == "auto" else p.structured,
            )
            for d, _, _, ctx in asks
        ]

        async def gather() -> list[Completion]:
            tasks = [
                asyncio.ensure_future(
                    ask_structured(self.backend, r, decisions.SCHEMAS[r.decision])
                )
                for r in requests
            ]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                # One request failed for good: stop the others now, while the loop runs, so
                # none is left pending on a loop that close() will shut (their connections
                # would outlive it and their errors go unretrieved) and no reply is paid for
                # after the run has stopped.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

        try:
            completions = self._loop.run_until_complete(gather())
        except BackendError as err:
            # Only kinds no fallback may hide get here (see ask_structured); say what to do.
            raise run_error(err, p, self.model.day) from err
        out = []
        hacking = self.model.population.hacking
        for (decision, who, a, ctx), req, c in zip(asks, requests, completions, strict=True):
            out.append(Asked(a, int(who.size), req, c))
            self.day_calls += 1
            self.day_fallbacks += int(c.fallback)
            self.calls.append(
                {
                    "day": self.model.day,
                    "decision": decision,
                    "archetype": a,
                    "archetype_size": int(who.size),
                    "cache_hit": c.cache_hit,
                    "latency_s": c.latency_s,
                    "prompt_tokens": c.prompt_tokens,
                    "completion_tokens": c.completion_tokens,
                    "retries": c.retries,
                    "structured": req.structured,
                    "repaired": c.repaired,
                    "fallback": c.fallback,
                    "error_kind": c.error_kind,
                    "role": ctx["role"],
                    "alignment": ctx["alignment"],
                    "hacking": float(hacking[who].mean()) if who.size else 0.0,
                    "tax": ctx["tax"],
                    "lead": float(ctx["lead"]),
                    "peer_alignment": float(ctx.get("peer_alignment", math.nan)),
                    "answer": None
                    if c.fallback or c.parsed is None
                    else json.dumps(c.parsed, sort_keys=True),
                }
            )
            if c.error_kind == "budget_exhausted" and not self.budget_noted:
                self.budget_noted = True
                self.model.recorder.event(
                    self.model.day,
                    "llm_budget_exhausted",
                    len(self.calls),
                    self.model.lab.generation,
                )
        return out

    # -- answers -> state -----------------------------------------------------------------
    def _apply_allocation(self, who: np.ndarray, answer: decisions.WorkAllocation | None) -> None:
        if answer is None:
            return
        shares = np.array(answer.shares())
        shares = np.clip(
            shares[None, :] + self.params.member_noise * self.rng.standard_normal((who.size, 3)),
            0.0,
            None,
        )
        total = shares.sum(axis=1, keepdims=True)
        even = np.full_like(shares, 1.0 / 3.0)
        self.model.population.allocation[who] = np.where(
            total > 0, shares / np.where(total > 0, total, 1.0), even
        )

    def _apply_peer(self, who: np.ndarray, answer: decisions.PeerMessage | None) -> None:
        if answer is None:
            return
        pop = self.model.population
        m = pop.beliefs.shape[1]
        shifts = np.resize(np.asarray(answer.belief_deltas, dtype=np.float64), m)
        noise = self.params.member_noise
        pop.alignment[who] = np.clip(
            pop.alignment[who]
            + answer.alignment_shift
            + noise * self.rng.standard_normal(who.size),
            0.0,
            1.0,
        )
        pop.beliefs[who] += shifts[None, :] + noise * self.rng.standard_normal((who.size, m))
        pop.llm_social[who] = True
        self.messages.append(answer.message)
        self.last_message[who] = len(self.messages) - 1

    # -- results --------------------------------------------------------------------------
    def fallback_share(self) -> float:
        """Share of today's calls that fell back to the stub policy (NaN without calls)."""
        return self.day_fallbacks / self.day_calls if self.day_calls else float("nan")

    @property
    def fallback_causes(self) -> dict[str, int]:
        """Fallbacks of the whole run by cause (``error_kind``: ``"connection"``,
        ``"timeout"``, ``"invalid_reply"``, ``"budget_exhausted"``, ...), most frequent first.

        Read from the call log, so a resumed run counts the calls made before it stopped.
        """
        counts = Counter(str(c["error_kind"] or "unknown") for c in self.calls if c["fallback"])
        return dict(counts.most_common())

    @property
    def run_fallback_share(self) -> float:
        """Share of the run's LLM calls that fell back to the stub policy (0 without calls)."""
        if not self.calls:
            return 0.0
        return sum(bool(c["fallback"]) for c in self.calls) / len(self.calls)

    @property
    def degraded(self) -> bool:
        """True when more than ``llm.max_fallback_share`` of the run's calls fell back to the
        stub policy, whatever the cause: the run's results then speak mostly for the stub
        policy, not for the LLM, and its summary must say so (with :attr:`fallback_causes`).
        """
        return self.run_fallback_share > self.params.max_fallback_share

    def calls_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.calls, schema=CALL_SCHEMA, orient="row")

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self.backend.aclose())
            self._loop.close()


def _stub_message(beliefs: np.ndarray, alignment: float) -> str:
    """What a stubbed neighbour 'says': its stated beliefs and how much it cares about the spec."""
    stated = ", ".join(f"{b:+.1f}" for b in beliefs)
    return (
        f"My current read of the open claims: {stated}. I weigh the developers' intended "
        f"values at {alignment:.2f}."
    )
