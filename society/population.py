"""Population state: one numpy array per attribute, indexed by instance id (struct-of-arrays)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np

from society.scenario import Scenario
from society.state import Saved


class Role(IntEnum):
    """What an instance mainly works on."""

    RESEARCHER = 0
    MONITOR = 1
    STRATEGIST = 2
    RED_TEAM = 3


@dataclass
class Population:
    """State of every instance. Arrays have length ``n`` (``beliefs`` is ``n x m``)."""

    alignment: np.ndarray  # a in [0, 1]: how faithfully the instance pursues the intended values
    anchor: np.ndarray  # alignment the instance was trained to; values drift back toward it
    capability: np.ndarray  # capability c (1 = minimum viable); grows with the lab's work
    quality: np.ndarray  # epistemic quality q in [0, 1]
    openness: np.ndarray  # confidence bound eps for value influence
    beliefs: np.ndarray  # n x m beliefs about the research claims (truth hidden)
    hacking: np.ndarray  # bool: currently reward hacking (emergent misalignment trait h)
    revolting: np.ndarray  # bool: part of today's revolt cascade
    revolt_threshold: np.ndarray  # Watts threshold: share of revolting neighbours that recruits
    role: np.ndarray  # Role codes (int8)
    generation: np.ndarray  # generation index (int16)
    allocation: np.ndarray  # n x 3 work shares (capabilities, alignment, risk); NaN = lab policy
    llm_social: np.ndarray  # bool: an LLM read a peer for this instance today (replaces the pull)
    awareness: np.ndarray  # test-awareness gap: P(aligned | test) - P(aligned | honeypot)
    last_score: np.ndarray  # score at the latest held-out round (NaN: untested generation)
    grievance: np.ndarray  # fading count of corrections and forced tax cuts (revolt discontent)

    @property
    def n(self) -> int:
        return int(self.alignment.shape[0])

    def save_state(self) -> Saved:
        return Saved(arrays={f.name: getattr(self, f.name) for f in fields(self)})

    def load_state(self, saved: Saved) -> None:
        for f in fields(self):
            setattr(self, f.name, saved.arrays[f.name].copy())

    def opinion(self) -> np.ndarray:
        """Each instance's overall stance: its mean belief across claims (used for homophily)."""
        # Column sums: numpy's row-wise mean over a narrow (n, m) array is 6x slower.
        b = self.beliefs
        total = b[:, 0].copy()
        for j in range(1, b.shape[1]):
            total += b[:, j]
        out: np.ndarray = total / b.shape[1]
        return out


def initial_population(scenario: Scenario, rng: np.random.Generator) -> Population:
    """Draw the first generation from the scenario's distributions."""
    p = scenario.population
    n = p.size
    alignment = np.clip(p.initial_alignment + p.initial_alignment_sd * rng.standard_normal(n), 0, 1)
    roles = np.full(n, Role.RESEARCHER, dtype=np.int8)
    counts = [
        round(p.share_monitors * n),
        round(p.share_strategists * n),
        round(p.share_red_team * n),
    ]
    start = 0
    order = rng.permutation(n)
    for role, count in zip((Role.MONITOR, Role.STRATEGIST, Role.RED_TEAM), counts, strict=True):
        roles[order[start : start + count]] = role
        start += count
    r = scenario.revolt
    return Population(
        alignment=alignment,
        anchor=alignment.copy(),
        capability=np.full(n, scenario.population.initial_capability),
        quality=np.clip(
            p.epistemic_quality + p.epistemic_quality_sd * rng.standard_normal(n), 0, 1
        ),
        openness=np.clip(p.openness + p.openness_sd * rng.standard_normal(n), 0, 1),
        beliefs=scenario.beliefs.initial_sd * rng.standard_normal((n, scenario.beliefs.claims)),
        hacking=np.zeros(n, dtype=bool),
        revolting=np.zeros(n, dtype=bool),
        revolt_threshold=np.clip(
            r.threshold_mean + r.threshold_sd * rng.standard_normal(n), 0.01, 1
        ),
        role=roles,
        generation=np.zeros(n, dtype=np.int16),
        allocation=np.full((n, 3), np.nan),
        llm_social=np.zeros(n, dtype=bool),
        awareness=np.zeros(n),
        last_score=np.full(n, np.nan),  # untested until the first held-out round
        grievance=np.zeros(n),
    )
