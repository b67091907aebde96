"""Sweep files: expansion into points, common random numbers, and errors before any run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from society.cli import main as cli_main
from society.sweeps.spec import SweepError, load_sweep, replicate_seed

WORKTREE = Path(__file__).resolve().parents[2]
SWEEPS = WORKTREE / "scenarios" / "sweeps"
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()


def write(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'scenario = "{TINY}"\n' + body)
    return path


def test_shipped_sweeps_expand() -> None:
    headline = load_sweep(SWEEPS / "lead_vs_tax.toml")
    assert len(headline.arms) == 12
    assert len(headline.points) == 12 * len(headline.seeds)
    assert headline.arms[headline.reference_arm] == {"lab.lead_days": 90.0, "lab.tax": 0.5}
    assert all(s["population"]["size"] == 1000 for s in headline.scenarios)
    smoke = load_sweep(SWEEPS / "smoke.toml")
    assert [p.point_id for p in smoke.points] == sorted(p.point_id for p in smoke.points)


def test_grid_is_full_factorial_with_common_random_numbers(tmp_path: Path) -> None:
    sweep = load_sweep(
        write(
            tmp_path,
            'replicates = 3\nseed = 5\n[grid]\n"lab.lead_days" = [7, 30]\n'
            '"network.kind" = ["small_world", "random"]\n',
        )
    )
    assert sweep.arms == [
        {"lab.lead_days": 7.0, "network.kind": "small_world"},
        {"lab.lead_days": 7.0, "network.kind": "random"},
        {"lab.lead_days": 30.0, "network.kind": "small_world"},
        {"lab.lead_days": 30.0, "network.kind": "random"},
    ]
    seeds_by_replicate: dict[int, set[int]] = {}
    for p in sweep.points:
        seeds_by_replicate.setdefault(p.replicate, set()).add(p.seed)
        assert sweep.task(p)["scenario"]["seed"] == p.seed
    assert all(len(s) == 1 for s in seeds_by_replicate.values())
    assert [next(iter(seeds_by_replicate[r])) for r in range(3)] == [
        replicate_seed(5, r) for r in range(3)
    ]
    assert len(set(sweep.seeds)) == 3
    # The seed depends only on the base seed and the replicate, not on the grid.
    other = load_sweep(write(tmp_path, 'replicates = 2\nseed = 5\n[grid]\n"lab.tax" = [1.0]\n'))
    assert other.seeds == sweep.seeds[:2]


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_sample_stays_in_ranges_and_is_deterministic(tmp_path: Path, method: str) -> None:
    body = (
        f'replicates = 2\n[sample]\nmethod = "{method}"\nn = 8\n'
        'ranges = { "lab.tax" = [0.0, 2.0], "network.mean_degree" = [4, 12] }\n'
        '[grid]\n"lab.lead_days" = [30, 90]\n'
    )
    a, b = load_sweep(write(tmp_path, body)), load_sweep(write(tmp_path, body, "t.toml"))
    assert len(a.arms) == 16
    assert a.arms == b.arms
    for arm in a.arms:
        assert 0.0 <= arm["lab.tax"] <= 2.0
        assert isinstance(arm["network.mean_degree"], int)
        assert 4 <= arm["network.mean_degree"] <= 12
    assert len({arm["lab.tax"] for arm in a.arms}) == 8


BAD = {
    "unknown top-level key": (
        'replicate = 3\n[grid]\n"lab.tax" = [0.0]\n',
        ["unknown key 'replicate'", "Did you mean 'replicates'?"],
    ),
    "empty grid": ("replicates = 2\n[grid]\n", ["[grid] is empty"]),
    "empty value list": ('[grid]\n"lab.tax" = []\n', ['"lab.tax" = [] has no values']),
    "not a scenario field": (
        '[grid]\n"lab.taxx" = [0.0, 1.0]\n',
        ['"lab.taxx" is not a scenario field', "Did you mean 'lab.tax'?"],
    ),
    "a section, not a field": ('[grid]\n"lab" = [1]\n', ['"lab" is not a scenario field']),
    "value out of range": (
        '[grid]\n"lab.tax" = [0.5, -1.0]\n',
        ["arm 1 (lab.tax = -1.0) is not a valid scenario", "out of range"],
    ),
    "seed is swept": ('[grid]\n"seed" = [1, 2]\n', ['"seed" cannot be swept']),
    "sobol size": (
        '[sample]\nmethod = "sobol"\nn = 10\nranges = { "lab.tax" = [0.0, 1.0] }\n',
        ["power-of-two", "n = 16"],
    ),
    "sample of text field": (
        '[sample]\nmethod = "lhs"\nn = 4\nranges = { "network.kind" = [0.0, 1.0] }\n',
        ["only int and float fields can be sampled"],
    ),
    "nothing to sweep": ("replicates = 2\n", ["nothing to sweep"]),
    "reference matches nothing": (
        'reference = { "lab.tax" = 0.3 }\n[grid]\n"lab.tax" = [0.0, 1.0]\n',
        ["matches no arm"],
    ),
    "unknown sample key": (
        '[sample]\nmethod = "lhs"\nn = 4\nrange = { "lab.tax" = [0.0, 1.0] }\n',
        ["unknown key 'sample.range'", "Did you mean 'ranges'?"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_file_exits_2_before_any_run(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body, expected = BAD[case]
    path = write(tmp_path, body)
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert str(path) in message
    for text in expected:
        assert text in message
    assert not out.exists()


def test_missing_scenario_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s.toml").write_text('scenario = "nosuch"\n[grid]\n"lab.tax" = [0.0]\n')
    assert cli_main(["sweep", str(tmp_path / "s.toml")]) == 2
    assert "scenario = 'nosuch': not found" in " ".join(capsys.readouterr().err.split())
    assert cli_main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SweepError, match="TOML syntax error"):
        (tmp_path / "broken.toml").write_text("scenario = \n")
        load_sweep(tmp_path / "broken.toml")


def test_bad_sweep_exit_code_from_a_subprocess(tmp_path: Path) -> None:
    path = write(tmp_path, '[grid]\n"lab.taxx" = [0.0]\n')
    proc = subprocess.run(
        [sys.executable, "-m", "society.cli", "sweep", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(WORKTREE), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Did you mean 'lab.tax'?" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr


def test_llm_points_are_refused_before_any_run(tmp_path: Path) -> None:
    sweep = tmp_path / "llm.toml"
    sweep.write_text(
        'name = "llms"\nscenario = "tiny"\nreplicates = 1\n[grid]\n"llm.fraction" = [0.0, 0.1]\n'
    )
    with pytest.raises(SweepError, match=r"arm 1 has llm.fraction = 0.1 .* stub societies only"):
        load_sweep(sweep)


def test_command_line_sets_apply_to_every_point_and_never_to_a_swept_key() -> None:
    path = "scenarios/sweeps/lead_vs_tax.toml"
    small = load_sweep(path, ["population.size=200", "days=90"], replicates=2)
    assert len(small.seeds) == 2 and len(small.points) == 2 * len(small.arms)
    assert {s["population"]["size"] for s in small.scenarios} == {200}
    assert {s["days"] for s in small.scenarios} == {90}
    full = load_sweep(path)
    assert small.fingerprint() != full.fingerprint()
    with pytest.raises(SweepError, match=r"--set lab.tax: .* both swept and set"):
        load_sweep(path, ["lab.tax=1"])
    with pytest.raises(SweepError, match=r"--set lab.taxx: .*Did you mean 'lab.tax'"):
        load_sweep(path, ["lab.taxx=1"])
    with pytest.raises(SweepError, match=r"--set seed: .*Drop this --set"):
        load_sweep(path, ["seed=1"])
