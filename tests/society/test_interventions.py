"""Interventions: changes on a day or on a trigger change the run, are recorded, survive a
resume, and a bad one is a one-paragraph error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from society_helpers import assert_same_outputs
from society_helpers import run_cli as cli

import society
from society import load_scenario
from society.api import RunStopped
from society.errors import ScenarioError
from society.model import SocietyModel
from society.triggers import TriggerError, parse

# A small world whose own AIs are hazardous, far ahead of its rival (so the tax and deference
# decide its risk), in which the lab ignores advice (so a tax it sets stays set): seed 9 ends in
# a loss of control on day 204 unless something is done.
WORLD = {
    "population.size": 100,
    "days": 365,
    "strategy.accept_advice": 0.0,
    "hazards.loss_of_control": 0.01,
    "lab.lead_days": 1000.0,
}
RAISE_TAX = {"day": 90, "set": {"lab.tax": 5.0, "lab.tax_floor": 5.0}, "label": "tax up"}
PAUSE = {
    "when": "incidents_uncaught > 20",
    "set": {"lab.deference": 0.0, "deference.rise_per_day": 0.0},
}
WHOLE_PATH = {"outcomes.stop_on_catastrophe": False}  # path risks over the same 365 days


def scenario(*interventions: dict[str, Any], seed: int = 9, **more: Any) -> dict[str, Any]:
    doc = load_scenario("baseline", seed=seed, overrides={**WORLD, **more}).model_dump()
    doc["interventions"] = list(interventions)
    return doc


def run(doc: dict[str, Any]) -> SocietyModel:
    model = SocietyModel(load_scenario(doc))
    model.run()
    return model


def events(model: SocietyModel) -> list[dict[str, Any]]:
    return [e for e in model.recorder.events if e["kind"] == "intervention"]


@pytest.fixture(scope="module")
def trunk() -> SocietyModel:
    return run(scenario())


@pytest.fixture(scope="module")
def trunk_risk() -> float:
    """Seed 8's catastrophe risk over its whole path (the expectation of the 0/1 outcome)."""
    return float(run(scenario(seed=8, **WHOLE_PATH)).summary()["catastrophe_risk"])


def test_raising_the_tax_on_day_90_averts_the_catastrophe(
    trunk: SocietyModel, trunk_risk: float
) -> None:
    assert trunk.summary()["outcome"] == "catastrophe"
    assert trunk.summary()["catastrophe_day"] == 204.0
    taxed = run(scenario(RAISE_TAX))
    assert taxed.summary()["outcome"] == "undecided"
    rows = {r["day"]: r for r in taxed.recorder.metrics}
    assert rows[90]["tax"] < 1.0  # the row shows day 90 as it was
    assert rows[91]["tax"] == 5.0 and rows[365]["tax"] == 5.0
    (event,) = events(taxed)
    assert event["day"] == 90.0
    assert json.loads(event["details"]) == {
        "index": 0,
        "set": {"lab.tax": 5.0, "lab.tax_floor": 5.0},
        "label": "tax up",
    }
    # Before the change the two runs are the same run.
    assert taxed.recorder.metrics[:91] == trunk.recorder.metrics[:91]
    # Another seed, whole paths: the tax lowers the risk of catastrophe by a quarter.
    risk = run(scenario(RAISE_TAX, seed=8, **WHOLE_PATH)).summary()["catastrophe_risk"]
    assert risk < 0.8 * trunk_risk


def test_a_trigger_pausing_deference_when_uncaught_incidents_exceed_20(
    trunk: SocietyModel, trunk_risk: float
) -> None:
    paused = run(scenario(PAUSE))
    (event,) = events(paused)
    day = int(event["day"])
    rows = {r["day"]: r for r in paused.recorder.metrics}
    # It fires on the first day the row satisfies the trigger, and only once.
    assert rows[day]["incidents_uncaught"] > 20 >= rows[day - 1]["incidents_uncaught"]
    assert all(r["deference"] == 0.0 for r in paused.recorder.metrics if r["day"] > day)
    assert trunk.recorder.metrics[day]["deference"] > 0.5
    assert paused.summary()["outcome"] == "undecided"  # the trunk's catastrophe is averted
    assert json.loads(event["details"])["when"] == "incidents_uncaught > 20"
    # Without deference there is no loss of control: seed 8's loss of control on day 227 is
    # averted too (raising the tax on day 90 does not avert it), and over whole paths its risk
    # falls by more than half.
    assert run(scenario(seed=8)).summary()["catastrophe_cause"] == "loss_of_control"
    assert run(scenario(RAISE_TAX, seed=8)).summary()["outcome"] == "catastrophe"
    assert run(scenario(PAUSE, seed=8)).summary()["outcome"] == "undecided"
    risk = run(scenario(PAUSE, seed=8, **WHOLE_PATH)).summary()["catastrophe_risk"]
    assert risk < 0.5 * trunk_risk


def test_interventions_survive_a_stop_and_resume(tmp_path: Path) -> None:
    doc = scenario(RAISE_TAX, PAUSE, **{"days": 150, "record.checkpoint_every_days": 7})
    whole = society.run(doc, out=tmp_path / "whole")
    with pytest.raises(RunStopped):
        society.run(
            doc,
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 100 else None,
        )
    resumed = society.resume(tmp_path / "cut")
    assert_same_outputs(whole.path, resumed.path)
    assert resumed.summary == whole.summary
    kinds = whole.events.filter(whole.events["kind"] == "intervention")
    assert kinds.height == 2


def test_a_stored_intervention_scenario_reads_back_and_reruns(tmp_path: Path) -> None:
    from society.scenario_files import scenario_to_toml

    doc = scenario(RAISE_TAX, **{"days": 100})
    text = scenario_to_toml(load_scenario(doc))
    assert '[[interventions]]\nday = 90\nwhen = ""\nset = { "lab.tax" = 5.0' in text
    (tmp_path / "s.toml").write_text(text)
    assert load_scenario(tmp_path / "s.toml") == load_scenario(doc)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"day": 90, "set": {"lab.tax": 500.0}},
            "interventions[0].set: lab.tax = 500.0: Input should be less than or equal to 100",
        ),
        (
            {"when": "incidents_uncaught >> 5", "set": {"lab.tax": 1.0}},
            "interventions[0].when: expected a metric name or a number at position 21",
        ),
        (
            {"when": "uncaught_incidents > 5", "set": {"lab.tax": 1.0}},
            "'uncaught_incidents' in 'uncaught_incidents > 5' is not a metric column. Did you "
            "mean 'incidents_uncaught'?",
        ),
        ({"when": "__import__('os') > 1", "set": {"lab.tax": 1.0}}, "unexpected character"),
        ({"day": 90, "set": {"population.size": 10}}, "the population is drawn when"),
        ({"day": 90, "set": {"days": 10}}, "'days' is a question field"),
        ({"day": 90, "set": {"lab.taxx": 1.0}}, "Did you mean 'lab.tax'?"),
        ({"set": {"lab.tax": 1.0}}, "interventions[0] needs either day = N or when"),
        ({"day": 90, "when": "deference > 0", "set": {"lab.tax": 1.0}}, "one of the two"),
        ({"day": 900, "set": {"lab.tax": 1.0}}, "is after the horizon (days = 365)"),
        ({"day": 90}, "changes nothing"),
        ({"day": 90, "set": {"lab.deference": 2}}, "lab.deference = 2 must be a number in [0, 1]"),
        ({"day": "x", "set": {"lab.tax": 1.0}}, "interventions[0].day = 'x': Input should be"),
        ({"day": 90, "sett": {"lab.tax": 1.0}}, "interventions[0].sett"),
    ],
)
def test_a_bad_intervention_is_one_paragraph_naming_it(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario(entry))
    text = str(err.value)
    assert message in text and "\n" not in text


def test_the_cli_refuses_a_bad_trigger_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        'days = 30\n[[interventions]]\nwhen = "deference >"\nset = { "lab.tax" = 1.0 }\n'
    )
    done = cli("run", "bad.toml", "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "interventions[0].when: expected a metric name or a number at the end" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_trigger_grammar() -> None:
    cols = {"a", "b"}
    row = {"a": 1.0, "b": float("nan")}
    assert parse("a < 2", cols).evaluate(row)
    assert parse("2 > a", cols).evaluate(row)
    assert parse("a >= -1e0 and a != 3 and a == 1", cols).evaluate(row)
    assert not parse("b < 1", cols).evaluate(row)  # NaN compares false
    assert not parse("b >= 1", cols).evaluate(row)
    assert parse("not b < 1", cols).evaluate(row)
    assert parse("a > 5 or (a < 2 and not a > 1)", cols).evaluate(row)
    assert not parse("a > 5 or a < 2 and a > 1", cols).evaluate(row)  # and binds tighter
    for bad, why in [
        ("", "empty"),
        ("a", "expected a comparison"),
        ("a < b < 1", "unexpected '<'"),
        ("(a < 1", "expected ')'"),
        ("a < 1)", "unexpected ')'"),
        ("a.real < 1", "unexpected character '.'"),
        ("a < 1e999", "not a finite number"),
        ("not " * 30 + "a < 1", "nests more than 20"),
        ("a < 1 " + "or a < 1 " * 100, "characters long"),
    ]:
        with pytest.raises(TriggerError, match=None) as err:
            parse(bad, cols)
        assert why in str(err.value), (bad, str(err.value))
