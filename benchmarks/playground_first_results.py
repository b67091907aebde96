"""The playground's first results: how long after "Run" the first of 8 seeds x 1,000 instances
x 365 days is on the page, through the app's own server and worker processes (started and
warmed as `society app` does before it prints its URL). Target: under 5 s on 2 cores.

    python benchmarks/playground_first_results.py [--seeds 8] [--size 1000] [--days 365]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp.test_utils import TestClient, TestServer

from society.app.jobs import Runner
from society.app.server import make_app


async def measure(runner: Runner, query: dict[str, str]) -> dict[str, float]:
    async with TestClient(TestServer(make_app(runner))) as client:
        t0 = time.perf_counter()
        job = await (await client.post("/api/run", json={"query": query})).json()
        first = None
        while True:
            data = await (await client.get(f"/api/job/{job['job']}")).json()
            if data["done"] and first is None:
                first = time.perf_counter() - t0
            if data["done"] + len(data["failed"]) == data["total"]:
                return {
                    "first_s": round(first or 0.0, 2),
                    "all_s": round(time.perf_counter() - t0, 2),
                }
            await asyncio.sleep(0.05)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    runner = Runner(args.workers)
    query = {
        "scenario": "baseline",
        "seeds": str(args.seeds),
        "size": str(args.size),
        "days": str(args.days),
    }
    try:
        result = asyncio.run(measure(runner, query))
    finally:
        runner.close()
    print(json.dumps({**vars(args), **result}))


if __name__ == "__main__":
    main()
