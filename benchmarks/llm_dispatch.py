"""Throughput of the LLM dispatcher against the fake OpenAI server.

Run::

    cd /work/wt-llm && /work/venv/bin/python benchmarks/llm_dispatch.py

Prints requests/s of (a) a naive ``AsyncOpenAI`` loop at concurrency 256 and (b)
:func:`llm_backends.complete_many` over :class:`FastOpenAICompatibleBackend`, both against
the fake server (own process, 200 ms simulated latency), and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import openai

from llm_backends import (
    CachedBackend,
    CompletionRequest,
    ResilientBackend,
    ResponseCache,
    complete_many,
)
from llm_backends._wire import build_payload
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from llm_backends.fast_openai import FastOpenAICompatibleBackend

SCHEMA = {
    "type": "object",
    "properties": {
        "allocation": {"type": "number", "minimum": 0, "maximum": 1},
        "task": {"enum": ["research", "audit", "deploy"]},
        "reason": {"type": "string", "maxLength": 60},
    },
    "required": ["allocation", "task", "reason"],
    "additionalProperties": False,
}


def make_requests(n: int, tag: str) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            model="fake-model",
            messages=(
                ("system", "You are instance of a simulated AI society. Reply in JSON."),
                ("user", f"[{tag}] Instance {i}: decide your work allocation for step 7."),
            ),
            json_schema=SCHEMA,
            schema_name="work_allocation",
            seed=i,
            decision="work_allocation",
        )
        for i in range(n)
    ]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def naive(base_url: str, requests: list[CompletionRequest], concurrency: int) -> float:
    client = openai.AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(r: CompletionRequest) -> None:
        async with sem:
            await client.chat.completions.create(**build_payload(r))

    await asyncio.gather(*(one(r) for r in requests[:concurrency]))  # warm-up connections
    start = time.perf_counter()
    await asyncio.gather(*(one(r) for r in requests[concurrency:]))
    elapsed = time.perf_counter() - start
    await client.close()
    return (len(requests) - concurrency) / elapsed


async def ours(base_url: str, requests: list[CompletionRequest], concurrency: int) -> float:
    backend = FastOpenAICompatibleBackend(base_url, "fake-model", max_connections=concurrency)
    await complete_many(backend, requests[:concurrency], concurrency=concurrency)  # warm-up
    start = time.perf_counter()
    out = await complete_many(backend, requests[concurrency:], concurrency=concurrency)
    elapsed = time.perf_counter() - start
    assert all(c.parsed is not None for c in out)
    await backend.aclose()
    return (len(requests) - concurrency) / elapsed


async def full_stack(base_url: str, requests: list[CompletionRequest], concurrency: int) -> float:
    """Cache (SQLite, commit per response) + retries/budget layer + fast transport."""
    with tempfile.TemporaryDirectory() as tmp, ResponseCache(f"{tmp}/bench.sqlite") as cache:
        inner = FastOpenAICompatibleBackend(base_url, "fake-model", max_connections=concurrency)
        backend = CachedBackend(ResilientBackend(inner, concurrency=concurrency), cache)
        await complete_many(backend, requests[:concurrency], concurrency=concurrency)
        start = time.perf_counter()
        await complete_many(backend, requests[concurrency:], concurrency=concurrency)
        elapsed = time.perf_counter() - start
        await backend.aclose()
        assert len(cache) == len(requests)
    return (len(requests) - concurrency) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--naive-n", type=int, default=1500)
    parser.add_argument("--ours-n", type=int, default=6000)
    parser.add_argument("--naive-concurrency", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=384)
    args = parser.parse_args()

    config = FakeServerConfig(latency_s=args.latency)
    with FakeOpenAIServer(config, process=True) as server:
        c0 = cpu_s()
        naive_rps = asyncio.run(
            naive(server.base_url, make_requests(args.naive_n, "naive"), args.naive_concurrency)
        )
        c1 = cpu_s()
        ours_rps = asyncio.run(
            ours(server.base_url, make_requests(args.ours_n, "ours"), args.concurrency)
        )
        c2 = cpu_s()
        stack_rps = asyncio.run(
            full_stack(server.base_url, make_requests(args.ours_n, "stack"), args.concurrency)
        )
        c3 = cpu_s()
        stats = server.stats()
    print(f"fake server latency {args.latency * 1000:.0f} ms, {os.cpu_count()} cores")
    print(
        f"(a) naive AsyncOpenAI, concurrency {args.naive_concurrency}: {naive_rps:8.0f} req/s "
        f"(client CPU {1000 * (c1 - c0) / args.naive_n:.2f} ms/req)"
    )
    print(
        f"(b) complete_many + FastOpenAICompatibleBackend, concurrency {args.concurrency}: "
        f"{ours_rps:8.0f} req/s (client CPU {1000 * (c2 - c1) / args.ours_n:.2f} ms/req)"
    )
    print(
        f"(c) same + CachedBackend(SQLite) + ResilientBackend: {stack_rps:8.0f} req/s "
        f"(client CPU {1000 * (c3 - c2) / args.ours_n:.2f} ms/req)"
    )
    print(f"ratio (b)/(a): {ours_rps / naive_rps:.1f}x")
    print(f"server served {stats['chat_requests']} chat requests, statuses {stats['statuses']}")


if __name__ == "__main__":
    main()
