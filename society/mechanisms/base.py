"""The one interface every mechanism has, and the registry the model builds them from.

A mechanism is a class in its own module under :mod:`society.mechanisms`, decorated with
:func:`register`. It has

* a ``name``: its key in the registry, the name ``mechanisms.off`` switches it off by, and
  (unless ``stream`` says otherwise) the random stream it draws from;
* its parameters: the scenario section it reads, ``self.params``;
* its random stream, ``self.rng`` (one per mechanism, so adding a draw to one mechanism never
  shifts the numbers another sees);
* a ``step(model)``: what it does when it runs (``model.today`` holds the day being stepped);
* its checkpoint state, ``state()``/``restore(state)`` (empty for the stateless ones: their
  state lives in the population, the network and the lab);
* a ``phase`` that says when it runs: ``"society"`` (every day, before the day's work:
  knowledge applied, values, hacking, beliefs, rewiring, revolts), ``"labour"`` (every day,
  after the share of the day left for research is known: work, monitoring), ``"clocked"``
  (every ``period(scenario)`` days at ``offset`` into the day: test rounds, strategists'
  advice) or ``"arrivals"`` (an
  exogenous risk, a :class:`society.mechanisms.risks.RiskProcess`: a point process whose
  events call its ``arrive``). Within a
  phase, mechanisms run by ascending ``order``, so the order of a day is fixed whatever the
  import order.

Adding a mechanism is a new module with a registered class plus its scenario fields; adding
its name to :data:`society.scenario.MechanismName` lets users switch it off.

>>> from society.mechanisms.base import registry
>>> [m.name for m in registry() if m.phase == "society"]
['knowledge', 'values', 'hacking', 'beliefs', 'rewiring', 'revolt']
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import numpy as np

from society.state import Saved

if TYPE_CHECKING:
    import simpy

    from society.lab import LabState, RivalLab
    from society.llm.decisions import StrategistAdvice
    from society.mechanisms.today import Today
    from society.network import Network
    from society.population import Population
    from society.scenario import Scenario

Phase = Literal["society", "labour", "clocked", "arrivals"]
PHASES: tuple[Phase, ...] = ("society", "labour", "clocked", "arrivals")


class EventLog(Protocol):
    """Where mechanisms record what happened (a :class:`~society.recorder.Recorder`)."""

    def event(
        self, day: float, kind: str, magnitude: float, generation: int, **details: Any
    ) -> None: ...


class LLMDecisions(Protocol):
    """The LLM-backed instances' decisions that mechanisms ask for (an
    :class:`~society.llm.policy.LLMPolicy`)."""

    def test_round(self) -> None: ...

    def strategist_advice(self, cut: float) -> StrategistAdvice | None: ...


class Simulation(Protocol):
    """What a mechanism may read and change of the run it is part of (a
    :class:`~society.model.Simulation`)."""

    scenario: Scenario
    population: Population
    network: Network
    lab: LabState
    rival: RivalLab

    @property
    def recorder(self) -> EventLog: ...

    @property
    def llm(self) -> LLMDecisions | None: ...

    env: simpy.Environment

    @property
    def day(self) -> float: ...

    @property
    def today(self) -> Today: ...

    def check_lead(self, day: float) -> None: ...


class Batched(Protocol):
    """What a mechanism's ``step_runs`` reads of a batch's day (:mod:`society.batch.engine`):
    the runs' instances laid end to end, their block-diagonal network, each run's
    :class:`Today` (daily phases) or model (clocked mechanisms), and per-run parameters and
    random draws."""

    population: Population
    todays: list[Today]
    n: int
    models: list[Any]  # the runs' models (a clocked mechanism's step reads their labs)

    @property
    def network(self) -> Network: ...

    def per_run(self, values: Sequence[float]) -> np.ndarray: ...

    def params(self, mechanisms: Sequence[Any]) -> Any: ...

    def section(self, name: str) -> Any: ...

    def rows(self, b: int) -> slice: ...

    def first_links(self) -> list[int]: ...

    def draws(self, mechanisms: Sequence[Any]) -> Any: ...


class Mechanism:
    """Base class of a mechanism (see the module docstring for the contract)."""

    name: ClassVar[str]
    phase: ClassVar[Phase]
    order: ClassVar[int] = 0
    section: ClassVar[str | None] = None  # the scenario section it reads (``params``)
    stream: ClassVar[str | None] = None  # its random stream, when not named after it

    def __init__(self, scenario: Scenario, rng: np.random.Generator) -> None:
        self.scenario = scenario
        self.params: Any = getattr(scenario, self.section) if self.section else None
        self.rng = rng

    def step(self, model: Simulation) -> None:
        raise NotImplementedError

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        """Step this mechanism for a batch of runs at once (:mod:`society.batch`), given each
        run's instance of it; False (the default) when it cannot, and each run steps alone."""
        return False

    def state(self) -> dict[str, Any]:
        """What a checkpoint must hold to continue this mechanism exactly (JSON values)."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state`'s output."""

    def save_state(self) -> Saved:
        return Saved(values=self.state())

    def load_state(self, saved: Saved) -> None:
        self.restore(saved.values)

    @classmethod
    def stream_name(cls) -> str:
        return cls.stream or cls.name


class Clocked(Mechanism):
    """A mechanism that runs every ``period(scenario)`` days, ``offset`` into the day."""

    phase: ClassVar[Phase] = "clocked"
    offset: ClassVar[float]

    def period(self) -> int:
        raise NotImplementedError


_REGISTRY: dict[str, type[Mechanism]] = {}


def register(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator: make ``cls`` a mechanism the model builds (its ``name`` must be new)."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two mechanisms are named {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def registry() -> list[type[Mechanism]]:
    """Every registered mechanism, in the order the model runs them (phase, then order)."""
    import society.mechanisms as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(_REGISTRY.values(), key=lambda m: (PHASES.index(m.phase), m.order, m.name))
