"""Many small runs: the wall time of ``society ask`` over 200 seeds of a 1,000-instance scenario,
for the work tree against a committed version, interleaved.

The question this answers is the one a researcher waits on: how long until
``society ask essay_one_month --seeds 200 --size 1000`` prints its verdict (the target is 20 s,
what the AI Futures model takes for 200 Monte Carlo samples). Each measurement is the whole
command in a fresh process, imports and worker start-up included, on ``--workers`` processes.
The seeds are split into rounds (``--rounds``, default 4 of 50 seeds); in each round the two
versions run the same seeds one after the other, in alternating order, so load on a shared
machine falls on both alike. The totals over the rounds are compared, and each version's
runs' outcomes must agree seed by seed (the engine changes nothing but time).

"Before" is a git commit of this repository (``--before``), checked out with
``git worktree add --detach`` into a temporary folder (see ``engine_v1_vs_v2.py``); "after" is
the work tree this file sits in, uncommitted changes included.

    .venv/bin/python benchmarks/many_runs.py                       # 200 seeds, ~6 minutes
    .venv/bin/python benchmarks/many_runs.py --rounds 2 --seeds 20 # a quick look

It prints the loop calibration (``for i in range(5_000_000): pass``, in seconds) beside the
figures, since the machine's speed and load decide them.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from engine_v1_vs_v2 import add_worktree, remove_worktree

AFTER_TREE = Path(__file__).resolve().parent.parent
BEFORE_COMMIT = "804d3f2"
TARGET_SECONDS = 20.0  # for 200 seeds
#: What each run must give alike in both versions (the summary's figures besides).
OUTCOMES = [
    "seed",
    "outcome",
    "days_simulated",
    "safe_chance",
    "catastrophe_risk",
    "final_alignment",
    "final_knowledge",
    "final_lead_days",
]


def calibration() -> float:
    """Seconds of a bare Python loop of five million steps: the machine's speed right now."""
    t0 = time.perf_counter()
    for _ in range(5_000_000):
        pass
    return time.perf_counter() - t0


def ask(
    tree: Path, args: argparse.Namespace, first_seed: int, out: Path
) -> tuple[float, list[dict]]:
    """Wall seconds of one ``society ask`` in ``tree``, and its runs' outcomes by seed."""
    # The round's seeds: the scenario file with another base seed (an ask cannot --set it).
    text = (tree / "scenarios" / f"{args.scenario}.toml").read_text()
    scenario = out.with_suffix(".toml")
    scenario.write_text(re.sub(r"(?m)^seed = \d+$", f"seed = {first_seed}", text))
    command = [
        sys.executable,
        "-m",
        "society.cli",
        "ask",
        str(scenario),
        "--seeds",
        str(args.seeds),
        "--size",
        str(args.size),
        "--workers",
        str(args.workers),
        "--out",
        str(out),
    ]
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir()}
    t0 = time.perf_counter()
    proc = subprocess.run(command, check=False, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:  # 1: some runs failed; 2: bad input
        sys.exit(f"ask failed in {tree} (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    points = pl.read_parquet(out / "points.parquet").sort("seed")
    return wall, points.select(OUTCOMES).to_dicts()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--before", default=BEFORE_COMMIT, help="commit to compare against")
    ap.add_argument("--scenario", default="essay_one_month")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=50, help="seeds per round")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    before_tree = add_worktree(args.before)
    totals = {"before": 0.0, "after": 0.0}
    answers: dict[str, list[list[dict]]] = {"before": [], "after": []}
    calibrations = [calibration()]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # Untimed: a fresh checkout compiles its fused kernels into its cache on first use.
            warm = argparse.Namespace(**{**vars(args), "seeds": 1})
            for name, tree in (("before", before_tree), ("after", AFTER_TREE)):
                ask(tree, warm, 0, Path(tmp) / f"warm-{name}")
            for r in range(args.rounds):
                order = [("before", before_tree), ("after", AFTER_TREE)]
                if r % 2:
                    order.reverse()
                for name, tree in order:
                    wall, answer = ask(tree, args, r * args.seeds, Path(tmp) / f"{name}-{r}")
                    totals[name] += wall
                    answers[name].append(answer)
                    print(f"round {r + 1} {name:>6}: {wall:7.1f} s", flush=True)
                calibrations.append(calibration())
    finally:
        remove_worktree(before_tree)
    runs = args.rounds * args.seeds
    print(
        f"\n{runs} seeds of {args.scenario} at {args.size:,} instances, {args.workers} workers, "
        f"loop calibration {min(calibrations):.2f}-{max(calibrations):.2f} s"
    )
    for name in ("before", "after"):
        per200 = totals[name] * 200 / runs
        print(
            f"{name:>6} ({args.before if name == 'before' else 'work tree'}): "
            f"{totals[name]:.1f} s in all, {per200:.1f} s per 200 seeds "
            f"({per200 / TARGET_SECONDS:.1f}x the {TARGET_SECONDS:.0f} s target)"
        )
    print(f"after / before speed: {totals['before'] / totals['after']:.2f}x")
    same = answers["before"] == answers["after"]
    print(f"the same outcomes, seed by seed: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
