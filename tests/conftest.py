"""Shared fixtures: small scenarios and finished runs, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

import society

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> society.RunResult:
    """A finished run of the shipped tiny scenario."""
    return society.run("tiny", runs_dir=tmp_path_factory.mktemp("runs"))
