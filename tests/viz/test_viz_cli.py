"""`society plot`, `society report` and `society compare` through the command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

WORKTREE = Path(__file__).resolve().parents[2]


def society_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WORKTREE), env.get("PYTHONPATH")]))
    # No display and an interactive backend requested: viz must not need either.
    env.pop("DISPLAY", None)
    env["MPLBACKEND"] = "TkAgg"
    return subprocess.run(
        [sys.executable, "-m", "society.cli", *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_not_a_run_directory_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for command in ("plot", "report"):
        proc = society_cli(command, tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "neither a run nor a sweep directory" in proc.stderr
        assert "manifest.json is missing" in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = society_cli("report", tmp_path / "nowhere")
    assert proc.returncode == 2 and "is not a directory" in proc.stderr


def test_run_missing_a_file_exits_2_naming_it(tiny_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    (broken / "generations.parquet").unlink()
    proc = society_cli("report", broken)
    assert proc.returncode == 2
    assert "generations.parquet is missing" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = society_cli("compare", tiny_dir, broken, "--out", tmp_path / "cmp")
    assert proc.returncode == 2 and "generations.parquet is missing" in proc.stderr


def test_plot_report_compare(
    tiny_dir: Path, bare_dir: Path, sweep_dir: Path, tmp_path: Path
) -> None:
    proc = society_cli(
        "plot",
        tiny_dir,
        "--view",
        "drift",
        "--view",
        "tests",
        "--format",
        "svg",
        "--out",
        tmp_path / "figs",
    )
    assert proc.returncode == 0, proc.stderr
    assert [Path(line).name for line in proc.stdout.split()] == ["drift.svg", "tests.svg"]
    proc = society_cli("plot", tiny_dir, "--view", "bogus")
    assert proc.returncode == 2 and "unknown view 'bogus'" in proc.stderr
    proc = society_cli("report", sweep_dir, "--out", tmp_path / "sweep.html")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "sweep.html").stat().st_size > 50_000
    proc = society_cli("plot", sweep_dir, "--view", "basin", "--out", tmp_path / "sf")
    assert proc.returncode == 0 and (tmp_path / "sf" / "basin.png").is_file()
    proc = society_cli("compare", tiny_dir, bare_dir, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "runs" / "compare" / "tiny-vs-bare" / "report.html").is_file()
    proc = society_cli("compare", tiny_dir)
    assert proc.returncode == 2 and "at least two" in proc.stderr


def test_report_rebuilds_missing_and_empty_figures(tmp_path: Path) -> None:
    import shutil

    from society.cli import main as society_main

    run = tmp_path / "r"
    assert society_main(["run", "tiny", "--quiet", "--set", "days=12", "--out", str(run)]) == 0
    figures = sorted((run / "figures").glob("*.png"))
    assert len(figures) >= 3
    figures[0].write_bytes(b"")  # what a kill while drawing left before figures were atomic
    figures[1].unlink()
    assert society_main(["report", str(run)]) == 0
    for f in figures[:2]:
        assert f.is_file() and f.stat().st_size > 1000, f.name
    shutil.rmtree(run / "figures")  # a run written with --no-report draws no figures...
    assert society_main(["report", str(run)]) == 0
    assert not (run / "figures").exists()  # ...and a report alone does not start drawing them
