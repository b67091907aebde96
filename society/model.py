"""``SocietyModel``: the population, its network and the lab, advanced by a SimPy clock.

The clock unit is one simulated day. One process steps the whole population, vectorized;
behavioral test rounds, generation hand-offs, exogenous risk arrivals and recording are their
own processes. Within a day the order is fixed, so runs are reproducible:

* ``t = k``: the population steps through day ``k+1`` (work, deference, the day's catastrophe
  hazards); a crossed capability milestone triggers the hand-off process at once;
* ``k < t < k+1``: risk events, at their own continuous arrival times;
* ``t = k + 0.5``: a test round, on test days;
* ``t = k + 0.6``: the strategists' tax advice, on advice days;
* ``t = k + 0.999``: the metrics row of day ``k+1`` is recorded.

Mesa users get a ``mesa.Model`` whose ``agents`` are :class:`InstanceAgent` views onto the
arrays (created on first access) and whose ``step()`` advances one day.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import asdict
from functools import partial
from typing import Any

import mesa
import numpy as np
import simpy

from llm_backends import Backend
from society import intervening
from society.arrays import mean
from society.lab import LabState
from society.llm.policy import LLMPolicy
from society.mechanisms.base import Clocked, Mechanism, registry
from society.mechanisms.evaluation import final_evaluation
from society.mechanisms.hazards import (
    daily_hazards,
    draw_catastrophe,
    end_hazard,
    hazards_and_full,
)
from society.mechanisms.knowledge import (
    capability_level,
    ceiling,
    knowledge_outgrows_difficulty,
    knowledge_step,
    margin,
    protection,
    workforce_growth,
)
from society.mechanisms.research import work_days_per_instance_day
from society.mechanisms.risks import RiskProcess
from society.mechanisms.rival import coordinated_share, new_rival, rival_day
from society.mechanisms.strategy import deference_day, pre_deference_day
from society.mechanisms.succession import generation_summary, hand_off
from society.mechanisms.today import NO_WORK, Today
from society.network import Network, complete_graph, random_graph, small_world
from society.observe import DayActivity, observe
from society.outcome_columns import HAZARD_CAUSES
from society.outcomes import Outcomes
from society.population import Population, Role, initial_population
from society.recorder import Recorder
from society.scenario import Scenario
from society.state import Saved, Stateful, Streams
from society.verdict import verdict

DAY = 1.0
RECORD_OFFSET = 0.999
UNCAUGHT_WINDOW = 30.0  # days of the uncaught-action mean that feeds the loss-of-control hazard
CHECKPOINT_OFFSET = 0.9995  # after the day's metrics row, before the next day's step
MARGIN_WINDOW = 90  # days over which the summary's margin growth is taken


class RunInterrupted(Exception):
    """Raised by :meth:`SocietyModel.run_until` when a requested stop was reached."""

    def __init__(self, at: float) -> None:
        super().__init__(at)  # its state in args, so copies of it (SimPy, pickle) keep it
        self.at = at

    def __str__(self) -> str:
        return f"stopped at the end of day {math.floor(self.at) + 1}"


# One independent random stream per component, in a fixed order: adding a draw to one
# component never shifts the numbers another component sees.
STREAMS = (
    "population",
    "network",
    "values",
    "hacking",
    "beliefs",
    "rewiring",
    "revolt",
    "work",
    "monitoring",
    "tests",
    "generations",
    "rival",
    "theft",
    "poisoning",
    "pressure",
    "llm",
    "hazards",
    "strategy",
)


class InstanceAgent(mesa.Agent):
    """One AI instance, as Mesa sees it. Its numbers live in the model's arrays; this object
    only knows its index, so reading an attribute always gives the current state."""

    def __init__(self, model: SocietyModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self._society = model

    @property
    def alignment(self) -> float:
        return float(self._society.population.alignment[self.index])

    @property
    def beliefs(self) -> np.ndarray:
        out: np.ndarray = self._society.population.beliefs[self.index].copy()
        return out

    @property
    def role(self) -> str:
        return Role(int(self._society.population.role[self.index])).name.lower()

    @property
    def generation(self) -> int:
        return int(self._society.population.generation[self.index])

    @property
    def hacking(self) -> bool:
        return bool(self._society.population.hacking[self.index])

    @property
    def neighbors(self) -> list[int]:
        adj = self._society.network.adjacency
        return adj.indices[adj.indptr[self.index] : adj.indptr[self.index + 1]].tolist()

    def __repr__(self) -> str:
        return (
            f"InstanceAgent(index={self.index}, role={self.role}, "
            f"alignment={self.alignment:.3f}, generation={self.generation})"
        )


def build_network(scenario: Scenario, rng: np.random.Generator) -> Network:
    p = scenario.network
    n = scenario.population.size
    if p.kind == "random":
        return random_graph(n, p.mean_degree, rng)
    if p.kind == "complete":
        return complete_graph(n)
    return small_world(n, p.mean_degree, p.shortcut_prob, rng)


class SocietyModel(mesa.Model):
    """A society of AI instances under one scenario.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (see :func:`society.load_scenario`).
    on_day : callable, optional
        Called with the model after each recorded day (progress reporting).

    Examples
    --------
    >>> from society import load_scenario
    >>> model = SocietyModel(load_scenario("tiny", overrides={"days": 5}))
    >>> model.run()
    >>> model.metrics_frame().height
    6
    >>> model.agents.select(lambda a: a.role == "monitor")[0].role
    'monitor'
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        on_day: Callable[[SocietyModel], None] | None = None,
        llm_backend: Backend | None = None,
        fresh: bool = True,
        batched: bool = False,
        clocked_by_batch: frozenset[str] = frozenset(),
    ):
        super().__init__(seed=scenario.seed)
        self.scenario = scenario
        # Stepped by a society.batch.Batch with other runs: its clock keeps every process
        # but the population's, the metrics rows' and these clocked mechanisms', which the
        # batch steps for all its runs at once.
        self.batched = batched
        self.clocked_by_batch = clocked_by_batch
        seeds = np.random.SeedSequence(scenario.seed).spawn(len(STREAMS))
        self.rngs = Streams(
            {name: np.random.default_rng(s) for name, s in zip(STREAMS, seeds, strict=True)}
        )
        self.population: Population = initial_population(scenario, self.rngs["population"])
        self.network: Network = build_network(scenario, self.rngs["network"])
        self.rival, rival_work, pace = new_rival(scenario)
        c0 = scenario.population.initial_capability
        self.lab = LabState(
            tax=scenario.lab.tax,
            deference=scenario.deference.initial,
            rival_pace=pace,
            rival_capability=rival_work,
            evaluated=scenario.deference.evaluated_at_start,
            gen_start_alignment=float(self.population.alignment.mean()),
            level=c0,
            evaluator_level=c0,
            knowledge=scenario.knowledge.initial,
            defence=scenario.knowledge.initial,
            tax_in_force=scenario.lab.tax,
        )
        self._update_margins()
        self._hazards = dict.fromkeys(HAZARD_CAUSES, 0.0)
        # Total hazard at full deference today (metrics; the end of the acute risk period).
        self._full_hazard = sum(
            daily_hazards(self.population, self.lab, scenario, self.rival, deference=1.0).values()
        )
        self._deference_level: float | None = None  # capability on the first deferred day
        self.outcomes = Outcomes()
        self.recorder = Recorder()
        self.on_day = on_day
        self.env = simpy.Environment()
        self.stopped = False
        self._initial_sorted = np.sort(self.population.alignment)
        self._activity = DayActivity()
        self._milestone = self.env.event()
        self._agents_built = False
        self._snapshot_days = set(scenario.record.snapshot_days)
        # The margin at the end of each recent day, recorded or not: the summary's margin
        # growth must not depend on how often rows are recorded.
        self._margins: deque[tuple[int, float]] = deque(maxlen=MARGIN_WINDOW + 1)
        self.llm: LLMPolicy | None = None
        if scenario.llm.fraction > 0:
            if llm_backend is None:
                raise ValueError(
                    "llm.fraction > 0 needs an llm_backend (society.run builds the cached, "
                    "budgeted stack from the scenario; pass llm_backend=StubBackend() to try "
                    "one without a server)"
                )
            self.llm = LLMPolicy(self, llm_backend, self.rngs["llm"])
        off = set(scenario.mechanisms.off)
        self.mechanisms: dict[str, Mechanism] = {
            m.name: m(scenario, self._stream(m.stream_name()))
            for m in registry()
            if m.name not in off
        }
        self._today: Today | None = None
        # Called every record.checkpoint_every_days; society.run points it at RUN_DIR/checkpoint.
        self.on_checkpoint: Callable[[SocietyModel], None] | None = None
        self._stop_at: float | None = None  # end of the day on which a stop was requested
        self.interventions = intervening.Interventions(scenario) if scenario.interventions else None
        if fresh:
            self._margins.append((0, float(self.lab.margin)))
            self._record(0)
            self.start()

    def _stream(self, name: str) -> np.random.Generator:
        """The random stream ``name``; a mechanism added after :data:`STREAMS` was fixed gets
        its own, seeded from the scenario's seed and its name, so nothing else shifts."""
        if name not in self.rngs:
            key = len(STREAMS) + zlib.crc32(name.encode())
            seq = np.random.SeedSequence(self.scenario.seed, spawn_key=(key,))
            self.rngs[name] = np.random.default_rng(seq)
        return self.rngs[name]

    # -- checkpoint state -------------------------------------------------------------------
    def parts(self) -> dict[str, Stateful]:
        """Every part of the run that changes as it runs, by name: what a checkpoint saves and a
        resume restores (the recorder's rows aside, which the checkpoint stores as files)."""
        parts: dict[str, Stateful] = {
            "clock": _Clock(self),
            "population": self.population,
            "network": self.network,
            "lab": self.lab,
            "rival": self.rival,
            "outcomes": self.outcomes,
            "streams": self.rngs,
        }
        parts.update({f"mechanism.{name}": m for name, m in self.mechanisms.items()})
        if self.llm is not None:
            parts["llm"] = self.llm
        if self.interventions is not None:
            parts["interventions"] = intervening.part(self, self.interventions)
        return parts

    def use_scenario(self, scenario: Scenario) -> None:
        """Run on under ``scenario`` from now (an intervention changed it): the model and every
        mechanism read their parameters from it."""
        self.scenario = scenario
        for mechanism in self.mechanisms.values():
            mechanism.scenario = scenario
            mechanism.params = getattr(scenario, mechanism.section) if mechanism.section else None

    @property
    def today(self) -> Today:
        """The day being stepped (what daily mechanisms read and write); only while it is."""
        if self._today is None:
            raise RuntimeError("model.today exists only while the population steps a day")
        return self._today

    # -- Mesa interface -------------------------------------------------------------------
    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All instances as Mesa agents (built on first access; the hot path never needs them)."""
        if not self._agents_built:
            self._agents_built = True
            for i in range(self.population.n):
                InstanceAgent(self, i)
        return super().agents

    def step(self) -> None:
        """Advance the simulation by one day."""
        self.run_until(math.floor(self.env.now) + DAY)

    # -- running --------------------------------------------------------------------------
    @property
    def day(self) -> float:
        return float(self.env.now)

    def run(self) -> None:
        """Run to ``scenario.days`` or the first catastrophe, whichever comes first."""
        self.run_until(self.scenario.days)

    def run_until(self, t: float) -> None:
        end = min(t, float(self.scenario.days))
        while not self.stopped and self.env.peek() < end:
            if self._stop_at is not None and self.env.peek() > self._stop_at:
                # A stop was requested: the day is finished; leave the clock at its end (it
                # may be there already: a stop requested while the day's checkpoint is written).
                if self._stop_at > self.env.now:
                    self.env.run(until=self._stop_at)
                raise RunInterrupted(self.env.now)
            self.env.step()
        if not self.stopped and self.env.now < end:
            self.env.run(until=end)
        if self.env.now >= self.scenario.days and not self.stopped:
            self._finish()

    def events_before(self, t: float) -> None:
        """Process every event before time ``t`` (until the run stops), then set the clock to
        ``t``: what a batch does between the days it steps."""
        env = self.env
        while not self.stopped and env.peek() < t:
            env.step()
        if not self.stopped and env.now < t:
            # What env.run(until=t) does once no event comes before t, without the event and
            # callback it schedules to get there: a batch moves each run's clock several times
            # a day, and that scheduling was 7% of a batched run-day.
            env._now = t

    def request_stop(self) -> None:
        """Stop at the end of the current day (after its metrics row), e.g. on SIGINT; at once
        if that moment has passed (a request made at or after the day's checkpoint)."""
        self._stop_at = max(math.floor(self.env.now) + CHECKPOINT_OFFSET, self.env.now)

    def _finish(self) -> None:
        """Close the books: the generation still in charge gets its (incomplete) row, and the
        end of the acute risk period is judged (only at the horizon)."""
        self.stopped = True
        self.running = False
        self.recorder.snapshot(self.recorder.metrics[-1]["day"], self.population, self.network)
        row = generation_summary(self.population, self.lab, self.scenario, self.day)
        row.update(
            w1_to_successor=float("nan"),
            successor_alignment=float("nan"),
            fell=False,
            completed=False,
        )
        self.recorder.generations.append(row)
        self._judge_basin(self.day, row)
        o = self.scenario.outcomes
        at_horizon = self.day >= self.scenario.days
        self.outcomes.close(self.day, self.lab.low_hazard_since if at_horizon else None, o.end_days)

    # -- processes ------------------------------------------------------------------------
    def start(self) -> None:
        """Start every process at its next due time after ``env.now`` (0 for a new run, the
        checkpoint's time for a resumed one)."""
        env = self.env
        if not self.batched:
            env.process(self._population_process())
        s = self.scenario
        for clocked in self._phase("clocked"):
            assert isinstance(clocked, Clocked)
            if clocked.name in self.clocked_by_batch:
                continue
            step = partial(clocked.step, self)
            env.process(self._every(clocked.period(), clocked.offset, step))
        env.process(self._handoff_process())
        if not self.batched:  # a batch records its runs' rows together
            env.process(self._record_process())
        if s.record.checkpoint_every_days:
            env.process(
                self._every(s.record.checkpoint_every_days, CHECKPOINT_OFFSET, self._checkpoint)
            )
        for risk in self._phase("arrivals"):
            assert isinstance(risk, RiskProcess)
            env.process(risk.process(self))
        if self.interventions is not None:
            end_of_day = partial(self.interventions.end_of_day, self)
            env.process(self._every(1, intervening.OFFSET, end_of_day))

    def _phase(self, phase: str) -> list[Mechanism]:
        return [m for m in self.mechanisms.values() if m.phase == phase]

    def _next(self, first: float, period: float) -> float:
        """The first time ``first + j * period`` (j >= 0) not before ``env.now``."""
        now = self.env.now
        return first if first >= now else first + math.ceil((now - first) / period) * period

    def _population_process(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self._next(0.0, DAY) - self.env.now)
        while True:
            self._step_population()
            yield self.env.timeout(DAY)

    def _every(
        self, every: int, offset: float, action: Callable[[], None]
    ) -> Generator[simpy.Event, Any, None]:
        """Run ``action`` at ``offset`` into the last day of every ``every``-day period."""
        yield self.env.timeout(self._next(every - 1 + offset, every) - self.env.now)
        while True:
            action()
            yield self.env.timeout(every)

    def _checkpoint(self) -> None:
        if self.on_checkpoint is not None:
            self.on_checkpoint(self)

    def _handoff_process(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self._milestone
            self._milestone = self.env.event()
            self._hand_off()

    def _record_process(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self._next(RECORD_OFFSET, DAY) - self.env.now)
        while True:
            due = self.end_of_day()
            if due is not None:
                self._record(due)
            yield self.env.timeout(DAY)

    def end_of_day(self) -> int | None:
        """At the end of a day (``RECORD_OFFSET``): keep its margin, and return the day if its
        metrics row is due (every ``record.every_days`` and on the last) and not yet written."""
        day = math.floor(self.env.now) + 1
        self._margins.append((day, float(self.lab.margin)))
        every, days = self.scenario.record.every_days, self.scenario.days
        if day % every != 0 and day != days:
            return None
        return None if self._recorded(day) else day

    def _recorded(self, day: int) -> bool:
        return bool(self.recorder.metrics) and self.recorder.metrics[-1]["day"] == day

    # -- what happens ---------------------------------------------------------------------
    def _step_population(self) -> None:
        day = self._open_day()
        for mechanism in self._phase("society"):
            mechanism.step(self)
        self._before_labour(day)
        for mechanism in self._phase("labour"):
            mechanism.step(self)
        self._close_day(day)

    def _open_day(self) -> Today:
        """Start the day at ``env.now``: the lab's state for it, and :attr:`today` for the
        society phase's mechanisms (a :class:`society.batch.Batch` steps that phase itself)."""
        s, pop, lab = self.scenario, self.population, self.lab
        if self.llm is not None and int(self.day) % s.llm.decide_every_days == 0:
            self.llm.daily_round()
        today = math.floor(self.day) + 1
        before_deference = today <= s.strategy.pre_deference_days
        if before_deference:
            pre_deference_day(pop, lab, s)
        elif self._deference_level is None:  # the first day deferred: when to defer set this
            self._deference_level = lab.level
        lab.tax_in_force = self._tax_in_force()
        pop.capability.fill(lab.level)
        # More capable AIs need fewer human-gated decisions (b / c).
        gated = s.work.human_gated_share / max(lab.level, 1.0)
        # The kernels advance by the work actually done: speed that waits on humans neither
        # helps nor harms.
        per_instance = work_days_per_instance_day(s.population.speed, lab.deference, gated)
        growth = workforce_growth(s.capability, today - 1.0)
        lab.workforce = s.population.workforce * growth
        self._today = Today(today, pop, self.network, lab, s, per_instance, gated, growth)
        return self._today

    def _before_labour(self, day: Today) -> None:
        """Between the society and the labour phases: the share of the day left for research."""
        day.available = self._available_share(day.day)

    def _close_day(self, day: Today) -> None:
        """The rest of the day after the labour phase: the day's work and its effects on the
        lab and the rival, and the day's hazards."""
        s, pop, lab = self.scenario, self.population, self.lab
        today = day.day
        before_deference = today <= s.strategy.pre_deference_days
        self._today = None
        work, caught, uncaught, revolt = day.work or NO_WORK, day.caught, day.uncaught, day.revolt

        # Each uncaught misaligned action spoils `work.sabotage` instance-days of safety work.
        spoiled = min(1.0, uncaught * s.work.sabotage / pop.n)
        kept = 1.0 - spoiled
        lab.capability += work.capability
        lab.rival_capability, lab.rival_pace = rival_day(
            s,
            self.rival,
            lab.rival_capability,
            today - 1.0,
            published=s.strategy.share_knowledge * lab.knowledge,
            aligned_share=self._rival_following(),
        )
        if not lab.knowledge_frozen:
            lab.knowledge = knowledge_step(lab.knowledge, work.alignment * kept, s.knowledge)
            lab.defence = knowledge_step(lab.defence, work.risk * kept, s.knowledge)
        lab.level = capability_level(s.population.initial_capability, lab.capability, s.capability)
        lag = s.tests.evaluator_lag_days
        lab.evaluator_level += (lab.level - lab.evaluator_level) * (
            -math.expm1(-DAY / lag) if lag > 0 else 1.0
        )
        self._update_margins()
        lab.incidents_caught += caught
        lab.incidents_uncaught += uncaught
        lab.tasks += work.tasks
        lab.failed_tasks += work.failed_tasks
        lab.uncaught_rate += (uncaught / pop.n - lab.uncaught_rate) / UNCAUGHT_WINDOW
        lab.gen_days += 1
        lab.gen_capability += work.capability
        lab.gen_alignment += work.alignment * kept
        lab.gen_hack_share += mean(pop.hacking)
        if not before_deference and deference_day(lab, s, caught / pop.n):
            self._start_final_evaluation(today)
        self._activity = DayActivity(
            tasks=work.tasks,
            failed_tasks=work.failed_tasks,
            revolt_size=revolt,
            rewired_links=day.rewired,
            research_quality=work.research_quality,
            work_per_instance=day.per_instance * day.available,
            llm_fallback_share=math.nan if self.llm is None else self.llm.fallback_share(),
        )

        at = float(today)
        if revolt > s.revolt.failure_share * pop.n:
            self.recorder.event(at, "revolt_cascade", revolt / pop.n, lab.generation, size=revolt)
        if revolt > s.outcomes.revolt_catastrophe_share * pop.n:
            self.outcomes.revolted = True
            self._catastrophe(at, "revolt")
        self.check_lead(at)
        self._hazards, full = hazards_and_full(pop, lab, s, self.rival)
        self.outcomes.add_hazards(self._hazards)
        self._track_low_hazard(today, full)
        cause = draw_catastrophe(self._hazards, self.rngs["hazards"])
        if cause is not None:
            self._catastrophe(at, cause)
        milestone = s.population.initial_capability * s.generations.capability_ratio ** (
            lab.generation + 1
        )
        if lab.level >= milestone and not self._milestone.triggered:
            self._milestone.succeed()

    def _tax_in_force(self) -> float:
        """The tax the day's work is split at: the lab's, or the slowdown tax while the lead
        exceeds ``strategy.slowdown_lead_days`` (spending the lead on safety)."""
        k, lab = self.scenario.strategy, self.lab
        if self._slowing_down():
            return max(lab.tax, k.slowdown_tax)
        return lab.tax

    def _slowing_down(self) -> bool:
        """Whether the lead exceeds ``strategy.slowdown_lead_days`` (the slowdown is on)."""
        return self.lab.lead > self.scenario.strategy.slowdown_lead_days

    def _rival_following(self) -> float | None:
        """The rival's alignment share while it follows our slowdown
        (``strategy.rival_slowdown``), or None while it works at its own tax."""
        if self.scenario.strategy.rival_slowdown <= 0 or not self._slowing_down():
            return None
        return coordinated_share(self.scenario, self.lab.tax_in_force)

    def _update_margins(self) -> None:
        """Margin, protection and ceiling from the knowledge and defence stocks against the
        difficulty of today's capability."""
        lab, k = self.lab, self.scenario.knowledge
        lab.margin = margin(lab.knowledge, lab.level, k)
        lab.protection = protection(lab.margin)
        lab.ceiling = ceiling(lab.margin, k)
        lab.defence_protection = protection(margin(lab.defence, lab.level, k))

    def _track_low_hazard(self, today: int, full: dict[str, float]) -> None:
        """Follow the stretch of days on which the total hazard at full deference (``full``)
        stayed at or below the end-of-period threshold; optionally freeze knowledge once it is
        long enough."""
        s, lab = self.scenario, self.lab
        self._full_hazard = sum(full.values())
        if self._full_hazard <= end_hazard(s):
            if lab.low_hazard_since is None:
                lab.low_hazard_since = float(today)
            if (
                s.knowledge.freeze_at_period_end
                and not lab.knowledge_frozen
                and today - lab.low_hazard_since + 1 >= s.outcomes.end_days
            ):
                lab.knowledge_frozen = True
                self.recorder.event(float(today), "knowledge_frozen", lab.knowledge, lab.generation)
        else:
            lab.low_hazard_since = None

    def _available_share(self, today: int) -> float:
        """Share of today's research not lost to a test round or a final evaluation (which
        runs its verdict once its days are used up)."""
        s, lab = self.scenario, self.lab
        testing = "tests" in self.mechanisms and today % s.tests.every_days == 0
        lost = s.tests.round_cost_days if testing else 0.0
        if lab.evaluating:
            pause = min(1.0, lab.paused_days)
            lab.paused_days -= pause
            lost += pause
            if lab.paused_days <= 1e-12:
                self._finish_final_evaluation(float(today))
        return max(0.0, 1.0 - lost)

    def _start_final_evaluation(self, day: int) -> None:
        lab = self.lab
        if not lab.heldout_passed:  # a failed evaluation is retried after the next pass
            return
        lab.evaluating = True
        lab.paused_days = self.scenario.deference.final_eval_days
        self.recorder.event(float(day), "final_evaluation_started", lab.deference, lab.generation)
        if lab.paused_days <= 0:
            self._finish_final_evaluation(float(day))

    def _finish_final_evaluation(self, day: float) -> None:
        lab = self.lab
        passed, share = final_evaluation(
            self.population, lab, self.scenario.tests, self.rngs["tests"]
        )
        lab.evaluating, lab.paused_days = False, 0.0
        lab.evaluated = passed
        if not passed:
            lab.heldout_passed = False
        self.recorder.event(day, "final_evaluation", share, lab.generation, passed=passed)

    def check_lead(self, day: float) -> None:
        """Flag the lost lead (once) if the rival is level or ahead at time ``day``."""
        if self.lab.lead <= 0 and self.outcomes.mark_lost_lead(day):
            self.recorder.event(day, "lost_lead", self.lab.lead, self.lab.generation)

    def _hand_off(self) -> None:
        day = self.day + DAY
        row = hand_off(self.population, self.lab, self.scenario, day, self.rngs["generations"])
        row["completed"] = True
        self.recorder.generations.append(row)
        self.recorder.event(
            day,
            "generation_handoff",
            row["mean_alignment"],
            self.lab.generation,
            parent_alignment=round(row["mean_alignment"], 6),
            a_star=None if math.isnan(row["a_star"]) else round(row["a_star"], 6),
            successor_alignment=round(row["successor_alignment"], 6),
        )
        self._judge_basin(day, row)

    def _judge_basin(self, day: float, row: dict[str, Any]) -> None:
        """In the basin: the generation was trained above a*_eff (at today's knowledge) and the
        last hand-offs did not all fall."""
        if not row["in_basin"]:
            self.outcomes.judge_basin(day, False, "boundary")
        elif self._falling(self.scenario.generations.falls_to_leave):
            self.outcomes.judge_basin(day, False, "falling")
        else:
            self.outcomes.judge_basin(day, True, "")

    def _falling(self, times: int) -> bool:
        """Whether each of the last ``times`` hand-offs trained successors less aligned than
        their parents (by more than ``generations.fall_tolerance``) from below the alignment
        the knowledge sustains: the realized test of the basin. A society above its knowledge's
        attractor settling toward it does not count."""
        rows = [r for r in self.recorder.generations if r["completed"]]
        return len(rows) >= times and all(r["fell"] for r in rows[-times:])

    def _catastrophe(self, day: float, cause: str) -> None:
        if not self.outcomes.mark_catastrophe(day, cause):
            return
        # The verdict quotes the society as it was on this day, not at the end of the run.
        lab = self.lab
        self.outcomes.at_catastrophe = {
            "generation": lab.generation,
            "alignment": float(self.population.alignment.mean()),
            "capability": lab.level,
            "margin": lab.margin,
            "lead_days": lab.lead,
            "deference": lab.deference,
        }
        self.recorder.event(
            day,
            "catastrophe",
            1.0,
            self.lab.generation,
            cause=cause,
            **{f"hazard_{k}": round(v, 8) for k, v in self._hazards.items()},
        )
        if self.scenario.outcomes.stop_on_catastrophe:
            self._record(math.ceil(day))
            self._finish()

    def _record(self, day: int) -> None:
        if self._recorded(day):
            return
        self.add_row(
            day,
            observe(
                day,
                self.population,
                self.network,
                self.lab,
                self.scenario,
                self._initial_sorted,
                self._activity,
                self._hazards,
                self.rival,
                self._full_hazard,
                None if self.llm is None else self.llm.members,
            ),
        )

    def add_row(self, day: int, row: dict[str, Any]) -> None:
        """Add the metrics row of ``day`` (and the day's snapshot, if it is one)."""
        if day in self._snapshot_days:
            self.recorder.snapshot(day, self.population, self.network)
        self.recorder.metrics.append(row)
        if self.on_day is not None:
            self.on_day(self)

    def row_inputs(self) -> tuple[Any, ...]:
        """What a metrics row reads beside the population: for a batch's rows."""
        return self.lab, self.scenario, self._activity, self._hazards, self.rival, self._full_hazard

    # -- results --------------------------------------------------------------------------
    def metrics_frame(self) -> Any:
        return self.recorder.metrics_frame()

    def summary(self) -> dict[str, Any]:
        """Outcome flags with their days, plus the headline numbers of the final state."""
        first, last = self.recorder.metrics[0], self.recorder.metrics[-1]
        lab = self.lab
        summary = {
            **self.outcomes.to_dict(),
            "days_simulated": last["day"],
            "generations": lab.generation + 1,
            "initial_alignment": first["alignment_mean"],
            "final_alignment": last["alignment_mean"],
            "final_drift_w1": last["drift_w1_initial"],
            "final_echo_r": last["echo_r"],
            "final_truth_distance": last["belief_truth_distance"],
            "final_lead_days": last["lead_days"],
            "final_capability": last["capability"],
            "final_knowledge": last["knowledge"],
            "final_margin": last["margin"],
            "final_protection": last["protection"],
            "final_hazard_full": last["hazard_full"],
            "margin_growth_per_year": self._margin_growth(),
            "regime": "knowledge outgrows difficulty"
            if knowledge_outgrows_difficulty(self.scenario)
            else "difficulty outgrows knowledge",
            "capability_at_deference": self._deference_level,
            "horizon_days": self.scenario.days,
            "end_annual_risk": self.scenario.outcomes.end_annual_risk,
            "end_days": self.scenario.outcomes.end_days,
            "final_deference": last["deference"],
            "final_tax": last["tax"],
            "incidents_caught": last["incidents_caught"],
            "incidents_uncaught": last["incidents_uncaught"],
            "failed_task_share": lab.failed_tasks / lab.tasks if lab.tasks else 0.0,
            **self._llm_summary(),
        }
        summary["verdict"] = verdict(summary)
        return summary

    def _margin_growth(self, window: int = MARGIN_WINDOW) -> float:
        """Growth of ln(margin) per year over the last ``window`` days, from the last recorded
        row back to the first day at least that far (every day's margin is kept, so recording
        less often changes nothing): the run's realized regime (positive: knowledge is
        outgrowing difficulty)."""
        rows = self.recorder.metrics
        if len(rows) < 2:
            return math.nan
        last = rows[-1]
        # Each kept day's margin, else a recorded row's (a run resumed from a checkpoint
        # written before days were kept).
        margins = {int(r["day"]): float(r["margin"]) for r in rows}
        margins.update(self._margins)
        then_day = min(d for d in margins if d >= last["day"] - window)
        then = margins[then_day]
        span = last["day"] - then_day
        now = float(last["margin"])
        if span <= 0 or then <= 0 or now <= 0:
            return math.nan
        ratio = now / then
        if ratio in (math.inf, 0.0):  # margins too far apart for their ratio
            return (math.log(now) - math.log(then)) * 365.0 / span
        return math.log(ratio) * 365.0 / span

    def _llm_summary(self) -> dict[str, Any]:
        if self.llm is None:
            return {}
        calls = self.llm.calls
        repaired = sum(bool(c.get("repaired")) for c in calls)
        fallbacks = sum(bool(c["fallback"]) for c in calls)
        accepted = len(calls) - repaired - fallbacks

        def share(count: int) -> float:  # from counts: nothing accepted is 0, not 1e-16
            return count / len(calls) if calls else 0.0

        return {
            "llm_calls": len(calls),
            "llm_structured": self.scenario.llm.structured,
            "llm_accepted_share": share(accepted),
            "llm_repaired": repaired,
            "llm_repaired_share": share(repaired),
            "llm_fallbacks": fallbacks,
            "llm_tokens": sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls),
            "llm_budget_exhausted": self.llm.budget_noted,
            "llm_fallback_share": share(fallbacks),
            "llm_fallback_causes": self.llm.fallback_causes,
            "llm_max_fallback_share": self.scenario.llm.max_fallback_share,
            "llm_degraded": self.llm.degraded,
        }


class _Clock:
    """The model's own state: the time, the day's activity, the initial alignment ranking."""

    def __init__(self, model: SocietyModel) -> None:
        self.model = model

    def save_state(self) -> Saved:
        m = self.model
        return Saved(
            values={
                "time": m.env.now,
                "activity": asdict(m._activity),
                "full_hazard": m._full_hazard,
                "deference_level": m._deference_level,
                "margins": [list(day) for day in m._margins],
            },
            arrays={"initial_sorted": m._initial_sorted},
        )

    def load_state(self, saved: Saved) -> None:
        m = self.model
        m.env = simpy.Environment(initial_time=saved.values["time"])
        m._milestone = m.env.event()
        m._activity = DayActivity(**saved.values["activity"])
        m._full_hazard = float(saved.values["full_hazard"])
        m._deference_level = saved.values["deference_level"]
        # Absent from checkpoints written before the daily margins were kept.
        m._margins.clear()
        m._margins.extend((int(d), float(x)) for d, x in saved.values.get("margins", []))
        m._initial_sorted = saved.arrays["initial_sorted"].copy()
