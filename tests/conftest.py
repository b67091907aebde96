"""Shared fixtures: small scenarios and finished runs, made once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

import society

# CI explores the same examples on every run (a red CI then always means the change, not a
# new draw); locally, Hypothesis keeps drawing fresh ones and remembers the failures it finds.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> society.RunResult:
    """A finished run of the shipped tiny scenario."""
    return society.run("tiny", runs_dir=tmp_path_factory.mktemp("runs"))
