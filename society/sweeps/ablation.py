"""The mechanism table: a paired-seed ablation of every mechanism, with the sign the seeds argue.

Each :class:`Ablation` names a knob, a low and a high arm (scenario overrides, plus a
condition applied to both when the effect only holds under it), and the checks its row must
pass: a measure and the sign of ``high - low`` the seed texts argue for. Every arm runs the same
seeds (common random numbers), so each check is a paired difference with a 95% t-interval; a
check passes when the interval lies wholly on the expected side of zero: a clear effect, not a
coin flip. Runs never stop at a catastrophe, so every flag is counted on its own and one
outcome pre-empting another does not hide an effect (docs/mechanisms.md).

:func:`run_table` runs the table; ``society mechanisms`` prints it and writes
``mechanisms.parquet``.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Check:
    """``measure`` must move with ``sign`` (+1 up, -1 down) from arm ``low`` to arm ``high``."""

    measure: str
    sign: int
    low: str = "low"
    high: str = "high"


@dataclass(frozen=True)
class Ablation:
    """One row of the table: a knob turned from ``low`` to ``high`` and what must follow."""

    name: str
    knob: str  # the keys turned, as the user would --set them
    expected: str  # the effect the seeds argue, in words
    arms: dict[str, dict[str, Any]]
    checks: tuple[Check, ...]
    condition: dict[str, Any] = field(default_factory=dict)  # applied to every arm
    condition_text: str = ""


# What each measure means (the columns of mechanisms.parquet's ``measure``).
MEASURES: dict[str, str] = {
    "p_safe": "P(safe): the required safety work finished in the basin before a catastrophe",
    "p_catastrophe": "P(catastrophe), any cause",
    "p_misuse": "P(catastrophe caused by misuse)",
    "p_left_basin": "P(left the basin)",
    "p_catastrophe_or_left": "P(catastrophe or left the basin)",
    "p_lost_lead": "P(lost the lead)",
    "lead_lost_day": "day the lead was lost (the run's length if never)",
    "final_alignment": "mean alignment on the last day",
    "successor_alignment": "mean trained alignment of the successor generations",
    "progress_per_day": "capability work-days per day over the run",
    "work_per_instance": "mean work-days per instance-day (Amdahl output)",
    "test_validity": "mean corr(measured, true alignment) of the tests",
    "false_pass": "mean P(pass held-out | truly below the pass threshold)",
    "deference_misaligned": "mean deference times (1 - mean alignment): deference over a "
    "misaligned society",
    "research_quality": "mean quality of alignment work",
    "truth_distance": "mean distance of the median belief from the truth",
    "uncaught": "misaligned actions that slipped past monitoring",
    "loc_hazard": "mean loss-of-control hazard over the first 120 days",
    "mean_lead": "mean lead over the run, in days",
    "mean_tax": "mean tax in force over the run",
}
HEADLINE = ("p_safe", "p_catastrophe", "p_left_basin", "final_alignment")

SHORT_LEAD = {"lab.lead_days": 60.0}


def _two(low: dict[str, Any], high: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"low": low, "high": high}


MECHANISMS: tuple[Ablation, ...] = (
    Ablation(
        "lead time",
        "lab.lead_days 20 -> 120",
        "P(safe) up (never down)",
        _two({"lab.lead_days": 20.0}, {"lab.lead_days": 120.0}),
        (Check("p_safe", +1),),
    ),
    Ablation(
        "initialization",
        "population.initial_alignment 0.7 -> 0.9",
        "P(safe) up",
        _two({"population.initial_alignment": 0.7}, {"population.initial_alignment": 0.9}),
        (Check("p_safe", +1),),
    ),
    Ablation(
        "tax",
        "lab.tax 0.2 -> 1.0",
        "P(left basin) down; lead lost sooner",
        _two({"lab.tax": 0.2}, {"lab.tax": 1.0}),
        (Check("p_left_basin", -1), Check("lead_lost_day", -1)),
        SHORT_LEAD,
        "lead 60 days",
    ),
    Ablation(
        "tax, interior optimum",
        "lab.tax 0.1 / 0.5 / 3.0",
        "P(safe) peaks at an interior tax when lead is short",
        {"low": {"lab.tax": 0.1}, "mid": {"lab.tax": 0.5}, "high": {"lab.tax": 3.0}},
        (Check("p_safe", +1, "low", "mid"), Check("p_safe", -1, "mid", "high")),
        SHORT_LEAD,
        "lead 60 days",
    ),
    Ablation(
        "AI speed",
        "population.speed 20 -> 60",
        "progress per day up; P(safe) up when lead is short",
        _two({"population.speed": 20.0}, {"population.speed": 60.0}),
        (Check("progress_per_day", +1), Check("p_safe", +1)),
        SHORT_LEAD,
        "lead 60 days",
    ),
    Ablation(
        "deference speed, poor a0",
        "deference.rise_per_day 0.005 -> 0.04",
        "speed up; P(catastrophe) up when a0 is poor",
        _two({"deference.rise_per_day": 0.005}, {"deference.rise_per_day": 0.04}),
        (Check("work_per_instance", +1), Check("p_catastrophe", +1)),
        {
            "population.initial_alignment": 0.65,
            "tests.pass_threshold": 0.5,
            "lab.lead_days": 365.0,
            "days": 180,
        },
        "a0 0.65, pass threshold 0.5, lead 365 days (no race), 180 days",
    ),
    Ablation(
        "deference speed, good a0",
        "deference.rise_per_day 0.005 -> 0.04",
        "speed up; P(safe) up when a0 is good",
        _two({"deference.rise_per_day": 0.005}, {"deference.rise_per_day": 0.04}),
        (Check("work_per_instance", +1), Check("p_safe", +1)),
        {"population.initial_alignment": 0.9},
        "a0 0.9",
    ),
    Ablation(
        "capability at deference",
        "strategy.deference_capability 1 -> 2",
        "faster and better conceptual work, but loss-of-control hazard up",
        _two({"strategy.deference_capability": 1.0}, {"strategy.deference_capability": 2.0}),
        (
            Check("work_per_instance", +1),
            Check("research_quality", +1),
            Check("loc_hazard", +1),
        ),
    ),
    Ablation(
        "monitoring",
        "population.share_monitors 0 -> 0.1",
        "uncaught actions down with it on; P(safe) up at the default cost",
        _two({"population.share_monitors": 0.0}, {"population.share_monitors": 0.1}),
        (Check("uncaught", -1), Check("p_safe", +1)),
    ),
    Ablation(
        "test cadence",
        "tests.every_days 28 -> 7",
        "validity up, progress down (a real trade-off)",
        _two({"tests.every_days": 28}, {"tests.every_days": 7}),
        (Check("test_validity", +1), Check("progress_per_day", -1)),
    ),
    Ablation(
        "test gaming",
        "tests.gaming_bonus 0 -> 0.4, tests.overfit_weight 0 -> 0.3",
        "deference over a misaligned society; P(catastrophe or left basin) up",
        _two(
            {"tests.gaming_bonus": 0.0, "tests.overfit_weight": 0.0},
            {"tests.gaming_bonus": 0.4, "tests.overfit_weight": 0.3},
        ),
        (
            Check("false_pass", +1),
            Check("deference_misaligned", +1),
            Check("p_catastrophe_or_left", +1),
        ),
        {"population.initial_alignment": 0.62, "lab.lead_days": 365.0},
        "a0 0.62 (near the pass threshold), lead 365 days (no race)",
    ),
    Ablation(
        "reward hacking",
        "hacking.rl_pressure 0.5 -> 4",
        "successor alignment down, P(safe) down",
        _two({"hacking.rl_pressure": 0.5}, {"hacking.rl_pressure": 4.0}),
        (Check("successor_alignment", -1), Check("p_safe", -1)),
    ),
    Ablation(
        "echo chamber",
        "beliefs.coupling 0.08 -> 0.5, beliefs.grounding 3 -> 0.3, network.rewire_prob 0.05 -> 0.5",
        "truth distance up, research quality down, successor alignment down",
        _two(
            {"beliefs.coupling": 0.08, "beliefs.grounding": 3.0, "network.rewire_prob": 0.05},
            {"beliefs.coupling": 0.5, "beliefs.grounding": 0.3, "network.rewire_prob": 0.5},
        ),
        (
            Check("truth_distance", +1),
            Check("research_quality", -1),
            Check("successor_alignment", -1),
        ),
    ),
    Ablation(
        "memetic drift",
        "values.reflection_drift 2e-5 -> 1e-4, values.misaligned_influence 0.001 -> 0.005",
        "final alignment down",
        _two(
            {"values.reflection_drift": 2e-5, "values.misaligned_influence": 0.001},
            {"values.reflection_drift": 1e-4, "values.misaligned_influence": 0.005},
        ),
        (Check("final_alignment", -1),),
    ),
    Ablation(
        "theft",
        "risks.theft_rate 0 -> 0.03",
        "P(catastrophe) up (misuse), lead down",
        _two({"risks.theft_rate": 0.0}, {"risks.theft_rate": 0.03}),
        (Check("p_catastrophe", +1), Check("mean_lead", -1), Check("p_misuse", 0)),
        {"risks.misuse_hit_prob": 0.2, "risks.theft_misuse_factor": 8.0},
        "misuse as in the theft scenario (hit 0.2, x8 after a theft)",
    ),
    Ablation(
        "pressure to rush",
        "risks.pressure_rate 0 -> 0.03",
        "tax cuts, P(left basin) up",
        _two({"risks.pressure_rate": 0.0}, {"risks.pressure_rate": 0.03}),
        (Check("mean_tax", -1), Check("p_left_basin", +1)),
    ),
)


def by_name(names: Iterable[str]) -> tuple[Ablation, ...]:
    """The mechanisms called ``names`` (all if empty); a clear error for an unknown one."""
    from society.errors import SocietyError

    wanted = list(names)
    if not wanted:
        return MECHANISMS
    known = {m.name: m for m in MECHANISMS}
    bad = [n for n in wanted if n not in known]
    if bad:
        raise SocietyError(
            f"unknown mechanism {', '.join(repr(b) for b in bad)}; the rows are: "
            f"{', '.join(known)}."
        )
    return tuple(known[n] for n in wanted)


def run_measures(scenario_doc: dict[str, Any]) -> dict[str, float]:
    """Run one scenario (a validated scenario's dump) and reduce it to :data:`MEASURES`."""
    from society.model import SocietyModel
    from society.scenario import Scenario

    scenario = Scenario.model_validate(scenario_doc)
    model = SocietyModel(scenario)
    model.run()
    return measures_of(model)


def measures_of(model: Any) -> dict[str, float]:
    """The run's :data:`MEASURES`, as pure functions of what it recorded."""
    s = model.summary()
    metrics = model.recorder.metrics_frame()
    days = metrics.filter(pl.col("day") > 0)
    gens = model.recorder.generations_frame()
    successors = gens.filter(pl.col("generation") >= 1)["start_alignment"]
    early = days.filter(pl.col("day") <= 120)
    lost_day = s["lost_lead_day"] if s["lost_lead"] else float(s["days_simulated"])

    def mean(frame: pl.DataFrame, col: str) -> float:
        value = frame[col].drop_nans().mean() if frame.height else None
        return float(value) if isinstance(value, int | float) else math.nan

    return {
        "p_safe": float(s["safe"]),
        "p_catastrophe": float(s["catastrophe"]),
        "p_misuse": float(s["catastrophe_cause"] == "misuse"),
        "p_left_basin": float(not s["stayed_in_basin"]),
        "p_catastrophe_or_left": float(s["catastrophe"] or not s["stayed_in_basin"]),
        "p_lost_lead": float(s["lost_lead"]),
        "lead_lost_day": float(lost_day),
        "final_alignment": float(s["final_alignment"]),
        "successor_alignment": float(successors.mean()) if successors.len() else math.nan,
        "progress_per_day": float(s["final_capability"]) / max(float(s["days_simulated"]), 1.0),
        "work_per_instance": mean(days, "work_per_instance"),
        "test_validity": mean(days, "test_validity"),
        "false_pass": mean(days, "false_pass"),
        "deference_misaligned": float(
            (days["deference"] * (1.0 - days["alignment_mean"])).mean() or 0.0
        ),
        "research_quality": mean(days, "research_quality"),
        "truth_distance": mean(days, "belief_truth_distance"),
        "uncaught": float(s["incidents_uncaught"]),
        "loc_hazard": mean(early, "hazard_loss_of_control"),
        "mean_lead": mean(days, "lead_days"),
        "mean_tax": mean(days, "tax"),
    }


def _tasks(
    scenario: Any, mechanisms: Sequence[Ablation], seeds: int, size: int | None
) -> list[tuple[str, str, int, dict[str, Any]]]:
    """``(mechanism, arm, seed, scenario dump)`` for every run of the table."""
    from society.scenario_files import load_scenario

    base: dict[str, Any] = {
        "outcomes.stop_on_catastrophe": False,
        "record.checkpoint_every_days": 0,
    }
    if size is not None:
        base["population.size"] = size
    out = []
    for mech in mechanisms:
        for arm, overrides in mech.arms.items():
            merged = {**base, **mech.condition, **overrides}
            for seed in range(seeds):
                resolved = load_scenario(scenario, seed=seed, overrides=merged)
                out.append((mech.name, arm, seed, resolved.model_dump()))
    return out


def _run_task(task: tuple[str, str, int, dict[str, Any]]) -> tuple[str, str, int, dict[str, float]]:
    name, arm, seed, doc = task
    return name, arm, seed, run_measures(doc)


def run_table(
    scenario: Any = "baseline",
    *,
    seeds: int = 24,
    size: int | None = 1000,
    mechanisms: Sequence[Ablation] = MECHANISMS,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """Run every arm of ``mechanisms`` on ``seeds`` paired seeds; return the long table.

    One row per (mechanism, measure): the headline measures (:data:`HEADLINE`) and each
    checked one, with both arms' means, the paired difference and its 95% interval, the
    expected sign (0 if unchecked) and whether the check passed (null if unchecked).
    """
    tasks = _tasks(scenario, mechanisms, seeds, size)
    workers = workers or len(os.sched_getaffinity(0))
    results: dict[tuple[str, str, int], dict[str, float]] = {}
    if workers <= 1:
        done_iter: Iterable[Any] = map(_run_task, tasks)
        for i, (name, arm, seed, measures) in enumerate(done_iter, 1):
            results[(name, arm, seed)] = measures
            if progress:
                progress(i, len(tasks))
    else:
        # A fork server with the model preloaded: each worker starts in milliseconds, and no
        # worker inherits the driver's threads.
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(["society.sweeps.ablation", "society.model"])
        with ProcessPoolExecutor(workers, mp_context=server) as pool:
            for i, (name, arm, seed, measures) in enumerate(
                pool.map(_run_task, tasks, chunksize=4), 1
            ):
                results[(name, arm, seed)] = measures
                if progress:
                    progress(i, len(tasks))
    return summarise(results, mechanisms, seeds)


def summarise(
    results: dict[tuple[str, str, int], dict[str, float]],
    mechanisms: Sequence[Ablation],
    seeds: int,
) -> pl.DataFrame:
    """The long table from per-run measures (see :func:`run_table`)."""
    rows = []
    for mech in mechanisms:
        wanted: list[tuple[str, int, str, str]] = [
            (c.measure, c.sign, c.low, c.high) for c in mech.checks
        ]
        arms = list(mech.arms)
        for measure in HEADLINE:
            if not any(w[0] == measure and w[2] == arms[0] for w in wanted):
                wanted.append((measure, 0, arms[0], arms[-1]))
        for measure, sign, low, high in wanted:
            a = np.array([results[(mech.name, low, s)][measure] for s in range(seeds)])
            b = np.array([results[(mech.name, high, s)][measure] for s in range(seeds)])
            diff, lo, hi, n = paired_interval(a, b)
            if measure.startswith("p_"):  # a difference of two shares lies in [-1, 1]
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            passed = None if sign == 0 else bool((lo > 0) if sign > 0 else (hi < 0))
            rows.append(
                {
                    "mechanism": mech.name,
                    "knob": mech.knob,
                    "condition": mech.condition_text,
                    "expected_effect": mech.expected,
                    "measure": measure,
                    "low_arm": low,
                    "high_arm": high,
                    "low_mean": float(np.nanmean(a)) if np.isfinite(a).any() else math.nan,
                    "high_mean": float(np.nanmean(b)) if np.isfinite(b).any() else math.nan,
                    "diff": diff,
                    "ci_low": lo,
                    "ci_high": hi,
                    "pairs": n,
                    "expected_sign": sign,
                    "passed": passed,
                }
            )
    return pl.DataFrame(rows, schema=TABLE_SCHEMA, orient="row")


TABLE_SCHEMA = {
    "mechanism": pl.String,
    "knob": pl.String,
    "condition": pl.String,
    "expected_effect": pl.String,
    "measure": pl.String,
    "low_arm": pl.String,
    "high_arm": pl.String,
    "low_mean": pl.Float64,
    "high_mean": pl.Float64,
    "diff": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "pairs": pl.Int64,
    "expected_sign": pl.Int8,
    "passed": pl.Boolean,
}


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, int]:
    """``(mean of b - a, 95% low, 95% high, pairs)`` over pairs where both are finite, with a
    Student-t interval. Identical pairs give a zero-width interval at the difference.

    >>> paired_interval(np.array([0.0, 0, 0, 0]), np.array([1.0, 1, 0, 1]))[0]
    0.75
    """
    from scipy import stats

    ok = np.isfinite(a) & np.isfinite(b)
    d = (b - a)[ok]
    n = int(d.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(d.mean())
    if n == 1:
        return mean, -math.inf, math.inf, 1
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n
