"""Sampled designs: Saltelli and Morris in sweep files, priors, the manifest record, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import qmc

from society.cli import main as cli_main
from society.sweeps.design import Design, digest
from society.sweeps.spec import load_sweep, sweep_from_manifest

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
RANGES = 'ranges = { "lab.tax" = [0.0, 2.0], "network.mean_degree" = [4, 12] }\n'


def write(tmp_path: Path, body: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'scenario = "{TINY}"\nseed = 4\n' + body)
    return path


def test_saltelli_arms_follow_salib_in_order_through_the_priors(tmp_path: Path) -> None:
    from SALib.sample import sobol as saltelli

    body = '[sample]\nmethod = "saltelli"\nn = 8\nseed = 3\n' + RANGES
    sweep = load_sweep(write(tmp_path, body))
    assert len(sweep.arms) == 8 * (2 + 2)  # N (D + 2) without second order
    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0]] * 2}
    unit = saltelli.sample(problem, 8, calc_second_order=False, scramble=True, seed=3)
    # Arm k is row k of SALib's matrix: uniform priors scale it, ints are rounded.
    assert [a["lab.tax"] for a in sweep.arms] == pytest.approx(list(2.0 * unit[:, 0]), abs=1e-12)
    assert [a["network.mean_degree"] for a in sweep.arms] == [round(4 + 8 * u) for u in unit[:, 1]]
    design = sweep.design
    assert design is not None
    assert (design["method"], design["n"], design["arms"], design["keys"]) == (
        "saltelli",
        8,
        32,
        ["lab.tax", "network.mean_degree"],
    )
    assert design["unit_sha256"] == digest(unit)
    assert Design.from_record(design).size() == 32


def test_second_order_and_morris_sizes(tmp_path: Path) -> None:
    second = load_sweep(
        write(tmp_path, '[sample]\nmethod = "saltelli"\nn = 4\nsecond_order = true\n' + RANGES)
    )
    assert len(second.arms) == 4 * (2 * 2 + 2)
    morris = load_sweep(
        write(tmp_path, '[sample]\nmethod = "morris"\nn = 5\nlevels = 6\n' + RANGES, "m.toml")
    )
    assert len(morris.arms) == 5 * (2 + 1)
    unit = Design.from_record(morris.design or {}).unit()
    # Each trajectory step moves exactly one key by levels / (2 (levels - 1)) = 0.6.
    steps = np.abs(np.diff(unit.reshape(5, 3, 2), axis=1))
    assert ((steps > 0).sum(axis=2) == 1).all()
    assert np.allclose(steps[steps > 0], 0.6)


def test_lhs_and_sobol_arms_are_unchanged_by_the_priors_path(tmp_path: Path) -> None:
    """A sweep written before the samplers went through priors expands to the same arms."""
    for method, engine in (("lhs", qmc.LatinHypercube), ("sobol", qmc.Sobol)):
        sweep = load_sweep(write(tmp_path, f'[sample]\nmethod = "{method}"\nn = 8\n' + RANGES))
        options = {"scramble": True} if method == "sobol" else {}
        unit = engine(d=2, rng=np.random.default_rng(4), **options).random(8)
        assert [a["lab.tax"] for a in sweep.arms] == list(qmc.scale(unit, [0, 4], [2, 12])[:, 0])


def test_priors_from_a_file_and_inline_reach_the_arms_and_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "drift.toml").write_text(
        '[priors."values.reflection_drift"]\ndist = "loguniform"\nlow = 1e-6\nhigh = 1e-4\n'
        'why = "test"\n'
    )
    body = (
        '[sample]\nmethod = "saltelli"\nn = 4\npriors = ["drift.toml"]\n'
        'ranges = { "lab.tax" = [0.0, 2.0] }\n'
    )
    sweep = load_sweep(write(tmp_path, body))
    assert sweep.keys == ["lab.tax", "values.reflection_drift"]
    drift = np.array([a["values.reflection_drift"] for a in sweep.arms])
    assert 1e-6 <= drift.min() and drift.max() <= 1e-4
    assert np.log10(drift).std() > 0.3  # spread in log, as a log-uniform prior is
    # The manifest keeps the priors as read, so a resume never needs the prior file again.
    manifest = {"sweep": json.loads(json.dumps(sweep.to_manifest()))}
    (tmp_path / "drift.toml").unlink()
    again = sweep_from_manifest(manifest, "manifest.json")
    assert again.fingerprint() == sweep.fingerprint() and again.design == sweep.design
    inline = write(
        tmp_path,
        '[sample]\nmethod = "saltelli"\nn = 4\nranges = { "lab.tax" = [0.0, 2.0] }\n'
        '[sample.priors."values.reflection_drift"]\ndist = "loguniform"\nlow = 1e-6\n'
        'high = 1e-4\nwhy = "test"\n',
        "inline.toml",
    )
    assert load_sweep(inline).arms == sweep.arms


BAD = {
    "saltelli n not a power of two": (
        '[sample]\nmethod = "saltelli"\nn = 12\n' + RANGES,
        ["n = 12", "power-of-two", "use n = 16 or 8"],
    ),
    "saltelli n too small": ('[sample]\nmethod = "saltelli"\nn = 2\n' + RANGES, ["at least 4"]),
    "morris odd levels": (
        '[sample]\nmethod = "morris"\nn = 4\nlevels = 3\n' + RANGES,
        ["levels = 3", "even number of levels"],
    ),
    "morris one trajectory": (
        '[sample]\nmethod = "morris"\nn = 1\n' + RANGES,
        ["at least 2 trajectories"],
    ),
    "levels on saltelli": (
        '[sample]\nmethod = "saltelli"\nn = 4\nlevels = 4\n' + RANGES,
        ['levels = 4 applies to method = "morris" only'],
    ),
    "second order on lhs": (
        '[sample]\nmethod = "lhs"\nn = 4\nsecond_order = true\n' + RANGES,
        ['second_order applies to method = "saltelli" only'],
    ),
    "saltelli crossed with a grid": (
        '[grid]\n"lab.lead_days" = [30, 90]\n[sample]\nmethod = "saltelli"\nn = 4\n' + RANGES,
        ['method = "saltelli" cannot be crossed with [grid] (lab.lead_days)'],
    ),
    "oat crossed with a grid": (
        '[grid]\n"lab.lead_days" = [30, 90]\n[sample]\nmethod = "oat"\nn = 1\n' + RANGES,
        ['method = "oat" cannot be crossed with [grid] (lab.lead_days)'],
    ),
    "neither ranges nor priors": (
        '[sample]\nmethod = "morris"\nn = 4\n',
        ["neither ranges nor priors"],
    ),
    "unknown sampler": (
        '[sample]\nmethod = "fast"\nn = 4\n' + RANGES,
        ["sample.method", "'lhs', 'sobol', 'saltelli', 'morris' or 'oat'"],
    ),
    "prior out of the field's range": (
        '[sample]\nmethod = "saltelli"\nn = 4\n[sample.priors."lab.tax"]\ndist = "uniform"\n'
        'low = -1.0\nhigh = 1.0\nwhy = "w"\n',
        ["[sample] priors", "outside the range of 'lab.tax'"],
    ),
    "an infinite range": (
        '[sample]\nmethod = "lhs"\nn = 4\nranges = { "lab.tax" = [0.0, inf] }\n',
        ['ranges "lab.tax" = [0.0, inf] must be [low, high] with low < high, both finite'],
    ),
    "missing prior file": (
        '[sample]\nmethod = "saltelli"\nn = 4\npriors = ["nosuch.toml"]\n',
        ["[sample] priors", "Prior file 'nosuch.toml' not found"],
    ),
    "a key with a range and a prior": (
        '[sample]\nmethod = "saltelli"\nn = 4\nranges = { "lab.tax" = [0.0, 1.0] }\n'
        '[sample.priors."lab.tax"]\ndist = "uniform"\nlow = 0.0\nhigh = 1.0\nwhy = "w"\n',
        ['"lab.tax" has both a [sample] range and a prior'],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_design_exits_2_before_any_run(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body, expected = BAD[case]
    path = write(tmp_path, body)
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in message
    assert str(path) in message
    for text in expected:
        assert text in message
    assert not out.exists()


def test_set_cannot_fix_a_key_drawn_from_a_prior(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        '[sample]\nmethod = "saltelli"\nn = 4\n[sample.priors."values.noise"]\n'
        'dist = "uniform"\nlow = 0.0\nhigh = 0.01\nwhy = "w"\n'
    )
    assert cli_main(["sweep", str(write(tmp_path, body)), "--set", "values.noise=0.0"]) == 2
    assert "a key cannot be both swept and set" in " ".join(capsys.readouterr().err.split())


def test_shipped_sensitivity_sweeps_expand() -> None:
    shipped = WORKTREE / "scenarios" / "sweeps"
    full = load_sweep(shipped / "sensitivity.toml")
    assert (len(full.arms), len(full.points), len(full.keys)) == (1280, 2560, 8)
    difficulty = [a["knowledge.difficulty"] for a in full.arms]
    assert 0.3 <= min(difficulty) and max(difficulty) <= 3.0  # its log-uniform prior
    assert full.design and full.design["keys"][0] == "knowledge.rate"
    quick = load_sweep(shipped / "sensitivity_quick.toml")
    assert (len(quick.points), quick.design and quick.design["size"]) == (
        40,
        "N (D + 2) = 8 x 5 = 40 arms",
    )


def test_shipped_oat_sweeps_move_every_prior_but_the_scenarios_conditions() -> None:
    from society.priors import read_priors
    from society.scenario_files import keys_set_by, read_toml

    shipped = WORKTREE / "scenarios" / "sweeps"
    every = set(read_priors(["model"]).keys)
    essay = load_sweep(shipped / "oat_essay_one_month.toml")
    stated = set(keys_set_by(read_toml(WORKTREE / "scenarios" / "essay_one_month.toml")))
    # The essay states a0 = 0.9 and valid tests: those stay as stated in every arm; every
    # other prior is moved, one at a time.
    assert stated & every == {
        "population.initial_alignment",
        "risks.poisoning_rate",
        "tests.awareness",
        "tests.gaming_bonus",
        "tests.overfit_weight",
    }
    assert set(essay.keys) == every - stated
    assert len(essay.arms) == 1 + 2 * len(essay.keys)
    assert {s["population"]["initial_alignment"] for s in essay.scenarios} == {0.9}
    assert {s["tests"]["gaming_bonus"] for s in essay.scenarios} == {0.0}
    baseline = load_sweep(shipped / "oat_baseline.toml")
    assert set(baseline.keys) == every and len(baseline.arms) == 1 + 2 * len(every)
    # Resumed from its manifest, the sweep has the same arms.
    manifest = {"sweep": json.loads(json.dumps(essay.to_manifest()))}
    rebuilt = sweep_from_manifest(manifest, "manifest.json")
    assert rebuilt.fingerprint() == essay.fingerprint() and rebuilt.arms == essay.arms


def test_design_sizes_and_digest_are_stable() -> None:
    d = Design("saltelli", 128, tuple(f"k{i}" for i in range(8)), seed=1)
    assert d.size() == 128 * 10 and d.describe_size() == "N (D + 2) = 128 x 10 = 1280 arms"
    assert Design("saltelli", 128, d.keys, seed=1, second_order=True).size() == 2304
    assert digest(d.unit()) == digest(d.unit()) != digest(Design("saltelli", 128, d.keys, 2).unit())
    assert math.isclose(float(d.unit().mean()), 0.5, abs_tol=0.01)


def test_one_at_a_time_moves_each_key_alone_to_its_quantiles() -> None:
    from society.sweeps.design import OAT_QUANTILES, Design

    design = Design("oat", 1, ("a", "b", "c"), seed=0)
    unit = design.unit()
    assert design.size() == 7 and unit.shape == (7, 3)
    assert (unit[0] == 0.5).all()  # the reference arm: every prior at its median
    for j in range(3):
        low, high = unit[1 + 2 * j], unit[2 + 2 * j]
        assert (low[j], high[j]) == OAT_QUANTILES
        others = [k for k in range(3) if k != j]
        assert (low[others] == 0.5).all() and (high[others] == 0.5).all()
    assert "use n = 1" in Design("oat", 4, ("a",), seed=0).problems()[0]
