"""The batched engine against one run at a time, side by side in one process and as commands.

Two measurements, each interleaved (batched, then alone, then batched...) so that load on a
shared machine falls on both alike, with medians reported:

1. **In process, by population size**: ``--runs`` seeds of ``essay_one_month`` over ``--days``
   days (metrics every 5 days, as ``society ask`` records them; catastrophes do not stop a run,
   so every run simulates every day), as one :class:`society.batch.Batch` and one
   :class:`SocietyModel` after another. Prints microseconds per run-day and the ratio; the
   runs' metrics must be identical both ways.
2. **The whole command**: ``society ask essay_one_month --seeds N --size 1000`` on 2 workers,
   against the same command with ``--no-batch``, each in a fresh process; prints wall
   seconds, the ratio and whether the two points tables agree.

    .venv/bin/python benchmarks/batched_runs.py                 # ~4 minutes
    .venv/bin/python benchmarks/batched_runs.py --seeds 200     # the issue's 200 seeds

It prints the loop calibration (``for i in range(5_000_000): pass``, in seconds) beside the
figures, since the machine's speed and load decide them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from society import load_scenario
from society.batch import Batch
from society.fusion import use_everywhere
from society.model import SocietyModel

ROOT = Path(__file__).resolve().parent.parent
SOCIETY = Path(sys.executable).parent / "society"


def calibration() -> float:
    t0 = time.perf_counter()
    for _ in range(5_000_000):
        pass
    return time.perf_counter() - t0


def in_process(size: int, runs: int, days: int, repeats: int) -> tuple[float, float]:
    """Median seconds of the batch and of the runs alone, after checking they agree."""
    over = {
        "population.size": size,
        "days": days,
        "record.every_days": 5,
        "outcomes.stop_on_catastrophe": False,
    }
    scenarios = [
        load_scenario("essay_one_month", overrides={**over, "seed": s}) for s in range(runs)
    ]
    batched: list[float] = []
    alone: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        batch = Batch(scenarios)
        batch.run()
        batched.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        models = []
        for scenario in scenarios:
            model = SocietyModel(scenario)
            model.run()
            models.append(model)
        alone.append(time.perf_counter() - t0)
    for a, b in zip(batch.models, models, strict=True):
        assert_frame_equal(a.metrics_frame(), b.metrics_frame())
    return statistics.median(batched), statistics.median(alone)


def command(seeds: int, no_batch: bool) -> tuple[float, pl.DataFrame]:
    out = Path(tempfile.mkdtemp()) / "ask"
    argv = [str(SOCIETY), "ask", "essay_one_month", "--seeds", str(seeds), "--size", "1000"]
    argv += ["--workers", "2", "--out", str(out)] + (["--no-batch"] if no_batch else [])
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    points = pl.read_parquet(out / "points.parquet").sort("point_id")
    return wall, points


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=24, help="runs in the in-process batch")
    ap.add_argument("--days", type=int, default=200, help="days of each in-process run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=40, help="seeds of the timed ask command")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the command")
    args = ap.parse_args()
    use_everywhere()  # as a sweep's workers run (same bits)
    print(f"loop calibration: {calibration():.3f} s")
    print(
        f"{'instances':>9} {'runs':>5} {'days':>5} {'batched us/run-day':>19} "
        f"{'alone us/run-day':>17} {'alone / batched':>16}"
    )
    for size in (100, 300, 1000):
        batched, alone = in_process(size, args.runs, args.days, args.repeats)
        run_days = args.runs * args.days
        print(
            f"{size:>9} {args.runs:>5} {args.days:>5} {batched / run_days * 1e6:>19.0f} "
            f"{alone / run_days * 1e6:>17.0f} {alone / batched:>16.2f}"
        )
    walls: dict[bool, list[float]] = {True: [], False: []}
    tables: dict[bool, pl.DataFrame] = {}
    for _ in range(args.rounds):
        for no_batch in (False, True):
            wall, tables[no_batch] = command(args.seeds, no_batch)
            walls[no_batch].append(wall)
    same = tables[False].equals(tables[True])
    batched, alone = statistics.median(walls[False]), statistics.median(walls[True])
    print(
        f"society ask essay_one_month --seeds {args.seeds} --size 1000 (2 workers): batched "
        f"{batched:.1f} s, --no-batch {alone:.1f} s, ratio {alone / batched:.2f}; points "
        f"tables {'identical' if same else 'DIFFER'}; loop calibration {calibration():.3f} s"
    )


if __name__ == "__main__":
    main()
