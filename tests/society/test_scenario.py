"""Scenario schema and files: defaults, shipped files, overrides, and error messages."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from society.errors import ScenarioError
from society.scenario import Scenario, iter_fields
from society.scenario_files import list_shipped, load_scenario, parse_override

REQUIRED_KEYS = {"seed", "days", "population.size", "lab.lead_days", "lab.tax"}
SHIPPED = {"baseline", "rushed", "careful", "echo_chamber", "theft", "tiny"}


def test_every_field_has_unit_range_and_description() -> None:
    fields = iter_fields()
    keys = {f["key"] for f in fields}
    assert REQUIRED_KEYS <= keys
    assert len(fields) > 90
    for f in fields:
        assert f["description"].strip(), f["key"]
        assert f["unit"], f["key"]
        if f["type"] in {"int", "float"} and f["key"] not in {"seed"}:
            assert f["range"] != "-", f"{f['key']} has no range"


def test_defaults_are_valid_and_documented_ranges_hold_them() -> None:
    s = Scenario()
    assert s.population.size == 1000
    assert s.lab.tax == 0.025  # the status quo: 2-3% of compute on safety (seed 002)
    assert s.days == 3 * 365  # the horizon: three years unless a question names another


def test_every_uncertain_field_defaults_to_its_prior_median() -> None:
    from society.priors import read_priors

    priors = read_priors(["model"])
    fields = {f["key"]: f for f in iter_fields()}
    uncertain = {k for k, f in fields.items() if f["kind"] == "uncertain"}
    assert uncertain == set(priors.keys)
    for key, median in priors.medians().items():
        assert fields[key]["default"] == pytest.approx(median, rel=1e-3), key
    for key in uncertain:
        assert priors.priors[key].why.strip(), key


def test_settings_priors_spread_held_fields_around_their_defaults() -> None:
    """scenarios/priors/settings.toml (opt-in) gives priors to settings model.toml holds fixed:
    none of them is drawn by model.toml, each is a modelling setting (not a lever or a
    question), and each median is the field's default, so adding the file changes nothing at
    the medians."""
    from society.priors import read_priors

    settings, model = read_priors(["settings"]), read_priors(["model"])
    fields = {f["key"]: f for f in iter_fields()}
    assert set(settings.keys) == {
        "network.disagreement",
        "network.homophily_window",
        "work.tax_compliance",
        "work.compliance_alignment_slope",
    }
    assert not set(settings.keys) & set(model.keys)
    for key, median in settings.medians().items():
        assert fields[key]["kind"] == "setting", key
        assert fields[key]["default"] == pytest.approx(median, rel=1e-9, abs=1e-12), key
        low, high = settings.priors[key].support()
        assert low < fields[key]["default"] < high, key
        assert settings.priors[key].why.strip(), key


def test_levers_cite_their_status_quo_and_questions_are_never_drawn() -> None:
    fields = iter_fields()
    levers = [f for f in fields if f["kind"] == "lever"]
    assert {"lab.tax", "strategy.slowdown_tax", "population.share_monitors"} <= {
        f["key"] for f in levers
    }
    for f in ("lab.tax", "lab.tax_floor", "population.share_monitors"):
        text = next(x["description"] for x in levers if x["key"] == f)
        assert "status quo" in text, f
    questions = {f["key"] for f in fields if f["kind"] == "question"}
    assert {"days", "lab.lead_days", "outcomes.end_annual_risk", "outcomes.end_days"} <= questions


TUNING = re.compile(
    # not after a denial ("No default is chosen to make ...", "never a value chosen to make ...")
    r"(?<!no default is )(?<!never a value )"
    r"(chosen|set|tuned|calibrated|picked)\s+(so\s+that|so|such\s+that|to\s+make|to\s+reach|to\s+get)"
    r"[^.]{0,120}(P\(|probabilit|reach|0\.9|90\s*%|answer|outcome)",
    re.IGNORECASE,
)


def test_no_default_is_justified_by_a_scenario_answer() -> None:
    """DESIGN 3.10.1: no default may be chosen to make a scenario produce a given answer; the
    docs and the priors must not say one was."""
    root = Path(__file__).resolve().parents[2]
    texts = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    texts += sorted((root / "society").rglob("*.py")) + sorted((root / "scenarios").rglob("*.toml"))
    offending = []
    for path in texts:
        for match in TUNING.finditer(path.read_text()):
            offending.append(f"{path.name}: {match.group(0)!r}")
    assert not offending, offending
    assert TUNING.search("the defaults were set so that essay_one_month reaches P(safe) >= 0.9")
    assert TUNING.search("The baseline is calibrated so that the answer is uncertain")
    assert TUNING.search("The tax was chosen to make the essay's answer come out")
    assert not TUNING.search("No default is chosen to make a shipped scenario's answer come out")


def test_shipped_scenarios_validate_and_ask_a_question() -> None:
    shipped = {name: (path, question) for name, path, question in list_shipped()}
    assert SHIPPED <= set(shipped)
    for name, (path, question) in shipped.items():
        scenario = load_scenario(path)
        assert scenario.name == name
        assert question.endswith("?"), name
        assert path.read_text().startswith("#"), f"{name} needs a comment saying its question"
    assert load_scenario("baseline").population.size == 10_000
    assert load_scenario("baseline").days == 1095
    tiny = load_scenario("tiny")
    assert 150 <= tiny.population.size <= 250 and tiny.days == 60
    rushed = load_scenario("rushed")
    assert 20 <= rushed.lab.lead_days <= 40 and rushed.lab.tax < load_scenario("baseline").lab.tax


def test_overrides_are_type_checked_like_the_file() -> None:
    s = load_scenario("tiny", seed=3, overrides=["lab.tax=0.25", "population.size=300"])
    assert (s.seed, s.lab.tax, s.population.size) == (3, 0.25, 300)
    with pytest.raises(ScenarioError, match=r"population.size = 'many' has the wrong type"):
        load_scenario("tiny", overrides=["population.size=many"])
    with pytest.raises(ScenarioError, match=r"population.size = 2.5 has the wrong type"):
        load_scenario("tiny", overrides={"population.size": 2.5})


def test_unknown_key_suggests_the_near_one() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario({"population": {"sise": 10}})
    text = str(err.value)
    assert "unknown key 'population.sise'" in text
    assert "Did you mean 'population.size'?" in text
    with pytest.raises(ScenarioError, match="Did you mean 'lab.tax'"):
        load_scenario("tiny", overrides=["lab.taxx=1"])


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (
            {"population": {"size": 1}},
            "population.size = 1 is out of range; allowed range [2, 5e+06] (instances)",
        ),
        ({"lab": {"tax": -0.5}}, "lab.tax = -0.5 is out of range; allowed range [0, 100]"),
        ({"lab": {"tax": math.inf}}, "lab.tax = inf is not finite"),
        ({"lab": {"tax": math.nan}}, "lab.tax = nan is not finite"),
        ({"network": {"kind": "lattice"}}, "network.kind = 'lattice' has the wrong type"),
        (
            {"population": {"size": 10}, "network": {"mean_degree": 20}},
            "mean_degree (20) must be below",
        ),
        ({"population": {"share_monitors": 0.9, "share_red_team": 0.5}}, "must be <= 1"),
    ],
)
def test_bad_values_name_key_value_and_range(doc: dict, needle: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(doc)
    assert needle in str(err.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("days = \n")
    with pytest.raises(ScenarioError, match=r"bad.toml: TOML syntax error"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match=r"nope.toml' not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="Did you mean 'baseline'"):
        load_scenario("baseline2")


def test_parse_override_reads_toml_values() -> None:
    assert parse_override("record.snapshot_days=[0, 5]") == ("record.snapshot_days", [0, 5])
    assert parse_override("outcomes.stop_on_catastrophe=false") == (
        "outcomes.stop_on_catastrophe",
        False,
    )
    with pytest.raises(ScenarioError, match="is not KEY=VALUE"):
        parse_override("lab.tax")


def test_override_errors_name_the_override_not_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as bad_set:
        load_scenario("tiny", overrides=["lab.tax=abc"])
    text = str(bad_set.value)
    assert text.startswith("--set lab.tax:") and "tiny.toml" not in text
    assert "in the file" not in text
    with pytest.raises(ScenarioError) as bad_seed:
        load_scenario("tiny", seed=-1)
    assert str(bad_seed.value).startswith("--seed:")
    with pytest.raises(ScenarioError) as api:
        load_scenario("tiny", overrides={"lab.tax": -1.0})
    assert str(api.value).startswith("override lab.tax:")
    file = tmp_path / "mixed.toml"
    file.write_text("days = -3\n")
    with pytest.raises(ScenarioError) as mixed:
        load_scenario(file, overrides=["lab.tax=-2"])
    text = str(mixed.value)
    assert text.startswith(str(file)) and "(--set lab.tax) lab.tax = -2" in text


def test_a_directory_is_not_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("days = 3\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path)
    text = str(err.value)
    assert "is a directory, not a scenario file" in text and "a.toml" in text
    assert "not found" not in text


def test_a_rule_broken_by_an_override_names_the_override(tmp_path: Path) -> None:
    # record.snapshot_days is checked by its section's validator (error location: record),
    # so the source must be found through the key the rule names.
    with pytest.raises(ScenarioError) as bad_set:
        load_scenario("tiny", overrides=["record.snapshot_days=[-5]"])
    text = str(bad_set.value)
    assert text.startswith("--set record.snapshot_days:"), text
    assert "tiny.toml" not in text and "in the file" not in text
    assert "snapshot_days contains -5" in text
    file = tmp_path / "bad_days.toml"
    file.write_text("[record]\nsnapshot_days = [-4]\n")
    with pytest.raises(ScenarioError) as in_file:  # the same rule broken in the file
        load_scenario(file, overrides=["lab.tax=0.3"])
    assert str(in_file.value).startswith(str(file)) and "--set" not in str(in_file.value)[:40]
