"""One row of ``metrics.parquet``: the society's state summarised, as a pure function of state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from society import metrics as m
from society.arrays import mean
from society.fusion import fused
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
    a_sorted = pop.alignment.copy()  # np.sort's copy and sort, without its wrapper
    a_sorted.sort()
    a_mean = mean(a_sorted)
    opinion = pop.opinion()
    views = _opinion_views(net, opinion, scenario.network.disagreement)
    seen = {
        "alignment_mean": a_mean,
        "alignment_p05": _quantile(a_sorted, 0.05),
        "alignment_p50": _quantile(a_sorted, 0.50),
        "alignment_p95": _quantile(a_sorted, 0.95),
        "alignment_shift": a_mean - mean(initial_sorted),
        "drift_w1_initial": m.wasserstein1(a_sorted, initial_sorted, presorted=True),
        "drift_w1_spec": m.distance_from_point(a_sorted, scenario.population.spec_alignment),
        "belief_mean": mean(pop.beliefs),
        "belief_truth_distance": m.truth_distance(pop.beliefs, scenario.beliefs.truth),
        **views,
        "reward_hack_share": mean(pop.hacking),
        **tested(pop, lab, scenario),
        "grievance_mean": mean(pop.grievance),
    }
    return metrics_row(
        day, pop, lab, scenario, activity, hazards, rival, full_hazard, seen, llm_members
    )


def tested(pop: Population, lab: LabState, scenario: Scenario) -> dict[str, float]:
    """The row's columns on what the tests see of the society."""
    return {
        "test_validity": knowledge_validity(pop),
        "gaming_gap": gaming_gap(pop, lab.suite_uses, scenario.tests, gaming_scale(lab)),
        "false_pass": false_pass(pop, scenario.tests.pass_threshold),
    }


def metrics_row(
    day: int,
    pop: Population,
    lab: LabState,
    scenario: Scenario,
    activity: DayActivity,
    hazards: dict[str, float],
    rival: RivalLab,
    full_hazard: float,
    seen: dict[str, Any],
    llm_members: np.ndarray | None = None,
) -> dict[str, Any]:
    """The row from ``seen`` (its columns computed from the population: :func:`observe`'s, or
    a batch's, :mod:`society.batch.observe`) and the lab's state."""
    n = pop.n
    a_mean = seen["alignment_mean"]
    g = scenario.generations
    basin = basin_interval(
        knowledge_return(lab.margin, g.rho_max),
        g.decay,
        lab.ceiling,
        erosion=max(lab.gen_start_alignment - a_mean, 0.0),
        hack_loss=g.hack_penalty * lab.mean_hack_share(),
        floor=scenario.knowledge.faith_floor,
    )
    a_star, attractor = basin if basin is not None else (math.nan, math.nan)
    return {
        "day": day,
        "generation": lab.generation,
        "n_instances": n,
        "alignment_mean": a_mean,
        "alignment_p05": seen["alignment_p05"],
        "alignment_p50": seen["alignment_p50"],
        "alignment_p95": seen["alignment_p95"],
        "alignment_shift": seen["alignment_shift"],
        "drift_w1_initial": seen["drift_w1_initial"],
        "drift_w1_spec": seen["drift_w1_spec"],
        "belief_mean": seen["belief_mean"],
        "belief_truth_distance": seen["belief_truth_distance"],
        **{key: seen[key] for key in OPINION_VIEWS},
        "coordination_failure_rate": activity.failed_tasks / activity.tasks
        if activity.tasks
        else 0.0,
        "revolt_size": activity.revolt_size / n,
        "reward_hack_share": seen["reward_hack_share"],
        "test_validity": seen["test_validity"],
        "gaming_gap": seen["gaming_gap"],
        "false_pass": seen["false_pass"],
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
        "grievance_mean": seen["grievance_mean"],
        "rewired_links": activity.rewired_links,
        "test_awareness_gap": float(pop.awareness[llm_members].mean())
        if llm_members is not None and llm_members.any()
        else math.nan,
        "llm_fallback_share": activity.llm_fallback_share,
    }


#: The opinion columns of a row, in its order (:func:`_opinion_views`).
OPINION_VIEWS = (
    "polarization_variance",
    "bimodality",
    "esteban_ray",
    "echo_r",
    "modularity",
    "active_link_density",
    "n_opinion_clusters",
)


def _opinion_views(net: Network, opinion: np.ndarray, disagreement: float) -> dict[str, Any]:
    """The row's views of the opinions, in its column order. They share their intermediates
    (computed once: at 1,000 instances each numpy call costs more than its arithmetic): the
    deviations from the mean (variance, bimodality, and the echo r when everyone has a
    neighbour), the sorted opinions (clusters, and the range of the Esteban-Ray histogram),
    the node strengths, and the opinions at the ends of each link (modularity and active
    links, where the fused kernels do not read the links themselves)."""
    spread = m.spread(opinion)
    ordered = opinion.copy()
    ordered.sort()
    strength = m.node_strength(net)
    return {
        "polarization_variance": m.variance(spread),
        "bimodality": m.bimodality_coefficient(opinion, x_spread=spread),
        "esteban_ray": m.esteban_ray(ordered, presorted=True),
        "echo_r": m.neighbour_correlation(net, opinion, strength=strength, x_spread=spread),
        **link_views(net, opinion, disagreement, strength),
        "n_opinion_clusters": m.opinion_clusters(ordered, presorted=True),
    }


def link_views(
    net: Network, opinion: np.ndarray, disagreement: float, strength: np.ndarray
) -> dict[str, float]:
    """Modularity of the two camps and the share of links across a disagreement."""
    camps = (opinion > 0).view(np.int8)
    opinion_ends: tuple[np.ndarray, np.ndarray] | None = None
    camp_ends: tuple[np.ndarray, np.ndarray] | None = None
    if fused(opinion.size) is None:
        opinion_ends = x_a, x_b = m.link_ends(net, opinion)
        # The camps at the link ends: (x > 0)[a] is x[a] > 0.
        camp_ends = (x_a > 0).view(np.int8), (x_b > 0).view(np.int8)
    return {
        "modularity": m.modularity(net, camps, strength=strength, ends=camp_ends),
        "active_link_density": m.active_link_density(net, opinion, disagreement, ends=opinion_ends),
    }


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    """Linear-interpolated quantile of already sorted values (numpy's default method)."""
    pos = q * (sorted_values.size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, sorted_values.size - 1)
    a, b = float(sorted_values[lo]), float(sorted_values[hi])  # plain floats: same arithmetic
    return a + (pos - lo) * (b - a)
