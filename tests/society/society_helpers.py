"""Helpers shared by the society tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``society ARGS`` as a user would: a real subprocess, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "society.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
