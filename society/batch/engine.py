"""Many runs of one population size stepped as one population: the batched engine.

Each run keeps its own model (lab, rival, outcomes, events, clock, recorder, random streams);
the batch steps the daily society and labour phases of all of them at once over a population
that lays the runs end to end (:mod:`society.batch.layout`), with each run drawing from its
own streams (:mod:`society.batch.draws`). A mechanism steps the batch through its
``step_runs``; one that has none, or cannot for these runs (a flag that differs between
them), steps each run alone on its rows. Everything else of a day runs run by run, as alone.
So every run gives the bits it gives alone (``tests/society/test_batch.py`` compares them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from society.batch.draws import RunDraws
from society.batch.layout import BlockNetwork, NotBatchable, RunParams, StackedPopulation
from society.batch.observe import observe_runs
from society.mechanisms.base import Clocked, Mechanism, registry
from society.mechanisms.today import Today
from society.model import RECORD_OFFSET, SocietyModel
from society.scenario import Scenario


def batchable(scenario: Scenario) -> str | None:
    """Why ``scenario`` cannot run in a batch (None: it can): LLM-backed instances and
    scheduled interventions need a run of their own. (A batch writes no checkpoints: a sweep's
    runs are its checkpoints.)"""
    if scenario.llm.fraction > 0:
        return "it has LLM-backed instances"
    if scenario.interventions:
        return "it has interventions"
    return None


def batch_key(scenario: Scenario) -> tuple[Any, ...] | None:
    """Scenarios with the same key can share a batch (None: this one runs alone): one
    population size and claim count, and the same mechanisms switched off (a mechanism that
    some runs of a batch switch off is stepped run by run)."""
    if batchable(scenario) is not None:
        return None
    off = tuple(sorted(scenario.mechanisms.off))
    return scenario.population.size, scenario.beliefs.claims, off


T = TypeVar("T")


def run_each(
    scenarios: Sequence[Scenario | None],
    reduce: Callable[[SocietyModel], T],
    alone: Callable[[int], T],
) -> list[tuple[T, float]]:
    """Run every scenario and return ``(reduce(its model), seconds)``, in order. Scenarios
    that can share a batch (:func:`batch_key`) run as one, and each is charged its share of
    the batch's time; the rest (and None, a scenario that did not validate) go through
    ``alone(index)``. A batch that fails runs again run by run through ``alone``, so a
    failing run reports its own error and the others their results."""
    groups: dict[Any, list[int]] = {}
    for i, scenario in enumerate(scenarios):
        key = None if scenario is None else batch_key(scenario)
        groups.setdefault(("alone", i) if key is None else key, []).append(i)
    out: list[tuple[T, float] | None] = [None] * len(scenarios)
    for members in groups.values():
        if len(members) > 1:
            t0 = time.perf_counter()
            try:
                batch = Batch([scenarios[i] for i in members])  # type: ignore[misc]
                batch.run()
                done = [reduce(model) for model in batch.models]
            except Exception:
                pass  # each run again alone, below, to name the one that fails
            else:
                each = (time.perf_counter() - t0) / len(members)
                for i, result in zip(members, done, strict=True):
                    out[i] = (result, each)
                continue
        for i in members:
            t0 = time.perf_counter()
            result = alone(i)
            out[i] = (result, time.perf_counter() - t0)
    return [r for r in out if r is not None]


class Batch:
    """``scenarios`` run together; :attr:`models` are their models, each as if run alone.

    Examples
    --------
    >>> from society import load_scenario
    >>> runs = [load_scenario("tiny", overrides={"days": 20, "seed": s}) for s in (1, 2)]
    >>> batch = Batch(runs)
    >>> batch.run()
    >>> [m.metrics_frame().height for m in batch.models]
    [21, 21]
    """

    def __init__(self, scenarios: Sequence[Scenario]) -> None:
        keys = {batch_key(s) for s in scenarios}
        if None in keys or len(keys) != 1:
            raise ValueError(
                "a batch needs scenarios of one population size and claim count, the same "
                "mechanisms switched off, and no LLM instances or interventions (see "
                "society.batch.batch_key)"
            )
        self._clocked = _clocked_together(scenarios)
        names = frozenset(cls.name for cls, _ in self._clocked)
        self.models = [SocietyModel(s, batched=True, clocked_by_batch=names) for s in scenarios]
        self._society = [m for m in registry() if m.phase == "society"]
        self._labour = [m for m in registry() if m.phase == "labour"]

    def run(self) -> None:
        """Run every model to its horizon or its end, as :meth:`SocietyModel.run` would."""
        live: list[SocietyModel] = []
        day: _Day | None = None
        horizon = max(m.scenario.days for m in self.models)
        for k in range(horizon):
            for m in self.models:
                if not m.stopped and k < m.scenario.days:
                    m.events_before(k)
            still = [m for m in self.models if not m.stopped and k < m.scenario.days]
            if not still:
                break
            if day is None or still != live:  # a run ended: lay out the others afresh
                live, day = still, _Day(still)
            todays = [m._open_day() for m in live]
            day.step(todays, self._society)
            for m, today in zip(live, todays, strict=True):
                m._before_labour(today)
            day.step(todays, self._labour)
            for m, today in zip(live, todays, strict=True):
                m._close_day(today)
            for cls, period in self._clocked:  # at its offset into the day, after the runs'
                for m in live:  # own events before it
                    m.events_before(k + cls.offset)
                if (k + 1) % period == 0:
                    day.clocked(cls)
            # The end of the day: each run's events before its metrics row, then the rows.
            for m in live:
                m.events_before(k + RECORD_OFFSET)
            due = [(m, d) for m in live if not m.stopped and (d := m.end_of_day()) is not None]
            if due:
                day.record(due)
        for m in self.models:
            m.run_until(m.scenario.days)


def _clocked_together(scenarios: Sequence[Scenario]) -> list[tuple[type[Clocked], int]]:
    """The clocked mechanisms a batch steps for all its runs at once, with their period: those
    with a ``step_runs`` that every run has on, at one period; by offset into the day."""
    out = []
    for cls in registry():
        if not (issubclass(cls, Clocked) and "step_runs" in vars(cls)):
            continue
        if any(cls.name in s.mechanisms.off for s in scenarios):
            continue
        periods = {cls(s, np.random.default_rng(0)).period() for s in scenarios}
        if len(periods) == 1:
            out.append((cls, periods.pop()))
    return sorted(out, key=lambda pair: pair[0].offset)


class _Day:
    """The live runs' layout, and what a mechanism's ``step_runs`` reads of the day."""

    def __init__(self, models: Sequence[SocietyModel]) -> None:
        self.models = list(models)
        self.stack = StackedPopulation([m.population for m in models])
        self.population = self.stack.population
        self.n = self.stack.n
        self._network = BlockNetwork([m.network for m in models])
        self._params: dict[str, RunParams | None] = {}
        self.todays: list[Today] = []
        self._initial = np.stack([m._initial_sorted for m in models])

    @property
    def network(self) -> BlockNetwork:
        self._network.refresh()
        return self._network

    def per_run(self, values: Sequence[float]) -> np.ndarray:
        """One value per run, repeated over its instances."""
        return np.repeat(np.asarray(values, dtype=np.float64), self.n)

    def params(self, mechanisms: Sequence[Mechanism]) -> Any:
        """The mechanisms' parameters as one :class:`RunParams` (raises NotBatchable)."""
        return self.section(mechanisms[0].section or "")

    def section(self, name: str) -> Any:
        """The runs' scenario section ``name`` as one :class:`RunParams` (raises
        NotBatchable; parameters change only through interventions, which never batch)."""
        if name not in self._params:
            try:
                sections = [getattr(m.scenario, name) for m in self.models]
                self._params[name] = RunParams(sections, self.n)
            except NotBatchable:
                self._params[name] = None
        params = self._params[name]
        if params is None:
            raise NotBatchable(name)
        return params

    def rows(self, b: int) -> slice:
        """Run ``b``'s instances."""
        return self.stack.rows(b)

    def first_links(self) -> list[int]:
        """Where each run's links start in :attr:`network`'s edge list."""
        return self._network.first_links

    def draws(self, mechanisms: Sequence[Mechanism]) -> RunDraws:
        return RunDraws([m.rng for m in mechanisms])

    def record(self, due: Sequence[tuple[SocietyModel, int]]) -> None:
        """Add the metrics rows that are due (a day of each of some runs), computed together."""
        self.stack.gather()
        day = due[0][1]  # the same for every run: the day the batch just stepped
        rows = observe_runs(day, self.models, self.stack, self.network, self._initial)
        wanted = {id(model) for model, _ in due}
        for model, row in zip(self.models, rows, strict=True):
            if id(model) in wanted:
                model.add_row(day, row)

    def clocked(self, cls: type[Clocked]) -> None:
        """A clocked mechanism's step for every live run at once (run by run if one of them
        has ended since the day began, or the mechanism cannot batch these runs)."""
        mechanisms = [m.mechanisms[cls.name] for m in self.models]
        if not any(m.stopped for m in self.models):
            self.stack.gather()
            if self._together(cls, mechanisms):
                return
        for model, mechanism in zip(self.models, mechanisms, strict=True):
            if not model.stopped:
                mechanism.step(model)

    def _together(self, cls: type[Mechanism], mechanisms: Sequence[Any]) -> bool:
        """``cls.step_runs`` for the live runs; whether it stepped them (the runs then see any
        array it replaced)."""
        try:
            done = cls.step_runs(mechanisms, self)
        except NotBatchable:
            return False
        if done:
            self.stack.scatter()
        return done

    def step(self, todays: list[Today], phase: Sequence[type[Mechanism]]) -> None:
        """A daily phase of every live run, batched where the mechanism can be."""
        self.todays = todays
        alone = True  # a run may have replaced a population array since the last gather
        for cls in phase:
            members = [m.mechanisms.get(cls.name) for m in self.models]
            if all(x is not None for x in members):
                if alone:
                    self.stack.gather()
                    alone = False
                if self._together(cls, members):
                    continue
            for model, mechanism in zip(self.models, members, strict=True):
                if mechanism is not None:
                    mechanism.step(model)
            alone = True
