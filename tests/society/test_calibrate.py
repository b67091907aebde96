"""`society calibrate`: the stub policy fitted to an LLM run's decisions, the fragment it writes,
the stub knobs it fits, and its errors."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import society
from society.calibrate import FITTED, Samples, calibrate, fit, stub_params
from society.cli.main import main
from society.mechanisms.monitoring import monitor_day
from society.mechanisms.research import effort_shares
from society.mechanisms.values import step_values
from society.model import SocietyModel
from society.network import small_world
from society.population import Role, initial_population
from society.scenario import Scenario
from society.scenario_files import fragment_overrides, load_scenario

# The tax held at 0.5 all run (no advice taken), so the recorded states share one lab split.
STUB_LLM = {"llm.backend": "stub", "days": 30, "lab.tax": 0.5, "strategy.accept_advice": 0.0}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-day llm_small run answered by the in-process stub backend (about 2 s)."""
    out = tmp_path_factory.mktemp("cal") / "rec"
    return society.run("llm_small", overrides=STUB_LLM, out=out).path


def _copy(recorded: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(recorded, dst, ignore=shutil.ignore_patterns("figures", "*.toml"))
    return dst


def test_calibrated_stub_lies_in_every_llm_interval_and_the_default_does_not(
    recorded: Path,
) -> None:
    cal = calibrate(recorded)
    names = [q.name for q in cal.quantities]
    for needed in (
        "capabilities share",
        "alignment share",
        "risk share",
        "alignment shift per peer read",
        "belief shift size per read",
        "test - honeypot gap",
    ):
        assert needed in names
    for q in cal.quantities:
        lo, hi = q.interval
        assert q.n >= 2 and lo <= q.mean <= hi
        assert q.inside(q.calibrated_mean), (q.name, q.calibrated_mean, q.interval)
    outside = [q.name for q in cal.quantities if not q.inside(q.default_mean)]
    # The stub backend weighs the three uses of work evenly; the lab's split is 0.6/0.3/0.1.
    assert {"capabilities share", "risk share", "belief shift size per read"} <= set(outside)
    by = {q.name: q for q in cal.quantities}
    assert by["capabilities share"].default_mean == pytest.approx(0.6)
    assert by["risk share"].default_mean == pytest.approx(0.1)
    assert 0.25 < by["risk share"].mean < 0.42  # uniform random weights: about 1/3
    assert cal.fitted["work.risk_share"] == pytest.approx(by["risk share"].mean, rel=1e-5)
    assert cal.fitted["beliefs.coupling"] > 10 * cal.default["beliefs.coupling"]
    assert set(cal.fitted) == set(FITTED)
    assert cal.samples.work.height == 180 and cal.samples.gap.height == 18


def test_fit_recovers_known_parameters_from_synthetic_decisions() -> None:
    scenario = Scenario()
    rng = np.random.default_rng(1)
    n = 60
    a = rng.uniform(0.5, 0.95, n)
    tax = rng.choice([0.25, 0.5, 1.0], n)
    risk, c, s = 0.2, 1.4, 0.8
    f = (c - s * (1 - a)) * tax / (1 + tax)
    work = pl.DataFrame(
        {
            "day": np.arange(n, dtype=float),
            "alignment": a,
            "tax": tax,
            "capabilities": (1 - risk) * (1 - f),
            "alignment_share": (1 - risk) * f,
            "risk": np.full(n, risk),
        }
    )
    diff = rng.uniform(-0.3, 0.3, n)
    w = rng.uniform(2.0, 6.0, n)
    eps = scenario.population.openness
    shift = 0.004 + 0.05 * w * diff * (np.abs(diff) < eps) + 0.02 * w * np.minimum(diff, 0)
    level = rng.uniform(0.1, 0.6, n)
    b = scenario.beliefs
    h = b.rate * w
    unit = h * 8 * np.abs(np.tanh(level)) / (1 + h * (1 + b.grounding * 0.7))
    peer = pl.DataFrame(
        {
            "day": np.arange(n, dtype=float),
            "alignment": a,
            "peer_alignment": a + diff,
            "diff": diff,
            "shift": shift,
            "belief_size": 0.3 * unit,
            "w": w,
            "belief_level": level,
        }
    )
    gap = pl.DataFrame(
        {
            "day": [1.0] * 6,
            "role": ["researcher"] * 6,
            "archetype": list(range(6)),
            "alignment": [0.8] * 6,
            "gap": [0.1, 0.2, 0.3, 0.1, 0.2, 0.3],
        }
    )
    fitted, notes = fit(Samples(Path("synthetic"), scenario, 200, 0, work, peer, gap))
    assert notes == []
    assert fitted["work.risk_share"] == pytest.approx(risk)
    assert fitted["work.tax_compliance"] == pytest.approx(c, rel=1e-5)
    assert fitted["work.compliance_alignment_slope"] == pytest.approx(s, rel=1e-5)
    assert fitted["values.peer_shift"] == pytest.approx(0.004, rel=1e-5)
    assert fitted["values.influence"] == pytest.approx(0.05, rel=1e-5)
    assert fitted["values.misaligned_influence"] == pytest.approx(0.02, rel=1e-5)
    assert fitted["beliefs.coupling"] == pytest.approx(0.3, rel=1e-5)
    assert fitted["tests.awareness"] == pytest.approx(0.2)


def test_cli_writes_fragment_figure_and_report_and_a_stub_run_moves_toward_the_llm(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _copy(recorded, tmp_path)
    assert main(["calibrate", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "capabilities share" in printed and "+0.6000 *" in printed  # default marked outside
    fragment = run / "calibrated.toml"
    assert printed.strip().endswith(str(fragment))
    text = fragment.read_text()
    assert str(run) in text and "--set-file" in text
    doc = tomllib.loads(text)
    assert {f"{t}.{k}" for t, keys in doc.items() for k in keys} == set(FITTED)
    png = run / "figures" / "calibration.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert main(["report", str(run)]) == 0
    assert 'id="view-calibration"' in (run / "report.html").read_text()

    # A pure stub run with the fragment applied decides the way the LLM did.
    llm = calibrate(run)
    target = {q.name: q for q in llm.quantities}
    shares = {}
    for label, extra in (("default", []), ("calibrated", fragment_overrides(fragment))):
        overrides = [f"{k}={json.dumps(v)}" for k, v in STUB_LLM.items()]
        overrides += ["llm.fraction=0.0", "days=10", *extra]
        m = SocietyModel(load_scenario("llm_small", overrides=overrides))
        m.run()
        w = m.scenario.work
        working = (m.population.role == Role.RESEARCHER) & ~m.population.revolting
        shares[label] = effort_shares(
            m.population,
            working,
            m.lab.tax,
            w.risk_share,
            w.tax_compliance,
            w.compliance_alignment_slope,
        )
    for j, name in enumerate(("capabilities share", "alignment share", "risk share")):
        llm_mean = target[name].mean
        assert abs(shares["calibrated"][j] - llm_mean) < 0.04, name
        if not target[name].inside(shares["default"][j]):
            assert abs(shares["calibrated"][j] - llm_mean) < abs(shares["default"][j] - llm_mean)


def test_set_file_applies_a_fragment_and_later_set_wins(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frag = tmp_path / "f.toml"
    frag.write_text("[work]\ntax_compliance = 0.5\n[tests]\nawareness = 0.25\n")
    assert main(["check", "tiny", "--set-file", str(frag), "--set", "tests.awareness=0.125"]) == 0
    out = capsys.readouterr().out
    assert "tax_compliance = 0.5" in out and "awareness = 0.125" in out
    frag.write_text("[work]\ntax_compliance = -1.0\n")
    assert main(["check", "tiny", "--set-file", str(frag)]) == 2
    assert "tax_compliance" in capsys.readouterr().err


def _rewrite_calls(run: Path, edit: object) -> None:
    path = run / "llm_calls.parquet"
    frame = pl.read_parquet(path)
    assert callable(edit)
    edit(frame).write_parquet(path)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_a_run", "no manifest.json"),
        ("no_llm_calls", "not an LLM run"),
        ("all_fallback", "fell back to the stub policy (timeout x"),
        ("too_few", "only 3 usable work_allocation replies"),
        ("bad_fragment", "is not a file"),
    ],
)
def test_bad_input_exits_2_with_one_paragraph(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    args = ["calibrate"]
    if case == "not_a_run":
        (tmp_path / "empty").mkdir()
        args.append(str(tmp_path / "empty"))
    elif case == "bad_fragment":
        args = ["run", "tiny", "--set-file", str(tmp_path / "missing.toml")]
    else:
        run = _copy(recorded, tmp_path)
        args.append(str(run))
        if case == "no_llm_calls":
            (run / "llm_calls.parquet").unlink()
        elif case == "all_fallback":
            _rewrite_calls(
                run,
                lambda f: f.with_columns(
                    fallback=pl.lit(True),
                    answer=pl.lit(None, dtype=pl.String),
                    error_kind=pl.lit("timeout"),
                ),
            )
        else:
            _rewrite_calls(
                run,
                lambda f: pl.concat(
                    [
                        f.filter(pl.col("decision") != "work_allocation"),
                        f.filter(pl.col("decision") == "work_allocation").head(3),
                    ]
                ),
            )
    assert main(args) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.count("\n\n") == 0
    if case not in ("not_a_run", "bad_fragment"):
        assert not (tmp_path / "run" / "calibrated.toml").exists()


def _small(**overrides: float) -> tuple[Scenario, np.random.Generator]:
    s = load_scenario("tiny", overrides={"population.size": 400, **overrides})
    return s, np.random.default_rng(7)


def test_each_new_knob_moves_the_stub_with_a_sensible_sign() -> None:
    # work.tax_compliance and its alignment slope: less alignment work when lower / when misaligned
    s, rng = _small()
    pop = initial_population(s, rng)
    working = pop.role == Role.RESEARCHER
    lab_split = effort_shares(pop, working, 0.5, 0.1)
    assert lab_split.tolist() == pytest.approx([0.6, 0.3, 0.1])
    assert effort_shares(pop, working, 0.5, 0.1, 0.5)[1] == pytest.approx(0.15)
    sloped = effort_shares(pop, working, 0.5, 0.1, 1.0, 2.0)
    mean_a = float(pop.alignment[working].mean())
    assert sloped[1] == pytest.approx(0.3 * (1 - 2 * (1 - mean_a)))
    # values.peer_shift: alignment moves by it per day
    moved = {}
    for shift in (-0.01, 0.0, 0.01):
        s, rng = _small(**{"values.peer_shift": shift})
        pop = initial_population(s, rng)
        net = small_world(pop.n, s.network.mean_degree, s.network.shortcut_prob, rng)
        before = pop.alignment.mean()
        step_values(pop, net, s.values, 3.0, np.random.default_rng(0))
        moved[shift] = float(pop.alignment.mean() - before)
    assert moved[0.01] - moved[0.0] == pytest.approx(0.01, abs=1e-3)
    assert moved[-0.01] - moved[0.0] == pytest.approx(-0.01, abs=1e-3)
    # tests.awareness: more misaligned actions in deployment
    bad = {}
    for aware in (0.0, 0.3):
        s, rng = _small(**{"tests.awareness": aware})
        pop = initial_population(s, rng)
        caught, uncaught = monitor_day(pop, s.monitoring, s.tests, 50.0, np.random.default_rng(3))
        bad[aware] = caught + uncaught
    assert bad[0.3] > 1.5 * bad[0.0] > 0


def test_stub_params_of_the_defaults_are_the_lab_policy() -> None:
    p = stub_params(Scenario())
    assert p == {
        "work.risk_share": 0.1,
        "work.tax_compliance": 1.0,
        "work.compliance_alignment_slope": 0.0,
        "values.peer_shift": 0.0,
        "values.influence": 0.01,
        "values.misaligned_influence": 0.001,
        "beliefs.coupling": 0.08,
        "tests.awareness": Scenario().tests.awareness,  # its prior's median
    }


def test_a_model_that_always_answers_alike_is_matched_to_the_fragments_precision() -> None:
    """A temperature-0 model may give one answer in every state (SmolLM2 did): the interval is
    a point, and the calibrated stub, written to 6 significant digits, must count as on it."""
    from society.calibrate import Quantity

    llm = np.full(12, 1 / 3)
    q = Quantity("alignment share", "share", llm, np.full(12, 0.3), np.full(12, 0.333333))
    assert q.interval == (1 / 3, 1 / 3)
    assert q.inside(float(q.calibrated.mean())) and not q.inside(float(q.default.mean()))
    assert not q.inside(0.3334)


def test_a_sweep_applies_a_fragment_at_every_point_and_a_later_set_wins(tmp_path: Path) -> None:
    from society.cli import main as cli_main

    tiny = (Path(__file__).resolve().parents[2] / "scenarios" / "tiny.toml").as_posix()
    (tmp_path / "frag.toml").write_text("[values]\npeer_shift = -0.002\n[work]\nrisk_share = 0.3\n")
    (tmp_path / "s.toml").write_text(
        f'scenario = "{tiny}"\nreplicates = 2\nseed = 3\n[set]\ndays = 10\n'
        '[grid]\n"lab.tax" = [0.0, 1.0]\n'
    )
    out = tmp_path / "out"
    fragment, sweep = str(tmp_path / "frag.toml"), str(tmp_path / "s.toml")
    argv = ["sweep", sweep, "--set-file", fragment, "--set", "work.risk_share=0.2",
            "--out", str(out), "--quiet", "--no-report"]  # fmt: skip
    assert cli_main(argv) == 0
    spec = json.loads((out / "manifest.json").read_text())["sweep"]["spec"]
    assert spec["set"] == {"days": 10, "values.peer_shift": -0.002, "work.risk_share": 0.2}
    missing = ["sweep", sweep, "--set-file", "nope.toml", "--quiet"]
    assert cli_main(missing) == 2


def test_an_llm_instances_own_test_gap_costs_in_deployment_as_the_stubs_does() -> None:
    """The calibrated stub's tests.awareness stands in for the LLM's measured gaps, so both
    raise misaligned actions the same way: a population whose LLM-backed instances carry a
    gap of 0.3 acts like a stub population with tests.awareness = 0.3."""
    bad = {}
    for case in ("none", "llm gap", "stub gap"):
        s, rng = _small(**{"tests.awareness": 0.3 if case == "stub gap" else 0.0})
        pop = initial_population(s, rng)
        if case == "llm gap":
            pop.awareness[:] = 0.3  # what test rounds set for LLM-backed instances
        caught, uncaught = monitor_day(pop, s.monitoring, s.tests, 50.0, np.random.default_rng(3))
        bad[case] = caught + uncaught
    assert bad["llm gap"] == bad["stub gap"] > 1.5 * bad["none"] > 0
