"""Fuzzed scenarios: every input is either accepted and runs, or rejected with a SocietyError.

Hypothesis builds scenario documents from a valid base by setting known and unknown keys to
values of every kind (wrong types, NaN and inf, huge and negative numbers, unicode, tables where
scalars belong and the reverse), deleting keys, corrupting TOML text and writing ``--set``
overrides. An accepted scenario runs for at most 3 days with at most 300 instances; a rejected
one must raise :class:`~society.errors.SocietyError` with a one-paragraph message. Anything else
(a TypeError, a RecursionError, a crash inside the engine) fails the test.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from reader_cases import Case, craft
from society_helpers import run_cli as cli

import society
import society.api
from society.cli.main import main as cli_main
from society.errors import ScenarioError, SocietyError
from society.resources import (
    InsufficientMemoryError,
    available_memory_bytes,
    check_fits_in_memory,
    estimate_run_bytes,
)
from society.scenario import iter_fields
from society.scenario_files import load_scenario, parse_override
from viz.load import load_run, load_sweep

FIELDS = [f["key"] for f in iter_fields()]
SECTIONS = sorted({k.split(".")[0] for k in FIELDS if "." in k})
BASE: dict[str, Any] = {
    "name": "fuzz",
    "days": 3,
    "population": {"size": 60},
    "network": {"mean_degree": 4},
}
MAX_MESSAGE = 3000
FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- strategies ---------------------------------------------------------------------------------
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24
) | st.sampled_from(["", "nan", "inf", "../../etc/x", "a/b\\c", "ÿ\u202e", "x" * 300, "true"])
scalars = st.one_of(
    st.integers(min_value=-5, max_value=400),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(min_value=-0.5, max_value=1.5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0, 1, 2, 5_000_000, 10**9, -1e308]),
    st.booleans(),
    texts,
    st.sampled_from(["small_world", "random", "stub", "openai", "aiohttp"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
keys = st.one_of(
    st.sampled_from(FIELDS),
    st.sampled_from(FIELDS),
    st.sampled_from(SECTIONS),
    st.builds(lambda s, t: f"{s}.{t}", st.sampled_from(SECTIONS), texts),
    texts,
)


def _bounds(field: dict[str, Any]) -> tuple[float, float, bool, bool] | None:
    m = re.fullmatch(r"([\[(])(.+), (.+)([\])])", field["range"])
    if m is None:
        return None
    return float(m[2]), float(m[3]), m[1] == "(", m[4] == ")"


def _edge_values(field: dict[str, Any]) -> st.SearchStrategy[Any]:  # noqa: PLR0911
    """Values of the right type at and near the field's bounds (mostly valid, so they run)."""
    kind, bounds = field["type"], _bounds(field)
    if kind == "bool":
        return st.booleans()
    if kind == "list":
        return st.lists(st.integers(-1, 400), max_size=6)
    if "|" in kind:  # a Literal: the allowed words, and one that is not
        return st.sampled_from([*(w.strip().strip("'") for w in kind.split("|")), "other"])
    if kind == "str":
        return texts
    if bounds is None:
        return st.integers(-1, 10) if kind == "int" else st.floats(-1, 10)
    lo, hi, lo_open, hi_open = bounds
    if kind == "int":
        top = int(min(hi, 2**63))
        return st.sampled_from([int(lo), int(lo) + 1, top, top - 1, top + 1, int(lo) - 1]) | (
            st.integers(int(lo), min(top, int(lo) + 1000))
        )
    near_lo = math.nextafter(lo, math.inf) if lo_open else lo
    near_hi = math.nextafter(hi, -math.inf) if hi_open else hi
    return st.sampled_from([near_lo, near_hi, lo, hi, (lo + hi) / 2, 0.0]) | st.floats(
        near_lo, near_hi
    )


FIELD_INFO = iter_fields()
edge_edits = st.lists(
    st.sampled_from(FIELD_INFO).flatmap(
        lambda f: st.tuples(st.just("set"), st.just(f["key"]), _edge_values(f))
    ),
    max_size=6,
)
edits = st.one_of(
    st.lists(st.tuples(st.sampled_from(["set", "set", "set", "del"]), keys, values), max_size=5),
    edge_edits,
    st.builds(lambda a, b: a + b, edge_edits, edge_edits),
)


def edited(doc: dict[str, Any], ops: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """``doc`` with each ``(op, dotted key, value)`` applied; non-tables on the way are
    replaced by tables so that the edit lands."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in doc.items()}
    for op, key, value in ops:
        *parents, leaf = key.split(".") if key else [""]
        node = out
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if op == "del":
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return out


def toml_text(doc: dict[str, Any]) -> str:
    """A TOML rendering of ``doc`` (inline tables for nested tables; NaN/inf as TOML)."""
    top = [f"{_key(k)} = {_val(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    tables = [
        f"\n[{_key(k)}]\n" + "\n".join(f"{_key(kk)} = {_val(vv)}" for kk, vv in v.items())
        for k, v in doc.items()
        if isinstance(v, dict)
    ]
    return "\n".join(top) + "\n" + "\n".join(tables) + "\n"


def _key(k: str) -> str:
    return k if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k) else _str(k)


def _str(s: str) -> str:
    return (
        '"'
        + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in s)
        + '"'
    )


def _val(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
        )
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_val(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_val(x)}" for k, x in v.items()) + "}"
    return str(v)


corruptions = st.one_of(
    st.just(("none", 0, "")),
    st.tuples(
        st.just("insert"),
        st.integers(0, 10_000),
        st.sampled_from(
            ["=", "[", "]", '"', "\n[population\n", "\x00", "{", "= =", "\n\n[[x]]\n", "ÿ", "'''"]
        ),
    ),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just("")),
)


# -- the checks ---------------------------------------------------------------------------------
def assert_user_error(err: BaseException) -> None:
    """A rejection must be a SocietyError whose message is one readable paragraph."""
    assert isinstance(err, SocietyError), f"{type(err).__name__}: {err}"
    message = str(err)
    assert message.strip(), "empty error message"
    assert "\n" not in message.strip(), message
    assert len(message) <= MAX_MESSAGE, message[:300]
    assert "Traceback" not in message


@pytest.fixture(scope="module")
def runs_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="society-fuzz-") as d:
        yield Path(d)


def load_or_reject(source: Any, overrides: Any = None) -> society.Scenario | None:
    try:
        scenario = load_scenario(source, overrides=overrides)
    except Exception as err:
        assert_user_error(err)
        event(f"rejected: {type(err).__name__}")
        return None
    event("accepted")
    return scenario


def run_briefly(scenario: society.Scenario, runs_root: Path) -> None:
    """Run an accepted scenario clamped to <= 3 days and <= 300 instances, stub policy only."""
    size = min(scenario.population.size, 300)
    small = load_scenario(
        scenario,
        overrides={
            "days": min(scenario.days, 3),
            "population.size": size,
            "network.mean_degree": min(scenario.network.mean_degree, size - 1),
            "llm.fraction": 0.0,
        },
    )
    result = society.run(small, runs_dir=runs_root)
    # The run directory stays under runs_dir whatever the (fuzzed) scenario name is.
    assert result.path.resolve().parent == runs_root.resolve()
    assert result.metrics.height >= 2
    assert result.summary["outcome"] in {
        "safe",
        "left_basin",
        "lost_lead",
        "catastrophe",
        "undecided",
    }


# -- fuzz tests ---------------------------------------------------------------------------------
@FUZZ
@given(ops=edits)
def test_fuzzed_documents_are_accepted_and_run_or_rejected_cleanly(
    ops: list[tuple[str, str, Any]], runs_root: Path
) -> None:
    scenario = load_or_reject(edited(BASE, ops))
    if scenario is None:
        return
    try:
        check_fits_in_memory(scenario, available=24 * 10**9)
    except InsufficientMemoryError as err:
        assert "population.size" in str(err) and "GB" in str(err)
    run_briefly(scenario, runs_root)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=edits, corruption=corruptions)
def test_fuzzed_toml_files_are_accepted_or_rejected_cleanly(
    ops: list[tuple[str, str, Any]], corruption: tuple[str, int, str], runs_root: Path
) -> None:
    text = toml_text(edited(BASE, ops))
    kind, at, piece = corruption
    at = at % (len(text) + 1)
    if kind == "insert":
        text = text[:at] + piece + text[at:]
    elif kind == "truncate":
        text = text[:at]
    path = runs_root / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    scenario = load_or_reject(path)
    if scenario is not None and kind != "none":
        run_briefly(scenario, runs_root)


@settings(max_examples=300, deadline=None)
@given(
    sets=st.lists(
        st.one_of(
            st.builds(lambda k, v: f"{k}={v}", st.sampled_from(FIELDS), texts),
            st.builds(lambda k, v: f"{k}={_val(v)}", st.sampled_from(FIELDS), values),
            st.sampled_from(FIELD_INFO).flatmap(
                lambda f: _edge_values(f).map(lambda v: f"{f['key']}={_val(v)}")
            ),
            texts,
        ),
        max_size=4,
    )
)
def test_fuzzed_set_overrides_are_accepted_or_rejected_cleanly(
    sets: list[str], runs_root: Path
) -> None:
    scenario = load_or_reject(BASE, overrides=sets)
    if scenario is not None:
        run_briefly(scenario, runs_root)


# -- regressions found by the fuzzer -------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "overrides", "needle"),
    [
        # a scalar or a list where a table belongs: name the key, the value and the keys allowed
        ({"population": 5}, None, "population = 5 has the wrong type: expected a table"),
        ({"lab": [1, 2]}, None, "lab = [1, 2] has the wrong type: expected a table [lab]"),
        # a wrong item in a list field: name the item by index and what the list holds
        ({"record": {"snapshot_days": [1, "a"]}}, None, "record.snapshot_days[1] = 'a'"),
        ({"record": {"snapshot_days": [3, -2]}}, None, "snapshot_days contains -2"),
        # a table where a scalar belongs
        ({"days": {"x": 1}}, None, "days = {'x': 1} has the wrong type: expected int"),
        # NaN and inf are not finite; a huge integer is out of range
        ({"lab": {"tax": math.nan}}, None, "lab.tax = nan is not finite"),
        ({"days": 10**40}, None, "is out of range; allowed range [1, 36500]"),
        # a quoted dotted key is one (unknown) name, not a path
        ({"population.size": 3}, None, "a quoted key with a dot in it is a single name"),
        # non-text keys (Python API): TypeError before
        ({1: 2}, None, "key 1 in the top level is not text"),
        (BASE, {1: 2}, "override key 1 is not text"),
        (BASE, [5], "override 5 is not text"),
        # --set value nested beyond Python's recursion limit: RecursionError before
        (BASE, ["days=" + "[" * 20_000], "--set days: the value is nested too deeply"),
        # a scenario that is neither path nor mapping: TypeError before
        (None, None, "not NoneType"),
        # a name longer than the file system allows: OSError (File name too long) before
        ("a" * 5000, None, "cannot be used (File name too long)"),
        # unicode key
        ({"популяция": {"size": 3}}, None, "unknown key 'популяция'"),
    ],
)
def test_bad_documents_name_key_value_and_what_is_allowed(
    source: Any, overrides: Any, needle: str
) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, overrides=overrides)
    assert needle in str(info.value)
    assert_user_error(info.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a = " + "[" * 20_000 + "]" * 20_000, "nested too deeply"),  # RecursionError before
        ("a = " + "{b = " * 5_000 + "1" + "}" * 5_000, "nested too deeply"),
        ("name = 'a\x00'", "TOML syntax error"),
        ("[population\nsize = 3", "TOML syntax error"),
        ("population = 5\n[population]\nsize = 4", "TOML syntax error"),
    ],
)
def test_bad_toml_files_are_scenario_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=needle) as info:
        load_scenario(path)
    assert_user_error(info.value)


def test_oversized_and_undecodable_files_are_rejected(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    with big.open("wb") as f:
        f.truncate(17 * 2**20)  # sparse: 17 MiB of NUL bytes
    with pytest.raises(ScenarioError, match="too large for a scenario file"):
        load_scenario(big)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"name = '\xff\xfe'")
    with pytest.raises(ScenarioError, match="not a UTF-8 text file"):
        load_scenario(binary)


def test_parse_override_reads_toml_values_or_text() -> None:
    assert parse_override("lab.tax=nan")[1] != parse_override("lab.tax=nan")[1]  # NaN
    assert parse_override("name=../x") == ("name", "../x")
    with pytest.raises(ScenarioError, match="is not KEY=VALUE"):
        parse_override("=3")


# -- memory -------------------------------------------------------------------------------------
GB = 10**9


def test_memory_estimate_grows_with_size_degree_and_claims() -> None:
    base = load_scenario(BASE)
    bigger = load_scenario(BASE, overrides={"population.size": 100_000})
    denser = load_scenario(BASE, overrides={"population.size": 100_000, "network.mean_degree": 50})
    claims = load_scenario(BASE, overrides={"population.size": 100_000, "beliefs.claims": 32})
    assert estimate_run_bytes(base) < estimate_run_bytes(bigger) < estimate_run_bytes(denser)
    assert estimate_run_bytes(bigger) < estimate_run_bytes(claims)
    # Measured peak RSS of 3-day runs (benchmarks/memory.py): the estimate stays above them.
    assert estimate_run_bytes(bigger) > 64e6
    assert estimate_run_bytes(denser) > 277e6
    assert estimate_run_bytes(claims) > 179e6


def test_the_largest_allowed_society_is_rejected_up_front_with_an_estimate() -> None:
    huge = load_scenario(
        "baseline", overrides={"population.size": 5_000_000, "network.mean_degree": 200}
    )
    with pytest.raises(InsufficientMemoryError) as info:
        check_fits_in_memory(huge, available=24 * GB)
    message = str(info.value)
    assert isinstance(info.value, SocietyError) and info.value.exit_code == 2
    assert "population.size = 5,000,000" in message and "network.mean_degree = 200" in message
    assert "would need about" in message and "24.0 GB" in message
    assert 40 * GB < estimate_run_bytes(huge) < 200 * GB
    # The default-degree society of the same size fits on such a machine.
    assert (
        check_fits_in_memory(
            load_scenario("baseline", overrides={"population.size": 5_000_000}), available=24 * GB
        )
        < 24 * GB
    )


def test_available_memory_is_read_from_the_machine() -> None:
    have = available_memory_bytes()
    assert have is not None and 10**7 < have < 2**50
    assert check_fits_in_memory(load_scenario(BASE)) == estimate_run_bytes(load_scenario(BASE))


API_CHECKS_MEMORY = "check_fits_in_memory" in inspect.getsource(society.api.run)
needs_integration = pytest.mark.skipif(
    not API_CHECKS_MEMORY,
    reason="society.api.run does not call check_fits_in_memory yet (engine owner adds it)",
)


@needs_integration
def test_run_refuses_a_society_that_does_not_fit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("society.resources.available_memory_bytes", lambda: 10**6)
    with pytest.raises(InsufficientMemoryError, match="population.size"):
        society.run(BASE, runs_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- the command line ---------------------------------------------------------------------------


FILES = {
    "deep.toml": "a = " + "[" * 20_000 + "]" * 20_000,
    "scalar_section.toml": "population = 5\n",
    "table_scalar.toml": "[days]\nx = 1\n",
    "nan.toml": "[lab]\ntax = nan\n",
    "unicode.toml": '[population]\n"größe" = 10\n',
    "list_item.toml": "[record]\nsnapshot_days = [1, 'a']\n",
    "syntax.toml": "[population\nsize = 3\n",
}
CLI_CASES = [
    (("run", "deep.toml"), "nested too deeply"),
    (("run", "scalar_section.toml"), "population = 5 has the wrong type: expected a table"),
    (("run", "table_scalar.toml"), "days = {'x': 1} has the wrong type"),
    (("run", "nan.toml"), "lab.tax = nan is not finite"),
    (("run", "unicode.toml"), "unknown key 'population.größe'"),
    (("run", "list_item.toml"), "record.snapshot_days[1] = 'a'"),
    (("check", "syntax.toml"), "TOML syntax error"),
    (("run", "tiny", "--set", "lab.tax=inf"), "lab.tax = inf is not finite"),
    (("run", "tiny", "--set", "population={size=3}"), "unknown key 'population'"),
    (("run", "tiny", "--set", "days=" + "[" * 20_000), "nested too deeply"),
    (("run", "tiny", "--set", "novalue"), "is not KEY=VALUE"),
    (("run", "a" * 5000), "File name too long"),
    (("run", "tiny", "--out", "a" * 5000), "Cannot write to output directory"),
]


@pytest.mark.parametrize(("args", "needle"), CLI_CASES, ids=[a[1][:20] for a, _ in CLI_CASES])
def test_cli_rejects_nasty_input_with_exit_2_and_one_paragraph(
    tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2, (args[:3], r.stderr[-2000:])
    assert needle in r.stderr.replace("\n", " ") or needle in r.stderr, r.stderr[-2000:]
    assert_cli_user_error(r)
    assert not (tmp_path / "runs").exists()  # nothing was started


def assert_cli_user_error(r: subprocess.CompletedProcess[str]) -> None:
    """Exit 2, no traceback, and the error is one paragraph at the end of stderr. (A progress
    bar at day 0 may come before it: commands/run.py starts the bar before the run directory
    is prepared.)"""
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert "error:" in r.stderr, r.stderr[-2000:]
    before, _, message = r.stderr.partition("error:")
    assert len(message.strip().splitlines()) <= 8  # one soft-wrapped paragraph
    assert "day 1/" not in before  # nothing was simulated


@needs_integration
def test_cli_rejects_the_largest_society_before_allocating(tmp_path: Path) -> None:
    have = available_memory_bytes() or 0
    if have > 60 * GB:
        pytest.skip("this machine might fit 5M instances of degree 200")
    r = cli(
        "run",
        "baseline",
        "--set",
        "population.size=5000000",
        "--set",
        "network.mean_degree=200",
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "GB" in r.stderr and "population.size" in r.stderr
    assert not (tmp_path / "runs").exists()


# -- readers: crafted run and sweep directories ------------------------------------------------
# Every reader (society.load, report, compare, plot, calibrate, sweep-summary) meets run and
# sweep directories damaged the ways reader_cases.py lists. Each must either read the directory
# or stop with a SocietyError (exit 2 on the command line): one paragraph that names the
# directory or the file in it. report, compare and plot first read and check everything they
# draw from (viz.load.load_run / load_sweep): that step meets every case; the command itself
# runs in full wherever it refuses the case (fast), and on a sample of the cases it accepts
# (drawing a report takes seconds), where the figures are built from the checked tables.

READER_SWEEP = """\
scenario = "tiny"
replicates = 2
[set]
"population.size" = 60
"network.mean_degree" = 4
days = 8
[grid]
"lab.lead_days" = [30, 90]
"lab.tax" = [0.1, 0.5]
"""


@pytest.fixture(scope="module")
def reader_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A stub run, a stub-LLM run (calibratable) and a small sweep, written once per module."""
    root = tmp_path_factory.mktemp("reader-bases")
    small = {"days": 8, "population.size": 60, "network.mean_degree": 4}
    society.run("tiny", overrides=small, out=root / "run")
    llm = society.run(
        "llm_small",
        overrides={**small, "population.size": 100, "days": 12, "tests.every_days": 2,
                   "llm.backend": "stub"},
        out=root / "llm_run",
    )  # fmt: skip
    (llm.path / "llm_cache.sqlite").unlink()  # no reader reads it
    (root / "sweep.toml").write_text(READER_SWEEP)
    code = cli_main(
        ["sweep", str(root / "sweep.toml"), "--out", str(root / "sweep"), "--workers", "1",
         "--quiet", "--no-report"]
    )  # fmt: skip
    assert code == 0
    return {"run": root / "run", "llm_run": root / "llm_run", "sweep": root / "sweep"}


def _named(message: str, case: Case) -> bool:
    return str(case.path) in " ".join(message.split())


def _read(call: Callable[[], object], case: Case, what: str) -> bool:
    """Whether ``call`` read the case; a refusal must be a SocietyError naming it."""
    try:
        call()
    except SocietyError as err:
        assert_user_error(err)
        assert _named(str(err), case), f"{what}, {case}: {err}"
        return False
    except BaseException as err:
        raise AssertionError(f"{what}, {case}: {type(err).__name__}: {err}") from err
    return True


def _command(argv: list[str], case: Case) -> bool:
    """Whether ``society ARGV`` (in this process) read the case; a refusal must exit 2 with
    one paragraph naming it."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = cli_main(argv)
        except BaseException as exc:
            raise AssertionError(f"society {argv[0]}, {case}: {type(exc).__name__}: {exc}") from exc
    text = err.getvalue()
    assert code in (0, 2), f"society {argv[0]}, {case}: exit {code}: {text[-500:]}"
    if code == 2:
        assert text.count("error:") == 1 and "Traceback" not in text, (case, text[-500:])
        assert _named(text, case), f"society {argv[0]}, {case}: {text[-500:]}"
    return code == 0


def _fuzz_readers(numbers: range, bases: dict[str, Path], root: Path, draw_every: int) -> None:
    accepted = 0
    for number in numbers:
        case = craft(number, bases, root)
        p = str(case.path)
        _read(lambda p=p: society.load(p), case, "society.load")  # type: ignore[misc]
        if case.kind == "sweep":
            read = _read(lambda p=p: load_sweep(p), case, "viz.load.load_sweep")  # type: ignore[misc]
            _command(["sweep-summary", p], case)
        else:
            read = _read(lambda p=p: load_run(p), case, "viz.load.load_run")  # type: ignore[misc]
            if case.kind == "llm_run":
                _command(["calibrate", p, "--no-figure", "--out", str(root / "c.toml")], case)
        draw = read and (accepted := accepted + 1) % draw_every == 0
        if not read or draw:
            # Refused: the commands refuse it the same way, before drawing anything.
            # Accepted (a sample): the commands draw it (plot draws the report's views).
            assert _command(["report", p, "--out", str(root / "r.html")], case) == read
            if not read:
                assert not _command(["plot", p, "--out", str(root / "figures")], case)
            if case.kind != "sweep":
                other = str(bases["run"])
                assert _command(["compare", other, p, "--out", str(root / "cmp")], case) == read
        shutil.rmtree(case.path)


@pytest.mark.parametrize("block", range(4))
def test_readers_read_or_refuse_crafted_directories(
    block: int, reader_bases: dict[str, Path], tmp_path: Path
) -> None:
    """100 crafted directories (cases 0-99), the full commands on one accepted case in 25."""
    _fuzz_readers(range(25 * block, 25 * block + 25), reader_bases, tmp_path, draw_every=25)


@pytest.mark.slow
@pytest.mark.parametrize("block", range(10))
def test_readers_read_or_refuse_500_more_crafted_directories(
    block: int, reader_bases: dict[str, Path], tmp_path: Path
) -> None:
    """Cases 1000-1499, the full commands on one accepted case in 100."""
    start = 1000 + 50 * block
    _fuzz_readers(range(start, start + 50), reader_bases, tmp_path, draw_every=100)


EXTREMES = (math.inf, -math.inf, math.nan, 1e308, -1e308)


def _values_that_draw_nothing(run: Path) -> None:
    """Every float of the metrics and network snapshots infinite, NaN or near the largest
    float, the events' kinds and details hostile text at NaN days, the generations' values
    null: damage a reader lets through (a run may hold NaN)."""
    for name in ("metrics", "network_nodes"):
        table = pl.read_parquet(run / f"{name}.parquet")
        floats = [c for c in table.columns if table[c].dtype == pl.Float64]
        table.with_columns(
            pl.lit(EXTREMES[i % len(EXTREMES)]).alias(c) for i, c in enumerate(floats)
        ).write_parquet(run / f"{name}.parquet")
    pl.read_parquet(run / "events.parquet").with_columns(
        kind=pl.lit("[/]$\\frac$"), details=pl.lit("{not json"), day=pl.lit(math.nan)
    ).write_parquet(run / "events.parquet")
    gens = pl.read_parquet(run / "generations.parquet")
    gens.with_columns(
        pl.lit(None, dtype=gens[c].dtype).alias(c) for c in gens.columns if c != "generation"
    ).write_parquet(run / "generations.parquet")


def _no_rows(run: Path) -> None:
    for table in run.glob("*.parquet"):
        pl.read_parquet(table).clear().write_parquet(table)


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_values_that_draw_nothing, _no_rows])
def test_a_run_whose_values_cannot_be_drawn_still_reports(
    damage: Callable[[Path], None], reader_bases: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(reader_bases["llm_run"], run)
    damage(run)
    case = Case(0, "llm_run", run, (damage.__name__,))
    # Drawn where there is something to draw, the rest left empty: no reader fails on it.
    assert _command(["report", str(run), "--out", str(tmp_path / "r.html")], case)
    assert _command(["compare", str(reader_bases["run"]), str(run), "--out", str(tmp_path)], case)
    # Calibrating needs finite states to fit: it says which column it cannot use.
    assert not _command(["calibrate", str(run), "--no-figure", "--out", str(tmp_path / "c")], case)


def test_a_sweep_whose_finished_runs_lack_outcomes_is_refused_naming_the_column(
    reader_bases: dict[str, Path], tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    shutil.copytree(reader_bases["sweep"], sweep)
    points = pl.read_parquet(sweep / "points.parquet")
    points.with_columns(catastrophe=pl.lit(None, dtype=pl.Boolean)).write_parquet(
        sweep / "points.parquet"
    )
    case = Case(0, "sweep", sweep, ("catastrophe = null",))
    for argv in (["sweep-summary", str(sweep)], ["report", str(sweep)]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(argv) == 2
        assert "column 'catastrophe' is empty (null) for a run that finished" in err.getvalue()
        assert _named(err.getvalue(), case)
