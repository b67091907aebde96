"""Helpers shared by the society tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_cli(
    *args: str | Path, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``society ARGS`` as a user would: a real subprocess, its output captured (``env``:
    variables set on top of this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "society.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


RUN_TABLES = ("metrics", "events", "generations", "network_nodes", "network_edges")


def assert_identical(a: Any, b: Any) -> None:
    """Two polars frames hold the same values, exactly: polars' ``assert_frame_equal`` on its
    own allows a relative 1e-5 in floats, which would pass a run that differs in the fifth
    digit (a determinism bug)."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(a, b, check_exact=True)


def assert_same_outputs(a: Path, b: Path) -> None:
    """Two runs' tables are identical, value for value, but for the ``run_id`` column that
    tells two runs (directories) apart."""
    import polars as pl

    from society.tidy import comparable

    for name in RUN_TABLES:
        fa = comparable(pl.read_parquet(a / f"{name}.parquet"))
        fb = comparable(pl.read_parquet(b / f"{name}.parquet"))
        assert fa.equals(fb), name


def esteban_ray_reference(x: Any, alpha: float = 1.6, bins: int = 64) -> float:
    """Esteban-Ray polarization in the plain numpy expressions the metric first used (the
    reference the faster forms in society.metrics must match bit for bit)."""
    import numpy as np

    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-12:
        return 0.0
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    p = counts / x.size
    y = 0.5 * (edges[:-1] + edges[1:])
    dist = np.abs(y[:, None] - y[None, :])
    return float(np.sum((p ** (1.0 + alpha))[:, None] * p[None, :] * dist))


def reference_graphs() -> list[Any]:
    """Networks the fast metrics are checked on: a rewired small world (repeated links and
    self-loops), a sparse random graph (some nodes without links), and six nodes by hand."""
    import numpy as np

    from society.network import Network, random_graph, small_world

    rng = np.random.default_rng(3)
    moved = small_world(500, 8, 0.1, rng)
    links = rng.choice(moved.n_edges, size=200, replace=False)
    ends = rng.integers(0, 500, (2, 200)).astype(np.int32)
    moved.move_links(links, ends[0], ends[1])
    return [
        moved,
        random_graph(400, 3, rng),
        Network(6, np.array([0, 0, 1, 4], np.int32), np.array([1, 1, 2, 5], np.int32)),
    ]
