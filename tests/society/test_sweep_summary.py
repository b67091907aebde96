"""sweep-summary: Wilson intervals, paired differences, the printed table."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from society.cli import main as cli_main
from society.sweeps.runner import run_sweep
from society.sweeps.summary import paired_difference, summarise, wilson

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


def frame(rows: list[tuple[int, int, str, str]]) -> pl.DataFrame:
    """points.parquet rows ``(arm, replicate, outcome, status)``; the outcome is one of
    safe, undecided, left_basin or ``catastrophe:<cause>``; failed runs have no outcome."""
    out = [r[2] if r[3] == "success" else None for r in rows]
    return pl.DataFrame(
        {
            "arm": [r[0] for r in rows],
            "replicate": [r[1] for r in rows],
            "lab.tax": [float(r[0]) for r in rows],
            "safe": [None if o is None else o == "safe" for o in out],
            "stayed_in_basin": [None if o is None else o != "left_basin" for o in out],
            "catastrophe": [None if o is None else o.startswith("catastrophe") for o in out],
            "catastrophe_cause": [
                o.split(":")[1] if o and o.startswith("catastrophe") else None for o in out
            ],
            "lost_lead": [None if o is None else r[1] == 0 for o, r in zip(out, rows, strict=True)],
            "status": [r[3] for r in rows],
        },
        schema_overrides={"catastrophe_cause": pl.String},
    )


def test_summarise_pairs_replicates_and_skips_failures() -> None:
    points = frame(
        [
            (0, 0, "safe", "success"),
            (0, 1, "catastrophe:loss_of_control", "success"),
            (0, 2, "left_basin", "success"),
            (0, 3, "safe", "success"),
            (1, 0, "safe", "success"),
            (1, 1, "safe", "success"),
            (1, 2, "catastrophe:rival_ahead", "success"),
            (1, 3, "undecided", "error"),
        ]
    )
    table = summarise(points, ["lab.tax"], reference_arm=0)
    ref, arm = table.row(0, named=True), table.row(1, named=True)
    assert ref["reference"] and not arm["reference"]
    assert (arm["runs"], arm["failed"], arm["n_paired"]) == (4, 1, 3)
    assert (ref["runs"], ref["failed"], ref["n_paired"]) == (4, 0, 4)
    # P(outcome) over the finished runs: arm 1 has 3 (the failed one is left out).
    assert ref["p_safe"] == 0.5 and arm["p_safe"] == pytest.approx(2 / 3)
    assert ref["p_catastrophe"] == 0.25 and arm["p_catastrophe"] == pytest.approx(1 / 3)
    assert ref["p_left_basin"] == 0.25 and arm["p_left_basin"] == 0.0
    assert ref["p_lost_lead"] == 0.25 and arm["p_lost_lead"] == pytest.approx(1 / 3)
    assert ref["p_cause_loss_of_control"] == 0.25 and arm["p_cause_loss_of_control"] == 0.0
    assert arm["p_cause_rival_ahead"] == pytest.approx(1 / 3) and ref["p_cause_rival_ahead"] == 0
    assert ref["p_cause_misuse"] == 0.0 and ref["p_cause_revolt"] == 0.0
    assert (ref["p_safe_lo"], ref["p_safe_hi"]) == pytest.approx(wilson(2, 4))
    # Paired over replicates 0-2 (3 failed in arm 1): safe 0, +1, 0; catastrophe 0, -1, +1;
    # left basin 0, 0, -1; the catastrophe's cause: loss of control 0, -1, 0.
    assert arm["d_safe"] == pytest.approx(1 / 3)
    assert arm["d_catastrophe"] == pytest.approx(0.0)
    assert arm["d_left_basin"] == pytest.approx(-1 / 3)
    assert arm["d_lost_lead"] == 0.0
    assert arm["d_cause_loss_of_control"] == pytest.approx(-1 / 3)
    assert arm["d_cause_rival_ahead"] == pytest.approx(1 / 3)
    mean, lo, hi = paired_difference([0.0, 1.0, 0.0])
    assert (arm["d_safe_lo"], arm["d_safe_hi"]) == pytest.approx((max(lo, -1.0), min(hi, 1.0)))
    assert arm["d_safe_lo"] == -1.0  # the t interval is clipped to [-1, 1]
    assert ref["d_safe"] == 0.0 and ref["d_catastrophe"] == 0.0
    assert -1.0 <= arm["d_safe_lo"] <= arm["d_safe"] <= arm["d_safe_hi"] <= 1.0
    # One column per outcome and cause, with intervals and differences; no v1 'basin' left.
    assert not any("basin" in c and "left_basin" not in c for c in table.columns)
    for label in ("safe", "catastrophe", "left_basin", "lost_lead", "cause_misuse"):
        for part in ("p", "d"):
            assert {f"{part}_{label}", f"{part}_{label}_lo", f"{part}_{label}_hi"} <= set(
                table.columns
            )


def test_sweep_summary_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smoke"
    run_sweep(WORKTREE / "scenarios" / "sweeps" / "smoke.toml", out=out, workers=2)
    capsys.readouterr()
    assert cli_main(["sweep-summary", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "P(outcome) per arm" in printed
    assert "paired difference vs reference arm 0" in printed
    assert "P(catastrophe) by cause per arm" in printed
    # The outcome columns, P(safe) first, in both tables; the causes in the third.
    header = next(line for line in printed.splitlines() if "P safe" in line)
    assert [h.strip() for h in header.split("P ")[1:]] == [
        "safe",
        "catastrophe",
        "left basin",
        "lost lead",
    ]
    assert "Δ safe" in printed and "Δ left basin" in printed and "Δ lost lead" in printed
    causes = next(line for line in printed.splitlines() if "P loss of control" in line)
    assert [h.strip() for h in causes.split("P ")[1:]] == [
        "loss of control",
        "misuse",
        "rival ahead",
        "revolt",
    ]
    table = pl.read_parquet(out / "summary.parquet")
    # Long: one row per arm x statistic x outcome; no dotted names.
    assert not any("." in c for c in table.columns)
    assert {"arm", "lab__tax", "statistic", "outcome", "estimate", "low", "high", "n"} <= set(
        table.columns
    )
    assert table.select("arm", "statistic", "outcome").is_unique().all()
    assert sorted(set(table["arm"])) == [0, 1]
    assert set(table["runs"]) == {2}
    points = pl.read_parquet(out / "points.parquet")

    def estimate(arm: int, statistic: str, outcome: str) -> dict:
        return table.filter(
            (pl.col("arm") == arm)
            & (pl.col("statistic") == statistic)
            & (pl.col("outcome") == outcome)
        ).row(0, named=True)

    for arm in (0, 1):
        runs = points.filter(pl.col("arm") == arm)
        assert estimate(arm, "probability", "safe")["estimate"] == runs["safe"].mean()
        assert estimate(arm, "probability", "catastrophe")["estimate"] == runs["catastrophe"].mean()
        left = estimate(arm, "probability", "left_basin")
        assert left["estimate"] == (~runs["stayed_in_basin"]).mean() and left["n"] == 2
        assert estimate(arm, "probability", "lost_lead")["estimate"] == runs["lost_lead"].mean()
    # The reference arm against itself: every pair alike, so no interval (null, not 0/0/0).
    same = estimate(0, "paired_difference", "safe")
    assert same["estimate"] == 0.0 and same["low"] is None and same["high"] is None
    assert cli_main(["sweep-summary", str(out), "--reference", "1"]) == 0
    assert "reference arm 1" in capsys.readouterr().out
    assert cli_main(["sweep-summary", str(out), "--reference", "7"]) == 2
    assert "reference arm 7 is not in this sweep" in capsys.readouterr().err
    assert cli_main(["sweep-summary", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_wide_tables_are_printed_whole_into_a_pipe() -> None:
    """A grid sweep's tables are wider than the 80 columns rich assumes for a pipe or file;
    they are printed at their natural width, no cell cut to '…'."""
    import io

    from rich.console import Console

    from society.cli.sweep_summary import arm_tables, print_table

    rows = []
    for arm in range(3):  # lead 30, 90, 180 days
        for r in range(12):
            outcome = ["safe", "catastrophe:rival_ahead", "left_basin"][(arm + r) % 3]
            rows.append((arm, r, outcome, "success" if (arm, r) != (2, 0) else "error"))
    points = frame(rows).with_columns(
        pl.Series("lab.lead_days", [(30.0, 90.0, 180.0)[r[0]] for r in rows]),
        lost_lead=pl.col("arm") == 0,
    )
    table = summarise(points, ["lab.lead_days", "lab.tax"], reference_arm=1)
    buffer = io.StringIO()
    out = Console(file=buffer, width=80)
    for t in arm_tables(table, ["lab.lead_days", "lab.tax"], "grid", 0.95):
        print_table(out, t)
    text = buffer.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) > 80
    assert "12 (1 failed)" in text and "P catastrophe" in text and "P loss of control" in text
    # Arm 0 lost the lead in every replicate, arm 1 never: a difference every pair shares has
    # no interval, and the table says so instead of printing [+100,+100].
    assert "+100 (all alike)" in text and "[+100,+100]" not in text


def test_many_swept_keys_name_each_arm_by_what_it_changes() -> None:
    """A one-at-a-time design over many keys: one column per key would be hundreds of
    characters wide, so each arm is named by the keys it changes from the reference arm, in
    the tables and in the claim's answer."""
    import io

    from rich.console import Console

    from society.claims import Claim
    from society.cli.sweep_summary import arm_tables, print_table
    from society.sweeps.answers import arm_answers, claim_lines

    keys = [f"group.key_{i}" for i in range(6)]
    rows = [
        (arm, r, "safe" if arm == 3 else "undecided", "success")
        for arm in range(5)
        for r in range(4)
    ]
    points = frame(rows).with_columns(
        pl.Series(k, [0.5 if a[0] != 1 + i else 0.9 for a in rows]) for i, k in enumerate(keys)
    )
    table = summarise(points, keys, reference_arm=0)
    buffer = io.StringIO()
    for t in arm_tables(table, keys, "oat", 0.95):
        print_table(Console(file=buffer, width=200), t)
    text = buffer.getvalue()
    assert "changed from the reference" in text and "every key as in arm 0" in text
    assert "group.key_2 = 0.9" in text and "reference" in text
    assert max(len(line) for line in text.splitlines()) < 120  # not one column per key
    claim = Claim(outcome="safe", op=">=", p=0.5)
    columns = {k: k for k in keys}
    line = claim_lines(arm_answers(points, columns, claim), claim)[0]
    assert "group.key_2 0.9: 1.00" in line and "arm 0: 0.00" in line and "key_0 0.5" not in line
