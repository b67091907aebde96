"""The Python API: ``society.run`` for notebooks and scripts, ``society.load`` to read runs."""

from __future__ import annotations

import json
import math
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from society.errors import RunDirectoryError, SocietyError
from society.llm.setup import build_stack, check_endpoint
from society.model import RunInterrupted, SocietyModel
from society.resources import check_fits_in_memory
from society.scenario import Scenario
from society.scenario_files import load_scenario
from society.store.checkpoint import latest, resume_model
from society.store.checkpoint import save as save_checkpoint
from society.store.rundir import (
    default_run_dir,
    git_state,
    package_versions,
    platform_info,
    prepare_run_dir,
    stored_run,
    utc_now,
    write_json,
    write_parquet,
)


@dataclass
class RunResult:
    """A finished (or failed) run: its tables as polars DataFrames and where they are stored."""

    path: Path
    metrics: pl.DataFrame
    events: pl.DataFrame
    generations: pl.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario the run used."""
        return Scenario.model_validate(self.manifest["scenario"])

    def __repr__(self) -> str:
        return (
            f"RunResult(path='{self.path}', outcome={self.summary.get('outcome')!r}, "
            f"days={self.metrics.height - 1}, generations={self.summary.get('generations')})"
        )


def run(
    scenario: str | Path | Scenario | Mapping[str, Any],
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    force: bool = False,
    on_day: Callable[[SocietyModel], None] | None = None,
    replay_from: str | Path | None = None,
) -> RunResult:
    """Run a scenario and store its results.

    Parameters
    ----------
    scenario : path, shipped name, mapping or Scenario
        What to simulate (e.g. ``"baseline"`` or ``"scenarios/rushed.toml"``).
    seed : int, optional
        Overrides the scenario's seed.
    overrides : mapping or iterable of "KEY=VALUE", optional
        Dotted-key overrides, validated like the file (``{"lab.tax": 0.25}``).
    out : path, optional
        Run directory (new or empty unless ``force``); default
        ``runs_dir/<name>-<UTC time>-s<seed>``.
    on_day : callable, optional
        Called with the model after each recorded day.
    replay_from : path, optional
        Run directory of a recorded LLM run: its LLM responses are served from its cache with
        no network call (a miss is an error). Use :func:`replay` to rerun it as it was.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> import tempfile
    >>> result = run("tiny", overrides={"days": 10}, runs_dir=tempfile.mkdtemp())
    >>> result.metrics.height, result.summary["outcome"]
    (11, 'undecided')
    """
    resolved = load_scenario(scenario, seed=seed, overrides=overrides)
    check_fits_in_memory(resolved)  # a society too large for this machine fails before it starts
    uses_llm = resolved.llm.fraction > 0
    if uses_llm and replay_from is None and resolved.llm.backend == "openai":
        check_endpoint(resolved.llm)  # fail fast, before any directory or simulation
    started = utc_now()
    path = (
        Path(out)
        if out is not None
        else default_run_dir(Path(runs_dir), resolved.name, resolved.seed, started)
    )
    prepare_run_dir(path, force=force)
    manifest: dict[str, Any] = {
        "run_id": path.name,
        "status": "running",
        "scenario_name": resolved.name,
        "seed": resolved.seed,
        "scenario": resolved.model_dump(),
        "versions": package_versions(),
        "git": git_state(),
        "platform": platform_info(),
        "started_utc": started.isoformat(),
        "finished_utc": None,
        "wall_seconds": None,
        "error": None,
    }
    write_json(manifest, path / "manifest.json")
    stack = None
    if uses_llm:
        stack = build_stack(resolved, path, replay_from=Path(replay_from) if replay_from else None)
        manifest["llm"] = {
            "cache": str(stack.cache.path) if stack.cache else None,
            "replay_from": str(replay_from) if replay_from else None,
        }

    def build() -> SocietyModel:
        return SocietyModel(resolved, on_day=on_day, llm_backend=stack.backend if stack else None)

    return _execute(path, manifest, build)


def resume(
    run_dir: str | Path, *, on_day: Callable[[SocietyModel], None] | None = None
) -> RunResult:
    """Continue an interrupted or killed run from its last checkpoint, in its own directory.

    The final outputs are identical to those of an uninterrupted run with the same scenario and
    seed; LLM replies paid for before the interruption are served from the run's cache.
    """
    path = Path(run_dir)
    manifest, resolved = stored_run(path, "resume")
    if manifest.get("status") == "success":
        raise RunDirectoryError(f"'{path}' already finished (status success); nothing to resume.")
    checkpoint = latest(path)
    stack = build_stack(resolved, path) if resolved.llm.fraction > 0 else None
    manifest.update(status="running", error=None, resumed_from=checkpoint.name)

    def build() -> SocietyModel:
        return resume_model(
            resolved, checkpoint, on_day=on_day, llm_backend=stack.backend if stack else None
        )

    return _execute(path, manifest, build)


class RunStopped(SocietyError):
    """A run stopped by SIGINT or SIGTERM after writing a checkpoint (exit 130 or 143)."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def _execute(path: Path, manifest: dict[str, Any], build: Callable[[], SocietyModel]) -> RunResult:
    """Run a model built by ``build`` in ``path``: checkpoints on the way, a checkpoint and
    partial outputs on SIGINT/SIGTERM, the manifest's status and error on failure."""
    t0 = time.perf_counter()
    model: SocietyModel | None = None
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        if model is not None:
            model.request_stop()

    previous = _install(on_signal)
    try:
        model = build()
        if model.scenario.record.checkpoint_every_days:
            model.on_checkpoint = partial(_checkpoint, root=path / "checkpoint")
        if received:
            model.request_stop()
        model.run()
    except RunInterrupted:
        assert model is not None
        signum = received[0] if received else signal.SIGINT
        save_checkpoint(model, path / "checkpoint")
        day = math.floor(model.env.now) + 1
        manifest.update(
            status="interrupted", error=f"stopped by {signal.Signals(signum).name} after day {day}"
        )
        _close(path, manifest, t0, model, None)
        raise RunStopped(
            f"{signal.Signals(signum).name}: stopped after day {day}; a checkpoint and the "
            f"results so far are in {path}. Continue with: society run --resume {path}",
            signum,
        ) from None
    except BaseException as err:
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "error"
        manifest.update(status=status, error=f"{type(err).__name__}: {err}")
        _close(path, manifest, t0, model, None)
        raise
    finally:
        _restore(previous)
    summary = model.summary()
    manifest["status"] = "success"
    result = _close(path, manifest, t0, model, summary)
    shutil.rmtree(path / "checkpoint", ignore_errors=True)  # finished: nothing left to resume
    return result


def _checkpoint(model: SocietyModel, root: Path) -> None:
    save_checkpoint(model, root)


def _install(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def replay(
    run_dir: str | Path,
    *,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    force: bool = False,
) -> RunResult:
    """Rerun a recorded run exactly: same resolved scenario, LLM replies from its cache, zero
    network calls. The outputs equal the original's (``llm_calls.parquet`` differs only in
    ``cache_hit`` and ``latency_s``)."""
    original = Path(run_dir)
    _, scenario = stored_run(original, "replay")
    return run(scenario, out=out, runs_dir=runs_dir, force=force, replay_from=original)


def _close(
    path: Path,
    manifest: dict[str, Any],
    t0: float,
    model: SocietyModel | None,
    summary: dict[str, Any] | None,
) -> RunResult:
    """Write whatever the run produced, then the manifest (last, so it marks completion)."""
    frames = {"metrics": pl.DataFrame(), "events": pl.DataFrame(), "generations": pl.DataFrame()}
    if model is not None and model.llm is not None:
        write_parquet(model.llm.calls_frame(), path / "llm_calls.parquet")
        model.llm.close()
    if model is not None:
        recorder = model.recorder
        frames = {
            "metrics": recorder.metrics_frame(),
            "events": recorder.events_frame(),
            "generations": recorder.generations_frame(),
        }
        for name, frame in frames.items():
            write_parquet(frame, path / f"{name}.parquet")
        write_parquet(recorder.nodes_frame(), path / "network_nodes.parquet")
        write_parquet(recorder.edges_frame(), path / "network_edges.parquet")
    if summary is not None:
        write_json(summary, path / "summary.json")
    manifest.update(
        finished_utc=utc_now().isoformat(), wall_seconds=round(time.perf_counter() - t0, 4)
    )
    write_json(manifest, path / "manifest.json")
    return RunResult(
        path, frames["metrics"], frames["events"], frames["generations"], summary or {}, manifest
    )


def load(run_dir: str | Path) -> RunResult:
    """Read a stored run back.

    Raises :class:`~society.errors.RunDirectoryError` naming the first missing file.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise RunDirectoryError(
            f"'{path}' is not a directory; give a run directory (one that holds manifest.json)."
        )
    for name in (
        "manifest.json",
        "metrics.parquet",
        "events.parquet",
        "generations.parquet",
        "summary.json",
    ):
        if not (path / name).is_file():
            raise RunDirectoryError(
                f"'{path}' is not a complete run: {name} is missing. A run directory holds "
                f"manifest.json, metrics.parquet, events.parquet, generations.parquet and "
                f"summary.json; rerun the scenario to recreate it."
            )
    return RunResult(
        path=path,
        metrics=pl.read_parquet(path / "metrics.parquet"),
        events=pl.read_parquet(path / "events.parquet"),
        generations=pl.read_parquet(path / "generations.parquet"),
        summary=json.loads((path / "summary.json").read_text()),
        manifest=json.loads((path / "manifest.json").read_text()),
    )
