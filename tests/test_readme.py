"""The README: a front door of at most about 250 lines whose tour blocks run verbatim in a fresh
clone (tests/doc_blocks.py), whose links lead to files that exist, and whose test command is the
one CI runs (tests/society/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_blocks import REPO, block, make_clone, run_bash, run_python

README = REPO / "README.md"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clone(tmp_path_factory)


def test_readme_is_a_front_door() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    for heading in ("## Set up and run: two commands", "## A tour for each kind of user"):
        assert heading in text
    assert "## What it deliberately does not model" in text
    # One tour per kind of user, each a block a test runs.
    for name, language in (("strategist", "bash"), ("researcher", "bash"), ("python", "python")):
        assert block(README, name, language).strip()


def test_readme_links_lead_to_files_that_exist() -> None:
    targets = re.findall(r"\]\(((?!https?://)[^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    assert targets
    missing = [t for t in targets if not (REPO / t).exists()]
    assert not missing, missing


@pytest.mark.slow
def test_strategist_tour_runs_verbatim_and_ends_with_a_verdict(clone: Path) -> None:
    r = run_bash(block(README, "strategist", "bash"), clone)
    assert "Shipped sweeps" in r.stdout
    verdicts = re.findall(r"^(yes|no|not established at this n): P\(safe\) = ", r.stdout, re.M)
    assert len(verdicts) == 1
    assert (clone / "runs" / "tour" / "rushed" / "report.html").is_file()
    assert (clone / "runs" / "tour" / "ask" / "points.parquet").is_file()


@pytest.mark.slow
def test_researcher_tour_runs_verbatim_with_a_frontier_and_sobol_indices(clone: Path) -> None:
    r = run_bash(block(README, "researcher", "bash"), clone)
    analysis = clone / "runs" / "tour" / "lead_vs_tax" / "analysis"
    assert (analysis / "frontier-safe-p0.5.png").is_file()
    assert "At lab.tax = 0.25: P(safe)" in " ".join(r.stdout.split())
    assert (clone / "runs/tour/sens/analysis/sobol-final_alignment.png").is_file()
    assert "matters most for final_alignment" in " ".join(r.stdout.split())


@pytest.mark.slow
def test_analyst_tour_runs_verbatim_and_saves_its_plot(clone: Path) -> None:
    r = run_python(block(README, "python", "python"), clone)
    assert (clone / "runs" / "tour" / "analyst" / "drift.png").stat().st_size > 10_000
    assert r.stdout.count("rushed-s") == 3  # one row per run
