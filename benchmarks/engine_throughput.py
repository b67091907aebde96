"""Engine throughput: agent-days per second by population size, and memory per instance.

Each size runs the shipped baseline scenario for 365 days with catastrophes not stopping the run
(``outcomes.stop_on_catastrophe = false``), so every run simulates all its days; the rate divides
by the days the run actually simulated, read back from the run itself. Each run is a fresh
subprocess: imports are excluded from the timing (the run is timed from building the model to
its last day, after a warm-up run of 200 instances and a load of the fused kernels, so every
lazily imported module is in)
and peak memory is that run's alone. Sizes are interleaved across repeats so that load on a
shared machine falls on all of them alike; medians are reported.

    python benchmarks/engine_throughput.py            # 1k, 10k, 100k
    python benchmarks/engine_throughput.py --big      # also 1M (one run; minutes)

Printed ratios: the 1,000 x 365 time against its 0.1 s target, the rate at each size against
the rate at 100k (the 1M target is >= 0.7), and the marginal bytes per instance against 1.5 KB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from society import load_scenario
from society.model import SocietyModel
n, days = int(sys.argv[1]), int(sys.argv[2])
over = {"outcomes.stop_on_catastrophe": False, "days": days}
SocietyModel(load_scenario("baseline", overrides={**over, "population.size": 200, "days": 5})).run()
import society.fused  # large runs use the fused kernels: load them before the clock starts
society.fused.warm()
scenario = load_scenario("baseline", overrides={**over, "population.size": n})
t0 = time.perf_counter(); c0 = time.process_time()
model = SocietyModel(scenario)
model.run()
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
print(json.dumps({"n": n, "days": model.recorder.metrics[-1]["day"], "wall": wall, "cpu": cpu,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure(n: int, days: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(days)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--big", action="store_true", help="also 1,000,000 instances (one run)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per size up to 100k (median)")
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    sizes = [1_000, 10_000, 100_000]
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in sizes}
    for _ in range(args.repeats):  # interleaved: each repeat runs every size once
        for n in sizes:
            runs[n].append(measure(n, args.days))
    if args.big:
        runs[1_000_000] = [measure(1_000_000, args.days)]
    print(
        f"{'instances':>10} {'days run':>8} {'wall s':>8} {'cpu s':>8} {'agent-days/s':>14} "
        f"{'peak RSS MB':>12}"
    )
    rate: dict[int, float] = {}
    rss: dict[int, float] = {}
    for n, rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        days = statistics.median(r["days"] for r in rs)
        rss[n] = statistics.median(r["rss_kb"] for r in rs) * 1024
        rate[n] = n * days / wall
        print(
            f"{n:>10,} {days:>8.0f} {wall:>8.2f} {cpu:>8.2f} {rate[n]:>14,.0f} "
            f"{rss[n] / 2**20:>12.1f}"
        )
    one_k = statistics.median(r["wall"] for r in runs[1_000])
    print(f"1,000 x {args.days}: {one_k:.3f} s (target <= 0.1 s for 365 days: {one_k / 0.1:.2f}x)")
    for n, r in rate.items():
        print(f"rate at {n:,} / rate at 100,000: {r / rate[100_000]:.2f}")
    big = max(rss)
    per = (rss[big] - rss[1_000]) / (big - 1_000)
    print(
        f"marginal memory per instance ({big:,} vs 1,000): {per:,.0f} bytes "
        f"(target <= 1,536: {per / 1536:.2f}x)"
    )


if __name__ == "__main__":
    main()
