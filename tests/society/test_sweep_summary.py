"""sweep-summary: Wilson intervals, paired differences, the printed table."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from society.cli import main as cli_main
from society.sweep import run_sweep
from society.sweep_summary import paired_difference, summarise, wilson

WORKTREE = Path(__file__).resolve().parents[2]


@settings(deadline=None)
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = wilson(k, n)
    if n == 0:
        assert math.isnan(lo) and math.isnan(hi)
    else:
        assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_wilson_known_values() -> None:
    # Reference values (Wilson 1927; e.g. statsmodels proportion_confint(method="wilson")).
    assert wilson(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert wilson(1, 12) == pytest.approx((0.014865, 0.353880), abs=1e-5)
    assert wilson(8, 8, confidence=0.9)[1] == 1.0


def test_paired_difference_t_interval() -> None:
    mean, lo, hi = paired_difference([1.0, 0.0, 1.0, 1.0])
    half = 3.182446 * math.sqrt(0.25) / 2  # t(0.975, 3) * sd / sqrt(n)
    assert (mean, lo, hi) == pytest.approx((0.75, 0.75 - half, 0.75 + half), abs=1e-6)
    assert math.isnan(paired_difference([1.0])[1])


def frame(rows: list[tuple[int, int, bool, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "arm": [r[0] for r in rows],
            "replicate": [r[1] for r in rows],
            "lab.tax": [float(r[0]) for r in rows],
            "stayed_in_basin": [r[2] for r in rows],
            "catastrophe": [not r[2] for r in rows],
            "lost_lead": [False for _ in rows],
            "status": [r[3] for r in rows],
        }
    )


def test_summarise_pairs_replicates_and_skips_failures() -> None:
    points = frame(
        [
            (0, 0, True, "success"),
            (0, 1, False, "success"),
            (0, 2, True, "success"),
            (1, 0, True, "success"),
            (1, 1, True, "success"),
            (1, 2, False, "error"),
        ]
    )
    table = summarise(points, ["lab.tax"], reference_arm=0)
    ref, arm = table.row(0, named=True), table.row(1, named=True)
    assert ref["reference"] and not arm["reference"]
    assert (arm["runs"], arm["failed"], arm["n_paired"]) == (3, 1, 2)
    assert arm["p_basin"] == 1.0
    assert ref["p_basin"] == pytest.approx(2 / 3)
    assert arm["d_basin"] == pytest.approx(0.5)  # replicate 0: 0, replicate 1: +1
    assert arm["d_catastrophe"] == pytest.approx(-0.5)
    assert ref["d_basin"] == 0.0
    assert -1.0 <= arm["d_basin_lo"] <= arm["d_basin"] <= arm["d_basin_hi"] <= 1.0


def test_sweep_summary_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smoke"
    run_sweep(WORKTREE / "scenarios" / "sweeps" / "smoke.toml", out=out, workers=2)
    capsys.readouterr()
    assert cli_main(["sweep-summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "P(outcome) per arm" in printed
    assert "paired difference vs reference arm 0" in printed
    assert "P basin" in printed and "Δ lost lead" in printed
    table = pl.read_parquet(out / "summary.parquet")
    assert table["arm"].to_list() == [0, 1]
    assert table["runs"].to_list() == [2, 2]
    assert cli_main(["sweep-summary", str(out), "--reference", "1"]) == 0
    assert "reference arm 1" in capsys.readouterr().out
    assert cli_main(["sweep-summary", str(out), "--reference", "7"]) == 2
    assert "reference arm 7 is not in this sweep" in capsys.readouterr().err
    assert cli_main(["sweep-summary", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
