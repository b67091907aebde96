"""Collects the rows a run produces and turns them into typed polars frames."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from society.metric_columns import METRIC_COLUMNS
from society.network import Network
from society.population import Population, Role

EVENT_SCHEMA = {
    "day": pl.Float64,
    "kind": pl.String,
    "magnitude": pl.Float64,
    "generation": pl.Int32,
    "details": pl.String,
}
GENERATION_SCHEMA = {
    "generation": pl.Int32,
    "start_day": pl.Float64,
    "end_day": pl.Float64,
    "size": pl.Int64,
    "mean_alignment": pl.Float64,
    "start_alignment": pl.Float64,
    "erosion": pl.Float64,
    "effective_tax": pl.Float64,
    "capability": pl.Float64,
    "margin": pl.Float64,
    "ceiling": pl.Float64,
    "a_star": pl.Float64,
    "attractor": pl.Float64,
    "in_basin": pl.Boolean,
    "hack_share": pl.Float64,
    "w1_to_successor": pl.Float64,
    "successor_alignment": pl.Float64,
    "fell": pl.Boolean,
    "completed": pl.Boolean,
}
_INT_METRICS = {
    "day": pl.Int32,
    "generation": pl.Int32,
    "n_instances": pl.Int64,
    "n_opinion_clusters": pl.Int32,
    "incidents_caught": pl.Int64,
    "incidents_uncaught": pl.Int64,
    "rewired_links": pl.Int64,
    "evaluated": pl.Boolean,
}
METRIC_SCHEMA = {name: _INT_METRICS.get(name, pl.Float64) for name in METRIC_COLUMNS}


NODE_SCHEMA = {
    "day": pl.Int32,
    "node": pl.Int32,
    "opinion": pl.Float64,
    "alignment": pl.Float64,
    "role": pl.String,
    "hacking": pl.Boolean,
}
EDGE_SCHEMA = {"day": pl.Int32, "u": pl.Int32, "v": pl.Int32}


class Recorder:
    """Rows of metrics, events and generations, and network snapshots, in the order they
    happened."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.generations: list[dict[str, Any]] = []
        self.node_snapshots: list[pl.DataFrame] = []
        self.edge_snapshots: list[pl.DataFrame] = []

    def snapshot(self, day: int, pop: Population, net: Network) -> None:
        """Save the network and each node's opinion and alignment as of ``day``."""
        if self.node_snapshots and self.node_snapshots[-1]["day"][0] == day:
            return
        n = pop.n
        roles = np.array([r.name.lower() for r in Role])[pop.role]
        self.node_snapshots.append(
            pl.DataFrame(
                {
                    "day": np.full(n, day, dtype=np.int32),
                    "node": np.arange(n, dtype=np.int32),
                    "opinion": pop.opinion(),
                    "alignment": pop.alignment.copy(),
                    "role": roles,
                    "hacking": pop.hacking.copy(),
                },
                schema=NODE_SCHEMA,
            )
        )
        self.edge_snapshots.append(
            pl.DataFrame(
                {
                    "day": np.full(net.n_edges, day, dtype=np.int32),
                    "u": net.u.copy(),
                    "v": net.v.copy(),
                },
                schema=EDGE_SCHEMA,
            )
        )

    def nodes_frame(self) -> pl.DataFrame:
        return (
            pl.concat(self.node_snapshots)
            if self.node_snapshots
            else pl.DataFrame(schema=NODE_SCHEMA)
        )

    def edges_frame(self) -> pl.DataFrame:
        return (
            pl.concat(self.edge_snapshots)
            if self.edge_snapshots
            else pl.DataFrame(schema=EDGE_SCHEMA)
        )

    def event(
        self, day: float, kind: str, magnitude: float, generation: int, **details: Any
    ) -> None:
        self.events.append(
            {
                "day": day,
                "kind": kind,
                "magnitude": float(magnitude),
                "generation": generation,
                "details": json.dumps(details, sort_keys=True) if details else "{}",
            }
        )

    def metrics_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.metrics, schema=METRIC_SCHEMA, orient="row")

    def events_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.events, schema=EVENT_SCHEMA, orient="row")

    def generations_frame(self) -> pl.DataFrame:
        rows = [{k: r.get(k) for k in GENERATION_SCHEMA} for r in self.generations]
        return pl.DataFrame(rows, schema=GENERATION_SCHEMA, orient="row")
