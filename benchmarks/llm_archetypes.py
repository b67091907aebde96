"""10,000 LLM-backed instances with 64 archetypes over 90 simulated days against a loopback
OpenAI-compatible server answering after 200 ms. Target: at most 5 minutes; prints the wall
time, the call count and the token total.

    python benchmarks/llm_archetypes.py [--days 90] [--latency 0.2] [--client openai|aiohttp]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import polars as pl

import society
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--client", choices=["openai", "aiohttp"], default="openai")
    args = ap.parse_args()
    config = FakeServerConfig(latency_s=args.latency)
    with FakeOpenAIServer(config, process=True) as server:
        t0 = time.perf_counter()
        result = society.run(
            "baseline",
            out=tempfile.mkdtemp() + "/run",
            overrides={
                "days": args.days,
                "llm.fraction": 1.0,
                "llm.archetypes": 64,
                "llm.base_url": server.base_url,
                "llm.model": "fake-model",
                "llm.client": args.client,
                "llm.concurrency": 128,
            },
        )
        wall = time.perf_counter() - t0
        served = server.stats()["chat_requests"]
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    tokens = int(calls["prompt_tokens"].sum() + calls["completion_tokens"].sum())
    print(
        f"instances 10,000 (all LLM-backed), archetypes 64, days {args.days}, "
        f"latency {args.latency * 1000:.0f} ms, client {args.client}"
    )
    print(f"wall time: {wall:.1f} s (target <= 300 s; ratio {wall / 300:.2f})")
    hits, fallbacks = int(calls["cache_hit"].sum()), int(calls["fallback"].sum())
    print(
        f"calls: {calls.height:,} logged, {served:,} served by the endpoint "
        f"(cache hits {hits:,}, fallbacks {fallbacks:,})"
    )
    print(
        f"tokens: {tokens:,} ({int(calls['prompt_tokens'].sum()):,} prompt, "
        f"{int(calls['completion_tokens'].sum()):,} completion)"
    )
    print(f"mean archetype size: {calls['archetype_size'].mean():.0f} instances per call")


if __name__ == "__main__":
    main()
