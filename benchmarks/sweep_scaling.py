"""Sweep scaling: local engine with 1 and 2 workers, Ray, and per-run overhead.

Runs the same sweep (baseline scaled to 1,000 instances x 365 days; 200 runs by default) on
each engine and prints wall times and ratios measured in this one invocation:

* speed-up of 2 local workers over 1 (target: at least 1.8x on a 2-core machine);
* Ray's overhead over the local engine with the same number of workers (target: at most 15%),
  both against a Ray instance already running (as with ``ray start --head`` and
  ``--address auto``) and including starting a local Ray instance;
* per-run overhead of the sweep machinery (scheduling, transfer, writing results), from the
  1-worker run: (wall - sum of in-worker run times) / runs, relative to the mean run time
  (target: under 5%).

It also checks that every configuration produced the same points.parquet. Timings are never
asserted (they depend on the machine and its load); read the printed figures.

    PYTHONPATH=. python benchmarks/sweep_scaling.py            # 200 runs, a few minutes
    PYTHONPATH=. python benchmarks/sweep_scaling.py --quick    # 20 runs, for iterating
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from society.scenario_files import shipped_dir
from society.sweep import run_sweep


def sweep_text(runs: int, size: int, days: int) -> str:
    arms = 4 if runs % 4 == 0 else 1
    taxes = ", ".join(f"{0.25 * k:g}" for k in range(arms))
    return (
        f'name = "scaling"\nscenario = "{(shipped_dir() / "baseline.toml").as_posix()}"\n'
        f"replicates = {runs // arms}\nseed = 99\n"
        f'[set]\n"population.size" = {size}\ndays = {days}\n'
        f'[grid]\n"lab.tax" = [{taxes}]\n'
    )


def timed(label: str, sweep: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_sweep(sweep, out=out, **kwargs)
    wall = time.perf_counter() - t0
    session = result.manifest["sessions"][-1]
    n = result.points.height
    row = {
        "config": label,
        "runs": n,
        "failed": result.failed,
        "wall_s": wall,
        "run_s_sum": session["run_seconds"],
        "run_s_mean": session["run_seconds"] / n,
        "runs_per_s": n / wall,
        "write_s_sum": session["write_seconds"],
        "first_result_s": session["first_result_seconds"],
        "load_avg_1min": os.getloadavg()[0],
        "points": result.points,
    }
    print(
        f"{label:<28} {n:>4} runs  wall {wall:7.2f} s  {n / wall:6.2f} runs/s  "
        f"mean run {row['run_s_mean']:.3f} s  load {row['load_avg_1min']:.1f}",
        flush=True,
    )
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20 runs instead of 200")
    p.add_argument("--runs", type=int, help="number of runs (default 200, or 20 with --quick)")
    p.add_argument("--size", type=int, default=1000, help="instances per run (default 1000)")
    p.add_argument("--days", type=int, default=365, help="days per run (default 365)")
    p.add_argument("--no-ray", action="store_true", help="skip the Ray configurations")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args()
    runs = args.runs or (20 if args.quick else 200)

    tmp = Path(tempfile.mkdtemp(prefix="sweep-scaling-"))
    sweep = tmp / "scaling.toml"
    sweep.write_text(sweep_text(runs, args.size, args.days))
    print(f"sweep: {runs} runs of {args.size} instances x {args.days} days; output in {tmp}")

    rows = [
        timed("local, 1 worker", sweep, tmp / "local1", engine="local", workers=1),
        timed("local, 2 workers", sweep, tmp / "local2", engine="local", workers=2),
    ]
    if not args.no_ray:
        import ray

        rows.append(timed("ray, 2 CPUs, cold start", sweep, tmp / "ray_cold", engine="ray",
                          workers=2))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            rows.append(timed("ray, 2 CPUs, running", sweep, tmp / "ray_warm", engine="ray"))
        finally:
            ray.shutdown()

    by = {r["config"]: r for r in rows}
    one, two = by["local, 1 worker"], by["local, 2 workers"]
    identical = all(r["points"].equals(one["points"]) for r in rows)
    overhead_s = (one["wall_s"] - one["run_s_sum"]) / one["runs"]
    # Steady state: without the one-off worker start (imports in the fresh process).
    startup_s = one["first_result_s"] - one["run_s_sum"] / one["runs"]
    steady_s = (one["wall_s"] - startup_s - one["run_s_sum"]) / one["runs"]
    figures: dict[str, Any] = {
        "runs": runs,
        "size": args.size,
        "days": args.days,
        "wall_s": {r["config"]: round(r["wall_s"], 3) for r in rows},
        "mean_run_s": {r["config"]: round(r["run_s_mean"], 4) for r in rows},
        "speedup_2_vs_1_workers": one["wall_s"] / two["wall_s"],
        "per_run_overhead_s": overhead_s,
        "per_run_overhead_share": overhead_s / one["run_s_mean"],
        "worker_startup_s": startup_s,
        "per_run_overhead_steady_s": steady_s,
        "per_run_write_s": one["write_s_sum"] / one["runs"],
        "identical_points": identical,
    }
    print()
    print(f"speed-up, 2 local workers vs 1:        {figures['speedup_2_vs_1_workers']:.2f}x"
          "   (target >= 1.8x)")
    for label in ("ray, 2 CPUs, running", "ray, 2 CPUs, cold start"):
        if label in by:
            extra = by[label]["wall_s"] / two["wall_s"] - 1
            figures[f"ray_overhead[{label}]"] = extra
            print(f"Ray overhead vs local ({label.split(', ')[-1]}):"
                  f"{'':<{12 - len(label.split(', ')[-1])}}{extra:+.1%}   (target <= +15%)")
    print(f"per-run overhead (1 worker):           {overhead_s * 1000:.1f} ms = "
          f"{figures['per_run_overhead_share']:.1%} of a {one['run_s_mean']:.3f} s run"
          "   (target < 5%)")
    print(f"  of which worker start-up (once):     {startup_s:.2f} s; steady state "
          f"{steady_s * 1000:.1f} ms/run = {steady_s / one['run_s_mean']:.1%}; writing results "
          f"{figures['per_run_write_s'] * 1000:.1f} ms/run (overlaps the next run)")
    print(f"points.parquet identical across configurations: {identical}")
    pl.DataFrame(
        [{k: v for k, v in r.items() if k != "points"} for r in rows]
    ).write_csv(tmp / "figures.csv")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
