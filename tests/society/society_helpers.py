"""Helpers shared by the society tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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


def assert_same_outputs(a: Path, b: Path) -> None:
    """Two runs' tables are identical, value for value, but for the ``run_id`` column that
    tells two runs (directories) apart."""
    import polars as pl

    from society.tidy import comparable

    for name in RUN_TABLES:
        fa = comparable(pl.read_parquet(a / f"{name}.parquet"))
        fb = comparable(pl.read_parquet(b / f"{name}.parquet"))
        assert fa.equals(fb), name
