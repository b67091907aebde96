"""The day being stepped: what the daily mechanisms read, and what they leave behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from society.lab import LabState
    from society.network import Network
    from society.population import Population
    from society.scenario import Scenario


@dataclass(frozen=True)
class WorkDay:
    """What one day of work produced, in work-days of the whole workforce."""

    capability: float  # capability work-days
    alignment: float  # quality-weighted alignment work-days
    risk: float  # quality-weighted risk-response work-days
    research_quality: float  # mean quality of the day's alignment work in [0, 1]
    tasks: int  # shared tasks attempted
    failed_tasks: int  # shared tasks that failed (disagreement, revolt or sabotage)


NO_WORK = WorkDay(
    capability=0.0,
    alignment=0.0,
    risk=0.0,
    research_quality=float("nan"),
    tasks=0,
    failed_tasks=0,
)
"""A day without research (the ``work`` mechanism switched off)."""


@dataclass
class Today:
    """The day being stepped: what the daily mechanisms read, and what they leave for the
    model's bookkeeping at the end of the day. A switched-off mechanism leaves its defaults."""

    day: int  # the day being stepped (1 for the first)
    population: Population
    network: Network
    lab: LabState
    scenario: Scenario
    per_instance: float  # work-days an instance does today (throughput through the humans)
    gated: float  # share of decisions a human must approve when nothing is deferred
    growth: float = 1.0  # W(t) / W0: the workforce's growth with compute since the start
    available: float = 1.0  # share of the day left for research (set before the labour phase)
    rewired: int = 0  # links rewired
    revolt: int = 0  # instances in revolt
    work: WorkDay | None = None  # what the day's research produced
    caught: int = 0  # misaligned actions caught
    uncaught: int = 0  # misaligned actions that executed
