"""The HTML report: self-contained, names its views, opens in headless Chromium and shows the
figures; and the report of a 10,000-instance, 365-day run is written within 10 s."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import society
from viz import RUN_VIEWS, SWEEP_VIEWS, write_compare, write_report

CHROMIUM = next(
    (c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None
)
# In CI the browser is installed by .ci/run, so a missing one is a failure, not a skip.
NO_BROWSER = CHROMIUM is None and not os.environ.get("CI")


def _views_named(text: str, names: list[str]) -> None:
    for name in names:
        assert f'id="view-{name}"' in text, f"view {name} missing from the report"


def test_run_report_is_self_contained(network_dir: Path) -> None:
    path = write_report(network_dir)
    assert path == network_dir / "report.html"
    text = path.read_text()
    _views_named(text, list(RUN_VIEWS))
    assert text.count("data:image/png;base64,") == len(RUN_VIEWS)
    assert not re.search(r'(src|href)="(https?:)?//', text), "external asset referenced"
    for heading in ("Outcome summary", "Resolved scenario", "Provenance", "Generations"):
        assert heading in text
    assert "population.size" in text
    assert "tiny" in text and "git.commit" in text
    # The verdict is the first paragraph after the question, before any table or figure.
    verdict = text.index('<p class="verdict"><strong>Verdict:</strong>')
    assert verdict < text.index("<nav>") and verdict < text.index("data:image/png")


def test_run_report_notes_missing_snapshots(tiny_dir: Path, tmp_path: Path) -> None:
    import shutil

    run = shutil.copytree(tiny_dir, tmp_path / "run")
    for name in ("network_nodes.parquet", "network_edges.parquet"):
        (run / name).unlink(missing_ok=True)
    text = write_report(run, out=tmp_path / "r.html", figures_dir=tmp_path / "f").read_text()
    assert "network: skipped" in text
    assert len(list((tmp_path / "f").glob("*.png"))) == len(RUN_VIEWS) - 1


def test_report_of_bare_run(bare_dir: Path, tmp_path: Path) -> None:
    text = write_report(bare_dir, out=tmp_path / "r.html").read_text()
    assert "No events were recorded" in text
    _views_named(text, [v for v in RUN_VIEWS if v != "network"])


def test_sweep_report(sweep_dir: Path, tmp_path: Path) -> None:
    text = write_report(sweep_dir, out=tmp_path / "sweep.html").read_text()
    _views_named(text, list(SWEEP_VIEWS))
    assert "Wilson" in text and "Paired differences" in text
    # The outcomes in the order of `society sweep-summary`: P(safe) first, then P(catastrophe)
    # and by cause, P(left basin), P(lost lead).
    order = [text.index(f"<h3>P({o}) with Wilson") for o in ("safe", "catastrophe")]
    order += [text.index("<h3>P(catastrophe) by cause</h3>")]
    order += [text.index(f"<h3>P({o}) with Wilson") for o in ("left basin", "lost lead")]
    assert order == sorted(order)
    # A grid's pooled probabilities depend on the grid, not on anything a reader can use.
    assert "over all runs" not in text and "overall" not in text
    assert "averaged over" in text or "pooled_over" in text
    assert "stayed in basin) with Wilson" not in text


def test_compare_report(tiny_dir: Path, bare_dir: Path, tmp_path: Path) -> None:
    path = write_compare([tiny_dir, bare_dir], tmp_path / "cmp")
    text = path.read_text()
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 10_000
    assert "<td>days</td>" in text  # the scenarios differ in days
    assert 'id="view-compare"' in text and "Outcomes" in text


def _screenshot(html: Path, png: Path) -> np.ndarray:
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={png.parent / 'profile'}",
            "--window-size=1200,2400",
            f"--screenshot={png}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return imread(png)[..., :3]


@pytest.mark.skipif(
    NO_BROWSER,
    reason="chromium is not installed (`apt-get install -y "
    "chromium`, done by .ci/run); cannot screenshot the report",
)
def test_report_screenshot_shows_figures(tiny_dir: Path, tmp_path: Path) -> None:
    report = write_report(tiny_dir, out=tmp_path / "report.html")
    pixels = _screenshot(report, tmp_path / "shot.png")
    assert pixels.shape[0] >= 2000
    assert float(pixels.std()) > 0.05, "screenshot is blank"
    # The figures start below the summary table; the lower half of the page is mostly figures:
    # it must hold many coloured (not grey) pixels, which text and tables alone do not have.
    lower = pixels[pixels.shape[0] // 2 :]
    chroma = lower.max(axis=-1) - lower.min(axis=-1)
    assert float((chroma > 0.15).mean()) > 0.01, "no coloured figure pixels in the screenshot"
    assert float(lower.std()) > 0.05


@pytest.mark.skipif(NO_BROWSER, reason="chromium is not installed")
def test_text_only_page_fails_the_figure_check(tmp_path: Path) -> None:
    """The screenshot check above can tell a page without figures from one with them."""
    page = tmp_path / "blank.html"
    page.write_text("<html><body>" + "<p>text only</p>" * 200 + "</body></html>")
    lower = _screenshot(page, tmp_path / "blank.png")[1200:]
    chroma = lower.max(axis=-1) - lower.min(axis=-1)
    assert float((chroma > 0.15).mean()) < 0.01


@pytest.mark.slow
def test_baseline_report_draws_a_full_year(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Keep going past any catastrophe so that the report has a full year of metrics to draw
    # whatever the draws. (How long a report takes is a benchmark, not a test.)
    run = society.run(
        "baseline",
        out=tmp_path_factory.mktemp("runs") / "baseline",
        overrides={"outcomes.stop_on_catastrophe": False, "days": 365},
    )
    assert run.metrics["n_instances"][0] == 10_000 and run.metrics["day"].max() == 365
    html = write_report(run.path).read_text()
    assert html.count("data:image/png;base64,") == len(RUN_VIEWS)
    _views_named(html, list(RUN_VIEWS))


def test_an_llm_run_report_shows_how_its_decisions_were_made(tmp_path: Path) -> None:
    from viz.llm_calls import decision_outcomes

    result = society.run(
        "llm_small",
        overrides={"llm.backend": "stub", "days": 3, "tests.every_days": 2},
        out=tmp_path / "llm",
    )
    text = write_report(result.path, figures_dir=result.path / "figures").read_text()
    _views_named(text, ["llm"])
    assert "LLM decisions" in text
    assert imread(result.path / "figures" / "llm.png").shape[1] > 800
    import polars as pl

    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    table = decision_outcomes(calls)
    total = table.filter(pl.col("decision") == "all").row(0, named=True)
    assert total["calls"] == calls.height == result.summary["llm_calls"]
    assert total["accepted"] + total["repaired"] + total["fell back"] == calls.height
    kinds = table.filter(pl.col("decision") != "all")
    assert kinds["calls"].sum() == calls.height
    assert set(kinds["decision"]) == set(calls["decision"])
    assert f'<td>all</td><td class="num">{calls.height}</td>' in text
    # A run recorded before llm_calls had its mode, repair and state columns still reports.
    old = calls.drop("structured", "repaired", "role", "alignment", "hacking", "tax", "lead",
                     "peer_alignment", "answer")  # fmt: skip
    old.write_parquet(result.path / "llm_calls.parquet")
    assert 'id="view-llm"' in write_report(result.path).read_text()
    assert decision_outcomes(old)["repaired"].sum() == 0
    # A run without LLM calls has no such section.
    plain = society.run("tiny", overrides={"days": 5}, out=tmp_path / "plain")
    assert 'id="view-llm"' not in write_report(plain.path).read_text()
