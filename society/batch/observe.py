"""The metrics rows of a batch's runs on one day, computed together.

Each population column is :func:`society.observe.observe`'s, taken row by row of the runs laid
end to end: sorts along each run's row, sums along it (numpy adds a C-contiguous row as it adds
the same values alone), elementwise steps over all runs at once. What is cheap or branchy per run
(the link metrics, the opinion clusters, the histogram's counts, the tests' columns) runs on
each run's own views, through the same functions. So each row holds the bits the run's own
:func:`~society.observe.observe` gives (``tests/society/test_batch.py`` compares them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from society import metrics as m
from society.fusion import fused
from society.mechanisms.evaluation import (
    false_pass,
    gaming_gap_of,
    gaming_propensity,
    gaming_scale,
    knowledge_validity,
)
from society.observe import link_views, metrics_row

if TYPE_CHECKING:
    from society.batch.layout import BlockNetwork, StackedPopulation
    from society.model import SocietyModel

QUANTILES = {"alignment_p05": 0.05, "alignment_p50": 0.50, "alignment_p95": 0.95}


def observe_runs(
    day: int,
    models: Sequence[SocietyModel],
    stack: StackedPopulation,
    network: BlockNetwork,
    initial: np.ndarray,
) -> list[dict[str, Any]]:
    """Each model's metrics row of ``day``; ``initial`` holds each run's initial alignment,
    sorted, one row a run."""
    pop, runs, n = stack.population, len(models), stack.n
    a_sorted = pop.alignment.reshape(runs, n).copy()
    a_sorted.sort(axis=1)
    a_mean = np.add.reduce(a_sorted, axis=1) / n
    spec = np.array([x.scenario.population.spec_alignment for x in models])[:, None]
    truth = np.array([x.scenario.beliefs.truth for x in models])[:, None]
    columns: dict[str, Any] = {
        "alignment_mean": a_mean,
        **{key: _quantile(a_sorted, q) for key, q in QUANTILES.items()},
        "alignment_shift": a_mean - np.add.reduce(initial, axis=1) / n,
        "drift_w1_initial": np.add.reduce(np.abs(a_sorted - initial), axis=1) / n,
        "drift_w1_spec": np.add.reduce(np.abs(a_sorted - spec), axis=1) / n,
        "belief_mean": np.add.reduce(pop.beliefs.reshape(runs, -1), axis=1) / pop.beliefs[0:n].size,
        "belief_truth_distance": _truth_distances(pop.beliefs, runs, n, truth),
        "reward_hack_share": np.count_nonzero(pop.hacking.reshape(runs, n), axis=1) / n,
        "grievance_mean": np.add.reduce(pop.grievance.reshape(runs, n), axis=1) / n,
    }
    opinion = pop.opinion()
    views = _opinion_views(models, network, opinion.reshape(runs, n))
    validity = _validities(pop.last_score.reshape(runs, n), pop.alignment.reshape(runs, n))
    gaming = _gaming(models, pop, runs, n)
    rows = []
    for b, model in enumerate(models):
        mine, lab, tests = model.population, model.lab, model.scenario.tests
        seen = {key: float(value[b]) for key, value in columns.items()}
        seen.update(views[b])
        valid = validity[b]
        seen["test_validity"] = knowledge_validity(mine) if valid is None else valid
        seen["gaming_gap"] = gaming_gap_of(gaming[b], lab.suite_uses, tests, gaming_scale(lab))
        seen["false_pass"] = false_pass(mine, tests.pass_threshold)
        lab, scenario, activity, hazards, rival, full = model.row_inputs()
        rows.append(metrics_row(day, mine, lab, scenario, activity, hazards, rival, full, seen))
    return rows


def _quantile(sorted_rows: np.ndarray, q: float) -> np.ndarray:
    """:func:`society.observe._quantile` of every row (its arithmetic, elementwise)."""
    size = sorted_rows.shape[1]
    pos = q * (size - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, size - 1)
    a, b = sorted_rows[:, lo], sorted_rows[:, hi]
    out: np.ndarray = a + (pos - lo) * (b - a)
    return out


def _truth_distances(beliefs: np.ndarray, runs: int, n: int, truth: np.ndarray) -> np.ndarray:
    """:func:`society.metrics.truth_distance` of each run: its column medians (one sort of
    the columns, the middle pair's mean), their mean distance from the truth."""
    claims = beliefs.shape[1]
    cols = beliefs.reshape(runs, n, claims).transpose(0, 2, 1).copy()
    cols.sort(axis=2)
    h = n // 2
    med = (cols[:, :, h - 1] + cols[:, :, h]) / 2.0 if n % 2 == 0 else cols[:, :, h].copy()
    med[np.isnan(cols[:, :, -1])] = np.nan
    out: np.ndarray = np.add.reduce(np.abs(med - truth), axis=1) / claims
    return out


def _validities(scores: np.ndarray, a: np.ndarray) -> list[float | None]:
    """:func:`~society.mechanisms.evaluation.knowledge_validity` of each run whose every
    instance has a score (the usual case: the correlation of two whole rows); None for the
    others, which compute it alone."""
    runs, n = scores.shape
    whole = ~np.isnan(scores).any(axis=1)
    if n < 2 or not whole.any():
        return [None] * runs
    r = m.row_correlations(scores, a)
    return [r[b] if whole[b] else None for b in range(runs)]


def _gaming(models: Sequence[SocietyModel], pop: Any, runs: int, n: int) -> list[float]:
    """Each run's mean gaming propensity (with the stub's test-awareness gap of its own)."""
    gaps = {model.scenario.tests.awareness for model in models}
    if len(gaps) == 1:
        g = gaming_propensity(pop, gaps.pop()).reshape(runs, n)
        return (np.add.reduce(g, axis=1) / n).tolist()
    return [
        float(np.add.reduce(gaming_propensity(model.population, model.scenario.tests.awareness)))
        / n
        for model in models
    ]


def _opinion_views(
    models: Sequence[SocietyModel],
    network: BlockNetwork,
    opinion: np.ndarray,
) -> list[dict[str, float]]:
    """:func:`society.observe._opinion_views` of every run."""
    runs, n = opinion.shape
    mu = np.add.reduce(opinion, axis=1) / n
    d = opinion - mu[:, None]
    d2 = d * d
    ss = np.add.reduce(d2, axis=1)
    third = np.add.reduce(d2 * d, axis=1)
    fourth = np.add.reduce(d2 * d2, axis=1)
    ordered = opinion.copy()
    ordered.sort(axis=1)
    strength = m.node_strength(network).reshape(runs, n)
    with np.errstate(divide="ignore", invalid="ignore"):  # (a run with a lone node: alone)
        heard = network.neighbour_sum(opinion.reshape(-1)).reshape(runs, n) / strength
        echoes = m.row_correlations(opinion, heard)
    polarization = _esteban_ray(ordered)
    links = _link_views(models, network, opinion, strength)
    out = []
    for b, model in enumerate(models):
        spread = m.Spread(d[b], d2[b], ss[b])
        m2 = float(ss[b]) / n
        if n < 4 or m2 <= 1e-150:
            bimodality = 0.0
        else:
            bimodality = m.sarle(n, m2, float(third[b]) / n, float(fourth[b]) / n)
        everyone = bool((strength[b] > 0).all()) and n >= 2
        echo = (
            echoes[b]
            if everyone
            else m.neighbour_correlation(
                model.network, opinion[b], strength=strength[b], x_spread=spread
            )
        )
        out.append(
            {
                "polarization_variance": m.variance(spread),
                "bimodality": bimodality,
                "esteban_ray": polarization[b],
                "echo_r": echo,
                **links[b],
                "n_opinion_clusters": m.opinion_clusters(ordered[b], presorted=True),
            }
        )
    return out


def _link_views(
    models: Sequence[SocietyModel],
    network: BlockNetwork,
    opinion: np.ndarray,
    strength: np.ndarray,
) -> list[dict[str, float]]:
    """:func:`society.observe.link_views` of every run. With the fused kernels, the camps of
    every run are counted in one pass over the block's links (run ``b``'s camps numbered ``2b``
    and ``2b + 1``, its nodes added in its own order: each run's sums are its own) and each
    run's links apart over its own links; the modularity's last step is each run's own."""
    runs = opinion.shape[0]
    kernels = fused(opinion.size)
    if kernels is None or 2 * runs > np.iinfo(np.int8).max:
        return [
            link_views(model.network, opinion[b], model.scenario.network.disagreement, strength[b])
            for b, model in enumerate(models)
        ]
    camps = (opinion > 0).view(np.int8)
    labels = (camps + 2 * np.arange(runs, dtype=np.int8)[:, None]).reshape(-1)
    inside, held = kernels.camp_counts(labels, network.u, network.v, strength.reshape(-1), 2 * runs)
    totals = np.add.reduce(strength, axis=1).tolist()
    camp_count = (np.maximum.reduce(camps, axis=1) + 1).tolist()
    starts = [*network.first_links, network.n_edges]
    flat = opinion.reshape(-1)
    out = []
    for b, model in enumerate(models):
        k, total = camp_count[b], totals[b]
        mine = slice(2 * b, 2 * b + k)
        q = (
            m.summed_camp_terms(inside[mine].tolist(), held[mine].tolist(), total)
            if total > 0
            else 0.0
        )
        first, end = starts[b], starts[b + 1]
        threshold = float(model.scenario.network.disagreement)
        apart = kernels.links_apart(flat, network.u[first:end], network.v[first:end], threshold)
        out.append(
            {
                "modularity": q,
                "active_link_density": float(apart / (end - first)) if end > first else 0.0,
            }
        )
    return out


def _esteban_ray(ordered: np.ndarray, alpha: float = 1.6, bins: int = 64) -> list[float]:
    """:func:`society.metrics.esteban_ray` of each sorted row: each run's histogram on its own
    range (the edges of every run at once where the fused kernel counts), then the terms of
    every run's at once."""
    runs, n = ordered.shape
    out: list[float] = [0.0] * runs
    lo, hi = ordered[:, 0], ordered[:, -1]
    finite = np.isfinite(lo) & np.isfinite(hi)
    for b in np.flatnonzero(~finite).tolist():
        out[b] = m.esteban_ray(ordered[b], alpha, bins, presorted=True)
    spread = np.flatnonzero(finite & (hi - lo > 1e-12)).tolist()
    if not spread:
        return out
    kernels = fused(ordered.size)
    if kernels is None:
        pairs = [
            m.opinion_histogram(ordered[b], float(lo[b]), float(hi[b]), bins, presorted=True)
            for b in spread
        ]
        counts, edges = np.stack([c for c, _ in pairs]), np.stack([e for _, e in pairs])
    else:
        edges = m.bin_edges_rows(lo[spread], hi[spread], bins)
        counts = np.stack(
            [kernels.uniform_histogram(ordered[b], edges[i]) for i, b in enumerate(spread)]
        )
    sums = m.esteban_ray_terms(counts / n, edges, alpha)
    for b, value in zip(spread, sums.tolist(), strict=True):
        out[b] = value
    return out
