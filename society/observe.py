"""One row of ``metrics.parquet``: the society's state summarised, as a pure function of state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from society import metrics as m
from society.lab import LabState
from society.mechanisms.evaluation import false_pass, gaming_gap, knowledge_validity
from society.mechanisms.generations import effective_boundary
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
    "tax": "Deference-goodness tax tau in force.",
    "effective_tax": "tau_eff: this generation's quality-weighted alignment work per unit of "
    "capability work so far.",
    "a_star": "a*_eff: basin boundary at this generation's effective tax, erosion so far and "
    "hacking loss (NaN where no basin exists).",
    "lead_days": "Lead over the rival, in days of its progress (negative: the rival is ahead).",
    "capability": "C: our capability work so far, in work-days (a generation per "
    "generations.milestone_work).",
    "safety_work": "S: quality-weighted alignment and risk research so far, in work-days.",
    "safety_progress": "S / outcomes.safety_work: share of the required safety work done.",
    "research_quality": "Mean quality of the day's alignment work in [0, 1].",
    "incidents_caught": "Misaligned actions caught by monitoring so far.",
    "incidents_uncaught": "Misaligned actions that slipped through so far.",
    "uncaught_rate": "30-day mean of uncaught misaligned actions per instance-day.",
    "hazard_loss_of_control": "Today's loss-of-control hazard (per day).",
    "hazard_misuse": "Today's misuse hazard (per day).",
    "hazard_rival_ahead": "Today's rival-ahead hazard (per day).",
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
    llm_members: np.ndarray | None = None,
) -> dict[str, Any]:
    """Compute one metrics row (keys and order as :data:`METRIC_COLUMNS`)."""
    a_sorted = np.sort(pop.alignment)
    n = a_sorted.size
    opinion = pop.opinion()
    g = scenario.generations
    a_star = effective_boundary(
        lab.effective_tax(),
        g.rho_max,
        g.decay,
        g.tax_half,
        erosion=max(lab.gen_start_alignment - float(a_sorted.mean()), 0.0),
        hack_loss=g.hack_penalty * lab.mean_hack_share(),
    )
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
        "gaming_gap": gaming_gap(pop, lab.suite_uses, scenario.tests, lab.test_hardening),
        "false_pass": false_pass(pop, scenario.tests.pass_threshold),
        "deference": lab.deference,
        "evaluated": lab.evaluated,
        "work_per_instance": activity.work_per_instance,
        "tax": lab.tax,
        "effective_tax": lab.effective_tax(),
        "a_star": math.nan if a_star is None else a_star,
        "lead_days": lab.lead,
        "capability": lab.capability,
        "safety_work": lab.safety,
        "safety_progress": lab.safety / scenario.outcomes.safety_work,
        "research_quality": activity.research_quality,
        "incidents_caught": lab.incidents_caught,
        "incidents_uncaught": lab.incidents_uncaught,
        "uncaught_rate": lab.uncaught_rate,
        "hazard_loss_of_control": hazards["loss_of_control"],
        "hazard_misuse": hazards["misuse"],
        "hazard_rival_ahead": hazards["rival_ahead"],
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
