"""`society mechanisms`: the paired ablation table, its statistics and the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from society_helpers import run_cli

from society.errors import SocietyError
from society.sweeps.ablation import (
    MEASURES,
    MECHANISMS,
    Ablation,
    Check,
    by_name,
    paired_interval,
    summarise,
)

# Checks whose effects are large enough to be clear even at the quick size (8 seeds of 300).
ROBUST = {
    ("AI speed", "progress_per_day"),
    ("capability at deference", "research_quality"),
    ("capability at deference", "work_per_instance"),
    ("echo chamber", "truth_distance"),
    ("echo chamber", "research_quality"),
    ("memetic drift", "final_alignment"),
    ("test gaming", "false_pass"),
    ("theft", "mean_lead"),
    ("pressure to rush", "mean_tax"),
    ("monitoring", "uncaught"),
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


def test_every_row_checks_known_measures_and_names_are_unique() -> None:
    names = [m.name for m in MECHANISMS]
    assert len(names) == len(set(names)) == 16
    for mech in MECHANISMS:
        for check in mech.checks:
            assert check.measure in MEASURES
            assert check.low in mech.arms and check.high in mech.arms
    with pytest.raises(SocietyError, match="unknown mechanism 'nope'"):
        by_name(["nope"])


@pytest.mark.slow
def test_quick_table_runs_every_mechanism_and_the_clear_effects_hold(tmp_path: Path) -> None:
    proc = run_cli("mechanisms", "--quick", "--runs-dir", tmp_path, cwd=tmp_path, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    path = Path(proc.stdout.strip().splitlines()[-1])
    if not path.is_absolute():
        path = tmp_path / path
    table = pl.read_parquet(path)
    assert set(table["mechanism"]) == {m.name for m in MECHANISMS}
    checked = table.filter(pl.col("expected_sign") != 0)
    passed = {
        (r["mechanism"], r["measure"]) for r in checked.filter("passed").iter_rows(named=True)
    }
    assert passed >= ROBUST, ROBUST - passed
    assert checked["passed"].mean() >= 0.75
    assert ("checks passed" in proc.stdout) or ("checks passed" in proc.stderr)
    assert (proc.returncode == 0) == bool(checked["passed"].all())


def test_bad_arguments_are_one_paragraph_errors(tmp_path: Path) -> None:
    proc = run_cli("mechanisms", "--only", "nope", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown mechanism 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("mechanisms", "--seeds", "1", cwd=tmp_path)
    assert proc.returncode == 2 and "at least 2 seeds" in proc.stderr
    proc = run_cli("mechanisms", "no_such_scenario", cwd=tmp_path)
    assert proc.returncode == 2 and "not found" in proc.stderr
    assert not (tmp_path / "runs").exists()
