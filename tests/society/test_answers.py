"""Sweeps and runs that answer: the claim per arm, the claim note of `society run`, the shipped
sweeps in `society scenarios`, the dry run's estimate, and tidy tables read by society.scan."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import society
from society.claims import Claim, answer
from society.cli import main as cli_main
from society.errors import RunDirectoryError
from society.llm.setup import expected_usage
from society.scenario_files import load_scenario
from society.sweeps.runner import run_sweep
from society.tidy import IDENTITY

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
CLAIMED = f"""scenario = "{TINY}"
replicates = 3
seed = 5
[set]
days = 20
[grid]
"lab.tax" = [0.0, 1.0]
[claim]
metric = "final_tax"
metric_op = "<="
threshold = 0.5
op = ">="
p = 0.2
"""


@pytest.fixture(scope="module")
def claimed_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("claimed")
    (root / "s.toml").write_text(CLAIMED)
    result = run_sweep(root / "s.toml", out=root / "out", workers=2)
    assert result.failed == 0
    return root / "out"


def test_sweep_summary_judges_the_claim_in_every_arm(
    claimed_sweep: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sweep-summary", str(claimed_sweep)]) == 0
    printed = capsys.readouterr().out
    points = pl.read_parquet(claimed_sweep / "points.parquet")
    claim = Claim(metric="final_tax", metric_op="<=", threshold=0.5, op=">=", p=0.2)
    verdicts = []
    for arm in (0, 1):
        runs = points.filter(pl.col("arm") == arm)
        k = int((runs["final_tax"] <= 0.5).sum())
        verdicts.append(answer(claim, k, runs.height).verdict)
    holds = verdicts.count("yes")
    assert f"Answer: P(final_tax <= 0.5) >= 0.2 holds in {holds} of 2 arms" in printed
    assert "Clopper-Pearson" in printed
    table = pl.read_parquet(claimed_sweep / "summary.parquet")
    rows = table.filter(pl.col("statistic") == "claim").sort("arm")
    assert rows["verdict"].to_list() == verdicts
    assert rows["outcome"].to_list() == ["final_tax <= 0.5"] * 2
    assert rows["lab__tax"].to_list() == [0.0, 1.0]
    # The sweep report opens with the same answer.
    assert cli_main(["report", str(claimed_sweep)]) == 0
    html = (claimed_sweep / "report.html").read_text()
    assert f"P(final_tax &lt;= 0.5) &gt;= 0.2 holds in {holds} of 2 arms" in html


def test_a_run_with_a_claim_names_the_ask_that_answers_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "essay_one_month", "--set", "population.size=100", "--set", "days=3"]
    assert cli_main([*args, "--no-report", "--out", str(tmp_path / "r")]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # unwrapped
    assert "Claim: P(safe) >= 0.9. One seed cannot answer it" in printed
    command = "society ask essay_one_month --set population.size=100 --set days=3 --until-decided"
    assert command in printed
    assert (
        cli_main(["run", "tiny", "--set", "days=3", "--no-report", "--out", str(tmp_path / "t")])
        == 0
    )
    assert "One seed cannot answer" not in capsys.readouterr().out  # tiny makes no claim


def test_scenarios_lists_claims_and_shipped_sweeps(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["scenarios"]) == 0
    printed = capsys.readouterr().out
    assert "P(safe) >= 0.9" in printed and "P(safe) >= 0.5" in printed
    assert "Shipped sweeps" in printed
    for name in ("essay_claim", "lead_vs_tax", "smoke"):
        assert name in printed
    assert " 144 " in printed  # lead_vs_tax: 12 arms x 12 replicates


def test_dry_run_counts_runs_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    smoke = WORKTREE / "scenarios" / "sweeps" / "smoke.toml"
    assert cli_main(["sweep", str(smoke), "--dry-run", "--replicates", "3"]) == 0
    printed = capsys.readouterr().out
    assert "runs: 6" in printed and "estimated wall time" in printed
    assert "basis: one point (200 instances)" in printed and "5 simulated days" in printed
    assert "LLM calls" not in printed
    assert list(tmp_path.iterdir()) == []
    llm = tmp_path / "llm.toml"
    llm.write_text('scenario = "llm_small"\nreplicates = 2\n[grid]\n"lab.tax" = [0.0, 0.5]\n')
    assert cli_main(["sweep", str(llm), "--dry-run"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    per_run = expected_usage(load_scenario("llm_small"))["calls"]
    assert f"LLM calls: ~{4 * per_run:,} over the runs" in printed
    assert "runs stub societies only" in printed
    assert cli_main(["sweep", str(llm)]) == 2  # the sweep itself is refused, as before
    assert "sweeps run stub societies only" in capsys.readouterr().err


def test_scan_stacks_runs_and_sweeps_each_row_with_its_identity(
    tmp_path: Path, claimed_sweep: Path
) -> None:
    runs = tmp_path / "runs"
    a = society.run("tiny", overrides={"days": 4}, out=runs / "a")
    b = society.run("tiny", seed=9, overrides={"days": 4}, out=runs / "b")
    frame = society.scan(str(runs / "*")).collect()
    assert frame.columns[:4] == list(IDENTITY)
    assert frame.group_by("run_id").len().sort("run_id").rows() == [("a", 5), ("b", 5)]
    assert set(frame.select("seed", "outcome").unique().rows()) == {
        (7, a.summary["outcome"]),
        (9, b.summary["outcome"]),
    }
    events = society.scan([runs / "a", runs / "b"], table="events").collect()
    assert set(events["run_id"]) <= {"a", "b"}
    # A run written before its tables carried their identity gets it from its manifest.
    old = pl.read_parquet(runs / "b" / "metrics.parquet").drop(*IDENTITY)
    old.write_parquet(runs / "b" / "metrics.parquet")
    again = society.scan(str(runs / "*")).collect().sort("run_id", "day")
    assert again.equals(frame.sort("run_id", "day"))
    # A sweep: its partitions, with identity, swept values, arm and replicate.
    swept = society.scan(claimed_sweep).collect()
    assert {"run_id", "lab__tax", "arm", "replicate", "outcome"} <= set(swept.columns)
    assert swept.select("run_id").n_unique() == 6
    mixed = society.scan([runs / "a", claimed_sweep]).collect()
    assert mixed.height == 5 + swept.height
    with pytest.raises(RunDirectoryError, match="metrics only"):
        society.scan(claimed_sweep, table="events")
    with pytest.raises(RunDirectoryError, match="matches no run directory"):
        society.scan(str(tmp_path / "nothing-*"))


def test_no_parquet_a_sweep_writes_has_a_dot_in_a_column_name(claimed_sweep: Path) -> None:
    for path in claimed_sweep.rglob("*.parquet"):
        names = pl.read_parquet_schema(path)
        assert not any("." in name for name in names), path
    manifest = json.loads((claimed_sweep / "manifest.json").read_text())
    assert manifest["sweep"]["columns"] == {"lab__tax": "lab.tax"}


def test_society_scan_stays_the_function_once_every_module_is_imported() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(society.__path__, "society."):
        if not module.name.startswith("society.cli.__main__"):
            importlib.import_module(module.name)
    assert callable(society.scan)
