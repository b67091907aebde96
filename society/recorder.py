"""Collects the rows a run produces and turns them into typed polars frames."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from society.observe import METRIC_COLUMNS

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
    "effective_tax": pl.Float64,
    "a_star": pl.Float64,
    "in_basin": pl.Boolean,
    "hack_share": pl.Float64,
    "w1_to_successor": pl.Float64,
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
}
METRIC_SCHEMA = {name: _INT_METRICS.get(name, pl.Float64) for name in METRIC_COLUMNS}


class Recorder:
    """Rows of metrics, events and generations, in the order they happened."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.generations: list[dict[str, Any]] = []

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
