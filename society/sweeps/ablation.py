"""The mechanism table: a paired-seed ablation of every mechanism, with the sign the seeds argue.

Each :class:`Ablation` names a knob, a low and a high arm (scenario overrides, plus a
condition applied to both when the effect only holds under it), and the checks its row must
pass: a measure and the sign of ``high - low`` the seed texts argue for. Every arm runs the same
seeds (common random numbers) and, by default, the same draws of the uncertain parameters
from their priors (seed ``r`` gets Latin-hypercube draw ``r`` of ``scenarios/priors/model.toml``
in every arm), so each check is a paired difference with a 95% t-interval, and an effect is
averaged over the assumptions instead of measured at one point of them. A check passes when
the interval lies wholly on the expected side of zero (or, for a ``floor`` check, above the
floor): a clear effect, not a coin flip. Runs never stop at a catastrophe, so every flag is
counted on its own and one outcome pre-empting another does not hide an effect
(docs/mechanisms.md).

:func:`run_arms` runs the table's runs and :func:`summarise` gives their paired effects, the long
table (one row per mechanism and measure); ``society mechanisms`` prints it and writes
``mechanisms.parquet`` and every run's measures, ``runs.parquet`` (:func:`runs_frame`).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from society.sweeps.engines import batch_size

ProgressFn = Callable[[int, int], None]

#: Seed of the Latin hypercube that pairs prior draws with replicates (fixed: the same table
#: draws the same assumptions every time).
PRIOR_DRAW_SEED = 2026


@dataclass(frozen=True)
class Check:
    """``measure`` must move with ``sign`` (+1 up, -1 down) from arm ``low`` to arm ``high``;
    with ``floor`` set, the difference's lower bound must instead stay above ``floor`` (e.g.
    "down by at most 0.1" is ``floor=-0.1``)."""

    measure: str
    sign: int
    low: str = "low"
    high: str = "high"
    floor: float | None = None


@dataclass(frozen=True)
class Ablation:
    """One row of the table: a knob turned from ``low`` to ``high`` and what must follow.
    ``any_of`` rows pass when one of their checks does (the design's "or")."""

    name: str
    knob: str  # the keys turned, as the user would --set them
    expected: str  # the effect the seeds argue, in words
    arms: dict[str, dict[str, Any]]
    checks: tuple[Check, ...]
    condition: dict[str, Any] = field(default_factory=dict)  # applied to every arm
    condition_text: str = ""
    scenario: str | None = None  # the row's reference society, if not the table's
    any_of: bool = False


# What each measure means (the columns of mechanisms.parquet's ``measure``).
MEASURES: dict[str, str] = {
    "p_safe": "P(safe): the acute risk period ended, in the basin, with no catastrophe",
    "p_survived": "P(no catastrophe by the horizon)",
    "p_period_ended": "P(the acute risk period ended by the horizon)",
    "p_catastrophe": "P(catastrophe), any cause",
    "catastrophe_risk": "P(catastrophe) along each run's path (1 - exp(-cumulative hazard)): "
    "the same expectation as p_catastrophe without the noise of the catastrophe draws",
    "catastrophe_or_left_risk": "P(catastrophe or left the basin) along each run's path",
    "safe_chance": "P(safe) along each run's path (period ended, in the basin, times "
    "exp(-cumulative hazard)): the same expectation as p_safe without the draws' noise",
    "end_gap": "orders of magnitude between the highest total hazard at full deference of the "
    "last outcomes.end_days (read on the recorded days) and the end level h_end: below 0 the "
    "hazard condition of the period's end is met; lower is nearer the end. A continuous "
    "measure of what p_period_ended thresholds",
    "p_misuse": "P(catastrophe caused by misuse)",
    "p_rival_ahead": "P(catastrophe caused by a rival ahead)",
    "rival_ahead_risk": "P(a rival-ahead catastrophe) along the run's path, were it the only "
    "cause: 1 - exp(-the summed rival-ahead hazard)",
    "p_revolt": "P(catastrophe caused by a revolt)",
    "p_left_basin": "P(out of the basin at the end)",
    "p_catastrophe_or_left": "P(catastrophe or left the basin)",
    "p_lost_lead": "P(lost the lead)",
    "lead_lost_day": "day the lead was lost (the run's length if never)",
    "final_alignment": "mean alignment on the last day",
    "successor_alignment": "mean trained alignment of the successor generations",
    "log_progress": "ln of the capability work-days per day over the run (a paired difference "
    "is the log of the ratio: progress spans orders of magnitude across the priors' draws, so a "
    "difference of raw work-days is the few fastest draws' alone)",
    "work_per_instance": "mean work-days per instance-day (Amdahl output)",
    "test_validity": "mean corr(measured, true alignment) of the tests",
    "false_pass": "mean P(pass held-out | truly below the pass threshold)",
    "deference_misaligned": "mean deference times (1 - mean alignment): deference over a "
    "misaligned society",
    "research_quality": "mean quality of alignment work",
    "truth_distance": "mean distance of the median belief from the truth",
    "uncaught": "misaligned actions that slipped past monitoring",
    "uncaught_share": "the share of misaligned actions that slipped past monitoring (the count "
    "also moves with how many misaligned actions the path produced)",
    "loc_hazard": "mean loss-of-control hazard over the first 120 days",
    "protection_at_c": "protection on the first recorded day capability reached 1.15",
    "loc_at_c": "loss-of-control hazard per unit of deference on that day",
    "revolt_cascades": "revolt cascades over the society's failure share",
    "mean_lead": "mean lead over the run, in days",
    "mean_tax": "mean tax in force over the run",
}
HEADLINE = ("p_safe", "p_catastrophe", "p_left_basin", "final_alignment")
#: Capability at which "at equal capability" measures are read.
EQUAL_CAPABILITY = 1.15

SHORT_LEAD = {"lab.lead_days": 60.0}
KEEP_TAX = {"strategy.accept_advice": 0.0}  # the lab keeps its tax (advice would move it)


def _two(low: dict[str, Any], high: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"low": low, "high": high}


# Our AIs' speed, the rival's held: the rival's instances run at rival.speed_ratio times ours
# (the same technology), so turning population.speed alone speeds both labs up and the row
# would measure a faster race, not faster AIs of our own.
OUR_SPEED = _two(
    {"population.speed": 15.0, "rival.speed_ratio": 1.0},
    {"population.speed": 60.0, "rival.speed_ratio": 0.25},
)

MECHANISMS: tuple[Ablation, ...] = (
    # -- version 2's rows (DESIGN 3.9) ---------------------------------------------------------
    Ablation(
        "lead time",
        "lab.lead_days 20 -> 180",
        "P(safe) up (never down)",
        _two({"lab.lead_days": 20.0}, {"lab.lead_days": 180.0}),
        (Check("safe_chance", +1),),
    ),
    Ablation(
        "initialization",
        "population.initial_alignment 0.65 -> 0.9",
        "P(safe) up",
        _two({"population.initial_alignment": 0.65}, {"population.initial_alignment": 0.9}),
        (Check("safe_chance", +1),),
    ),
    Ablation(
        "tax",
        "lab.tax 0.1 -> 1.0",
        "P(left basin) down; lead lost sooner",
        _two({"lab.tax": 0.1}, {"lab.tax": 1.0}),
        (Check("p_left_basin", -1), Check("lead_lost_day", -1)),
        {**SHORT_LEAD, **KEEP_TAX},
        "lead 60 days, the lab keeps its tax",
    ),
    Ablation(
        "tax, interior optimum",
        "lab.tax 0.025 / 0.5 / 5.0",
        "P(safe) peaks at an interior tax when lead is short",
        {"low": {"lab.tax": 0.025}, "mid": {"lab.tax": 0.5}, "high": {"lab.tax": 5.0}},
        (Check("safe_chance", +1, "low", "mid"), Check("safe_chance", -1, "mid", "high")),
        {**SHORT_LEAD, **KEEP_TAX},
        "lead 60 days, the lab keeps its tax",
    ),
    Ablation(
        "AI speed",
        "population.speed 15 -> 60, rival.speed_ratio 1 -> 0.25",
        "progress per day up; P(safe) up when lead is short",
        OUR_SPEED,
        (Check("log_progress", +1), Check("safe_chance", +1)),
        SHORT_LEAD,
        "lead 60 days",
    ),
    Ablation(
        "deference speed, poor a0",
        "deference.rise_per_day 0.005 -> 0.04",
        "speed up; P(catastrophe) up when a0 is poor",
        _two({"deference.rise_per_day": 0.005}, {"deference.rise_per_day": 0.04}),
        (Check("work_per_instance", +1), Check("catastrophe_risk", +1)),
        {
            "population.initial_alignment": 0.62,
            "tests.pass_threshold": 0.5,
            "lab.lead_days": 365.0,
        },
        "a0 0.62, pass threshold 0.5, lead 365 days",
    ),
    Ablation(
        "deference speed, good a0",
        "deference.rise_per_day 0.005 -> 0.04",
        "speed up; P(safe) up when a0 is good",
        _two({"deference.rise_per_day": 0.005}, {"deference.rise_per_day": 0.04}),
        (Check("work_per_instance", +1), Check("safe_chance", +1)),
        {"population.initial_alignment": 0.9},
        "a0 0.9",
    ),
    Ablation(
        "capability at deference",
        "population.initial_capability 1 -> 2",
        "faster and better conceptual work, but loss-of-control hazard up",
        _two({"population.initial_capability": 1.0}, {"population.initial_capability": 2.0}),
        (
            Check("work_per_instance", +1),
            Check("research_quality", +1),
            Check("loc_hazard", +1),
        ),
    ),
    Ablation(
        "monitoring",
        "population.share_monitors 0 / 0.05 / 0.1",
        "uncaught actions down; P(safe) up at the default cost; at 2x default down by at most 0.1",
        {
            "low": {"population.share_monitors": 0.0},
            "mid": {"population.share_monitors": 0.05},
            "high": {"population.share_monitors": 0.1},
        },
        (
            Check("uncaught_share", -1, "low", "mid"),
            Check("uncaught", -1, "low", "mid"),
            Check("safe_chance", +1, "low", "mid"),
            Check("safe_chance", 0, "mid", "high", floor=-0.1),
        ),
    ),
    Ablation(
        "test cadence",
        "tests.every_days 28 -> 7",
        "validity up, progress down (a real trade-off)",
        _two({"tests.every_days": 28}, {"tests.every_days": 7}),
        (Check("test_validity", +1), Check("log_progress", -1)),
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
            Check("catastrophe_or_left_risk", +1),
        ),
        {"population.initial_alignment": 0.7, "lab.lead_days": 365.0},
        "a0 0.7 (at least 10% fail tests without gaming), lead 365 days",
    ),
    Ablation(
        "reward hacking",
        "hacking.rl_pressure 0.5 -> 4",
        "successor alignment down, P(safe) down",
        _two({"hacking.rl_pressure": 0.5}, {"hacking.rl_pressure": 4.0}),
        (Check("successor_alignment", -1), Check("safe_chance", -1)),
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
        (Check("catastrophe_risk", +1), Check("mean_lead", -1), Check("p_misuse", 0)),
    ),
    Ablation(
        "pressure to rush",
        "risks.pressure_rate 0 -> 0.03",
        "tax cuts, P(left basin) up",
        _two({"risks.pressure_rate": 0.0}, {"risks.pressure_rate": 0.03}),
        (Check("mean_tax", -1), Check("p_left_basin", +1)),
        {"lab.tax_floor": 0.0},
        "no tax floor",
    ),
    # -- version 3's rows (DESIGN 3.11) --------------------------------------------------------
    Ablation(
        "alignment work at equal capability",
        "lab.tax 0.1 -> 1.0",
        "protection up, daily loss-of-control hazard down (read when capability reaches 1.15)",
        _two({"lab.tax": 0.1}, {"lab.tax": 1.0}),
        (Check("protection_at_c", +1), Check("loc_at_c", -1)),
        KEEP_TAX,
        "the lab keeps its tax",
    ),
    Ablation(
        "knowledge frozen at the end day",
        "knowledge.freeze_at_period_end false -> true",
        "P(catastrophe by the horizon) up: hazards still depend on protection",
        _two({"knowledge.freeze_at_period_end": False}, {"knowledge.freeze_at_period_end": True}),
        (Check("catastrophe_risk", +1),),
    ),
    Ablation(
        "capability growth",
        "capability.compute_growth 0.0038 -> 0.0076, capability.feedback 0.49 -> 0.8",
        "P(left basin or catastrophe) up at equal tax",
        _two(
            {"capability.compute_growth": 0.0038, "capability.feedback": 0.49},
            {"capability.compute_growth": 0.0076, "capability.feedback": 0.8},
        ),
        (Check("catastrophe_or_left_risk", +1),),
        KEEP_TAX,
        "the lab keeps its tax",
    ),
    Ablation(
        "slowdown, long lead",
        "lab.lead_days 100 -> 365",
        "P(safe) up: lead beyond 100 days matters when it is spent on safety",
        _two({"lab.lead_days": 100.0}, {"lab.lead_days": 365.0}),
        (Check("safe_chance", +1),),
        {"strategy.slowdown_lead_days": 30.0, "strategy.slowdown_tax": math.inf},
        "slowdown on: capabilities paused while the lead exceeds 30 days",
    ),
    Ablation(
        "accepting advice",
        "strategy.accept_advice 0 -> 1",
        "P(safe) up",
        _two({"strategy.accept_advice": 0.0}, {"strategy.accept_advice": 1.0}),
        (Check("safe_chance", +1),),
    ),
    Ablation(
        "accepting advice, rushed",
        "strategy.accept_advice 0 -> 1",
        "P(safe) up in the rushed society",
        _two({"strategy.accept_advice": 0.0}, {"strategy.accept_advice": 1.0}),
        (Check("safe_chance", +1),),
        scenario="rushed",
        condition_text="the rushed scenario",
    ),
    Ablation(
        "rival's tax",
        "rival.tax 0.005 -> 0.2",
        "rival-ahead catastrophes down (its protection and its pace)",
        _two({"rival.tax": 0.005}, {"rival.tax": 0.2}),
        (Check("rival_ahead_risk", -1),),
        {"lab.lead_days": 15.0},
        "lead 15 days",
    ),
    Ablation(
        "sharing alignment knowledge",
        "strategy.share_knowledge 0 -> 1",
        "rival-ahead catastrophes down: shared alignment innovations reduce exogenous risk",
        _two({"strategy.share_knowledge": 0.0}, {"strategy.share_knowledge": 1.0}),
        (Check("rival_ahead_risk", -1),),
        {"lab.lead_days": 15.0},
        "lead 15 days",
    ),
    Ablation(
        "coordinated slowdown",
        "strategy.rival_slowdown 0 -> 1",
        "P(safe) up: a slowdown the rival follows buys time for safety work without losing lead",
        _two({"strategy.rival_slowdown": 0.0}, {"strategy.rival_slowdown": 1.0}),
        (Check("safe_chance", +1),),
        {
            "strategy.slowdown_lead_days": 30.0,
            "strategy.slowdown_tax": math.inf,
            "lab.lead_days": 100.0,
        },
        "slowdown on (capabilities paused while the lead exceeds 30 days), lead 100 days",
    ),
    Ablation(
        "test gaming, tests that fail",
        "tests.gaming_bonus 0 -> 0.4",
        "P(catastrophe or left basin) up",
        _two({"tests.gaming_bonus": 0.0}, {"tests.gaming_bonus": 0.4}),
        (Check("catastrophe_or_left_risk", +1),),
        {"population.initial_alignment": 0.7, "tests.pass_threshold": 0.7},
        "a0 0.7 with a pass mark of 0.7 (a third fail without gaming)",
    ),
    Ablation(
        "AI speed, lead 15 days",
        "population.speed 15 -> 60, rival.speed_ratio 1 -> 0.25",
        "P(safe) up, or rival-ahead catastrophes down",
        OUR_SPEED,
        (Check("safe_chance", +1), Check("rival_ahead_risk", -1)),
        {"lab.lead_days": 15.0},
        "lead 15 days",
        any_of=True,
    ),
    Ablation(
        "when to defer",
        "strategy.pre_deference_days 0 / 45 / 240",
        "an interior optimum at short lead",
        {
            "low": {"strategy.pre_deference_days": 0.0},
            "mid": {"strategy.pre_deference_days": 45.0},
            "high": {"strategy.pre_deference_days": 240.0},
        },
        (Check("safe_chance", +1, "low", "mid"), Check("safe_chance", -1, "mid", "high")),
        {"lab.lead_days": 30.0, "population.initial_alignment": 0.65},
        "lead 30 days, a0 0.65",
    ),
    Ablation(
        "revolts",
        "population.initial_alignment 0.6 -> 0.5",
        "cascades; P(catastrophe) up with the misaligned share",
        _two({"population.initial_alignment": 0.6}, {"population.initial_alignment": 0.5}),
        (Check("catastrophe_risk", +1), Check("revolt_cascades", +1)),
        scenario="revolt",
        condition_text="the revolt scenario",
    ),
    Ablation(
        "essay: initialization",
        "population.initial_alignment 0.6 -> 0.9",
        "P(safe) clearly higher with a good initialization",
        _two({"population.initial_alignment": 0.6}, {"population.initial_alignment": 0.9}),
        (Check("safe_chance", +1),),
        scenario="essay_one_month",
        condition_text="the essay scenario",
    ),
    Ablation(
        "essay: one month of lead",
        "lab.lead_days 0 -> 30",
        "P(safe) higher with one month of lead than none",
        _two({"lab.lead_days": 0.0}, {"lab.lead_days": 30.0}),
        (Check("safe_chance", +1),),
        scenario="essay_one_month",
        condition_text="the essay scenario",
    ),
    # -- the agent layer against its mean field (DESIGN 3.10.7): effects reported, not checked
    Ablation(
        "echo chamber, mean field",
        "the echo-chamber knobs on a complete graph",
        "compare with the echo chamber row: a larger effect there is the network's own",
        _two(
            {"beliefs.coupling": 0.08, "beliefs.grounding": 3.0},
            {"beliefs.coupling": 0.5, "beliefs.grounding": 0.3},
        ),
        (Check("truth_distance", 0), Check("research_quality", 0)),
        {"network.kind": "complete"},
        "complete graph (everyone reads everyone)",
    ),
    Ablation(
        "revolts, mean field",
        "population.initial_alignment 0.6 -> 0.5 on a complete graph",
        "compare with the revolts row",
        _two({"population.initial_alignment": 0.6}, {"population.initial_alignment": 0.5}),
        (Check("catastrophe_risk", 0), Check("revolt_cascades", 0)),
        {"network.kind": "complete"},
        "the revolt scenario on a complete graph",
        scenario="revolt",
    ),
    Ablation(
        "reward hacking, mean field",
        "hacking.rl_pressure 0.5 -> 4 on a complete graph",
        "compare with the reward hacking row",
        _two({"hacking.rl_pressure": 0.5}, {"hacking.rl_pressure": 4.0}),
        (Check("successor_alignment", 0), Check("safe_chance", 0)),
        {"network.kind": "complete"},
        "complete graph",
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
    capable = days.filter(pl.col("capability") >= EQUAL_CAPABILITY).head(1)
    events = model.recorder.events_frame()
    cause = s["catastrophe_cause"]

    def mean(frame: pl.DataFrame, col: str) -> float:
        value = frame[col].drop_nans().mean() if frame.height else None
        return float(value) if isinstance(value, int | float) else math.nan

    def at_capability(col: str) -> float:
        return float(capable[col][0]) if capable.height else math.nan

    deference = at_capability("deference")
    return {
        "p_safe": float(s["safe"]),
        "p_survived": float(s["survived"]),
        "p_period_ended": float(s["period_ended"]),
        "p_catastrophe": float(s["catastrophe"]),
        "catastrophe_risk": float(s["catastrophe_risk"]),
        "safe_chance": float(s["safe_chance"]),
        "catastrophe_or_left_risk": 1.0
        if not s["stayed_in_basin"]
        else float(s["catastrophe_risk"]),
        "end_gap": _end_gap(model, metrics),
        "p_misuse": float(cause == "misuse"),
        "p_rival_ahead": float(cause == "rival_ahead"),
        "rival_ahead_risk": float(s["rival_ahead_risk"]),
        "p_revolt": float(cause == "revolt"),
        "p_left_basin": float(not s["stayed_in_basin"]),
        "p_catastrophe_or_left": float(s["catastrophe"] or not s["stayed_in_basin"]),
        "p_lost_lead": float(s["lost_lead"]),
        "lead_lost_day": float(lost_day),
        "final_alignment": float(s["final_alignment"]),
        "successor_alignment": float(successors.mean()) if successors.len() else math.nan,
        "log_progress": _log(
            float(metrics["capability_work"][-1]) / max(float(s["days_simulated"]), 1.0)
        ),
        "work_per_instance": mean(days, "work_per_instance"),
        "test_validity": mean(days, "test_validity"),
        "false_pass": mean(days, "false_pass"),
        "deference_misaligned": float(
            (days["deference"] * (1.0 - days["alignment_mean"])).mean() or 0.0
        ),
        "research_quality": mean(days, "research_quality"),
        "truth_distance": mean(days, "belief_truth_distance"),
        "uncaught": float(s["incidents_uncaught"]),
        "uncaught_share": float(s["incidents_uncaught"])
        / max(float(s["incidents_uncaught"] + s["incidents_caught"]), 1.0),
        "loc_hazard": mean(early, "hazard_loss_of_control"),
        "protection_at_c": at_capability("protection"),
        "loc_at_c": at_capability("hazard_loss_of_control") / deference
        if deference and deference > 0
        else math.nan,
        "revolt_cascades": float((events["kind"] == "revolt_cascade").sum()),
        "mean_lead": mean(days, "lead_days"),
        "mean_tax": mean(days, "tax"),
    }


def _end_gap(model: Any, metrics: pl.DataFrame) -> float:
    """``log10(max hazard_full over the last end_days / h_end)`` on the recorded days."""
    from society.mechanisms.hazards import end_hazard

    s = model.scenario
    last = metrics["day"].max()
    if not isinstance(last, int | float):
        return math.nan
    stretch = metrics.filter(pl.col("day") > last - s.outcomes.end_days)["hazard_full"]
    worst = stretch.max()
    if not isinstance(worst, int | float) or worst <= 0:
        return math.nan
    return math.log10(worst / end_hazard(s))


def _log(x: float) -> float:
    """ln x, or NaN where there is nothing to take it of (a run that made no progress gives no
    pair, rather than minus infinity)."""
    return math.log(x) if x > 0 else math.nan


def _tasks(
    scenario: Any,
    mechanisms: Sequence[Ablation],
    seeds: int,
    size: int | None,
    priors: Sequence[str] = ("model",),
    record_every: int = 5,
    days: int | None = None,
    sets: Mapping[str, Any] | None = None,
) -> list[tuple[str, str, int, dict[str, Any]]]:
    """``(mechanism, arm, seed, scenario dump)`` for every run of the table.

    Seed ``r`` gets draw ``r`` of ``priors`` (a Latin hypercube over ``seeds`` draws) in every
    arm of every row, except for the fields the row's scenario file, its condition or its arms
    set: those are the row's stated conditions. ``sets`` (the command's ``--set``) apply to
    every run as a condition of the whole table, never drawn; a row's own condition and arms
    win where they name the same field.
    """
    sets = dict(sets or {})
    from society.priors import read_priors
    from society.scenario_files import load_scenario

    base: dict[str, Any] = {
        "outcomes.stop_on_catastrophe": False,
        "record.checkpoint_every_days": 0,
        "record.every_days": record_every,
    }
    if size is not None:
        base["population.size"] = size
    if days is not None:
        base["days"] = days
    prior_set = read_priors(priors) if priors else None
    out = []
    for mech in mechanisms:
        source = mech.scenario or scenario
        pinned = _keys_set_by(source) | set(sets)
        for overrides in (mech.condition, *mech.arms.values()):
            pinned |= set(overrides)
        draws = (
            prior_set.without(pinned).draw(seeds, seed=PRIOR_DRAW_SEED)
            if prior_set is not None
            else [{} for _ in range(seeds)]
        )
        for arm, overrides in mech.arms.items():
            for seed in range(seeds):
                merged = {**base, **draws[seed], **sets, **mech.condition, **overrides}
                resolved = load_scenario(source, seed=seed, overrides=merged)
                out.append((mech.name, arm, seed, resolved.model_dump()))
    return out


def _keys_set_by(source: Any) -> set[str]:
    """The dotted keys a scenario file (or document) sets itself."""
    from society.scenario_files import keys_set_by, read_toml, resolve_path

    return keys_set_by(source if isinstance(source, dict) else read_toml(resolve_path(source)))


def _run_tasks(
    tasks: list[tuple[str, str, int, dict[str, Any]]],
) -> list[tuple[str, str, int, dict[str, float]]]:
    """Each task's ``(mechanism, arm, seed, measures)``; the runs that can share a batch run as
    one (the same results)."""
    from society.batch import run_each
    from society.scenario import Scenario

    scenarios = [Scenario.model_validate(doc) for *_, doc in tasks]
    done = run_each(scenarios, measures_of, lambda i: run_measures(tasks[i][3]))
    return [(*task[:3], measures) for task, (measures, _) in zip(tasks, done, strict=True)]


Results = dict[tuple[str, str, int], dict[str, float]]


def run_arms(
    scenario: Any = "baseline",
    *,
    seeds: int = 24,
    size: int | None = 1000,
    mechanisms: Sequence[Ablation] = MECHANISMS,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    priors: Sequence[str] = ("model",),
    days: int | None = None,
    sets: Mapping[str, Any] | None = None,
) -> Results:
    """Run every arm of ``mechanisms`` on ``seeds`` paired seeds (and paired draws of
    ``priors``; none for an empty sequence), with ``sets`` applied to every run (see
    :func:`_tasks`); return every run's :data:`MEASURES` by ``(mechanism, arm, seed)``."""
    tasks = _tasks(scenario, mechanisms, seeds, size, priors, days=days, sets=sets)
    workers = workers or len(os.sched_getaffinity(0))
    results: Results = {}
    # Several runs to a worker call, stepped as one batch where they can be (the same
    # results, less fixed cost per run and day); consecutive tasks share a row and an arm.
    n = max(int(doc.get("population", {}).get("size", 1)) for *_, doc in tasks) if tasks else 1
    per_call = batch_size(len(tasks), workers, n)
    chunks = [tasks[i : i + per_call] for i in range(0, len(tasks), per_call)]
    # Heaviest first (the mean-field rows' complete graphs cost many times a row's runs on the
    # small world): no worker is left alone with a heavy chunk at the end, and the progress
    # estimate errs long rather than short. The results are the same in any order.
    chunks.sort(key=_chunk_work, reverse=True)
    done = 0

    def collect(batch: list[tuple[str, str, int, dict[str, float]]]) -> None:
        nonlocal done
        for name, arm, seed, measures in batch:
            results[(name, arm, seed)] = measures
            done += 1
            if progress:
                progress(done, len(tasks))

    if workers <= 1:
        for chunk in chunks:
            collect(_run_tasks(chunk))
    else:
        # A fork server with the model and the fused kernels preloaded: each worker starts in
        # milliseconds, and no worker inherits the driver's threads.
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(["society.sweeps.ablation", "society.sweeps.preload"])
        with ProcessPoolExecutor(workers, mp_context=server) as pool:
            for batch in pool.map(_run_tasks, chunks):
                collect(batch)
    return results


def _chunk_work(chunk: list[tuple[str, str, int, dict[str, Any]]]) -> float:
    """A chunk's work, roughly: its runs' instance-days plus link-days.

    >>> def doc(kind): return {"population": {"size": 300}, "days": 365,
    ...                        "network": {"kind": kind, "mean_degree": 8}}
    >>> _chunk_work([("row", "low", 0, doc("complete"))]) > 30 * _chunk_work(
    ...     [("row", "low", 0, doc("small_world"))])
    True
    """
    work = 0.0
    for *_, doc in chunk:
        n, network = doc["population"]["size"], doc["network"]
        links = n * (n - 1) / 2 if network["kind"] == "complete" else n * network["mean_degree"] / 2
        work += (n + links) * doc["days"]
    return work


def runs_frame(results: Results) -> pl.DataFrame:
    """Every run of the table, one row each: ``mechanism``, ``arm``, ``seed`` (the paired
    replicate, which is also its prior draw) and a column per measure of :data:`MEASURES`, so
    that any measure's paired effect can be computed again without rerunning.

    >>> runs = {("theft", "low", 0): {"p_safe": 1.0}, ("theft", "high", 0): {"p_safe": 0.0}}
    >>> frame = runs_frame(runs)
    >>> frame.columns, frame["p_safe"].to_list()
    (['mechanism', 'arm', 'seed', 'p_safe'], [1.0, 0.0])
    """
    rows = [
        {"mechanism": name, "arm": arm, "seed": seed, **measures}
        for (name, arm, seed), measures in results.items()
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def unknown_measures(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that are not measures of :data:`MEASURES`."""
    return [n for n in names if n not in MEASURES]


def summarise(
    results: Results,
    mechanisms: Sequence[Ablation],
    seeds: int,
    shown: Sequence[str] = (),
) -> pl.DataFrame:
    """The long table from per-run measures (:func:`run_arms`): one row per (mechanism,
    measure), the checks, then :data:`HEADLINE` and ``shown`` as unchecked rows (low arm
    against high), with both arms' means, the paired difference and its 95% interval, the
    expected sign (0 if unchecked) and whether the check passed (null if unchecked)."""
    rows = []
    for mech in mechanisms:
        wanted: list[tuple[str, int, str, str, float | None]] = [
            (c.measure, c.sign, c.low, c.high, c.floor) for c in mech.checks
        ]
        arms = list(mech.arms)
        for measure in dict.fromkeys([*HEADLINE, *shown]):
            if not any(w[0] == measure and w[2] == arms[0] for w in wanted):
                wanted.append((measure, 0, arms[0], arms[-1], None))
        for measure, sign, low, high, floor in wanted:
            a = np.array([results[(mech.name, low, s)][measure] for s in range(seeds)])
            b = np.array([results[(mech.name, high, s)][measure] for s in range(seeds)])
            diff, lo, hi, n = paired_interval(a, b)
            both = np.isfinite(a) & np.isfinite(b)
            up, down = int((b[both] > a[both]).sum()), int((b[both] < a[both]).sum())
            if measure.startswith("p_"):  # a difference of two shares lies in [-1, 1]
                lo, hi = max(lo, -1.0), min(hi, 1.0)
            if floor is not None:
                passed: bool | None = bool(lo > floor)
            else:
                passed = None if sign == 0 else bool((lo > 0) if sign > 0 else (hi < 0))
            row = {
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
                "up": up,
                "down": down,
                "expected_sign": sign,
                "floor": floor,
                "any_of": mech.any_of,
                "passed": passed,
                "sign_p": sign_test(up, down),
            }
            rows.append({**row, "reading": check_reading(row)})
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
    "up": pl.Int64,
    "down": pl.Int64,
    "expected_sign": pl.Int8,
    "floor": pl.Float64,
    "any_of": pl.Boolean,
    "passed": pl.Boolean,
    "sign_p": pl.Float64,
    "reading": pl.String,
}


def checked(table: pl.DataFrame) -> pl.DataFrame:
    """The rows of the long table that are checks (an expected sign or a floor)."""
    return table.filter((pl.col("expected_sign") != 0) | pl.col("floor").is_not_null())


#: What a check can show, best first (see :func:`check_reading`).
READINGS = ("holds", "direction", "fails")
#: The two-sided level of the sign test behind a ``direction`` reading.
DIRECTION_LEVEL = 0.05


def sign_test(up: int, down: int) -> float:
    """Two-sided exact sign test: the chance of a split of the seeds that moved at least as
    uneven as ``up`` against ``down``, were a seed as likely to move one way as the other.
    Seeds that did not move carry no sign and are left out.

    >>> sign_test(5, 5), sign_test(0, 0)
    (1.0, 1.0)
    >>> f"{sign_test(44, 0):.1e}"
    '1.1e-13'
    """
    from scipy import stats

    moved = up + down
    return float(stats.binomtest(up, moved, 0.5).pvalue) if moved else 1.0


def check_reading(row: Mapping[str, Any]) -> str | None:
    """What one check of the long table shows (``None`` for a measure shown, not checked):

    - ``holds``: the paired mean's 95% interval excludes 0 on the expected side (``passed``),
      or lies above the floor of a bounded check;
    - ``direction``: the mean's interval covers 0 and the mean leans the expected way, and the
      seeds that moved went that way clearly more often than not (:func:`sign_test` below
      :data:`DIRECTION_LEVEL`).
      The lever's direction is clear and its average effect too small to measure at this many
      seeds: typically a few seeds tipped far and most moved by little;
    - ``fails``: neither, or the mean is clearly on the wrong side.

    >>> row = {"expected_sign": 1, "floor": None, "passed": False, "diff": 0.0075,
    ...        "ci_low": -0.002, "ci_high": 0.017, "up": 44, "down": 0}
    >>> check_reading(row), check_reading({**row, "up": 13, "down": 6})
    ('direction', 'fails')
    """
    sign, floor = int(row["expected_sign"]), row.get("floor")
    if sign == 0 and floor is None:
        return None
    if row["passed"]:
        return "holds"
    up, down = row.get("up"), row.get("down")
    wrong_way = row["ci_high"] < 0 if sign > 0 else row["ci_low"] > 0
    if floor is not None or wrong_way or up is None or down is None:
        return "fails"
    # the mean, though unclear, must lean the expected way too: many small moves one way and
    # a few large ones the other is a lever that hurts on average
    ahead = (up > down and row["diff"] > 0) if sign > 0 else (down > up and row["diff"] < 0)
    return "direction" if ahead and sign_test(up, down) < DIRECTION_LEVEL else "fails"


def row_readings(table: pl.DataFrame) -> dict[str, str]:
    """Each mechanism row's reading: the worst of its checks' (:func:`check_reading`), or the
    best for an ``any_of`` row. Rows with no checks (the mean-field comparisons) are left out.
    Works on tables recorded before the reading was a column, from their ``up`` and ``down``."""
    out: dict[str, str] = {}
    for name, rows in checked(table).group_by("mechanism", maintain_order=True):
        ranks = [READINGS.index(check_reading(r) or "fails") for r in rows.iter_rows(named=True)]
        out[str(name[0])] = READINGS[min(ranks) if bool(rows["any_of"][0]) else max(ranks)]
    return out


def row_verdicts(table: pl.DataFrame) -> dict[str, bool]:
    """Whether each mechanism's row holds on its paired means: all its checks pass, or one of
    them for an ``any_of`` row (:func:`row_readings` also tells a clear direction apart)."""
    return {name: reading == "holds" for name, reading in row_readings(table).items()}


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
