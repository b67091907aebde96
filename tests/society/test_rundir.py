"""RunDir and Manifest: one definition of a run directory that every reader and writer shares."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import society
from society.api import RunStopped
from society.errors import RunDirectoryError
from society.llm.setup import cache_path
from society.scenario import LLM
from society.store.checkpoint import latest
from society.store.rundir import Manifest, RunDir
from society.sweeps.store import SweepStore

REPO = Path(__file__).resolve().parents[2]
#: The manifest's keys, in the order written, since before the manifest was typed (``files``
#: added since, last).
MANIFEST_KEYS = [
    "run_id",
    "status",
    "scenario_name",
    "seed",
    "scenario",
    "scenario_sha256",
    "versions",
    "git",
    "model",
    "platform",
    "started_utc",
    "finished_utc",
    "wall_seconds",
    "error",
    "files",
]


def one_paragraph(err: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(err.value)
    assert "\n" not in text and len(text) < 400, text
    return text


# -- the manifest --------------------------------------------------------------------------------
def test_manifest_json_keeps_its_keys_order_and_values(tiny_run: society.RunResult) -> None:
    text = RunDir(tiny_run.path).manifest_path.read_text()
    raw = json.loads(text)
    assert list(raw) == MANIFEST_KEYS  # no llm / resumed_from keys for a plain run
    manifest = Manifest.read(tiny_run.path / "manifest.json")
    assert manifest.to_json() == raw and list(manifest.to_json()) == MANIFEST_KEYS
    assert manifest.status == "success" and manifest.seed == 7
    assert manifest.resolved_scenario() == tiny_run.scenario
    assert tiny_run.manifest == raw  # what the API hands back is what the file says
    # Written back unchanged, byte for byte.
    copy = Path(tiny_run.path.parent) / "manifest-copy.json"
    manifest.write(copy)
    assert copy.read_text() == text


def test_manifest_keeps_keys_it_does_not_know(tmp_path: Path, tiny_run: society.RunResult) -> None:
    data = json.loads((tiny_run.path / "manifest.json").read_text())
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({**data, "notebook": "analysis.ipynb"}))
    manifest = Manifest.read(path)
    manifest.status = "error"
    manifest.write(path)
    again = json.loads(path.read_text())
    assert again["notebook"] == "analysis.ipynb" and again["status"] == "error"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"status": "finished-ish"}, "status"),
        ({"seed": "seven"}, "seed"),
        ({"git": "main"}, "git"),
        ({"run_id": None}, "run_id"),
    ],
)
def test_an_invalid_manifest_is_one_paragraph_naming_file_and_key(
    tmp_path: Path, tiny_run: society.RunResult, change: dict[str, object], named: str
) -> None:
    data = json.loads((tiny_run.path / "manifest.json").read_text())
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({**data, **change}))
    with pytest.raises(RunDirectoryError) as err:
        Manifest.read(path)
    text = one_paragraph(err)
    assert str(path) in text and named in text and "rerun the scenario" in text


def test_an_unreadable_manifest_is_named(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{"status": "succ')
    with pytest.raises(RunDirectoryError, match="cannot be read") as err:
        Manifest.read(path)
    assert str(path) in one_paragraph(err)


def test_assigning_a_bad_status_fails_before_anything_is_written(
    tiny_run: society.RunResult,
) -> None:
    manifest = Manifest.read(tiny_run.path / "manifest.json")
    with pytest.raises(ValueError, match="status"):
        manifest.status = "done"  # type: ignore[assignment]


# -- opening a run directory --------------------------------------------------------------------
def test_open_says_what_is_wrong_in_one_paragraph(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty").mkdir()
    for name in ("nowhere", "a-file", "empty"):
        with pytest.raises(RunDirectoryError) as err:
            RunDir.open(tmp_path / name, "resume")
        text = one_paragraph(err)
        assert text.startswith(f"cannot resume '{tmp_path / name}'")
        assert "has no manifest.json" in text and "`society run`" in text
        assert ("not a directory" in text) == (name != "empty")
    assert not (tmp_path / "nowhere").exists()  # opening creates nothing


def test_incomplete_run_names_the_missing_file_and_its_status(tmp_path: Path) -> None:
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides={"record.checkpoint_every_days": 5},
            out=tmp_path / "cut",
            on_day=lambda m: m.request_stop() if m.day >= 10 else None,
        )
    run = RunDir.open(tmp_path / "cut")
    assert run.missing() == ["summary.json"]
    with pytest.raises(RunDirectoryError) as err:
        society.load(run.path)
    text = one_paragraph(err)
    assert "summary.json is missing" in text and "interrupted" in text and "--resume" in text
    # The checkpoints are where RunDir says, and where resume looks for them.
    assert latest(run.path).parent == run.checkpoints
    society.resume(run.path)
    assert run.missing() == [] and not run.checkpoints.exists()


# -- one definition: every file a run writes is named by RunDir --------------------------------
def test_every_file_a_run_writes_has_a_name_in_run_dir(tiny_run: society.RunResult) -> None:
    run = RunDir(tiny_run.path)
    named = {
        run.manifest_path,
        run.metrics,
        run.events,
        run.generations,
        run.summary,
        run.network_nodes,
        run.network_edges,
        run.llm_calls,
        run.llm_cache,
        run.checkpoints,
        run.figures,
        run.report,
        run.lock_path,
    }
    written = set(run.path.iterdir())
    assert written and written <= named
    assert {run.path / name for name in RunDir.REQUIRED} <= written
    assert {run.table(stem) for stem in RunDir.REPRODUCIBLE} <= written


def test_the_llm_cache_is_where_run_dir_says(tmp_path: Path) -> None:
    assert cache_path(LLM(), tmp_path) == RunDir(tmp_path).llm_cache


def test_viz_writes_figures_and_report_where_the_layouts_say(
    tmp_path: Path, tiny_run: society.RunResult
) -> None:
    from viz import write_report, write_run_figures

    out = tmp_path / "run"
    society.run("tiny", out=out, overrides={"days": 20})
    run = RunDir(out)
    assert write_report(out) == run.report
    figures = write_run_figures(out, ["drift"])
    assert [p.parent for p in figures] == [run.figures]
    assert SweepStore(out).figures == run.figures and SweepStore(out).report == run.report


def names_restated(path: Path, names: set[str]) -> list[str]:
    """String constants in ``path`` (docstrings aside) that spell one of ``names``."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in names
        and id(node) not in docstrings
    ]


def test_file_names_are_spelled_only_by_the_layouts() -> None:
    names = {
        "manifest.json",
        "metrics.parquet",
        "events.parquet",
        "generations.parquet",
        "summary.json",
        "network_nodes.parquet",
        "network_edges.parquet",
        "llm_calls.parquet",
        "checkpoint",
        "figures",
        "report.html",
        "points.parquet",
        "summary.parquet",
        ".lock",
    }
    readers_and_writers = [
        REPO / "society" / "api.py",
        *sorted((REPO / "society" / "cli").glob("*.py")),
        *sorted((REPO / "viz").glob("*.py")),
        REPO / "society" / "sweeps" / "runner.py",
        REPO / "society" / "sweeps" / "summary.py",
    ]
    restated = [hit for path in readers_and_writers for hit in names_restated(path, names)]
    assert restated == []


def test_reproduce_into_the_original_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from society.cli import main as cli_main

    original = society.run("tiny", out=tmp_path / "run", overrides={"days": 3}).path
    before = {p.name: p.read_bytes() for p in original.iterdir()}
    argv = ["run", "--reproduce", str(original), "--out", str(original), "--force", "--quiet"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "needs its own directory" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in original.iterdir()} == before


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from society.store.rundir import claim_default_run_dir

    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    claimed = [claim_default_run_dir(tmp_path, "tiny", 7, t0) for _ in range(3)]
    assert [p.name for p in claimed] == [
        "tiny-20260102T030405Z-s7",
        "tiny-20260102T030405Z-s7-2",
        "tiny-20260102T030405Z-s7-3",
    ]
    assert all(p.is_dir() and not any(p.iterdir()) for p in claimed)
    (tmp_path / "file").write_text("x")
    unwritable = claim_default_run_dir(tmp_path / "file", "tiny", 7, t0)
    with pytest.raises(RunDirectoryError, match="Cannot write to output directory"):
        society.run("tiny", out=unwritable)
