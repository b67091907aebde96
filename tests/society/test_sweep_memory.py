"""A sweep point too large for the machine is refused when the sweep is validated, as a single
run is, before any worker starts (no memory is ever allocated for it here)."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from society.resources import available_memory_bytes, estimate_run_bytes
from society.scenario import Scenario
from society.store.provenance import model_fingerprint
from society.sweeps import runner
from society.sweeps.spec import SweepError, check_memory, load_sweep
from society.sweeps.store import SweepStore

GB = 10**9
#: One point the size the issue reported (5e6 instances, mean degree 200: 80 GB), with a
#: network snapshot every day, so it needs about 1.5 TB: more than any machine these tests run
#: on has, so the refusal does not depend on the machine.
HUGE = (
    'scenario = "tiny"\nreplicates = 1\nseed = 1\n'
    '[set]\n"population.size" = 5000000\n"network.mean_degree" = 200\n"days" = 365\n'
    f'"record.snapshot_days" = {list(range(366))}\n'
    '[grid]\n"lab.tax" = [0.5]\n'
)
#: Two arms of a few MB each, and three replicates.
SMALL = 'scenario = "tiny"\nreplicates = 3\nseed = 1\n[grid]\n"population.size" = [200, 2000]\n'


def _limit_memory() -> None:
    """A child that allocated for the huge point anyway fails at 4 GB, not the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (4 * GB, 4 * GB))


def test_a_sweep_point_that_does_not_fit_exits_2_before_any_worker(tmp_path: Path) -> None:
    (tmp_path / "huge.toml").write_text(HUGE)
    need = estimate_run_bytes(
        Scenario.model_validate(load_sweep(tmp_path / "huge.toml").scenarios[0])
    )
    have = available_memory_bytes()
    assert have is not None and need > 1000 * GB > have  # the premise: it cannot fit here
    out = tmp_path / "s"
    r = subprocess.run(
        [sys.executable, "-m", "society.cli", "sweep", "huge.toml", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert r.returncode == 2, r.stderr  # before: workers started and grew until killed
    text = " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr and text.startswith("error: huge.toml: arm 0")
    assert "a000000-r00000" in text and "population.size = 5,000,000" in text
    assert f"{need / 1e9:.1f} GB" in text and "Change the arm in the sweep file" in text
    assert not out.exists()  # refused before the sweep directory, so before any worker


def test_the_memory_check_comes_before_the_engine_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "huge.toml").write_text(HUGE)
    started: list[Any] = []

    def engine(*args: Any) -> None:
        started.append(args)
        raise AssertionError("a worker pool was started for a sweep that cannot fit")

    monkeypatch.setattr(runner, "make_engine", engine)
    with pytest.raises(SweepError, match="would not fit in memory"):
        runner.run_sweep(tmp_path / "huge.toml", out=tmp_path / "s", workers=1)
    assert started == [] and not (tmp_path / "s").exists()
    # A stored sweep (as one written before this check would be) is checked on --resume too.
    store = SweepStore(tmp_path / "stored")
    store.create()
    sweep = load_sweep(tmp_path / "huge.toml").to_manifest()
    store.write_manifest({"sweep": sweep, "model": model_fingerprint()})
    store.release()
    with pytest.raises(SweepError, match="would not fit in memory"):
        runner.run_sweep(None, resume=store.root, workers=1)
    assert started == [] and not store.lock_path.exists()


def test_runs_in_flight_together_must_fit_too(tmp_path: Path) -> None:
    (tmp_path / "small.toml").write_text(SMALL)
    sweep = load_sweep(tmp_path / "small.toml")
    small, large = sweep.arm_bytes
    assert small < large
    check_memory(sweep, concurrent=2, available=2 * large)  # two of the largest fit
    with pytest.raises(SweepError) as info:
        check_memory(sweep, concurrent=3, available=2 * large)  # three replicates of it do not
    text = str(info.value)
    assert "3 runs at once" in text and "--workers 2" in text and "\n" not in text
    with pytest.raises(SweepError, match="arm 1 .population.size = 2000"):
        check_memory(sweep, concurrent=1, available=(small + large) // 2)
    check_memory(sweep, concurrent=8, available=None)  # unknown memory: the check passes
