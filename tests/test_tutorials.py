"""Every marked command block of the documentation site (``<!-- docs-test: NAME -->``) runs
verbatim in a fresh clone, at the small size the tutorials use (tests/doc_blocks.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from doc_blocks import REPO, block, make_clone, marked_blocks, run_bash, run_python

DOCS = REPO / "docs"
GETTING_STARTED = DOCS / "getting-started.md"
TUTORIALS = DOCS / "tutorials"
#: Every page with marked blocks and the blocks a test below runs.
TESTED = {
    "getting-started.md": {"everyday", "python"},
    "tutorials/strategist.md": {"strategist"},
    "tutorials/researcher.md": {"researcher"},
    "tutorials/analyst.md": {"analyst-data", "analyst"},
}


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clone(tmp_path_factory)


def test_every_marked_block_of_the_site_is_run_by_a_test() -> None:
    found = {
        page.relative_to(DOCS).as_posix(): set(marked_blocks(page))
        for page in sorted(DOCS.rglob("*.md"))
        if marked_blocks(page)
    }
    assert found == TESTED
    for page in ("strategist.md", "researcher.md", "analyst.md"):  # one tutorial per user
        assert marked_blocks(TUTORIALS / page)


@pytest.mark.slow
def test_getting_started_everyday_block(clone: Path) -> None:
    r = run_bash(block(GETTING_STARTED, "everyday", "bash"), clone)
    assert (clone / "runs" / "gs" / "baseline" / "report.html").is_file()
    assert (clone / "runs" / "gs" / "rushed-taxed" / "metrics.parquet").is_file()
    assert "reproduced: every output" in r.stdout
    assert "lab.tax" in r.stdout  # society fields | grep lab.


@pytest.mark.slow
def test_getting_started_python_block(clone: Path) -> None:
    r = run_python(block(GETTING_STARTED, "python", "python"), clone)
    assert re.search(r"(safe|catastrophe|left_basin|undecided)", r.stdout)


@pytest.mark.slow
def test_strategist_tutorial(clone: Path) -> None:
    r = run_bash(block(TUTORIALS / "strategist.md", "strategist", "bash"), clone)
    verdicts = re.findall(r"^(yes|no|not established at this n): P\(safe\) = ", r.stdout, re.M)
    assert len(verdicts) == 2  # one per ask, each its last line
    assert "Priors: P integrates over 3 uncertain field(s)" in r.stdout
    tutorial = clone / "runs" / "tutorial"
    assert (tutorial / "rushed" / "report.html").is_file()
    assert any((tutorial / "compare").glob("*.png"))
    assert (tutorial / "ask-priors" / "summary.parquet").is_file()


@pytest.mark.slow
def test_researcher_tutorial(clone: Path) -> None:
    r = run_bash(block(TUTORIALS / "researcher.md", "researcher", "bash"), clone)
    words = " ".join(r.stdout.split())
    assert "runs: 144" in words  # the dry run of the shipped file
    assert "P(safe) >= 0.5 holds in" in words  # the claim per arm
    sweep = clone / "runs" / "tutorial" / "lead_vs_tax"
    assert (sweep / "report.html").is_file()
    assert (sweep / "analysis" / "frontier-safe-p0.5.png").is_file()
    assert "matters most for final_alignment" in words


@pytest.mark.slow
def test_analyst_tutorial(clone: Path) -> None:
    run_bash(block(TUTORIALS / "analyst.md", "analyst-data", "bash"), clone)
    r = run_python(block(TUTORIALS / "analyst.md", "analyst", "python"), clone)
    assert (clone / "runs" / "analyst" / "drift.png").stat().st_size > 10_000
    assert (clone / "runs" / "analyst-sweeps" / "lead.png").stat().st_size > 10_000
    assert "p_lost_lead" in r.stdout and "in_basin" in r.stdout
