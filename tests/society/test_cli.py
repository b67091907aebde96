"""The CLI through a real subprocess: outputs, exit codes, one-paragraph errors."""

from __future__ import annotations

from pathlib import Path

from society_helpers import run_cli as society


def test_run_prints_summary_and_ends_with_the_run_directory(tmp_path: Path) -> None:
    r = society("run", "tiny", "--set", "days=10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    run_dir = Path(lines[-1])
    assert (tmp_path / run_dir / "metrics.parquet").is_file()
    assert "outcome" in r.stdout and "mean alignment, start -> end" in r.stdout
    assert "day 10/10" in r.stderr and "generation 1" in r.stderr  # the progress bar


def test_quiet_prints_only_the_run_directory(tmp_path: Path) -> None:
    r = society("run", "tiny", "--quiet", "--out", "x", "--seed", "3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "x" and r.stderr == ""


def test_user_errors_exit_2_with_one_paragraph_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[population\nsize = 3\n")
    cases = {
        ("run", "tiny", "--set", "population.sise=10"): "Did you mean 'population.size'?",
        ("run", "tiny", "--set", "lab.tax=abc"): "lab.tax = 'abc' has the wrong type",
        ("run", "tiny", "--set", "population.size=1"): "allowed range [2, 5e+06]",
        ("run", "broken.toml"): "broken.toml: TOML syntax error",
        ("run", "missing.toml"): "missing.toml' not found",
        ("check", "tiny", "--set", "days=0"): "days = 0 is out of range",
    }
    for args, needle in cases.items():
        r = society(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) <= 6  # one soft-wrapped paragraph
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_out_directory_is_not_overwritten_without_force(tmp_path: Path) -> None:
    assert (
        society("run", "tiny", "--quiet", "--set", "days=2", "--out", "o", cwd=tmp_path).returncode
        == 0
    )
    r = society("run", "tiny", "--quiet", "--set", "days=2", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "--force" in r.stderr
    assert (
        society(
            "run", "tiny", "--quiet", "--set", "days=2", "--out", "o", "--force", cwd=tmp_path
        ).returncode
        == 0
    )


def test_scenarios_check_and_fields(tmp_path: Path) -> None:
    r = society("scenarios", cwd=tmp_path)
    assert r.returncode == 0
    for name in ("baseline", "rushed", "careful", "echo_chamber", "theft", "tiny"):
        assert name in r.stdout
    r = society("check", "rushed", "--set", "lab.tax=0.05", cwd=tmp_path)
    assert r.returncode == 0 and "tax = 0.05" in r.stdout and "lead_days = 30.0" in r.stdout
    r = society("fields", "--markdown", cwd=tmp_path)
    assert (
        r.returncode == 0
        and "| `lab.tax` | 0.025 | alignment effort / capability effort | [0, 100] | lever |"
        in r.stdout
    )


def test_validate_quick_passes_and_writes_parquet(tmp_path: Path) -> None:
    r = society("validate", "--quick", "--runs-dir", "v", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from society.validation import CASES

    assert f"{len(CASES)}/{len(CASES)} cases passed" in r.stdout
    assert "ask_sequential_at_threshold" in r.stdout
    import polars as pl

    frame = pl.read_parquet(tmp_path / r.stdout.strip().splitlines()[-1])
    assert frame.height == len(CASES) and frame["passed"].all()


def test_fields_prints_every_key_whole_into_a_pipe(tmp_path: Path) -> None:
    from society.scenario import iter_fields

    r = society("fields", cwd=tmp_path)
    assert r.returncode == 0 and "…" not in r.stdout
    rows = {line.split("│")[1].strip() for line in r.stdout.splitlines() if line.count("│") > 2}
    assert {f["key"] for f in iter_fields()} <= rows
    assert "society fields --markdown" in r.stdout


def test_replay_and_resume_refuse_a_different_scenario(tmp_path: Path) -> None:
    assert (
        society(
            "run", "tiny", "--quiet", "--no-report", "--set", "days=8", "--out", "r", cwd=tmp_path
        ).returncode
        == 0
    )
    r = society(
        "run", "--replay", "r", "--set", "lab.tax=0.9", "--quiet", "--no-report", cwd=tmp_path
    )
    assert r.returncode == 2 and "differ from it in lab.tax" in r.stderr
    assert "Traceback" not in r.stderr
    r = society("run", "baseline", "--replay", "r", "--quiet", "--no-report", cwd=tmp_path)
    assert r.returncode == 2 and "population.size" in r.stderr
    # The same scenario and overrides as stored: accepted.
    r = society(
        "run",
        "tiny",
        "--replay",
        "r",
        "--set",
        "days=8",
        "--quiet",
        "--no-report",
        "--out",
        "again",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr


def test_run_prints_the_question_and_a_verdict(tmp_path: Path) -> None:
    r = society("run", "tiny", "--no-report", "--out", "v", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "Verdict: Undecided after 60 days" in text or "Verdict: " in text
    assert "(-)" not in text and "False" not in text and "True" not in text


def test_every_help_ends_with_examples_that_parse() -> None:
    import re
    import shlex

    from society.cli.commands import COMMANDS
    from society.cli.main import build_parser

    parser = build_parser()
    for command in COMMANDS:
        lines = [line.strip() for line in command.EXAMPLES.splitlines()[1:] if line.strip()]
        assert 2 <= len(lines) <= 3, command.NAME
        for line in lines:
            words = shlex.split(re.split(r"[|>]", line)[0])
            assert words[:2] == ["society", command.NAME.split()[0]], line
            parser.parse_args(words[1:])  # every flag an example shows exists
