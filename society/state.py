"""What a stateful part of a run hands to a checkpoint, and gets back on resume.

Every part that changes during a run (the population, the network, the lab, the outcomes, the
random streams, each mechanism, the LLM policy, the clock) implements :class:`Stateful`: it
saves its own state as JSON values plus numpy arrays and restores it in place. The checkpoint
writer (:mod:`society.store.checkpoint`) only stores what the parts give it, under each part's
name; it never reaches into a part's fields.

>>> import numpy as np
>>> streams = Streams({"a": np.random.default_rng(1)})
>>> saved = streams.save_state()
>>> first = streams["a"].random()
>>> streams.load_state(saved)
>>> streams["a"].random() == first
True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np


@dataclass
class Saved:
    """A part's checkpoint state: JSON-serialisable ``values`` and named ``arrays``."""

    values: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class Stateful(Protocol):
    def save_state(self) -> Saved: ...

    def load_state(self, saved: Saved) -> None: ...


class DataclassState:
    """Mixin for a dataclass of plain values (numbers, flags, strings): saved field by field,
    restored in place (so whoever holds the object sees the restored values)."""

    def save_state(self) -> Saved:
        return Saved(values={f.name: getattr(self, f.name) for f in fields(self)})  # type: ignore[arg-type]

    def load_state(self, saved: Saved) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            setattr(self, f.name, saved.values[f.name])


class Streams(dict[str, np.random.Generator]):
    """The run's random streams by name; each bit generator's state is saved."""

    def save_state(self) -> Saved:
        return Saved(values={name: rng.bit_generator.state for name, rng in self.items()})

    def load_state(self, saved: Saved) -> None:
        for name, state in saved.values.items():
            self[name].bit_generator.state = state
