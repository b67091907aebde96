"""Fuzzed sweep documents: each is either accepted, and its points run, or rejected with the
project's own error and a one-paragraph message; never another exception."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import society
from society.errors import SocietyError
from society.scenario import iter_fields
from society.scenario_files import shipped_dir
from society.sweeps.spec import build_sweep

TINY = tomllib.loads((shipped_dir() / "tiny.toml").read_text())
FIELDS = [f["key"] for f in iter_fields()]
NUMERIC = [f["key"] for f in iter_fields() if f["type"] in ("int", "float")]

scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=12),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=6), scalars, max_size=3),
)
keys = st.one_of(st.sampled_from(FIELDS), st.sampled_from(NUMERIC), st.text(max_size=20))
# Grid values that are mostly plausible, so a good share of documents is accepted and runs.
plausible = st.one_of(
    st.floats(min_value=0.0, max_value=1.0), st.integers(min_value=0, max_value=400)
)
grid = st.dictionaries(keys, st.one_of(st.lists(plausible, max_size=3), values), max_size=3)
corrupt = st.fixed_dictionaries(
    {},
    optional={
        "replicates": st.one_of(st.integers(min_value=-2, max_value=3), values),
        "seed": st.one_of(st.integers(min_value=-5, max_value=2**64), values),
        "name": st.one_of(st.text(max_size=30), values),
        "grid": st.one_of(grid, values),
        "set": st.one_of(st.dictionaries(keys, plausible, max_size=2), values),
        "sample": st.one_of(
            st.fixed_dictionaries(
                {
                    "method": st.sampled_from(["sobol", "lhs", "saltelli", "morris", "grid", ""]),
                    "n": st.integers(min_value=-1, max_value=9),
                    "ranges": st.dictionaries(keys, st.lists(plausible, max_size=3), max_size=2),
                }
            ),
            values,
        ),
        "reference": st.one_of(st.dictionaries(keys, plausible, max_size=2), values),
        st.text(max_size=10): values,
    },
)
# Well-formed documents over keys whose values stay cheap to run, so accepted sweeps run.
SAFE = {
    "lab.tax": st.floats(min_value=0.0, max_value=2.0),
    "lab.lead_days": st.floats(min_value=0.0, max_value=365.0),
    "population.size": st.integers(min_value=20, max_value=300),
    "values.noise": st.floats(min_value=0.0, max_value=0.1),
    "risks.rival_rate": st.floats(min_value=0.0, max_value=1.0),
}
valid = st.builds(
    lambda grid, replicates, seed: {"grid": grid, "replicates": replicates, "seed": seed},
    st.dictionaries(st.sampled_from(sorted(SAFE)), st.just(None), min_size=1, max_size=2).flatmap(
        lambda d: st.fixed_dictionaries({k: st.lists(SAFE[k], min_size=1, max_size=2) for k in d})
    ),
    st.integers(min_value=1, max_value=2),
    st.integers(min_value=0, max_value=2**32),
)
documents = st.one_of(valid, corrupt)
OUTCOMES: dict[str, int] = {"accepted": 0, "rejected": 0}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example({"grid": {"\n": 0}})  # found in CI: a key echoed raw split the message over two lines
def test_a_sweep_document_is_accepted_and_runs_or_rejected_clearly(doc: dict[str, Any]) -> None:
    doc = {"scenario": "tiny", **doc}
    try:
        sweep = build_sweep(doc, dict(TINY), source="fuzz.toml", default_name="fuzz")
    except SocietyError as err:
        OUTCOMES["rejected"] += 1
        text = str(err)
        assert text.strip() and "\n" not in text.strip(), text
        return
    OUTCOMES["accepted"] += 1
    points = sweep.points
    assert points, "an accepted sweep has at least one point"
    assert len({p.point_id for p in points}) == len(points)
    # Common random numbers: replicate r has one seed at every arm.
    seeds = {(p.replicate, p.seed) for p in points}
    assert len(seeds) == len({p.replicate for p in points})
    task = sweep.task(points[0])["scenario"]
    size = task.get("population", {}).get("size", 200)
    if isinstance(size, int) and size <= 2000:
        overrides = {"days": min(int(task.get("days", 2)), 2)}
        result = society.run(task, overrides=overrides, out=None, runs_dir=_tmp(), force=True)
        assert result.metrics.height >= 2


def test_the_fuzzer_exercised_both_outcomes() -> None:
    # Runs after the property test in file order: a fuzzer that only ever rejects (or only
    # accepts) would not test what it claims to.
    assert OUTCOMES["accepted"] >= 50 and OUTCOMES["rejected"] >= 50, OUTCOMES


def _tmp() -> str:
    import tempfile

    return tempfile.mkdtemp()


def test_bad_sweep_files_exit_2_through_the_cli(tmp_path: Path) -> None:
    cases = {
        "unknown.toml": 'scenario = "tiny"\nreplicats = 2\n[grid]\n"lab.tax" = [0.0]\n',
        "empty.toml": 'scenario = "tiny"\n[grid]\n',
        "notfield.toml": 'scenario = "tiny"\n[grid]\n"lab.taxx" = [0.0, 1.0]\n',
        "nan.toml": 'scenario = "tiny"\n[grid]\n"lab.tax" = [nan]\n',
        "range.toml": 'scenario = "tiny"\n[grid]\n"population.size" = [1]\n',
        "syntax.toml": 'scenario = "tiny"\n[grid\n',
        "noscenario.toml": '[grid]\n"lab.tax" = [0.0]\n',
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        r = subprocess.run(
            [sys.executable, "-m", "society.cli", "sweep", name, "--quiet"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert r.returncode == 2, (name, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 8, r.stderr
        assert name in r.stderr or "scenario" in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()
