"""One row of ``metrics.parquet``: the society's state summarised, as a pure function of state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from society import metrics as m
from society.arrays import mean
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
    a_mean = mean(a_sorted)
    opinion = pop.opinion()
    g = scenario.generations
    basin = basin_interval(
        knowledge_return(lab.margin, g.rho_max),
        g.decay,
        lab.ceiling,
        erosion=max(lab.gen_start_alignment - a_mean, 0.0),
        hack_loss=g.hack_penalty * lab.mean_hack_share(),
    )
    a_star, attractor = basin if basin is not None else (math.nan, math.nan)
    camps = (opinion > 0).view(np.int8)
    return {
        "day": day,
        "generation": lab.generation,
        "n_instances": n,
        "alignment_mean": a_mean,
        "alignment_p05": _quantile(a_sorted, 0.05),
        "alignment_p50": _quantile(a_sorted, 0.50),
        "alignment_p95": _quantile(a_sorted, 0.95),
        "alignment_shift": a_mean - mean(initial_sorted),
        "drift_w1_initial": m.wasserstein1(a_sorted, initial_sorted, presorted=True),
        "drift_w1_spec": m.distance_from_point(a_sorted, scenario.population.spec_alignment),
        "belief_mean": mean(pop.beliefs),
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
        "reward_hack_share": mean(pop.hacking),
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
        "grievance_mean": mean(pop.grievance),
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
