"""Peak memory of a run against ``society.resources.estimate_run_bytes`` (calibration).

Each configuration runs in a fresh child process: peak RSS (``ru_maxrss``) after a short run,
minus the peak after imports and a 200-instance warm-up run, is the run's own footprint.

    python benchmarks/memory.py                      # default grid
    python benchmarks/memory.py 100000:8 100000:50   # size:mean_degree pairs
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile
import society
from society.resources import estimate_run_bytes
over = json.loads(sys.argv[1])
society.run("tiny", overrides={"days": 2}, runs_dir=tempfile.mkdtemp())
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
scenario = society.load_scenario("tiny", overrides=over)
society.run(scenario, runs_dir=tempfile.mkdtemp())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"measured": peak - base,
                  "estimate": estimate_run_bytes(scenario)}))
"""


def main(argv: list[str]) -> None:
    grid = [_parse(a) for a in argv] or DEFAULT_GRID
    print(f"{'overrides':<58} {'measured MB':>11} {'estimate MB':>11} {'est/meas':>8}")
    for over in grid:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(over)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        label = " ".join(f"{k.split('.')[-1]}={v}" for k, v in over.items())
        print(
            f"{label:<58} {r['measured'] / 1e6:>11.1f} {r['estimate'] / 1e6:>11.1f} "
            f"{r['estimate'] / max(r['measured'], 1):>8.2f}",
            flush=True,
        )


def _parse(arg: str) -> dict[str, int]:
    """``size:degree[:days[:claims]]`` as overrides."""
    n, k, days, claims = [*map(int, arg.split(":")), 3, 3][:4]
    return {"population.size": n, "network.mean_degree": k, "days": days, "beliefs.claims": claims}


DEFAULT_GRID = [
    _parse(a)
    for a in (
        "10000:8",
        "10000:50",
        "100000:8",
        "100000:50",
        "100000:8:200",
        "100000:8:3:32",
        "300000:8",
        "300000:100",
    )
]


if __name__ == "__main__":
    main(sys.argv[1:])
