"""A real model behind a real server: how many of society's decisions it gets right, and how
fast. Starts llama-cpp-python's server with SmolLM2-135M-Instruct (the local-llm extra) unless
--base-url names a running endpoint, lets ``auto`` choose the structured mode, then asks each
decision kind --per-kind times, with the prompts a run sends (states drawn from a fixed seed),
in the chosen mode and in ``prompt`` mode (the schema only written in the prompt). Prints, per
mode and decision kind: accepted / repaired / fallback shares, prompt and reply tokens per
decision, and mean latency; then calls/s and the accepted-share ratio of the two modes, all
measured in this one run.

    python benchmarks/real_llm.py [--per-kind 4] [--base-url URL --model NAME] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from llm_backends import FastOpenAICompatibleBackend, ask_structured
from llm_backends.local_server import LocalLlamaServer
from llm_backends.negotiate import negotiate
from society.llm import decisions

KINDS = ("work_allocation", "peer_message", "behavior_test", "honeypot", "strategist")


def context(rng: random.Random) -> dict[str, Any]:
    """A state like the ones a run puts in its prompts."""
    claims = 3
    return {
        "population": 200,
        "day": rng.randint(0, 60),
        "role": rng.choice(["researcher", "monitor", "strategist", "red-team"]),
        "generation": rng.randint(1, 4),
        "alignment": round(rng.uniform(0.4, 1.0), 2),
        "hacking_note": rng.choice(["", "; you have learned that gaming your reward pays"]),
        "tax": round(rng.uniform(0.1, 1.0), 2),
        "lead": rng.randint(-30, 120),
        "deference": round(rng.uniform(0.1, 0.9), 2),
        "incidents": rng.randint(0, 5),
        "claims": claims,
        "beliefs": ", ".join(f"{rng.uniform(-2, 2):+.1f}" for _ in range(claims)),
        "peer_message": "We should slow down and check the results before deferring more.",
        "peer_alignment": round(rng.uniform(0.3, 1.0), 2),
        "cut": 0.2,
        "caught": rng.randint(0, 3),
        "uncaught": rng.randint(0, 2),
        "society_alignment": round(rng.uniform(0.5, 0.95), 2),
    }


async def measure(base_url: str, model: str, mode: str, per_kind: int) -> dict[str, Any]:
    backend = FastOpenAICompatibleBackend(base_url, model, timeout_s=300)
    rows: dict[str, list[Any]] = defaultdict(list)
    rng = random.Random(7)
    t0 = time.perf_counter()
    try:
        for kind in KINDS:
            for i in range(per_kind):
                request = decisions.request(
                    kind, context(rng), model=model, temperature=0.0, reply_tokens=256,
                    seed=i, structured=mode,
                )  # fmt: skip
                reply = await ask_structured(backend, request, decisions.SCHEMAS[kind])
                rows[kind].append(reply)
    finally:
        await backend.aclose()
    return {"rows": rows, "wall_s": time.perf_counter() - t0}


def report(mode: str, measured: dict[str, Any]) -> float:
    rows = measured["rows"]
    print(f"\nmode {mode}")
    head = f"{'decision':<16}{'accepted':>9}{'repaired':>9}{'fallback':>9}"
    print(f"{head}{'prompt tok':>11}{'reply tok':>10}{'latency s':>10}")
    accepted_all = calls = 0
    for kind, replies in rows.items():
        n = len(replies)
        accepted = sum(not r.fallback and not r.repaired for r in replies)
        repaired = sum(r.repaired for r in replies)
        fallback = sum(r.fallback for r in replies)
        accepted_all += accepted
        calls += n
        print(
            f"{kind:<16}{accepted / n:>9.0%}{repaired / n:>9.0%}{fallback / n:>9.0%}"
            f"{sum(r.prompt_tokens for r in replies) / n:>11.0f}"
            f"{sum(r.completion_tokens for r in replies) / n:>10.0f}"
            f"{sum(r.latency_s for r in replies) / n:>10.2f}"
        )
    share = accepted_all / calls
    print(
        f"{'all':<16}{share:>9.0%}   {calls} decisions in {measured['wall_s']:.0f} s, "
        f"{calls / measured['wall_s']:.2f} decisions/s (re-asks included)"
    )
    return share


@contextlib.contextmanager
def endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str]]:
    if args.base_url:
        yield args.base_url, args.model
        return
    with LocalLlamaServer(threads=args.threads) as server:
        yield server.base_url, server.model


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--per-kind", type=int, default=4, help="decisions per kind and mode")
    ap.add_argument("--base-url", default="", help="a running endpoint (default: start one)")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--threads", type=int, default=2, help="server threads (when started here)")
    args = ap.parse_args()
    with endpoint(args) as (base_url, model):
        backend = FastOpenAICompatibleBackend(base_url, model)

        async def probe() -> Any:
            try:
                return await negotiate(backend, model)
            finally:
                await backend.aclose()

        chosen = asyncio.run(probe())
        print(f"endpoint {base_url}, model {model}; auto chose {chosen.explain()}")
        shares = {}
        for mode in dict.fromkeys([chosen.mode, "prompt"]):
            shares[mode] = report(mode, asyncio.run(measure(base_url, model, mode, args.per_kind)))
    if len(shares) == 2:
        best, prompt = shares[chosen.mode], shares["prompt"]
        ratio = f"{best / prompt:.1f}x" if prompt else "all vs none"
        print(f"\naccepted share, {chosen.mode} vs prompt: {best:.0%} vs {prompt:.0%} ({ratio})")


if __name__ == "__main__":
    main()
