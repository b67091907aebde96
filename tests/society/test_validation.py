"""The reference suite: every case passes at quick sizes, and the suite's plumbing works."""

from __future__ import annotations

import math

import polars as pl
import pytest
from rich.console import Console

from society import validation
from society.validation import (
    CASES,
    SCHEMA,
    CaseResult,
    case_rng,
    print_table,
    run_case,
    run_suite,
    write_validation,
)

SLOW = {
    "voter_consensus_time",
    "holme_newman_phi0.05",
    "deffuant_eps0.5",
    "deffuant_eps0.3",
    "deffuant_eps0.2",
}

# The number each case must measure (at quick sizes), asserted directly as well as via `passed`.
EXPECTED: dict[str, tuple[float, float]] = {  # case -> (value, absolute tolerance)
    "degroot_consensus": (0.0, 1e-9),
    "friedkin_johnsen_fixed_point": (0.0, 1e-9),
    "deffuant_eps0.5": (1, 0),
    "deffuant_eps0.3": (1, 0),
    "deffuant_eps0.2": (2, 0),
    "hegselmann_krause_eps0.18": (0.0, 0),
    "hegselmann_krause_eps0.25": (1.0, 0),
    "voter_consensus_time": (199 * math.log(2), 0.05 * 199 * math.log(2)),
    "holme_newman_phi0.05": (0.95, 0.05),
    "holme_newman_phi0.9": (0.03, 0.03),
    "basin_formula_tau0.25": (0.375, 1e-12),
    "basin_empirical_tau0.25": (0.375, 0.001),
    "basin_formula_tau1.0": (0.1875, 1e-12),
    "basin_empirical_tau1.0": (0.1875, 0.001),
    "bimodality_uniform": (5 / 9, 0.01),
    "bimodality_normal": (1 / 3, 0.01),
    "wasserstein_shift": (0.3, 0.01),
    # Largest distance of an estimated Sobol index from the analytic one (N = 1024).
    "ishigami_sobol_first_order": (0.0, 0.03),
    "ishigami_sobol_total": (0.0, 0.03),
    "prim_known_box": (0.95, 0.05),  # min(coverage, density), at most 0.99 with 1% noise
    # Error rates of `society ask --until-decided`: anywhere in [0, alpha = 0.05] ...
    "ask_sequential_at_threshold": (0.025, 0.025),
    "ask_sequential_below_threshold": (0.025, 0.025),
    "ask_sequential_above_threshold": (0.025, 0.025),
    # ... and a fixed-n interval looked at every batch: well above it (0.155 at seed 0).
    "ask_repeated_fixed_looks": (0.155, 0.05),
}


def test_every_case_has_an_expected_value():
    assert set(EXPECTED) == set(CASES)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES]
)
def test_reference_case(name):
    row = run_case(name, quick=True, seed=0)
    value, tol = EXPECTED[name]
    assert abs(row["measured"] - value) <= tol, row
    assert row["passed"], row
    assert row["reference"] and row["parameters"] and row["tolerance"]
    assert row["seconds"] >= 0


def test_cases_can_fail():
    wrong = validation._deffuant_case(0.2, expected=1)(True, case_rng("x", 0))
    assert not wrong.passed and wrong.measured == 2
    hk = validation._hk_case(0.18, consensus=True)(True, case_rng("x", 0))
    assert not hk.passed


def test_sensitivity_cases_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    # Indices 0.1 off the analytic ones lie outside the intervals (half-widths about 0.05).
    s1, st = validation.ishigami_indices(7.0, 0.1)
    monkeypatch.setattr(
        validation, "ishigami_indices", lambda a, b: ([v + 0.1 for v in s1], [v + 0.1 for v in st])
    )
    shifted = validation._ishigami_case("ST")(True, case_rng("ishigami_sobol_total", 0))
    assert not shifted.passed and shifted.measured == pytest.approx(0.1, abs=0.03)


def test_ishigami_reference_values_match_salib_docs() -> None:
    s1, st = validation.ishigami_indices(7.0, 0.1)
    assert [round(v, 3) for v in s1] == [0.314, 0.442, 0.0]
    assert [round(v, 3) for v in st] == [0.558, 0.442, 0.244]


def test_case_streams_are_independent_and_reproducible():
    a = case_rng("deffuant_eps0.5", 0).random(3)
    assert (a == case_rng("deffuant_eps0.5", 0).random(3)).all()
    assert not (a == case_rng("deffuant_eps0.3", 0).random(3)).any()
    assert not (a == case_rng("deffuant_eps0.5", 1).random(3)).any()


@pytest.fixture
def small_suite(monkeypatch):
    def failing(quick, rng):
        return CaseResult("toy", "p", "ref 1 (nowhere)", 2.0, "exact", False)

    cases = {n: CASES[n] for n in ("degroot_consensus", "basin_formula_tau1.0")}
    cases["toy_failure"] = failing
    monkeypatch.setattr(validation, "CASES", cases)
    return run_suite(quick=True, seed=3)


def test_run_suite_schema(small_suite):
    df = small_suite
    assert df.schema == pl.Schema(SCHEMA)
    assert df["case"].to_list() == ["degroot_consensus", "basin_formula_tau1.0", "toy_failure"]
    assert df["passed"].to_list() == [True, True, False]


def test_write_validation_round_trip(small_suite, tmp_path):
    path = write_validation(small_suite, tmp_path)
    assert path.name == "validation.parquet"
    assert path.parent.parent == tmp_path
    assert path.parent.name.startswith("validation-") and path.parent.name.endswith("Z")
    assert len(path.parent.name) == len("validation-20250101T000000Z")
    back = pl.read_parquet(path)
    assert back.equals(small_suite)


def test_print_table_reports_failures(small_suite):
    console = Console(record=True, width=200)
    print_table(small_suite, console)
    text = console.export_text()
    assert "degroot_consensus" in text and "FAIL" in text
    assert "2/3 cases passed" in text
