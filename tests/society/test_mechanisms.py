"""`society mechanisms`: the paired ablation table, its statistics and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from rich.console import Console
from society_helpers import run_cli

from society import load_scenario
from society.cli.mechanisms import render
from society.errors import SocietyError
from society.model import SocietyModel
from society.scenario import Scenario
from society.store.provenance import model_fingerprint, vector_maths
from society.sweeps.ablation import (
    MEASURES,
    MECHANISMS,
    Ablation,
    Check,
    _tasks,
    by_name,
    checked,
    measures_of,
    paired_interval,
    row_readings,
    row_verdicts,
    runs_frame,
    sign_test,
    summarise,
)

# Checks whose effects are large enough to be clear even at the quick size (8 seeds of 300
# instances over one year, each seed with its own draw of the priors).
ROBUST = {
    ("echo chamber", "truth_distance"),
    ("echo chamber", "research_quality"),
    ("test gaming", "false_pass"),
    ("pressure to rush", "mean_tax"),
    ("monitoring", "uncaught_share"),
    ("test cadence", "test_validity"),
    ("capability at deference", "research_quality"),
    ("alignment work at equal capability", "protection_at_c"),
}


def test_paired_interval_is_a_t_interval_over_pairs_with_both_values() -> None:
    a = np.array([0.0, 0.0, 1.0, 0.0, np.nan])
    b = np.array([1.0, 1.0, 1.0, 0.0, 1.0])
    mean, lo, hi, n = paired_interval(a, b)
    assert n == 4 and mean == 0.5
    assert lo < 0 < hi  # four pairs: not clear
    mean, lo, hi, n = paired_interval(np.zeros(30), np.ones(30))
    assert (mean, lo, hi, n) == (1.0, 1.0, 1.0, 30)


def test_a_check_passes_only_when_its_interval_excludes_zero_on_the_expected_side() -> None:
    row = Ablation(
        "toy",
        "x 0 -> 1",
        "y up",
        {"low": {}, "high": {}},
        (Check("p_safe", +1), Check("final_alignment", -1)),
    )
    results = {}
    for seed in range(20):
        results[("toy", "low", seed)] = dict.fromkeys(MEASURES, 0.0)
        results[("toy", "high", seed)] = {
            **dict.fromkeys(MEASURES, 0.0),
            "p_safe": 1.0,  # clearly up: passes
            "final_alignment": 0.01 if seed % 2 else -0.01,  # a coin flip: fails
        }
    table = summarise(results, [row], 20)
    checks = {r["measure"]: r["passed"] for r in table.iter_rows(named=True)}
    assert checks["p_safe"] is True and checks["final_alignment"] is False
    shown = table.filter(pl.col("expected_sign") == 0)
    assert set(shown["measure"]) == {"p_catastrophe", "p_left_basin"}
    assert shown["passed"].is_null().all()
    # Asked-for measures join the headline, unchecked; a checked one is not repeated.
    results[("toy", "high", 0)]["p_period_ended"] = 1.0
    table = summarise(results, [row], 20, ["p_period_ended", "p_safe"])
    extra = table.filter(pl.col("measure") == "p_period_ended").row(0, named=True)
    assert extra["expected_sign"] == 0 and extra["passed"] is None
    assert extra["diff"] == pytest.approx(1 / 20) and extra["pairs"] == 20
    assert table.filter(pl.col("measure") == "p_safe").height == 1
    # Each check counts the seeds that rose and fell, and the printed table names them
    # beside a check that fails (a coin flip here: 10 up, 10 down).
    coin = table.filter(pl.col("measure") == "final_alignment").row(0, named=True)
    assert (coin["up"], coin["down"]) == (10, 10)
    assert (extra["up"], extra["down"]) == (1, 0)
    console = Console(width=400, record=True)
    console.print(render(table, 20, 300))
    printed = console.export_text()
    assert "final_alignment -: +0 [-0.0048,+0.0048] (10 up, 10 down)" in printed.replace("\n", "")
    assert "p_safe +: +100 [+100,+100] (" not in printed


def test_every_run_is_kept_with_every_measure() -> None:
    results = {
        ("toy", arm, seed): {**dict.fromkeys(MEASURES, 0.0), "p_safe": float(seed)}
        for arm in ("low", "high")
        for seed in range(3)
    }
    frame = runs_frame(results)
    assert frame.height == 6
    assert frame.columns == ["mechanism", "arm", "seed", *MEASURES]
    assert frame.filter(pl.col("arm") == "high")["p_safe"].to_list() == [0.0, 1.0, 2.0]


def test_every_row_checks_known_measures_and_names_are_unique() -> None:
    names = [m.name for m in MECHANISMS]
    assert len(names) == len(set(names)) == 34
    for mech in MECHANISMS:
        for check in mech.checks:
            assert check.measure in MEASURES
            assert check.low in mech.arms and check.high in mech.arms
    with pytest.raises(SocietyError, match="unknown mechanism 'nope'"):
        by_name(["nope"])


def test_every_row_expands_to_valid_runs_with_paired_prior_draws() -> None:
    """Every arm of every row resolves to a valid scenario; seed r has the same draw of the
    priors in both arms, except for the keys the row itself turns."""
    tasks = _tasks("baseline", MECHANISMS, 2, 100)
    assert len(tasks) == 2 * sum(len(m.arms) for m in MECHANISMS)
    by = {(name, arm, seed): doc for name, arm, seed, doc in tasks}
    low, high = by[("lead time", "low", 1)], by[("lead time", "high", 1)]
    assert low["knowledge"] == high["knowledge"] and low["hazards"] == high["hazards"]
    assert (low["lab"]["lead_days"], high["lab"]["lead_days"]) == (20.0, 180.0)
    other = by[("lead time", "low", 0)]
    assert other["knowledge"]["rate"] != low["knowledge"]["rate"]  # another draw
    revolt = by[("revolts", "low", 0)]
    assert revolt["revolt"]["threshold_mean"] == 0.12  # the scenario's stated condition
    assert by[("revolts", "high", 0)]["population"]["initial_alignment"] == 0.5
    plain = _tasks("baseline", MECHANISMS[:1], 2, 100, priors=())
    assert plain[0][3]["knowledge"]["rate"] == Scenario().knowledge.rate  # the median
    # A --set holds in every run of every row, is never drawn, and yields to a row's arms.
    held = _tasks(
        "baseline",
        by_name(["lead time", "initialization"]),
        2,
        100,
        sets={"knowledge.faith_floor": 0.6, "knowledge.rate": 0.05, "lab.lead_days": 90.0},
    )
    assert {doc["knowledge"]["faith_floor"] for *_, doc in held} == {0.6}
    assert {doc["knowledge"]["rate"] for *_, doc in held} == {0.05}
    leads = {(name, arm): doc["lab"]["lead_days"] for name, arm, _, doc in held}
    assert leads[("lead time", "low")] == 20.0 and leads[("initialization", "low")] == 90.0
    drawn = {(name, seed, doc["knowledge"]["difficulty"]) for name, _, seed, doc in held}
    assert len(drawn) == 4  # the other priors are still drawn: per row, one draw per seed


@pytest.mark.slow
def test_quick_table_runs_and_the_clear_effects_hold(tmp_path: Path) -> None:
    rows = sorted({name for name, _ in ROBUST})
    only = [arg for name in rows for arg in ("--only", name)]
    proc = run_cli(
        "mechanisms",
        "--quick",
        *only,
        "--show",
        "p_period_ended",
        "--runs-dir",
        tmp_path,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    if not path.is_absolute():
        path = tmp_path / path
    table = pl.read_parquet(path)
    assert set(table["mechanism"]) == set(rows)
    passed = {
        (r["mechanism"], r["measure"])
        for r in checked(table).filter("passed").iter_rows(named=True)
    }
    assert passed >= ROBUST, ROBUST - passed
    assert "rows hold" in proc.stdout + proc.stderr
    assert (proc.returncode == 0) == all(row_verdicts(table).values())
    # The asked-for measure in every row; every run's measures beside the table, from which
    # each row's arm means follow.
    shown = table.filter(pl.col("measure") == "p_period_ended")
    assert set(shown["mechanism"]) == set(rows) and shown["passed"].is_null().all()
    assert "shown: p_period_ended" in proc.stdout
    runs = pl.read_parquet(path.parent / "runs.parquet")
    assert runs.height == 8 * sum(len(by_name([n])[0].arms) for n in rows)
    for r in checked(table).iter_rows(named=True):
        arm = runs.filter(
            (pl.col("mechanism") == r["mechanism"]) & (pl.col("arm") == r["high_arm"])
        )
        assert arm[r["measure"]].drop_nans().mean() == pytest.approx(r["high_mean"], nan_ok=True)
    assert "--show p_period_ended" in json.loads((path.parent / "run.json").read_text())["command"]
    # Where it ran, to reproduce it: the code, the packages, the CPU's vector maths.
    meta = json.loads((path.parent / "run.json").read_text())
    assert meta["platform"]["numpy_simd"] == vector_maths() and "numpy" in meta["versions"]
    assert meta["model"] == model_fingerprint()  # the model the numbers are of


def test_bad_arguments_are_one_paragraph_errors(tmp_path: Path) -> None:
    proc = run_cli("mechanisms", "--only", "nope", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown mechanism 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("mechanisms", "--seeds", "1", cwd=tmp_path)
    assert proc.returncode == 2 and "at least 2 seeds" in proc.stderr
    proc = run_cli("mechanisms", "no_such_scenario", cwd=tmp_path)
    assert proc.returncode == 2 and "not found" in proc.stderr
    proc = run_cli("mechanisms", "--priors", "no_such_priors.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "Prior file 'no_such_priors.toml' not found" in proc.stderr
    proc = run_cli("mechanisms", "--priors", "model", "--no-priors", cwd=tmp_path)
    assert proc.returncode == 2 and "contradict" in proc.stderr
    proc = run_cli("mechanisms", "--set", "knowledge.faith_flor=0.6", cwd=tmp_path)
    assert proc.returncode == 2 and "Did you mean 'knowledge.faith_floor'" in proc.stderr
    proc = run_cli("mechanisms", "--show", "p_safety", cwd=tmp_path)
    assert proc.returncode == 2 and "--show p_safety: not a measure" in proc.stderr
    assert "p_period_ended" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_a_floor_check_and_an_any_of_row_are_judged_as_stated() -> None:
    row = Ablation(
        "toy",
        "x",
        "y",
        {"low": {}, "high": {}},
        (Check("p_safe", 0, floor=-0.1), Check("final_alignment", +1)),
        any_of=True,
    )
    results = {}
    for seed in range(20):
        results[("toy", "low", seed)] = dict.fromkeys(MEASURES, 0.0)
        results[("toy", "high", seed)] = {
            **dict.fromkeys(MEASURES, 0.0),
            "p_safe": -0.05,  # down, but by less than the floor of 0.1: passes
            "final_alignment": 0.01 if seed % 2 else -0.01,  # a coin flip: fails
        }
    table = summarise(results, [row], 20)
    checks = {r["measure"]: r["passed"] for r in checked(table).iter_rows(named=True)}
    assert checks == {"p_safe": True, "final_alignment": False}
    assert row_verdicts(table) == {"toy": True}  # one of its checks holds


def test_a_clear_direction_with_an_unclear_mean_reads_direction_only_never_holds() -> None:
    def toy(name: str, sign: int = +1) -> Ablation:
        return Ablation(name, "x", "y", {"low": {}, "high": {}}, (Check("safe_chance", sign),))

    # One seed tips far, eleven rise a little, eight do not move: the mean's interval covers
    # 0, but 12 up and 0 down is clear (sign test p = 2 / 2**12).
    tipped = [1.0] + [0.001] * 11 + [0.0] * 8
    # The same seeds, but the one that tips falls: most rise, the mean falls.
    hurt = [-1.0] + [0.001] * 11 + [0.0] * 8
    coin = [0.001] * 7 + [-0.001] * 5 + [0.0] * 8  # 7 up, 5 down: p = 0.77
    rows = [toy("tipped"), toy("hurt"), toy("coin"), toy("falls", -1)]
    results = {}
    for seed in range(20):
        for name, moves in (("tipped", tipped), ("hurt", hurt), ("coin", coin)):
            results[(name, "low", seed)] = dict.fromkeys(MEASURES, 0.0)
            results[(name, "high", seed)] = {
                **dict.fromkeys(MEASURES, 0.0),
                "safe_chance": moves[seed],
            }
        results[("falls", "low", seed)] = dict.fromkeys(MEASURES, 0.0)
        results[("falls", "high", seed)] = {
            **dict.fromkeys(MEASURES, 0.0),
            "safe_chance": tipped[seed],
        }
    table = summarise(results, rows, 20)
    check = checked(table).filter(pl.col("mechanism") == "tipped").row(0, named=True)
    assert check["ci_low"] < 0 < check["diff"] and check["passed"] is False
    assert (check["up"], check["down"]) == (12, 0)
    assert check["sign_p"] == pytest.approx(2 / 2**12) and check["reading"] == "direction"
    # Only the clear direction the row expects reads "direction"; it never counts as holding.
    assert row_readings(table) == {
        "tipped": "direction", "hurt": "fails", "coin": "fails", "falls": "fails",
    }  # fmt: skip
    assert row_verdicts(table) == dict.fromkeys(("tipped", "hurt", "coin", "falls"), False)
    assert sign_test(7, 5) == pytest.approx(0.774, abs=1e-3)
    console = Console(width=400, record=True)
    console.print(render(table, 20, 300))
    printed = console.export_text().replace("\n", "")
    assert "(12 up, 0 down, sign test p 0.0005)" in printed
    assert printed.count("direction") == 1 and printed.count("FAIL") == 3


def test_extra_prior_files_are_drawn_in_every_row(tmp_path: Path) -> None:
    extra = tmp_path / "disagreement.toml"
    extra.write_text(
        '[priors."network.disagreement"]\ndist = "uniform"\nlow = 0.3\nhigh = 0.7\n'
        'why = "unknown: wide"\n'
    )
    tasks = _tasks("baseline", by_name(["theft"]), 8, 100, priors=("model", str(extra)))
    drawn = {seed: doc["network"]["disagreement"] for _, arm, seed, doc in tasks if arm == "low"}
    assert len(set(drawn.values())) == 8 and all(0.3 <= f <= 0.7 for f in drawn.values())
    assert all(doc["network"]["disagreement"] == drawn[seed] for _, _, seed, doc in tasks)
    proc = run_cli(
        "mechanisms",
        "--quick",
        "--only",
        "theft",
        "--priors",
        "model",
        str(extra),
        "--runs-dir",
        tmp_path,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "disagreement.toml" in proc.stderr.replace("\n", "")  # the header names what is drawn
    path = Path(proc.stdout.strip().splitlines()[-1])
    meta = json.loads(
        ((path if path.is_absolute() else tmp_path / path).parent / "run.json").read_text()
    )
    assert meta["priors"] == ["model", str(extra)] and "--priors model" in meta["command"]


def test_two_tables_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    """The folder is named by the second the table starts; a second table in that second (two
    scripts, or a retry) gets ``-2`` instead of failing with "File exists"."""
    from datetime import timedelta

    from society.store.rundir import utc_now, utc_stamp

    now = utc_now()
    for k in range(60):  # every name the table could take in the next minute is taken
        (tmp_path / "runs" / f"mechanisms-{utc_stamp(now + timedelta(seconds=k))}").mkdir(
            parents=True
        )
    proc = run_cli("mechanisms", "--quick", "--only", "theft", cwd=tmp_path, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path.parent.name.startswith("mechanisms-") and path.parent.name.endswith("-2")
    assert (tmp_path / path).is_file()


@pytest.mark.parametrize(
    "world",
    [
        {},  # the race lost slowly: the hazard stays above the end level
        {"knowledge.ideas_harder": 0.66},  # knowledge wins: the period ends
    ],
)
def test_the_end_gap_is_below_zero_exactly_when_the_hazard_condition_of_the_end_is_met(
    world: dict[str, float],
) -> None:
    # Recorded every day, the gap reads every day of the final stretch, so its sign is the
    # engine's own judgement of the period's end (the basin held in both worlds).
    s = load_scenario(
        "essay_one_month",
        overrides={"population.size": 100, "record.every_days": 1, **world},
    )
    model = SocietyModel(s)
    model.run()
    summary = model.summary()
    assert summary["stayed_in_basin"]
    gap = measures_of(model)["end_gap"]
    assert math.isfinite(gap)
    assert (gap <= 0) == summary["period_ended"]
    assert summary["period_ended"] == bool(world)
