"""Exogenous risks: arrival processes (Poisson or Hawkes) and what each event does.

Arrivals are SimPy processes at continuous times; their effects are plain functions of state
so that tests can call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import simpy

from society.lab import LabState, RivalLab
from society.mechanisms.base import Mechanism, Phase, Simulation, register
from society.mechanisms.strategy import strategist_voice
from society.population import Population
from society.scenario import Risks, Scenario


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

    bound: float
    excitation: float
    decay: float
    rng: np.random.Generator
    extra: float = 0.0
    ceiling: float = 0.0
    wait: float = 0.0
    next_time: float | None = None

    def process(
        self, env: simpy.Environment, rate: Callable[[], float], on_event: Callable[[float], None]
    ) -> Generator[simpy.Event, Any, None]:
        """The SimPy process: waits for candidates and keeps the accepted ones; ``rate`` is the
        base intensity now, ``on_event`` is called with each arrival time."""
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
            if self.rng.random() * self.ceiling <= rate() + self.extra:
                on_event(at)
                self.extra += self.excitation * self.decay

    def state(self) -> dict[str, Any]:
        return {
            "extra": self.extra,
            "ceiling": self.ceiling,
            "wait": self.wait,
            "next_time": self.next_time,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.extra, self.ceiling = float(state["extra"]), float(state["ceiling"])
        self.wait, self.next_time = float(state["wait"]), state["next_time"]


class RiskProcess(Mechanism):
    """An exogenous risk: events of a point process (:class:`Arrivals`) at continuous times
    between the days. Subclasses say the base ``rate`` now, a ``bound`` of it over the run,
    and what one event does (``arrive``); the process's pending draw is its checkpoint state.
    Off: no events."""

    phase: ClassVar[Phase] = "arrivals"
    section: ClassVar[str | None] = "risks"

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        super().__init__(scenario, rng)
        r = scenario.risks
        self.arrivals = Arrivals(self.bound(), r.excitation, r.excitation_decay, rng)

    def rate(self, model: Simulation) -> float:
        """The base intensity now (events per day)."""
        raise NotImplementedError

    def bound(self) -> float:
        """An upper bound of :meth:`rate` over the whole run (for thinning)."""
        raise NotImplementedError

    def arrive(self, model: Simulation, at: float) -> None:
        """What one event at time ``at`` does."""
        raise NotImplementedError

    def process(self, model: Simulation) -> Generator[simpy.Event, Any, None]:
        """The SimPy process of this risk in ``model``."""
        return self.arrivals.process(
            model.env, lambda: self.rate(model), lambda at: self.arrive(model, at)
        )

    def state(self) -> dict[str, Any]:
        return self.arrivals.state()

    def restore(self, state: dict[str, Any]) -> None:
        self.arrivals.restore(state)


def rival_breakthrough(lab: LabState, p: Risks, rng: np.random.Generator) -> float:
    """The rival jumps ahead by an exponentially distributed number of days of its current
    progress; returns the lead days lost."""
    jump = float(rng.exponential(p.rival_jump_days)) if p.rival_jump_days > 0 else 0.0
    lab.rival_capability += jump * lab.rival_pace
    return jump


def theft(lab: LabState, p: Risks, rival: RivalLab | None = None, alignment: float = 0.0) -> float:
    """Weights are stolen: the thief has our capability (``C_r = max(C_r, C)``) and runs our
    model, so the rival's alignment becomes ours (``alignment``, our mean), not its knowledge;
    misuse becomes likelier. Returns the lead days lost."""
    lost = max(lab.lead, 0.0)
    if lab.capability > lab.rival_capability:
        lab.rival_capability = lab.capability
        if rival is not None:
            rival.alignment = alignment
            rival.capability = lab.level
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


def pressure(voice: float, lab: LabState, p: Risks, floor: float, rng: np.random.Generator) -> bool:
    """Political pressure to cut the tax. Working strategists talk the lab out of it with
    probability ``resistance`` x their voice (alignment x truth of their beliefs: delusional
    strategists do not resist well). Returns True if the cut happened."""
    if rng.random() < p.resistance * voice:
        return False
    lab.tax = max(floor, lab.tax * (1.0 - p.pressure_cut))
    return True


@register
class RivalBreakthroughs(RiskProcess):
    """The rival jumps ahead (``risks.rival_rate``, ``risks.rival_jump_days``)."""

    name, order = "rival", 10

    def rate(self, model: Simulation) -> float:
        return float(self.params.rival_rate)

    def bound(self) -> float:
        return float(self.params.rival_rate)

    def arrive(self, model: Simulation, at: float) -> None:
        jump = rival_breakthrough(model.lab, self.params, self.rng)
        model.recorder.event(at, "rival_breakthrough", jump, model.lab.generation)
        model.check_lead(at)


@register
class Theft(RiskProcess):
    """Model weights are stolen: the rival gains our progress (``risks.theft_rate``)."""

    name, order = "theft", 20

    def rate(self, model: Simulation) -> float:
        return float(self.params.theft_rate)

    def bound(self) -> float:
        return float(self.params.theft_rate)

    def arrive(self, model: Simulation, at: float) -> None:
        lost = theft(model.lab, self.params, model.rival, float(model.population.alignment.mean()))
        model.recorder.event(at, "theft", lost, model.lab.generation)
        model.check_lead(at)


@register
class Poisoning(RiskProcess):
    """Training data is poisoned: a few instances lose alignment and start hacking."""

    name, order = "poisoning", 30

    def rate(self, model: Simulation) -> float:
        return float(self.params.poisoning_rate)

    def bound(self) -> float:
        return float(self.params.poisoning_rate)

    def arrive(self, model: Simulation, at: float) -> None:
        pop = model.population
        k = poisoning(pop, self.params, self.rng)
        model.recorder.event(at, "poisoning", k / pop.n, model.lab.generation, compromised=k)


@register
class Pressure(RiskProcess):
    """Political pressure to cut the tax, stronger as the lead shrinks; the strategists (stub
    or LLM) may talk the lab out of it."""

    name, order = "pressure", 40

    def rate(self, model: Simulation) -> float:
        return pressure_rate(model.lab, self.params)

    def bound(self) -> float:
        return 3 * float(self.params.pressure_rate)

    def arrive(self, model: Simulation, at: float) -> None:
        r, s, lab = self.params, model.scenario, model.lab
        before = lab.tax
        advice = model.llm.strategist_advice(r.pressure_cut) if model.llm is not None else None
        details: dict[str, Any] = {}
        if advice is None:
            voice = strategist_voice(model.population, s)
            cut = pressure(voice, lab, r, s.lab.tax_floor, self.rng)
        else:
            # The LLM strategists advise; the lab heeds advice to resist with probability
            # ``risks.resistance`` and moves deference as advised.
            heeded = advice.resist_cut and self.rng.random() < r.resistance
            cut = not heeded
            if cut:
                lab.tax = max(s.lab.tax_floor, lab.tax * (1 - r.pressure_cut))
            lab.deference = min(1.0, max(0.0, lab.deference + advice.deference_change))
            details = {
                "advised_tax": advice.recommended_tax,
                "advised_resist": advice.resist_cut,
                "advised_deference_change": advice.deference_change,
            }
        if cut:  # the society resents being rushed: a grievance in proportion to the cut
            model.population.grievance += r.pressure_cut
            lab.tax_cuts += 1
        model.recorder.event(
            at,
            "tax_cut" if cut else "pressure_resisted",
            before - lab.tax,
            lab.generation,
            tax=lab.tax,
            **details,
        )
