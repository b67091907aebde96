"""society ask: a claim answered from many runs, on the sweep engine; resumable; bad input.

The verdicts asserted here are recomputed from the runs' own points table, never hard-coded:
the model may change the outcomes, the machinery must answer whatever they are.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from society_helpers import assert_identical

from society.claims import Claim, answer
from society.cli import main as cli_main
from society.priors import read_priors
from society.scenario_files import load_scenario
from society.sequential import confidence_sequence
from society.sweeps.spec import prior_draws

WORKTREE = Path(__file__).resolve().parents[2]
#: tiny for 20 days: a run takes a fraction of a second.
SHORT = ["--set", "days=20"]
PRIORS = """
[priors."values.reflection_drift"]
dist = "loguniform"
low = 5e-6
high = 1e-4
why = "test"

[priors."rival.workforce_ratio"]
dist = "uniform"
low = 0.75
high = 1.25
why = "test"

[priors."hazards.loss_of_control"]
dist = "loguniform"
low = 1e-5
high = 1e-3
why = "test"
"""


def claim_args(outcome: str = "catastrophe", op: str = "<=", p: float = 0.5) -> list[str]:
    return [
        "--set",
        f"claim.outcome={outcome}",
        "--set",
        f'claim.op="{op}"',
        "--set",
        f"claim.p={p}",
    ]


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def points_of(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path / "points.parquet").sort("replicate")


@pytest.fixture(scope="module")
def prior_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("priors") / "p.toml"
    path.write_text(PRIORS)
    return path


def test_a_fixed_ask_prints_the_verdict_its_runs_give_in_a_sweep_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ask"
    args = ["ask", "tiny", *SHORT, *claim_args(), "--seeds", "6", "--workers", "2"]
    assert cli_main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    points = points_of(out)
    assert points.height == 6 and set(points["status"]) == {"success"}
    k = int(points["catastrophe"].sum())
    expected = answer(Claim(outcome="catastrophe", op="<=", p=0.5), k, 6)
    assert last_line(printed) == expected.sentence()
    assert "Claim: P(catastrophe) <= 0.5" in printed and "Clopper-Pearson" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["ask"]["answer"]["verdict"] == expected.verdict
    # A sweep directory: sweep-summary reads it and states the same answer.
    assert cli_main(["sweep-summary", str(out)]) == 0
    summary_text = capsys.readouterr().out
    assert f"Answer: {expected.sentence()}" in summary_text
    table = pl.read_parquet(out / "summary.parquet")
    row = table.filter(pl.col("statistic") == "claim").row(0, named=True)
    assert (row["outcome"], row["verdict"], row["n"]) == ("catastrophe", expected.verdict, 6)
    assert row["low"] == pytest.approx(expected.low) and row["high"] == pytest.approx(expected.high)


def test_until_decided_stops_at_the_first_look_that_clears_p(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # days_simulated >= 1 holds in every run, so P = 1 and the sequence clears 0.3 as soon as
    # it can: after the first batch of 6 (its lower end at 6 of 6 is 0.44).
    out = tmp_path / "decided"
    claim = ["--set", "claim.metric=days_simulated", "--set", "claim.threshold=1.0"]
    claim += ["--set", "claim.p=0.3"]
    args = ["ask", "tiny", *SHORT, *claim, "--seeds", "6", "--until-decided", "--workers", "2"]
    assert cli_main([*args, "--max-seeds", "30", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lo, hi = confidence_sequence(6, 6)
    assert lo > 0.3
    assert last_line(printed) == f"yes: P(days_simulated >= 1) = 1.00 [{lo:.2f}, 1.00] >= 0.3"
    assert "Looks: 1 (events/runs after each batch of 6: 6/6); stopped when it decided" in printed
    assert "confidence sequence" in printed
    assert points_of(out).height == 6  # no run beyond the deciding look
    # sweep-summary judges the directory with the rule that chose its number of runs.
    assert cli_main(["sweep-summary", str(out)]) == 0
    assert f"Answer: {last_line(printed)}" in capsys.readouterr().out
    row = pl.read_parquet(out / "summary.parquet").filter(pl.col("statistic") == "claim")
    assert row["method"].to_list() == ["confidence_sequence"]
    assert row["low"].to_list() == [pytest.approx(lo)]


def start_ask(out: Path, prior_file: Path, *extra: str) -> subprocess.Popen[str]:
    """``society ask`` in a subprocess in its own process group (a kill reaches its workers).

    Claim P(catastrophe) >= 0.5 in batches of 2 up to 6 runs: at 6 runs or fewer the
    sequence holds 0.5 whatever the runs give (at 0 of 6 its upper end is 0.56), so the ask
    always makes all three looks.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "society.cli", "ask", "tiny", *SHORT,
         *claim_args(op=">="), "--priors", str(prior_file), "--seeds", "2", "--until-decided",
         "--max-seeds", "6", "--workers", "1", "--out", str(out), *extra],
        env={**os.environ, "PYTHONPATH": str(WORKTREE)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip


@pytest.mark.slow
def test_a_killed_ask_resumes_to_the_identical_answer(
    tmp_path: Path, prior_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = tmp_path / "whole"
    args = ["ask", "tiny", *SHORT, *claim_args(op=">="), "--priors", str(prior_file)]
    args += ["--seeds", "2", "--until-decided", "--max-seeds", "6", "--workers", "1"]
    assert cli_main([*args, "--out", str(whole)]) == 0  # as start_ask runs it, uninterrupted
    stdout = capsys.readouterr().out
    assert "Looks: 3" in stdout and confidence_sequence(0, 6)[1] > 0.5

    killed = tmp_path / "killed"
    proc = start_ask(killed, prior_file)
    deadline = time.monotonic() + 120  # a hang guard, not a timing assertion
    while len(list((killed / "points").glob("*.json"))) < 3:  # inside the second look
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the ask made no progress"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list((killed / "points").glob("*.json"))) < 6
    assert cli_main(["ask", "--resume", str(killed)]) == 0
    assert last_line(capsys.readouterr().out) == last_line(stdout)
    assert_identical(points_of(killed), points_of(whole))
    looks = [json.loads((d / "manifest.json").read_text())["ask"]["looks"] for d in (whole, killed)]
    assert looks[0] == looks[1] and [look["runs"] for look in looks[0]] == [2, 4, 6]
    # Each look's verdict is the sequence's on the first n runs.
    points = points_of(whole)
    for look in looks[0]:
        k = int(points.head(look["runs"])["catastrophe"].sum())
        claim = Claim(outcome="catastrophe", op=">=", p=0.5)
        assert (look["k"], look["verdict"]) == (
            k,
            answer(claim, k, look["runs"], rule="sequential").verdict,
        )
    # Run i drew prior draw i: Latin hypercube blocks of one batch, the same in both asks.
    base_seed = load_scenario("tiny").seed  # an ask's replicate seeds start from the scenario's
    draws = prior_draws(read_priors([prior_file]), 6, 2, base_seed)
    assert points["values__reflection_drift"].to_list() == [
        d["values.reflection_drift"] for d in draws
    ]
    assert "Priors: P integrates over 3 uncertain field(s)" in stdout


def test_fields_pinned_by_set_are_not_drawn(
    tmp_path: Path, prior_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pinned"
    args = ["ask", "tiny", *SHORT, *claim_args(), "--priors", str(prior_file), "--seeds", "4"]
    args += ["--set", "rival.workforce_ratio=1.5", "--workers", "2", "--out", str(out)]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    points = points_of(out)
    assert {"values__reflection_drift", "hazards__loss_of_control"} <= set(points.columns)
    assert "rival__workforce_ratio" not in points.columns
    assert not any("." in c for c in points.columns)
    priors = read_priors([prior_file]).without(["rival.workforce_ratio"])
    draws = prior_draws(priors, 4, 4, load_scenario("tiny").seed)
    assert points["hazards__loss_of_control"].to_list() == [
        d["hazards.loss_of_control"] for d in draws
    ]
    assert "Priors: P integrates over 2 uncertain field(s)" in printed
    # The runs used the drawn values: each run's metrics say which draw it ran with.
    metrics = pl.scan_parquet(out / "metrics" / "**" / "*.parquet", hive_partitioning=True)
    per_run = metrics.select("replicate", "hazards__loss_of_control").unique().collect()
    assert per_run.sort("replicate")["hazards__loss_of_control"].to_list() == [
        d["hazards.loss_of_control"] for d in draws
    ]


@pytest.mark.parametrize(
    ("setup", "args", "words"),
    [
        ("bad_claim", ["ask", "{dir}/bad_claim.toml"], "Allowed outcomes: safe"),
        ("broken_priors", ["ask", "essay_one_month", "--priors", "{dir}/p.toml"], "cannot be read"),
        ("unknown_prior", ["ask", "essay_one_month", "--priors", "{dir}/p.toml"], "lab.tax"),
        ("sweep", ["ask", "{dir}/s.toml"], "is a sweep file, not a scenario"),
        (None, ["ask", "tiny"], "has no [claim]"),
        (None, ["ask", "essay_one_month", "--max-seeds", "50"], "--max-seeds caps"),
        (None, ["ask", "essay_one_month", "--seeds", "0"], "--seeds 0"),
        (None, ["ask", "essay_one_month", "--priors", "{dir}/none.toml"], "not found"),
        (None, ["ask", "--resume", "{dir}", "--seeds", "3"], "would change it"),
        (None, ["ask", "--resume", "{dir}"], "no manifest.json"),
    ],
)
def test_bad_input_is_one_paragraph_exit_2_and_nothing_is_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str | None,
    args: list[str],
    words: str,
) -> None:
    files = {
        "bad_claim": ("bad_claim.toml", '[claim]\noutcome = "sae"\np = 0.9\n'),
        "broken_priors": ("p.toml", "[priors\n"),
        "unknown_prior": (
            "p.toml",
            '[priors."lab.taks"]\ndist = "uniform"\nlow = 0.0\nhigh = 1.0\nwhy = "w"\n',
        ),
        "sweep": ("s.toml", 'scenario = "tiny"\n[grid]\n"lab.tax" = [0.0, 1.0]\n'),
    }
    if setup is not None:
        name, text = files[setup]
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli_main([a.replace("{dir}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3  # one paragraph, wrapped at most by the console
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no runs/, no directory


def test_an_asks_runs_record_metrics_every_five_days_unless_told(tmp_path: Path) -> None:
    from society.asking import ASK_RECORD_EVERY, AskSession, plan_from
    from society.sweeps.store import SweepStore

    out = tmp_path / "ask"
    args = ["ask", "tiny", *SHORT, *claim_args(), "--seeds", "2", "--workers", "1"]
    assert cli_main([*args, "--out", str(out)]) == 0
    metrics = pl.read_parquet(out / "metrics" / "**" / "*.parquet", hive_partitioning=True)
    assert sorted(set(metrics["day"])) == [0, 5, 10, 15, 20] and ASK_RECORD_EVERY == 5
    daily = tmp_path / "daily"
    assert cli_main([*args, "--set", "record.every_days=1", "--out", str(daily)]) == 0
    rows = pl.read_parquet(daily / "metrics" / "**" / "*.parquet", hive_partitioning=True)
    assert sorted(set(rows["day"])) == list(range(21))
    # The outcomes do not depend on the cadence.
    columns = ["replicate", "outcome", "catastrophe_day", "cumulative_hazard", "final_alignment"]
    assert points_of(out).select(columns).equals(points_of(daily).select(columns))
    # An ask started before this default (its sweep fixed no cadence) resumes with none.
    plan = plan_from("tiny", overrides=["days=20"], seeds=2)
    legacy = {"sweep": {"spec": {"set": {"days": 20}}}}
    assert "record.every_days" not in AskSession(plan, SweepStore(tmp_path / "x"), legacy).sets
    assert AskSession(plan, SweepStore(tmp_path / "y"), None).sets["record.every_days"] == 5
