"""Priors: families, medians, Latin hypercube draws, and validation against the schema."""

from __future__ import annotations

import numpy as np
import pytest

from society.errors import ScenarioError
from society.priors import Prior, priors_from_doc, read_priors


def doc(**priors: dict) -> dict:
    return {"priors": {k.replace("__", "."): {"why": "test", **v} for k, v in priors.items()}}


@pytest.mark.parametrize(
    ("body", "median"),
    [
        ({"dist": "uniform", "low": 1.0, "high": 3.0}, 2.0),
        ({"dist": "loguniform", "low": 1e-6, "high": 1e-4}, 1e-5),
        ({"dist": "normal", "mean": 0.5, "sd": 0.1}, 0.5),
        ({"dist": "lognormal", "median": 30.0, "sigma": 0.5}, 30.0),
        ({"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 1.0}, 1 - np.sqrt(0.5)),
        ({"dist": "beta", "a": 2.0, "b": 2.0, "low": 1.0, "high": 3.0}, 2.0),
        ({"dist": "levels", "values": [1, 2, 3], "weights": [0.2, 0.2, 0.6]}, 3),
    ],
)
def test_median_of_each_family(body: dict, median: float) -> None:
    prior = Prior.model_validate({"why": "w", **body})
    assert prior.median() == pytest.approx(median, rel=1e-9)


def test_truncated_lognormal_stays_inside_and_keeps_its_order() -> None:
    prior = Prior.model_validate(
        {"dist": "lognormal", "median": 30.0, "sigma": 1.0, "low": 10.0, "high": 60.0, "why": "w"}
    )
    q = prior.ppf(np.linspace(0, 1, 101))
    assert q[0] == pytest.approx(10.0) and q[-1] == pytest.approx(60.0)
    assert np.all(np.diff(q) > 0)


def test_lhs_draws_cover_each_prior_evenly_and_repeat_by_seed() -> None:
    priors = priors_from_doc(
        doc(
            values__reflection_drift={"dist": "loguniform", "low": 1e-6, "high": 1e-4},
            network__mean_degree={"dist": "uniform", "low": 4, "high": 16},
        ),
        "t.toml",
    )
    draws = priors.draw(40, seed=7)
    assert draws == priors.draw(40, seed=7) and draws != priors.draw(40, seed=8)
    logs = np.log10([d["values.reflection_drift"] for d in draws])
    # A Latin hypercube puts exactly one draw in each of the 40 equal-probability strata.
    strata = np.floor((logs + 6) / 2 * 40).astype(int)
    assert sorted(strata.tolist()) == list(range(40))
    assert all(isinstance(d["network.mean_degree"], int) for d in draws)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (doc(lab__taks={"dist": "uniform", "low": 0, "high": 1}), "Did you mean 'lab.tax'"),
        (doc(days={"dist": "uniform", "low": 1, "high": 9}), "never drawn"),
        (doc(lab__tax={"dist": "uniform", "low": 0, "high": 200}), "outside the range"),
        (doc(lab__tax={"dist": "normal", "mean": 0.5, "sd": 1}), "unbounded"),
        (doc(lab__tax={"dist": "uniform", "low": 0}), "needs high"),
        (doc(lab__tax={"dist": "uniform", "low": 0, "high": 1, "sd": 2}), "not sd"),
        (doc(network__kind={"dist": "uniform", "low": 0, "high": 1}), "levels"),
        ({"priors": {"lab.tax": {"dist": "uniform", "low": 0, "high": 1}}}, "why"),
        ({"prior": {}}, "unknown top-level"),
    ],
)
def test_bad_priors_name_the_file_key_and_fix(bad: dict, words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        priors_from_doc(bad, "p.toml")
    assert "p.toml" in str(err.value) and words in str(err.value)


def test_missing_prior_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="not found"):
        read_priors([tmp_path / "nope.toml"])
    with pytest.raises(ScenarioError, match=r"shipped name \(model, settings: scenarios/priors/\)"):
        read_priors(["setings"])  # a misspelt shipped name: the error lists the real ones
    broken = tmp_path / "broken.toml"
    broken.write_text("[priors\n")
    with pytest.raises(ScenarioError, match="cannot be read"):
        read_priors([broken])
