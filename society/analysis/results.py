"""Stored analyses: what one analysis holds and how a sweep directory lists the stored ones.

Separate from :mod:`society.analysis.run` (which computes them) so that readers and figures
(``viz.analysis``) can use the records without importing the computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from society.analysis.data import Target
from society.sweeps.store import SweepStore

METHODS = ("sobol", "morris", "oat", "prim", "frontier")


@dataclass
class Analysis:
    """One stored analysis: its tables, sentences, printed table and files."""

    method: str
    target: Target
    name: str
    heading: str
    words: list[str]
    header: list[str]
    rows: list[list[str]]
    table: pl.DataFrame
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def stored(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """The analyses stored in a sweep directory (their JSON records), by file name."""
    import json

    out = []
    folder = SweepStore(sweep_dir).analysis_dir
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("method") in METHODS:
            record["path"] = str(path)
            out.append(record)
    return out
