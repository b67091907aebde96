"""Firing a scenario's interventions (:mod:`society.interventions`) in a running model: at the
end of their day, after the metrics row and before the checkpoint; checkpointed."""

from __future__ import annotations

import math
import zlib
from typing import Any, Protocol

import numpy as np
import simpy

from society.interventions import Intervention, scenario_changes, with_changes
from society.lab import LabState
from society.recorder import Recorder
from society.scenario import Scenario
from society.state import Saved, Streams


class SocietyModel(Protocol):
    """What firing an intervention reads and changes of a running model
    (:class:`society.model.SocietyModel`, which imports this module)."""

    env: simpy.Environment
    recorder: Recorder
    lab: LabState
    scenario: Scenario
    rngs: Streams

    def use_scenario(self, scenario: Scenario) -> None: ...


OFFSET = 0.9992  # into the day: after the metrics row (0.999), before the checkpoint (0.9995)


class Interventions:
    """The run's interventions: which fired, and firing them (a checkpointed part)."""

    def __init__(self, scenario: Scenario) -> None:
        self.items = list(scenario.interventions)
        self.triggers = [item.trigger() for item in self.items]
        self.fired = [False] * len(self.items)

    def end_of_day(self, model: SocietyModel) -> None:
        """Fire what is due at the end of the day now ending."""
        day = math.floor(model.env.now) + 1
        rows = model.recorder.metrics
        row = rows[-1] if rows and rows[-1]["day"] == day else None
        for i, item in enumerate(self.items):
            if self.fired[i]:
                continue
            trigger = self.triggers[i]
            triggered = trigger is not None and row is not None and trigger.evaluate(row)
            if item.day == day or triggered:
                self.fire(model, i, day)

    def fire(self, model: SocietyModel, i: int, day: int) -> None:
        item = self.items[i]
        self.fired[i] = True
        _apply_to_scenario(model, item)
        lab = model.lab
        if "lab.tax" in item.set:
            lab.tax = float(item.set["lab.tax"])
        if "lab.deference" in item.set:
            lab.trust = lab.deference = float(item.set["lab.deference"])
        if item.reseed is not None:
            reseed(model, item.reseed, day)
        details: dict[str, Any] = {"index": i, "set": dict(item.set)}
        if item.when:
            details["when"] = item.when
        if item.reseed is not None:
            details["reseed"] = item.reseed
        if item.label:
            details["label"] = item.label
        model.recorder.event(float(day), "intervention", float(i), lab.generation, **details)

    def save_state(self) -> Saved:
        return Saved(values={"fired": list(self.fired)})

    def load_state(self, saved: Saved, model: SocietyModel | None = None) -> None:
        fired = list(saved.values.get("fired", []))
        # A fork adds interventions after the trunk's: those have not fired yet.
        self.fired = fired + [False] * (len(self.items) - len(fired))
        if model is not None:
            for item, done in zip(self.items, self.fired, strict=True):
                if done:  # the lab's state came back with the checkpoint; the scenario did not
                    _apply_to_scenario(model, item)


class _Part:
    """The checkpoint view of a model's interventions (restoring re-applies what fired)."""

    def __init__(self, model: SocietyModel, interventions: Interventions) -> None:
        self.model, self.interventions = model, interventions

    def save_state(self) -> Saved:
        return self.interventions.save_state()

    def load_state(self, saved: Saved) -> None:
        self.interventions.load_state(saved, self.model)


def part(model: SocietyModel, interventions: Interventions) -> _Part:
    return _Part(model, interventions)


def _apply_to_scenario(model: SocietyModel, item: Intervention) -> None:
    changes = scenario_changes(item)
    if changes:
        doc = with_changes(model.scenario, changes)
        doc["interventions"] = [x.model_dump() for x in model.scenario.interventions]
        model.use_scenario(Scenario.model_validate(doc))


def reseed(model: SocietyModel, seed: int, day: int) -> None:
    """Every random stream continues from ``seed`` (and its name and the day), in place: the
    mechanisms and arrival processes holding a stream see the new numbers."""
    for name, rng in model.rngs.items():
        seq = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()), day))
        rng.bit_generator.state = np.random.default_rng(seq).bit_generator.state
