"""Generation hand-off: successors trained through the successor map replace their parents."""

from __future__ import annotations

from typing import Any

import numpy as np

from society.lab import LabState
from society.mechanisms.generations import (
    effective_boundary,
    inheritance_weight,
    successor_alignment,
)
from society.metrics import wasserstein1
from society.population import Population
from society.scenario import Scenario


def generation_summary(
    pop: Population, lab: LabState, scenario: Scenario, day: float
) -> dict[str, Any]:
    """The row of ``generations.parquet`` describing the generation now in charge.

    ``a_star`` is the effective boundary ``a*_eff`` at the generation's effective tax, its own
    erosion (trained minus current mean alignment) and its hacking loss; the generation is in
    the basin if it was trained above it, i.e. its successor will be trained at least as
    aligned as it was.
    """
    g = scenario.generations
    tau_eff = lab.effective_tax()
    mean = float(pop.alignment.mean())
    start = lab.gen_start_alignment
    erosion = max(start - mean, 0.0)
    hack = lab.mean_hack_share()
    a_star = effective_boundary(
        tau_eff, g.rho_max, g.decay, g.tax_half, erosion=erosion, hack_loss=g.hack_penalty * hack
    )
    return {
        "generation": lab.generation,
        "start_day": lab.generation_start_day,
        "end_day": day,
        "size": pop.n,
        "mean_alignment": mean,
        "start_alignment": start,
        "erosion": start - mean,
        "effective_tax": tau_eff,
        "a_star": float("nan") if a_star is None else a_star,
        "in_basin": a_star is not None and start > a_star,
        "hack_share": hack,
    }


def hand_off(
    pop: Population, lab: LabState, scenario: Scenario, day: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Replace every instance by its successor; return the finished generation's summary row.

    Successor i is trained from parent i: the generation mean follows ``f`` at the effective
    tax the parents actually paid, minus the reward-hacking penalty; individual deviations are
    inherited in proportion to how little safety research there is to pin the spec down. A
    successor of a reward hacker hacks too with probability ``hacking.inheritance`` (it was
    trained on hacked work).
    """
    g = scenario.generations
    row = generation_summary(pop, lab, scenario, day)
    parent = pop.alignment.copy()
    child = successor_alignment(
        parent,
        tau_effective=row["effective_tax"],
        rho_max=g.rho_max,
        delta=g.decay,
        tau_half=g.tax_half,
        spec_weight=inheritance_weight(lab.safety, g.stock_half),
        hack_share=row["hack_share"],
        hack_penalty=g.hack_penalty,
        noise_sd=g.noise,
        rng=rng,
    )
    row["w1_to_successor"] = wasserstein1(parent, child)
    pop.alignment[:] = child
    pop.anchor[:] = child
    inherited = rng.random(pop.n) < scenario.hacking.inheritance
    pop.hacking &= inherited
    pop.revolting[:] = False
    pop.last_score[:] = np.nan  # the lab knows nothing of the successors until it tests them
    pop.capability += g.capability_gain
    pop.generation += 1
    lab.generation += 1
    lab.generation_start_day = day
    lab.trust *= scenario.deference.handoff_retained
    lab.deference = min(lab.deference, lab.trust)
    lab.prev_effective_tax = row["effective_tax"]
    lab.gen_days = 0
    lab.gen_capability = 0.0
    lab.gen_alignment = 0.0
    lab.gen_hack_share = 0.0
    lab.gen_start_alignment = float(child.mean())
    return row
