"""Sweeps that draw from priors: paired draws, pinned fields, stable blocks, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from society.priors import read_priors
from society.sweeps.spec import SweepError, load_sweep, prior_draws, sweep_from_manifest

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()
PRIOR = """
[priors."values.reflection_drift"]
dist = "loguniform"
low = 5e-6
high = 1e-4
why = "test"

[priors."lab.tax"]
dist = "uniform"
low = 0.0
high = 1.0
why = "test"
"""


def write(tmp_path: Path, body: str, prior: str = PRIOR) -> Path:
    (tmp_path / "p.toml").write_text(prior)
    path = tmp_path / "s.toml"
    path.write_text(f'scenario = "{TINY}"\nseed = 3\n{body}')
    return path


def test_each_replicate_draws_once_and_every_arm_shares_the_draw(tmp_path: Path) -> None:
    sweep = load_sweep(
        write(tmp_path, 'replicates = 5\npriors = ["p.toml"]\n[grid]\n"lab.lead_days" = [10, 60]\n')
    )
    assert sweep.drawn_keys == ["values.reflection_drift", "lab.tax"]
    assert sweep.columns == {
        "lab__lead_days": "lab.lead_days",
        "values__reflection_drift": "values.reflection_drift",
        "lab__tax": "lab.tax",
    }
    assert sweep.draws == prior_draws(read_priors([tmp_path / "p.toml"]), 5, 5, 3)
    for point in sweep.points:
        scenario = sweep.task(point)["scenario"]
        draw = sweep.draws[point.replicate]
        assert scenario["values"]["reflection_drift"] == draw["values.reflection_drift"]
        assert scenario["lab"]["tax"] == draw["lab.tax"]
        assert scenario["lab"]["lead_days"] == sweep.arms[point.arm]["lab.lead_days"]
        assert scenario["seed"] == sweep.seeds[point.replicate]
    manifest = sweep.to_manifest()
    assert sweep_from_manifest({"sweep": manifest}, "m").fingerprint() == sweep.fingerprint()
    assert manifest["priors"]["lab.tax"]["dist"] == "uniform"


def test_fields_the_sweep_pins_are_not_drawn(tmp_path: Path) -> None:
    grid = load_sweep(
        write(tmp_path, 'replicates = 3\npriors = ["p.toml"]\n[grid]\n"lab.tax" = [0.0, 1.0]\n')
    )
    assert grid.drawn_keys == ["values.reflection_drift"]
    set_too = load_sweep(
        write(tmp_path, 'replicates = 3\npriors = ["p.toml"]\n[grid]\n"lab.lead_days" = [10]\n'),
        overrides=["values.reflection_drift=3e-5"],
    )
    assert set_too.drawn_keys == ["lab.tax"]
    assert all(set(d) == {"lab.tax"} for d in set_too.draws)


def test_fields_the_scenario_file_sets_are_its_stated_conditions_and_not_drawn(
    tmp_path: Path,
) -> None:
    (tmp_path / "p.toml").write_text(PRIOR)
    # tiny with one more stated condition, the lab's tax
    (tmp_path / "stated.toml").write_text(Path(TINY).read_text() + "\n[lab]\ntax = 0.25\n")
    path = tmp_path / "s.toml"
    path.write_text('scenario = "stated.toml"\nreplicates = 4\npriors = ["p.toml"]\n')
    sweep = load_sweep(path)
    assert sweep.drawn_keys == ["values.reflection_drift"]
    assert {sweep.task(p)["scenario"]["lab"]["tax"] for p in sweep.points} == {0.25}
    drifts = {sweep.task(p)["scenario"]["values"]["reflection_drift"] for p in sweep.points}
    assert len(drifts) == 4


def test_adding_whole_blocks_keeps_the_earlier_draws(tmp_path: Path) -> None:
    body = 'replicates = {n}\nprior_block = 4\n[priors."lab.tax"]\ndist = "uniform"\n'
    body += 'low = 0.0\nhigh = 1.0\nwhy = "inline"\n'
    four = load_sweep(write(tmp_path, body.format(n=4)))  # one arm: priors need no grid
    twelve = load_sweep(write(tmp_path, body.format(n=12)))
    assert len(four.arms) == 1 and twelve.draws[:4] == four.draws
    # Each block is a Latin hypercube: one draw in each quarter of [0, 1].
    for b in range(3):
        taxes = sorted(d["lab.tax"] for d in twelve.draws[4 * b : 4 * b + 4])
        assert [int(t * 4) for t in taxes] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("body", "prior", "words"),
    [
        (
            'replicates = 4\npriors = ["p.toml"]\n',
            # Each value fits its field, but tiny has 200 instances: degree 200 is too many.
            '[priors."network.mean_degree"]\ndist = "levels"\nvalues = [8, 200]\nwhy = "w"\n',
            "draws network.mean_degree = 200",
        ),
        ('replicates = 2\npriors = ["nope.toml"]\n', PRIOR, "not found"),
        ('replicates = 2\npriors = ["p.toml"]\n', "[priors\n", "cannot be read"),
        ("replicates = 2\npriors = 3\n", PRIOR, "priors = 3 must be a list of prior files"),
        ('replicates = 2\n[grid]\n"lab.tax" = [0.0]\n[claim]\noutcome = "saf"\np = 0.9\n', PRIOR,
         "[claim]: outcome = 'saf' is not one the runs record. Did you mean 'safe'?"),
        ("replicates = 2\n", PRIOR, "nothing to sweep"),
    ],
)  # fmt: skip
def test_bad_priors_or_claims_in_a_sweep_name_the_file_and_fix(
    tmp_path: Path, body: str, prior: str, words: str
) -> None:
    with pytest.raises(SweepError) as err:
        load_sweep(write(tmp_path, body, prior))
    assert words in str(err.value) and str(tmp_path / "s.toml") in str(err.value)
    if "mean_degree" in words:  # a rule across fields: the fix says to narrow or pin
        assert "must be below population.size (200)" in str(err.value)
        assert "pin one of these fields" in str(err.value)


def test_a_sweeps_claim_is_its_own_else_its_scenarios(tmp_path: Path) -> None:
    grid = '[grid]\n"lab.tax" = [0.0, 1.0]\n'
    plain = load_sweep(write(tmp_path, f"replicates = 1\n{grid}"))
    assert not plain.claim.active  # tiny makes no claim
    own = load_sweep(
        write(
            tmp_path,
            f'replicates = 1\n[claim]\noutcome = "catastrophe"\nop = "<="\np = 0.2\n{grid}',
        )
    )
    assert own.claim.text == "P(catastrophe) <= 0.2"
    essay = load_sweep(WORKTREE / "scenarios" / "sweeps" / "essay_claim.toml")
    assert essay.claim.text == "P(safe) >= 0.9"  # from essay_one_month's [claim]
