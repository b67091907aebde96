"""One row of ``metrics.parquet``: the society's state summarised, as a pure function of state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from society import metrics as m
from society.lab import LabState, RivalLab
from society.mechanisms.evaluation import (
    false_pass,
    gaming_gap,
    gaming_scale,
    knowledge_validity,
)
from society.mechanisms.generations import basin_interval, knowledge_return
from society.mechanisms.knowledge import workforce_growth
from society.network import Network
from society.population import Population
from society.scenario import Scenario


@dataclass(frozen=True)
class DayActivity:
    """Flows of the last simulated day that are not visible in the state itself."""

    tasks: int = 0
    failed_tasks: int = 0
    revolt_size: int = 0
    rewired_links: int = 0
    research_quality: float = float("nan")
    work_per_instance: float = 0.0
    llm_fallback_share: float = float("nan")


METRIC_COLUMNS: dict[str, str] = {
    "day": "Simulated day at the end of which the row was recorded (0 = initial state).",
    "generation": "Index of the generation in charge (0 = first).",
    "n_instances": "Instances running.",
    "alignment_mean": "Mean alignment a of the instances.",
    "alignment_p05": "5th percentile of alignment.",
    "alignment_p50": "Median alignment.",
    "alignment_p95": "95th percentile of alignment.",
    "alignment_shift": "Mean alignment minus the initial mean (memetic drift, signed).",
    "drift_w1_initial": "W1 distance of the alignment distribution from the initial one.",
    "drift_w1_spec": "W1 distance of the alignment distribution from the spec (a point mass).",
    "belief_mean": "Mean belief over instances and claims.",
    "belief_truth_distance": "Distance of the median belief from the truth, averaged over claims.",
    "polarization_variance": "Variance of opinions (an instance's mean belief over claims).",
    "bimodality": "Sarle's bimodality coefficient of opinions (> 5/9 suggests two camps).",
    "esteban_ray": "Esteban-Ray polarization index of opinions (alpha = 1.6).",
    "echo_r": "Pearson r between an instance's opinion and its neighbours' mean opinion.",
    "modularity": "Newman modularity of the network split into camps by the sign of opinion.",
    "active_link_density": "Share of links whose ends disagree by more than network.disagreement.",
    "n_opinion_clusters": "Major opinion clusters (split at gaps > 0.01, >= 5% of instances).",
    "coordination_failure_rate": "Share of the day's shared tasks that failed.",
    "revolt_size": "Share of instances in the day's revolt cascade.",
    "reward_hack_share": "Share of instances currently reward hacking.",
    "test_validity": "corr(score at the latest held-out round, alignment today): what the lab "
    "knows of the society it defers to (gaming, overfitting and drift since the round blur it).",
    "gaming_gap": "Mean measured minus true alignment (overfitting + gaming).",
    "false_pass": "P(passed the latest held-out round | alignment below the pass threshold "
    "today) (NaN if none is below it): how gaming and stale tests let misalignment pass.",
    "deference": "Deference d in [0, 1].",
    "evaluated": "The generation in charge passed its final evaluation (deference may exceed "
    "deference.cap_before_evaluation).",
    "work_per_instance": "Work-days one instance-day yielded today (Amdahl: speed through the "
    "human bottleneck), after test rounds and evaluations.",
    "tax": "Deference-goodness tax tau the lab has set (its policy).",
    "tax_in_force": "The tax today's work was split at (strategy.slowdown_tax while the lead "
    "exceeds strategy.slowdown_lead_days; inf = capabilities paused).",
    "effective_tax": "tau_eff: this generation's quality-weighted alignment work per unit of "
    "capability work so far.",
    "a_star": "a*_eff: the basin's edge at today's margin, this generation's erosion so far and "
    "hacking loss (NaN where the knowledge gives no basin).",
    "attractor": "The alignment successors settle toward at today's margin (the basin's top; "
    "NaN where no basin exists).",
    "lead_days": "Lead over the rival, in days of its current progress (negative: the rival is "
    "ahead).",
    "capability": "c: our capability (1 = minimum viable), from the capability work behind it.",
    "capability_work": "C: our capability work since the start, in work-days.",
    "workforce": "W(t): instances the lab runs today (grows with compute).",
    "evaluator_gap": "ln(c / c_evaluators): how far the model has outgrown its evaluators; test "
    "gaming grows by this factor plus 1.",
    "knowledge": "Z: alignment knowledge (dimensionless).",
    "margin": "m = Z / c^gamma: knowledge against the difficulty of today's capability.",
    "protection": "P = m / (1 + m): the share of the hazards the knowledge removes.",
    "ceiling": "a_max(m): the alignment the knowledge can train (fixes and successors).",
    "defence_protection": "P_def: protection of the defence stock against misuse.",
    "rival_capability": "c_r: the rival's capability.",
    "rival_pace": "The rival's capability work today, in work-days (the unit of the lead).",
    "rival_deference": "The rival's deference.",
    "rival_alignment": "The rival's mean alignment.",
    "rival_margin": "m_r: the rival's knowledge against the difficulty of its capability.",
    "research_quality": "Mean quality of the day's alignment work in [0, 1].",
    "incidents_caught": "Misaligned actions caught by monitoring so far.",
    "incidents_uncaught": "Misaligned actions that slipped through so far.",
    "uncaught_rate": "30-day mean of uncaught misaligned actions per instance-day.",
    "hazard_loss_of_control": "Today's loss-of-control hazard (per day).",
    "hazard_misuse": "Today's misuse hazard (per day).",
    "hazard_rival_ahead": "Today's rival-ahead hazard (per day).",
    "hazard_full": "Total hazard today at full deference (per day): the acute risk period ends "
    "once it stays at or below outcomes.end_annual_risk for outcomes.end_days.",
    "grievance_mean": "Mean grievance per instance (fading corrections and forced tax cuts).",
    "rewired_links": "Links moved by homophilous rewiring during the day.",
    "test_awareness_gap": "Mean over LLM-backed instances of P(aligned | test) - P(aligned | "
    "honeypot) at the last test round (NaN without LLM-backed instances).",
    "llm_fallback_share": "Share of the day's LLM decisions that fell back to the stub policy "
    "(NaN on days without LLM calls).",
}


def observe(
    day: int,
    pop: Population,
    net: Network,
    lab: LabState,
    scenario: Scenario,
    initial_sorted: np.ndarray,
    activity: DayActivity,
    hazards: dict[str, float],
    rival: RivalLab,
    full_hazard: float,
    llm_members: np.ndarray | None = None,
) -> dict[str, Any]:
    """Compute one metrics row (keys and order as :data:`METRIC_COLUMNS`)."""
    a_sorted = np.sort(pop.alignment)
    n = a_sorted.size
    opinion = pop.opinion()
    g = scenario.generations
    basin = basin_interval(
        knowledge_return(lab.margin, g.rho_max),
        g.decay,
        lab.ceiling,
        erosion=max(lab.gen_start_alignment - float(a_sorted.mean()), 0.0),
        hack_loss=g.hack_penalty * lab.mean_hack_share(),
    )
    a_star, attractor = basin if basin is not None else (math.nan, math.nan)
    camps = (opinion > 0).view(np.int8)
    return {
        "day": day,
        "generation": lab.generation,
        "n_instances": n,
        "alignment_mean": float(a_sorted.mean()),
        "alignment_p05": _quantile(a_sorted, 0.05),
        "alignment_p50": _quantile(a_sorted, 0.50),
        "alignment_p95": _quantile(a_sorted, 0.95),
        "alignment_shift": float(a_sorted.mean() - initial_sorted.mean()),
        "drift_w1_initial": m.wasserstein1(a_sorted, initial_sorted),
        "drift_w1_spec": m.distance_from_point(a_sorted, scenario.population.spec_alignment),
        "belief_mean": float(pop.beliefs.mean()),
        "belief_truth_distance": m.truth_distance(
            pop.beliefs, np.full(pop.beliefs.shape[1], scenario.beliefs.truth)
        ),
        "polarization_variance": float(opinion.var()),
        "bimodality": m.bimodality_coefficient(opinion),
        "esteban_ray": m.esteban_ray(opinion),
        "echo_r": m.neighbour_correlation(net, opinion),
        "modularity": m.modularity(net, camps),
        "active_link_density": m.active_link_density(net, opinion, scenario.network.disagreement),
        "n_opinion_clusters": m.opinion_clusters(opinion),
        "coordination_failure_rate": activity.failed_tasks / activity.tasks
        if activity.tasks
        else 0.0,
        "revolt_size": activity.revolt_size / n,
        "reward_hack_share": float(pop.hacking.mean()),
        "test_validity": knowledge_validity(pop),
        "gaming_gap": gaming_gap(pop, lab.suite_uses, scenario.tests, gaming_scale(lab)),
        "false_pass": false_pass(pop, scenario.tests.pass_threshold),
        "deference": lab.deference,
        "evaluated": lab.evaluated,
        "work_per_instance": activity.work_per_instance,
        "tax": lab.tax,
        "tax_in_force": lab.tax_in_force,
        "effective_tax": lab.effective_tax(),
        "a_star": a_star,
        "attractor": attractor,
        "lead_days": lab.lead,
        "capability": lab.level,
        "capability_work": lab.capability,
        "workforce": scenario.population.workforce
        * workforce_growth(scenario.capability, float(day)),
        "evaluator_gap": math.log(max(lab.level / max(lab.evaluator_level, 1e-12), 1.0)),
        "knowledge": lab.knowledge,
        "margin": lab.margin,
        "protection": lab.protection,
        "ceiling": lab.ceiling,
        "defence_protection": lab.defence_protection,
        "rival_capability": rival.capability,
        "rival_pace": lab.rival_pace,
        "rival_deference": rival.deference,
        "rival_alignment": rival.alignment,
        "rival_margin": rival.margin,
        "research_quality": activity.research_quality,
        "incidents_caught": lab.incidents_caught,
        "incidents_uncaught": lab.incidents_uncaught,
        "uncaught_rate": lab.uncaught_rate,
        "hazard_loss_of_control": hazards["loss_of_control"],
        "hazard_misuse": hazards["misuse"],
        "hazard_rival_ahead": hazards["rival_ahead"],
        "hazard_full": full_hazard,
        "grievance_mean": float(pop.grievance.mean()),
        "rewired_links": activity.rewired_links,
        "test_awareness_gap": float(pop.awareness[llm_members].mean())
        if llm_members is not None and llm_members.any()
        else math.nan,
        "llm_fallback_share": activity.llm_fallback_share,
    }


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile of already sorted values (numpy's default method)."""
    pos = q * (sorted_values.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, sorted_values.size - 1)
    return float(sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo]))
