"""Sweep memory: the driver's peak memory does not grow with the number of points.

Runs sweeps of very small societies (so that many points finish quickly) with 1,000 and then
10,000 points, each in a fresh process, and prints the driver's peak resident memory (which
covers validation, scheduling, writing every run and assembling points.parquet) next to the
size all runs' metrics would take if they were held at once.

    PYTHONPATH=. python benchmarks/sweep_memory.py                 # 1,000 and 10,000 points
    PYTHONPATH=. python benchmarks/sweep_memory.py --points 200 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from society.sweeps.runner import run_sweep
t0 = time.perf_counter()
result = run_sweep(sys.argv[1], out=sys.argv[2])
wall = time.perf_counter() - t0
metrics = result.scan_metrics().select("day").collect().height
print(json.dumps({"points": result.points.height, "failed": result.failed, "wall_s": wall,
                  "metric_rows": metrics,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--points", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument("--days", type=int, default=30)
    args = p.parse_args()
    tiny = Path(__file__).resolve().parent.parent / "scenarios" / "tiny.toml"
    tmp = Path(tempfile.mkdtemp(prefix="sweep-memory-"))
    for n in args.points:
        arms = 100
        sweep = tmp / f"mem{n}.toml"
        taxes = ", ".join(f"{k / arms:g}" for k in range(arms))
        sweep.write_text(
            f'scenario = "{tiny.as_posix()}"\nreplicates = {max(1, n // arms)}\n'
            f'[set]\ndays = {args.days}\n"population.size" = 50\n'
            f'[grid]\n"lab.tax" = [{taxes}]\n'
        )
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(sweep), str(tmp / f"out{n}")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        # Metrics as float64 columns: rows x 35 columns x 8 bytes if all were held at once.
        held_mb = row["metric_rows"] * 35 * 8 / 2**20
        print(
            f"{row['points']:>6} points ({row['failed']} failed) in {row['wall_s']:6.1f} s "
            f"(process {time.perf_counter() - t0:5.1f} s): driver peak RSS "
            f"{row['peak_rss_mb']:6.1f} MB; all runs' metrics would be {held_mb:6.1f} MB in "
            f"memory ({row['metric_rows']:,} rows)",
            flush=True,
        )


if __name__ == "__main__":
    main()
