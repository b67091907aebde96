"""Sweep scaling: local engine with 1 and 2 workers, Ray, and per-run overhead.

Runs the same sweep (baseline scaled to 1,000 instances x 365 days; 200 runs by default) on
each engine and prints wall times and ratios measured in this one invocation:

* speed-up of 2 local workers over 1 (target: at least 1.8x on a 2-core machine);
* Ray's overhead over the local engine with the same number of workers (target: at most 15%),
  against a Ray instance already running (as with ``ray start --head`` and
  ``--address auto``), and counting the time to start a local Ray instance;
* per-run overhead of the sweep machinery (scheduling, transfer, writing results), from the
  1-worker run: (wall - sum of in-worker run times) / runs, relative to the mean run time
  (target: under 5%).

The configurations run in interleaved rounds (default 4 rounds of 50 runs each), so that load
from other processes on a shared machine hits each of them alike; the figures are totals over
the rounds. Each run's in-worker time is recorded too, so the sweep machinery's own overhead
can be told apart from runs slowing down when two share the machine.

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

from society.scenario_files import shipped_dir
from society.sweeps.runner import run_sweep


def sweep_text(runs: int, size: int, days: int) -> str:
    arms = 4 if runs % 4 == 0 else 1
    taxes = ", ".join(f"{0.25 * k:g}" for k in range(arms))
    return (
        f'name = "scaling"\nscenario = "{(shipped_dir() / "baseline.toml").as_posix()}"\n'
        f"replicates = {runs // arms}\nseed = 99\n"
        f'[set]\n"population.size" = {size}\ndays = {days}\n'
        f'[grid]\n"lab.tax" = [{taxes}]\n'
    )


CONFIGS = {
    "local, 1 worker": {"engine": "local", "workers": 1},
    "local, 2 workers": {"engine": "local", "workers": 2},
    "ray, 2 CPUs": {"engine": "ray"},
}


def timed(sweep: Path, out: Path, **kwargs: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = run_sweep(sweep, out=out, **kwargs)
    wall = time.perf_counter() - t0
    session = result.manifest["sessions"][-1]
    return {
        "runs": result.points.height,
        "failed": result.failed,
        "wall_s": wall,
        "run_s_sum": session["run_seconds"],
        "write_s_sum": session["write_seconds"],
        "first_result_s": session["first_result_seconds"],
        "points": result.points,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="20 runs instead of 200")
    p.add_argument("--runs", type=int, help="number of runs (default 200, or 20 with --quick)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 4, 1 with --quick)")
    p.add_argument("--size", type=int, default=1000, help="instances per run (default 1000)")
    p.add_argument("--days", type=int, default=365, help="days per run (default 365)")
    p.add_argument("--no-ray", action="store_true", help="skip the Ray configuration")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = p.parse_args()
    runs = args.runs or (20 if args.quick else 200)
    rounds = args.rounds or (1 if args.quick else 4)
    configs = {k: v for k, v in CONFIGS.items() if not (args.no_ray and v["engine"] == "ray")}

    tmp = Path(tempfile.mkdtemp(prefix="sweep-scaling-"))
    sweep = tmp / "scaling.toml"
    sweep.write_text(sweep_text(runs // rounds, args.size, args.days))
    print(
        f"sweep: {runs} runs of {args.size} instances x {args.days} days per configuration, in "
        f"{rounds} interleaved round(s) of {runs // rounds} (so that load from other processes "
        f"on a shared machine hits every configuration alike); output in {tmp}",
        flush=True,
    )
    ray_start_s = None
    if "ray, 2 CPUs" in configs:
        import ray

        # As with `ray start --head` + `--address auto`: the instance is up before the sweep.
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_start_s = time.perf_counter() - t0
    totals: dict[str, dict[str, Any]] = {
        k: {
            "runs": 0,
            "failed": 0,
            "wall_s": 0.0,
            "run_s_sum": 0.0,
            "write_s_sum": 0.0,
            "startup_s": 0.0,
        }
        for k in configs
    }
    identical = True
    try:
        for r in range(rounds):
            reference = None
            for label, kwargs in configs.items():
                row = timed(
                    sweep, tmp / f"round{r}-{label.replace(' ', '').replace(',', '-')}", **kwargs
                )
                total = totals[label]
                for key in ("runs", "failed", "wall_s", "run_s_sum", "write_s_sum"):
                    total[key] += row[key]
                total["startup_s"] += row["first_result_s"] - row["run_s_sum"] / row["runs"]
                if reference is None:
                    reference = row["points"]
                identical = identical and row["points"].equals(reference)
                print(
                    f"round {r + 1}/{rounds}  {label:<18} {row['runs']:>4} runs  wall "
                    f"{row['wall_s']:7.2f} s  mean run {row['run_s_sum'] / row['runs']:.3f} s  "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    finally:
        if ray_start_s is not None:
            import ray

            ray.shutdown()

    print()
    for label, t in totals.items():
        workers = configs[label].get("workers", 2)
        t["mean_run_s"] = t["run_s_sum"] / t["runs"]
        # Share of the workers' time spent running simulations (1.0 = no overhead at all).
        t["efficiency"] = t["run_s_sum"] / (t["wall_s"] * workers)
        print(
            f"{label:<18} {t['runs']:>4} runs  wall {t['wall_s']:7.2f} s  "
            f"{t['runs'] / t['wall_s']:5.2f} runs/s  mean run {t['mean_run_s']:.3f} s  "
            f"worker efficiency {t['efficiency']:.1%}"
        )
    one, two = totals["local, 1 worker"], totals["local, 2 workers"]
    overhead_s = (one["wall_s"] - one["run_s_sum"]) / one["runs"]
    steady_s = (one["wall_s"] - one["startup_s"] - one["run_s_sum"]) / one["runs"]
    figures: dict[str, Any] = {
        "runs": runs,
        "rounds": rounds,
        "size": args.size,
        "days": args.days,
        "totals": totals,
        "speedup_2_vs_1_workers": one["wall_s"] / two["wall_s"],
        "speedup_if_runs_did_not_slow_down": (one["wall_s"] / two["wall_s"])
        * (two["mean_run_s"] / one["mean_run_s"]),
        "per_run_overhead_s": overhead_s,
        "per_run_overhead_share": overhead_s / one["mean_run_s"],
        "per_run_overhead_steady_s": steady_s,
        "per_run_write_s": one["write_s_sum"] / one["runs"],
        "ray_start_s": ray_start_s,
        "identical_points": identical,
    }
    print()
    print(
        f"speed-up, 2 local workers vs 1:   {figures['speedup_2_vs_1_workers']:.2f}x   "
        f"(target >= 1.8x); a run took {two['mean_run_s'] / one['mean_run_s']:.2f}x as long "
        f"with 2 running at once (the cores share caches, memory bandwidth and other "
        f"load), so the sweep machinery itself scales "
        f"{figures['speedup_if_runs_did_not_slow_down']:.2f}x"
    )
    if "ray, 2 CPUs" in totals:
        ray_t = totals["ray, 2 CPUs"]
        figures["ray_overhead"] = ray_t["wall_s"] / two["wall_s"] - 1
        figures["ray_overhead_with_start"] = (ray_t["wall_s"] + (ray_start_s or 0)) / two[
            "wall_s"
        ] - 1
        print(
            f"Ray overhead vs local, 2 workers: {figures['ray_overhead']:+.1%}   "
            f"(target <= +15%); {figures['ray_overhead_with_start']:+.1%} counting the "
            f"{ray_start_s:.1f} s to start a local Ray instance"
        )
    print(
        f"per-run overhead (1 worker):      {overhead_s * 1000:.1f} ms = "
        f"{figures['per_run_overhead_share']:.1%} of a {one['mean_run_s']:.3f} s run   "
        f"(target < 5%); steady state (without the {one['startup_s']:.2f} s of worker "
        f"start-up) {steady_s * 1000:.1f} ms; writing a run's results takes "
        f"{figures['per_run_write_s'] * 1000:.1f} ms (overlapping the next run)"
    )
    print(f"points.parquet identical across configurations: {identical}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
