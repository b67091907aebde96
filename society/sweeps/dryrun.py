"""``society sweep --dry-run``: how many runs, how long here, and (LLM arms) what they would cost.

The wall time comes from a calibration on this machine: one point of the sweep (its first arm,
first replicate) is built and run for a few simulated days; its start-up and its time per day
are extrapolated to every point by its days and its number of instances (a run's cost grows
about linearly in both), then divided over the workers. The estimate leaves out runs that end
early and the load of other processes, and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from society.scenario import Scenario
from society.sweeps.spec import Sweep

#: Simulated days of the calibration run (fewer if the scenario is shorter).
CALIBRATION_DAYS = 5


@dataclass(frozen=True)
class Estimate:
    """What a sweep would take: runs, calibration, and the extrapolated wall time."""

    runs: int
    workers: int
    calibration_size: int
    calibration_days: int
    setup_seconds: float
    seconds_per_day: float
    run_seconds: float  # all runs, one after another
    llm: dict[str, float] | None  # summed expected usage of LLM-backed runs, if any

    @property
    def wall_seconds(self) -> float:
        return self.run_seconds / self.workers

    def lines(self) -> list[str]:
        """The estimate in words, with its basis."""
        out = [
            f"runs: {self.runs:,}",
            f"estimated wall time: {_duration(self.wall_seconds)} on {self.workers} "
            f"worker(s) ({_duration(self.run_seconds)} of runs in all)",
            f"basis: one point ({self.calibration_size:,} instances) built in "
            f"{self.setup_seconds:.2f} s and run for {self.calibration_days} simulated days at "
            f"{self.seconds_per_day:.3f} s/day on this machine, extrapolated to every point by "
            f"its days and instances; runs that end early take less, and other processes on "
            f"the machine make it take more",
            "this is one run at a time (--no-batch); batched, as sweeps run by default, runs of "
            "100 to 1,000 instances took 1.4-2x less time in the measurements of "
            "docs/sweeps.md ('Batches')",
        ]
        if self.llm is not None:
            calls, prompt = self.llm["calls"], self.llm["prompt_tokens"]
            out += [
                f"LLM calls: ~{calls:,.0f} over the runs (~{prompt:,.0f} prompt tokens, at most "
                f"~{self.llm['reply_tokens']:,.0f} reply tokens), as `society run --dry-run` "
                f"estimates each run",
                "note: the wall time above is the simulation's alone (LLM replies add their "
                "latency), and `society sweep` runs stub societies only: set llm.fraction = 0 "
                "in the sweep's [set] to run it, or run LLM-backed scenarios one at a time",
            ]
        return out


def estimate(sweep: Sweep, workers: int | None = None) -> Estimate:
    """Calibrate on this machine and extrapolate to every point of ``sweep``."""
    from society.model import SocietyModel
    from society.sweeps.engines import default_workers

    points = sweep.points
    first = Scenario.model_validate(sweep.scenario_of(0, 0))
    days = min(CALIBRATION_DAYS, first.days)
    probe = first.model_copy(
        update={
            "days": days,
            "llm": first.llm.model_copy(update={"fraction": 0.0}),
            "record": first.record.model_copy(update={"checkpoint_every_days": 0}),
        }
    )
    t0 = time.perf_counter()
    model = SocietyModel(Scenario.model_validate(probe.model_dump()))
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    setup, per_day = t1 - t0, (t2 - t1) / days
    size = first.population.size
    total = 0.0
    llm: dict[str, Any] | None = None
    for point in points:
        doc = sweep.scenario_of(point.arm, point.replicate)
        scale = doc["population"]["size"] / size
        total += scale * (setup + per_day * doc["days"])
        if doc["llm"]["fraction"] > 0:
            from society.llm.setup import expected_usage

            usage = expected_usage(Scenario.model_validate(doc))
            llm = {k: (llm or {}).get(k, 0) + v for k, v in usage.items()}
    n_workers = max(1, min(workers or default_workers(), len(points)))
    return Estimate(len(points), n_workers, size, days, setup, per_day, total, llm)


def _duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``.

    >>> _duration(42.4), _duration(210), _duration(7560), _duration(0.31)
    ('42 s', '3.5 min', '2.1 h', '0.3 s')
    """
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["CALIBRATION_DAYS", "Estimate", "estimate"]
