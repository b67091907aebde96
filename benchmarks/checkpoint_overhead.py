"""Checkpoint overhead: a 10,000-instance, 365-day run with checkpoints every 30 days against
the same run without checkpoints, alternating, in fresh subprocesses. Target: under 5%.

    python benchmarks/checkpoint_overhead.py [--repeats 3] [--size 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, tempfile, time
import society
import society.api as api
every, n = int(sys.argv[1]), int(sys.argv[2])
spent = []
save = api.save_checkpoint
def timed(model, root):
    t = time.perf_counter()
    try:
        return save(model, root)
    finally:
        spent.append(time.perf_counter() - t)
api.save_checkpoint = timed  # the name society.run calls
t0 = time.perf_counter()
society.run("baseline", out=tempfile.mkdtemp() + "/run",
            overrides={"record.checkpoint_every_days": every, "population.size": n})
print(json.dumps({"wall": time.perf_counter() - t0, "saving": sum(spent), "saves": len(spent)}))
"""


def once(every: int, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(every), str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, default=10_000)
    args = ap.parse_args()
    ratios, with_ck, without, shares = [], [], [], []
    for _ in range(args.repeats):
        b = once(0, args.size)
        a = once(30, args.size)
        with_ck.append(a["wall"])
        without.append(b["wall"])
        ratios.append(a["wall"] / b["wall"])
        shares.append(a["saving"] / a["wall"])
    print(f"{args.size:,} instances x 365 days, checkpoint every 30 days ({args.repeats} pairs)")
    print(f"without checkpoints: median {statistics.median(without):.2f} s")
    print(f"with checkpoints   : median {statistics.median(with_ck):.2f} s")
    print(
        f"time inside checkpoint saves: median {statistics.median(shares) * 100:.1f}% of the "
        f"run (target < 5%)"
    )
    overhead = statistics.median(ratios) - 1
    print(f"paired wall-time ratio - 1: {overhead * 100:+.1f}% (noisy on a shared machine)")


if __name__ == "__main__":
    main()
