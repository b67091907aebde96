"""Generation hand-off: successors trained by the knowledge map replace their parents."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from society.lab import LabState
from society.mechanisms.generations import (
    basin_interval,
    knowledge_return,
    successor_alignment,
)
from society.metrics import wasserstein1
from society.population import Population
from society.scenario import Scenario


def generation_summary(
    pop: Population, lab: LabState, scenario: Scenario, day: float
) -> dict[str, Any]:
    """The row of ``generations.parquet`` describing the generation now in charge.

    ``a_star`` is the effective boundary ``a*_eff`` at today's knowledge (margin ``m``: the
    return ``rho(m)`` and the ceiling ``a_max(m)``), the generation's own erosion (trained
    minus current mean alignment) and its hacking loss; ``attractor`` the alignment a society
    above it settles toward. The generation is in the basin if it was trained above
    ``a_star``: its successor will be trained at least as aligned as it was (or, above the
    attractor, settle toward it).
    """
    g = scenario.generations
    mean = float(pop.alignment.mean())
    start = lab.gen_start_alignment
    erosion = max(start - mean, 0.0)
    hack = lab.mean_hack_share()
    interval = basin_interval(
        knowledge_return(lab.margin, g.rho_max),
        g.decay,
        lab.ceiling,
        erosion=erosion,
        hack_loss=g.hack_penalty * hack,
        floor=scenario.knowledge.faith_floor,
    )
    a_star, attractor = interval if interval is not None else (math.nan, math.nan)
    return {
        "generation": lab.generation,
        "start_day": lab.generation_start_day,
        "end_day": day,
        "size": pop.n,
        "mean_alignment": mean,
        "start_alignment": start,
        "erosion": start - mean,
        "effective_tax": lab.effective_tax(),
        "capability": lab.level,
        "margin": lab.margin,
        "ceiling": lab.ceiling,
        "a_star": a_star,
        "attractor": attractor,
        "in_basin": interval is not None and start > a_star,
        "hack_share": hack,
    }


def hand_off(
    pop: Population, lab: LabState, scenario: Scenario, day: float, rng: np.random.Generator
) -> dict[str, Any]:
    """Replace every instance by its successor; return the finished generation's summary row.

    Successor i is trained from parent i: the generation mean follows the knowledge map at
    today's margin (return ``rho(m)``, ceiling ``a_max(m)``), minus the reward-hacking penalty;
    each successor keeps ``1 - P`` of its parent's deviation (better knowledge reproduces the
    spec more faithfully). A successor of a reward hacker hacks too with probability
    ``hacking.inheritance`` (it was trained on hacked work). The row's ``fell`` says whether the
    successors were trained less aligned than their parents from below the attractor (the
    realized test of the basin, docs/model.md).
    """
    g = scenario.generations
    row = generation_summary(pop, lab, scenario, day)
    parent = pop.alignment.copy()
    child = successor_alignment(
        parent,
        rho=knowledge_return(lab.margin, g.rho_max),
        delta=g.decay,
        top=lab.ceiling,
        spec_weight=lab.protection,
        hack_share=row["hack_share"],
        hack_penalty=g.hack_penalty,
        noise_sd=g.noise,
        rng=rng,
        floor=scenario.knowledge.faith_floor,
    )
    row["w1_to_successor"] = wasserstein1(parent, child)
    successor = float(child.mean())
    row["successor_alignment"] = successor
    settling = not math.isnan(row["attractor"]) and row["start_alignment"] > row["attractor"]
    row["fell"] = successor < row["start_alignment"] - g.fall_tolerance and not settling
    pop.alignment[:] = child
    pop.anchor[:] = child
    inherited = rng.random(pop.n) < scenario.hacking.inheritance
    pop.hacking &= inherited
    pop.revolting[:] = False
    pop.last_score[:] = np.nan  # the lab knows nothing of the successors until it tests them
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
    lab.gen_start_alignment = successor
    return row
