"""The playground in a real browser (Debian's Chromium driven by Playwright): move the lead
slider, run, wait for the outcome chart, take screenshots at 1280 and 390 px, check the counts
against `society ask` with the same settings and seeds, run axe-core, and check that a bad
setting shows the CLI's own message."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

CHROMIUM = shutil.which("chromium")
SHOTS = Path(os.environ.get("SOCIETY_APP_SHOTS", "/tmp/app-shots"))
DOC_SHOT = Path(__file__).resolve().parents[2] / "docs" / "figures" / "playground.png"
SETTINGS = "scenario=baseline&seeds=4&size=200&days=120"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (`apt-get install -y chromium`, done by .ci/run); "
        "the playground's browser test needs it",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "society.cli", "app", "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path_factory.mktemp("app"),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield match.group(0)
    finally:
        workers = descendants(proc.pid)
        assert workers, "the app starts its worker pool at once"
        proc.terminate()
        proc.wait(timeout=30)
        # SIGTERM shuts the worker pool down: no process outlives the app
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived the app"
            time.sleep(0.2)


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), read from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def ask_counts(tmp_path: Path, command: str) -> tuple[dict[str, int], str]:
    """Outcome counts and answer of the exported `society ask` command, run as given."""
    words = shlex.split(command)
    assert words[:2] == ["society", "ask"]
    done = subprocess.run(
        [sys.executable, "-m", "society.cli", *words[1:], "--out", "ask"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: the claim's answer is "no"
    points = pl.read_parquet(tmp_path / "ask" / "points.parquet")
    counts: dict[str, int] = {}
    for outcome, cause in points.select("outcome", "catastrophe_cause").iter_rows():
        key = f"catastrophe: {cause}" if outcome == "catastrophe" else outcome
        counts[key] = counts.get(key, 0) + 1
    manifest = json.loads((tmp_path / "ask" / "manifest.json").read_text())
    return counts, manifest["ask"]["answer"]["sentence"]


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_move_the_lead_slider_run_and_match_the_cli(
    server: str, browser: Any, tmp_path: Path
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?" + SETTINGS)
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#f-lab-lead_days-slider", "30")  # move the lead slider
    assert page.input_value("#f-lab-lead_days") == "30"
    assert "lab.lead_days=30" in page.url  # the permalink follows
    page.click("#run")
    page.wait_for_selector("body[data-finished]", timeout=240_000)
    page.wait_for_selector("#outcome-chart svg")
    counts = json.loads(page.get_attribute("#outcome-chart", "data-counts") or "{}")
    answer = page.inner_text("#answer")
    page.screenshot(path=str(SHOTS / "playground-1280.png"), full_page=True)
    page.screenshot(path=str(SHOTS / "playground.png"), full_page=False)
    if os.environ.get("SOCIETY_UPDATE_DOC_SHOTS"):  # docs/playground.md's screenshot
        page.screenshot(path=str(DOC_SHOT), full_page=False)
    assert serious(page) == []

    # Export: the scenario file and the command; run them as a user would.
    page.click("#export")
    page.wait_for_selector("#download:not([hidden])")
    command = page.inner_text("#command").splitlines()[-1]
    name = page.get_attribute("#download", "download") or ""
    toml = page.evaluate("fetch(document.getElementById('download').href).then(r => r.text())")
    (tmp_path / name).write_text(toml)
    assert command == (
        f"society ask {name} --seeds 4 --size 200 --set days=120 --set lab.lead_days=30"
    )
    cli_counts, sentence = ask_counts(tmp_path, command)
    assert {k: v for k, v in counts.items() if v} == cli_counts
    assert sum(counts.values()) == 4
    assert sentence in answer

    # The permalink restores the settings in a fresh page, and the same view comes from cache.
    again = browser.new_page(viewport={"width": 390, "height": 844})
    again.goto(page.url)
    again.wait_for_selector("body[data-ready='1']")
    assert again.input_value("#f-lab-lead_days") == "30"
    again.click("#run")
    again.wait_for_selector("body[data-finished]", timeout=60_000)
    assert json.loads(again.get_attribute("#outcome-chart", "data-counts") or "{}") == counts
    again.screenshot(path=str(SHOTS / "playground-390.png"), full_page=True)
    width = again.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    assert serious(again) == []
    again.close()
    page.close()


def test_a_bad_setting_shows_the_cli_message(server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "?scenario=baseline&seeds=2&size=200")
    page.wait_for_selector("body[data-ready='1']")
    page.fill("#f-lab-tax", "500")
    page.click("#run")
    page.wait_for_selector("#error:not([hidden])")
    shown = page.inner_text("#error")
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "society.cli",
            "run",
            "baseline",
            "--set",
            "lab.tax=500",
            "--set",
            "population.size=200",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert cli.returncode == 2
    message = " ".join(cli.stderr.removeprefix("error: ").split())
    assert shown == message and "lab.tax = 500 is out of range" in shown
    page.screenshot(path=str(SHOTS / "playground-error.png"))
    page.close()
