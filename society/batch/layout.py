"""A batch's runs laid end to end: one population of ``runs x n`` instances whose rows each run
reads and writes through views, one block-diagonal network, and per-run parameters.

Run ``b`` owns instances ``b n`` to ``(b + 1) n - 1`` and only links among them, so every
elementwise step, every neighbour sum (each node adds its own run's links in the order its
run's network lists them) and every row reduction gives each run the bits it gets alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from society.network import Network
from society.population import Population


class NotBatchable(Exception):
    """A mechanism's step cannot run for these runs at once (each run steps it alone)."""


class StackedPopulation:
    """One :class:`Population` over every run's instances; each run's own population holds
    views of its rows, so the code that steps one run at a time still works on it."""

    def __init__(self, populations: Sequence[Population]) -> None:
        self.n = populations[0].n
        self._members = list(populations)
        self._names = [f.name for f in fields(Population)]
        self.population = Population(
            **{f: np.concatenate([getattr(p, f) for p in populations]) for f in self._names}
        )
        self._stacked: dict[str, np.ndarray] = {}
        self._views: list[dict[str, np.ndarray]] = [{} for _ in populations]
        for name in self._names:
            self._bind(name)

    def rows(self, b: int) -> slice:
        return slice(b * self.n, (b + 1) * self.n)

    def _bind(self, name: str) -> None:
        whole = self._stacked[name] = getattr(self.population, name)
        for b, member in enumerate(self._members):
            view = self._views[b][name] = whole[self.rows(b)]
            setattr(member, name, view)

    def gather(self) -> None:
        """Take back into the stack any array a run replaced since (e.g. at a hand-off)."""
        for member, views in zip(self._members, self._views, strict=True):
            # The instance's dict, not getattr per field and run: gather runs several times a
            # day, and 25 runs x 16 fields of getattr cost 2% of a batch of 100-instance runs.
            mine = vars(member)
            for name, view in views.items():
                if mine[name] is not view:
                    view[...] = mine[name]
                    mine[name] = view

    def scatter(self) -> None:
        """Point the runs at any stacked array a batched step replaced."""
        for name in self._names:
            if getattr(self.population, name) is not self._stacked[name]:
                self._bind(name)


class BlockNetwork(Network):
    """The runs' networks as one block-diagonal network; each node's ``<k>`` is its run's."""

    def __init__(self, networks: Sequence[Network]) -> None:
        n = networks[0].n
        self._members = list(networks)
        self._offsets = [len(net.u) for net in networks]
        self._seen = [-1] * len(networks)
        starts = np.concatenate([[0], np.cumsum(self._offsets)])
        self._links = [slice(int(starts[b]), int(starts[b + 1])) for b in range(len(networks))]
        super().__init__(
            n * len(networks),
            np.empty(int(starts[-1]), dtype=np.int32),
            np.empty(int(starts[-1]), dtype=np.int32),
        )
        self._per_node_mean = np.repeat([net.mean_degree for net in networks], n)
        self._run_n = n
        self._block_degree = np.zeros(self.n, dtype=np.int64)
        self.refresh()

    def refresh(self) -> None:
        """Copy in the links of every run whose network changed since the last refresh."""
        changed = False
        for b, net in enumerate(self._members):
            if net.version == self._seen[b]:
                continue
            self._seen[b] = net.version
            off = b * self._run_n
            self.u[self._links[b]] = net.u + off
            self.v[self._links[b]] = net.v + off
            self._block_degree[off : off + self._run_n] = net.degree
            changed = True
        if changed:
            self.edges_changed()
            self._degree = self._block_degree.astype(np.int32)

    @property
    def mean_degree(self) -> Any:
        return self._per_node_mean

    @property
    def first_links(self) -> list[int]:
        """Where each run's links start in the edge list."""
        return [links.start for links in self._links]


class RunParams:
    """A scenario section's parameters for a batch of runs: a field's value where every run
    has the same, else each run's value repeated over its instances (an array of ``runs n``).

    Every field is resolved when it is built, so a batch that cannot share a section (a flag
    or a name that differs between runs) is refused before any run has drawn a number.
    """

    def __init__(self, sections: Sequence[Any], n: int) -> None:
        for name in type(sections[0]).model_fields:
            values = [getattr(s, name) for s in sections]
            first = values[0]
            if all(v == first for v in values):
                setattr(self, name, first)
            elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                setattr(self, name, np.repeat(np.asarray(values, dtype=np.float64), n))
            else:
                raise NotBatchable(f"{name} differs between the runs")
