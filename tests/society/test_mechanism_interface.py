"""The mechanism interface: a registry the model builds from, off switches that remove exactly
one mechanism, and stateful parts that save and restore their own checkpoint state."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from society import load_scenario
from society.mechanisms import base
from society.mechanisms.base import Mechanism, registry
from society.model import SocietyModel
from society.scenario import MechanismName
from society.store import checkpoint

DAYS = 40
# Enough revolts, rewiring and rival events in 40 days of `tiny` to see each one go.
BUSY = {
    "revolt.spontaneous_rate": 0.02,
    "revolt.alignment_threshold": 0.75,
    "network.rewire_prob": 1.0,
    "risks.rival_rate": 0.2,
    "outcomes.stop_on_catastrophe": False,
}


def _model(*off: str, days: int = DAYS, **overrides: Any) -> SocietyModel:
    sets: dict[str, Any] = {"days": days, "seed": 5, "mechanisms.off": list(off), **overrides}
    return SocietyModel(load_scenario("tiny", overrides=sets))


def _events(model: SocietyModel) -> pl.DataFrame:
    return model.recorder.events_frame()


def test_every_registered_mechanism_can_be_switched_off_by_name() -> None:
    names = [m.name for m in registry()]
    assert sorted(names) == sorted(typing.get_args(MechanismName))
    assert len(set(names)) == len(names)
    for m in registry():
        assert m.phase in base.PHASES
        assert m.step is not Mechanism.step or m.phase == "arrivals", m.name


def test_the_day_runs_in_phase_then_order() -> None:
    order = [(m.phase, m.name) for m in registry() if m.phase in ("society", "labour")]
    assert order == [
        ("society", "knowledge"),
        ("society", "values"),
        ("society", "hacking"),
        ("society", "beliefs"),
        ("society", "rewiring"),
        ("society", "revolt"),
        ("labour", "work"),
        ("labour", "monitoring"),
    ]


def test_switching_a_mechanism_off_removes_exactly_its_effect() -> None:
    full = _model(**BUSY)
    full.run()
    m = full.metrics_frame()
    assert m["rewired_links"].sum() > 0 and m["revolt_size"].sum() > 0
    kinds = set(_events(full)["kind"])
    assert {"test_round", "rival_breakthrough"} <= kinds

    no_rewiring = _model("rewiring", **BUSY)
    no_rewiring.run()
    assert no_rewiring.metrics_frame()["rewired_links"].sum() == 0
    assert np.array_equal(no_rewiring.network.u, _model().network.u)  # the initial links

    quiet = _model("revolt", "tests", "rival", **BUSY)
    quiet.run()
    assert quiet.metrics_frame()["revolt_size"].sum() == 0
    assert not {"test_round", "rival_breakthrough"} & set(_events(quiet)["kind"])

    idle = _model("work")
    idle.run()
    assert idle.lab.capability == 0.0
    assert idle.lab.knowledge == idle.scenario.knowledge.initial  # no alignment work either
    assert full.lab.capability > 0.0

    unfixed = _model("knowledge", **BUSY)  # deployed models are never fixed from knowledge
    unfixed.run()
    assert unfixed.population.anchor.mean() < full.population.anchor.mean()


def test_a_mechanism_switched_off_leaves_the_others_draws_alone() -> None:
    """Each mechanism has its own stream: removing revolts changes nothing revolts did not
    touch on a day without a revolt."""
    a, b = _model(days=5), _model("revolt", days=5)
    a.run()
    b.run()
    assert a.metrics_frame()["revolt_size"].sum() == 0  # no revolt happened anyway
    assert a.metrics_frame().equals(b.metrics_frame())


@pytest.fixture
def counter_mechanism() -> Iterator[type[Mechanism]]:
    """A mechanism added by a user: one class, registered; nothing else is edited."""

    class Counter(Mechanism):
        name: ClassVar[str] = "counter"
        phase: ClassVar[base.Phase] = "society"
        order: ClassVar[int] = 99

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.days, self.draws = 0, 0.0

        def step(self, model: SocietyModel) -> None:
            self.days += 1
            self.draws += float(self.rng.random())

        def state(self) -> dict[str, Any]:
            return {"days": self.days, "draws": self.draws}

        def restore(self, state: dict[str, Any]) -> None:
            self.days, self.draws = state["days"], state["draws"]

    base.register(Counter)
    yield Counter
    del base._REGISTRY["counter"]


def test_a_new_mechanism_runs_checkpoints_and_leaves_the_results_alone(
    counter_mechanism: type[Mechanism], tmp_path: Any
) -> None:
    model = _model(days=12)
    model.run_until(6)
    saved = checkpoint.save(model, tmp_path / "checkpoint")
    model.run()
    counter: Any = model.mechanisms["counter"]
    assert counter.days == 12
    resumed = checkpoint.resume_model(model.scenario, saved)
    resumed.run()
    again: Any = resumed.mechanisms["counter"]
    assert (again.days, again.draws) == (counter.days, counter.draws)
    del base._REGISTRY["counter"]
    try:
        plain = _model(days=12)
        plain.run()
    finally:
        base.register(counter_mechanism)
    assert plain.metrics_frame().equals(model.metrics_frame())


def test_every_part_restores_its_own_state() -> None:
    model = _model(days=20)
    model.run_until(9)
    fresh = _model(days=20)
    for name, part in model.parts().items():
        saved = part.save_state()
        fresh.parts()[name].load_state(saved)
        again = fresh.parts()[name].save_state()
        assert again.values == saved.values, name
        assert saved.arrays.keys() == again.arrays.keys(), name
        for key, array in saved.arrays.items():
            assert np.array_equal(array, again.arrays[key], equal_nan=array.dtype.kind == "f")


def test_the_checkpoint_writer_does_not_reach_into_the_model() -> None:
    source = inspect.getsource(checkpoint)
    assert "model._" not in source and "model.lab" not in source
