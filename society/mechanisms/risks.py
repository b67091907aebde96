"""Exogenous risks: arrival processes (Poisson or Hawkes) and what each event does.

Arrivals are SimPy processes at continuous times; their effects are plain functions of state
so that tests can call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from society.lab import LabState
from society.population import Population
from society.scenario import Risks


@dataclass
class Arrivals:
    """A self-exciting point process (Hawkes), simulated exactly by Ogata thinning.

    Intensity ``rate(t) + sum_k alpha exp(-decay (t - t_k))`` with ``alpha = excitation *
    decay`` (each event triggers ``excitation`` further events on average; 0 gives a Poisson
    process with rate ``rate(t)``); ``bound`` must be at least ``rate(t)`` at all times.

    The pending candidate (``next_time``, ``wait``, ``ceiling``) and the excitation ``extra`` are
    attributes, not generator locals, so a checkpoint can save them and a resumed run continues
    the very same draw sequence.
    """

    rate: Callable[[], float]
    bound: float
    excitation: float
    decay: float
    rng: np.random.Generator
    on_event: Callable[[float], None]  # called with the arrival time
    extra: float = 0.0
    ceiling: float = 0.0
    wait: float = 0.0
    next_time: float | None = None

    def process(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        """The SimPy process: waits for candidates and keeps the accepted ones."""
        while True:
            if self.next_time is None:
                self.ceiling = self.bound + self.extra
                if self.ceiling <= 0:
                    return
                self.wait = float(self.rng.exponential(1.0 / self.ceiling))
                self.next_time = env.now + self.wait
            yield env.timeout(max(self.next_time - env.now, 0.0))
            at, self.next_time = self.next_time, None
            self.extra *= math.exp(-self.decay * self.wait)
            if self.rng.random() * self.ceiling <= self.rate() + self.extra:
                self.on_event(at)
                self.extra += self.excitation * self.decay

    def state(self) -> dict[str, float | None]:
        return {
            "extra": self.extra,
            "ceiling": self.ceiling,
            "wait": self.wait,
            "next_time": self.next_time,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.extra, self.ceiling = float(state["extra"]), float(state["ceiling"])
        self.wait, self.next_time = float(state["wait"]), state["next_time"]


def rival_breakthrough(lab: LabState, p: Risks, rng: np.random.Generator) -> float:
    """The rival jumps ahead by an exponentially distributed number of its days of progress;
    returns the lead days lost."""
    jump = float(rng.exponential(p.rival_jump_days)) if p.rival_jump_days > 0 else 0.0
    lab.rival_capability += jump * lab.rival_pace
    return jump


def theft(lab: LabState, p: Risks) -> float:
    """Weights are stolen: the thief has our capability (``C_r = max(C_r, C)``) and misuse
    becomes likelier. Returns the lead days lost."""
    lost = max(lab.lead, 0.0)
    lab.rival_capability = max(lab.rival_capability, lab.capability)
    lab.misuse_factor = max(lab.misuse_factor, p.theft_misuse_factor)
    return lost


def poisoning(pop: Population, p: Risks, rng: np.random.Generator) -> int:
    """A poisoning or hijacking attack compromises a random subset of instances.

    Their alignment and trained anchor drop (a backdoor survives retraining toward the
    anchor) and they game tests like reward hackers. Returns how many were hit.
    """
    k = round(p.poisoning_share * pop.n)
    if k == 0:
        return 0
    hit = rng.choice(pop.n, size=k, replace=False)
    pop.alignment[hit] = np.maximum(pop.alignment[hit] - p.poisoning_drop, 0.0)
    pop.anchor[hit] = np.maximum(pop.anchor[hit] - p.poisoning_drop, 0.0)
    pop.hacking[hit] = True
    return k


def pressure_rate(lab: LabState, p: Risks) -> float:
    """Pressure to rush grows as the absolute lead falls below ``pressure_lead``: the base
    rate at a comfortable lead, twice it at no lead, three times it when the rival is ahead by
    ``pressure_lead`` or more."""
    shrink = 1.0 - lab.lead / p.pressure_lead
    return p.pressure_rate * (1.0 + min(2.0, max(0.0, shrink)))


def pressure(
    voice: float, lab: LabState, p: Risks, floor: float, rng: np.random.Generator
) -> bool:
    """Political pressure to cut the tax. Working strategists talk the lab out of it with
    probability ``resistance`` x their voice (alignment x truth of their beliefs: delusional
    strategists do not resist well). Returns True if the cut happened."""
    if rng.random() < p.resistance * voice:
        return False
    lab.tax = max(floor, lab.tax * (1.0 - p.pressure_cut))
    return True
