"""Shared fixtures: real runs of the shipped ``tiny`` scenario, a run with network snapshots,
and a synthetic sweep directory with the columns `society sweep` is expected to write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pytest
from viz_helpers import synthetic_points

import society
from society.recorder import EVENT_SCHEMA


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return society.run("tiny", out=out).path


@pytest.fixture(scope="session")
def bare_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-day tiny run (one generation) whose events table is empty."""
    out = tmp_path_factory.mktemp("runs") / "bare"
    result = society.run("tiny", out=out, overrides={"days": 10})
    pl.DataFrame(schema=EVENT_SCHEMA).write_parquet(out / "events.parquet")
    assert result.generations.height == 1
    return result.path


@pytest.fixture(scope="session")
def network_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run plus snapshots in the engine's announced schema at days 0, 30, 60."""
    out = tmp_path_factory.mktemp("runs") / "net"
    shutil.copytree(tiny_dir, out)
    rng = np.random.default_rng(3)
    g = nx.watts_strogatz_graph(200, 8, 0.1, seed=3)
    edges_uv = np.array(g.edges(), dtype=np.int32)
    nodes, edges = [], []
    for k, day in enumerate((0, 30, 60)):
        opinion = np.tanh(rng.normal(0, 0.5 + k, 200))
        nodes.append(
            pl.DataFrame(
                {
                    "day": pl.Series([day] * 200, dtype=pl.Int32),
                    "node": pl.Series(np.arange(200), dtype=pl.Int32),
                    "opinion": opinion,
                    "alignment": rng.uniform(0.6, 0.95, 200),
                    "role": rng.choice(["researcher", "monitor", "strategist", "red-teamer"], 200),
                    "hacking": rng.random(200) < 0.05,
                }
            )
        )
        edges.append(
            pl.DataFrame(
                {
                    "day": pl.Series([day] * len(edges_uv), dtype=pl.Int32),
                    "u": edges_uv[:, 0],
                    "v": edges_uv[:, 1],
                }
            )
        )
    pl.concat(nodes).write_parquet(out / "network_nodes.parquet")
    pl.concat(edges).write_parquet(out / "network_edges.parquet")
    return out


@pytest.fixture(scope="session")
def sweep_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweeps") / "lead-x-tax"
    out.mkdir()
    manifest = json.loads((tiny_dir / "manifest.json").read_text())
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "kind": "sweep",
                "name": "lead-x-tax",
                "status": "success",
                "scenario": manifest["scenario"],
                "grid": {"lab.lead_days": [30, 60, 90, 120], "lab.tax": [0.1, 0.25, 0.5, 1.0]},
                "versions": manifest["versions"],
                "git": manifest["git"],
            }
        )
    )
    synthetic_points(replicates=6).write_parquet(out / "points.parquet")
    metrics = pl.read_parquet(tiny_dir / "metrics.parquet")
    rng = np.random.default_rng(1)
    for tax in (0.1, 0.5):
        for rep in range(3):
            part = out / "metrics" / f"lab.tax={tax}" / f"replicate={rep}"
            part.mkdir(parents=True)
            shift = rng.normal(0, 0.02) + (tax - 0.3) * np.linspace(0, 0.2, metrics.height)
            metrics.with_columns(pl.col("alignment_mean") + shift).write_parquet(
                part / "metrics.parquet"
            )
    return out
