"""The Python API: ``society.run`` for notebooks and scripts, ``society.load`` to read runs."""

from __future__ import annotations

import contextlib
import math
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from society import signals
from society.errors import (
    RunDirectoryError,
    SocietyError,
    Stopped,
    StorageError,
    io_text,
    storage_cause,
)
from society.llm.setup import build_stack, check_cache, preflight
from society.model import RunInterrupted, SocietyModel
from society.resources import check_fits_in_memory
from society.scenario import Scenario
from society.scenario_files import load_scenario
from society.store.checkpoint import latest, resume_model
from society.store.checkpoint import save as save_checkpoint
from society.store.provenance import utc_now
from society.store.reading import readable_scenario
from society.store.rundir import (
    LLMRecord,
    Manifest,
    RunDir,
    claim_default_run_dir,
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
    negotiation = None
    if uses_llm:  # a cache the run cannot use fails before anything is made or sent
        check_cache(
            resolved,
            Path(out) if out is not None else None,
            Path(replay_from) if replay_from is not None else None,
        )
    if uses_llm and replay_from is None:
        # Fail fast, before any directory or simulation; settles llm.structured = "auto".
        checked = preflight(resolved)
        resolved, negotiation = checked.scenario, checked.negotiation
    started = utc_now()
    path = (
        Path(out)
        if out is not None
        else claim_default_run_dir(Path(runs_dir), resolved.name, resolved.seed, started)
    )
    # Locked from before the directory is checked to be empty until the manifest's last
    # write: a second writer of the same directory stops with the first one's PID.
    with RunDir.create(path, force=force) as run_dir:
        manifest = Manifest.start(path.name, resolved, started)
        run_dir.write_manifest(manifest)
        stack = None
        if uses_llm:
            try:
                stack = build_stack(
                    resolved, path, replay_from=Path(replay_from) if replay_from else None
                )
            except BaseException as err:  # e.g. a damaged cache to replay: say so, keep nothing
                manifest.status, manifest.error = "error", f"{type(err).__name__}: {err}"
                run_dir.write_manifest(manifest)
                raise
            manifest.llm = LLMRecord(
                cache=str(stack.cache.path) if stack.cache is not None else None,
                replay_from=str(replay_from) if replay_from else None,
                structured=resolved.llm.structured,
                negotiation=negotiation,
            )

        def build() -> SocietyModel:
            backend = stack.backend if stack else None
            return SocietyModel(resolved, on_day=on_day, llm_backend=backend)

        return _execute(run_dir, manifest, build)


def resume(
    run_dir: str | Path, *, on_day: Callable[[SocietyModel], None] | None = None
) -> RunResult:
    """Continue an interrupted or killed run from its last checkpoint, in its own directory.

    The final outputs are identical to those of an uninterrupted run with the same scenario and
    seed; LLM replies paid for before the interruption are served from the run's cache.
    """
    stored = RunDir.open(run_dir, "resume")
    with stored.writing("A run stopped by kill writes a checkpoint that --resume continues from."):
        # Read under the lock: the process that held it may have finished the run meanwhile.
        manifest, resolved = stored.read_stored("resume")
        if manifest.status == "success":
            raise RunDirectoryError(
                f"'{stored.path}' already finished (status success); nothing to resume."
            )
        checkpoint = latest(stored.path)
        stack = build_stack(resolved, stored.path) if resolved.llm.fraction > 0 else None
        manifest.status, manifest.error = "running", None
        manifest.resumed_from = checkpoint.name

        def build() -> SocietyModel:
            backend = stack.backend if stack else None
            return resume_model(resolved, checkpoint, on_day=on_day, llm_backend=backend)

        return _execute(stored, manifest, build)


class RunStopped(Stopped):
    """A run stopped by SIGINT or SIGTERM after writing a checkpoint (exit 130 or 143)."""


def _execute(run_dir: RunDir, manifest: Manifest, build: Callable[[], SocietyModel]) -> RunResult:
    """Run a model built by ``build`` in ``run_dir`` (whose lock the caller holds): checkpoints
    on the way, a checkpoint and partial outputs on SIGINT/SIGTERM, the manifest's status and
    error on failure."""
    path = run_dir.path
    t0 = time.perf_counter()
    model: SocietyModel | None = None
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        if model is not None:
            model.request_stop()

    previous = signals.install(on_signal)
    try:
        model = build()
        if model.scenario.record.checkpoint_every_days:
            model.on_checkpoint = partial(_checkpoint, root=run_dir.checkpoints)
        if received:
            model.request_stop()
        model.run()
    except RunInterrupted:
        assert model is not None
        signum = received[0] if received else signal.SIGINT
        save_checkpoint(model, run_dir.checkpoints)
        day = math.floor(model.env.now) + 1
        manifest.status = "interrupted"
        manifest.error = f"stopped by {signal.Signals(signum).name} after day {day}"
        _close(run_dir, manifest, t0, model, None)
        raise RunStopped(
            f"{signal.Signals(signum).name}: stopped after day {day}; a checkpoint and the "
            f"results so far are in {path}. Continue with: society run --resume {path}",
            signum,
        ) from None
    except BaseException as err:
        storage = storage_cause(err)
        manifest.status = "interrupted" if isinstance(err, KeyboardInterrupt) else "error"
        manifest.error = f"{type(err).__name__}: {err}" if storage is None else io_text(storage)
        if storage is not None:
            run_dir.remove_temporaries()  # a half-written checkpoint may hold the space needed
        try:
            _close(run_dir, manifest, t0, model, None)
        except Exception:
            # The outputs cannot be written either (the same full or read-only disk): what is
            # already there is kept; the manifest still says why, if it can.
            run_dir.remove_temporaries()
            with contextlib.suppress(Exception):
                run_dir.write_manifest(manifest)
        finally:
            run_dir.remove_temporaries()
        if storage is not None:
            raise StorageError(_storage_message(storage, run_dir, model)) from None
        raise
    finally:
        signals.restore(previous)
    summary = model.summary()
    manifest.status = "success"
    result = _close(run_dir, manifest, t0, model, summary)
    shutil.rmtree(run_dir.checkpoints, ignore_errors=True)  # finished: nothing left to resume
    return result


def _storage_message(err: OSError, run_dir: RunDir, model: SocietyModel | None) -> str:
    path = run_dir.path
    day = "before its first day" if model is None else f"on day {math.floor(model.env.now) + 1}"
    try:
        resume_from = f"the last checkpoint ({latest(path).name})"
        then = f"then continue with: society run --resume {path}"
    except SocietyError:
        resume_from = "no checkpoint (none was written yet)"
        then = "then rerun the scenario"
    return (
        f"{io_text(err)}: the run in {path} stopped {day}. What was already written is kept, "
        f"with {resume_from}; the manifest says status 'error' with this cause where it could "
        f"be written, and temporary files were removed. Free space or make the directory "
        f"writable, {then}."
    )


def _checkpoint(model: SocietyModel, root: Path) -> None:
    save_checkpoint(model, root)


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
    original = RunDir.open(run_dir, "replay")
    _, scenario = original.read_stored("replay")
    return run(scenario, out=out, runs_dir=runs_dir, force=force, replay_from=original.path)


def _close(
    run_dir: RunDir,
    manifest: Manifest,
    t0: float,
    model: SocietyModel | None,
    summary: dict[str, Any] | None,
) -> RunResult:
    """Write whatever the run produced, then the manifest (last, so it marks completion)."""
    frames = {"metrics": pl.DataFrame(), "events": pl.DataFrame(), "generations": pl.DataFrame()}
    if model is not None and model.llm is not None:
        write_parquet(model.llm.calls_frame(), run_dir.llm_calls)
        model.llm.close()
    if model is not None:
        recorder = model.recorder
        frames = {
            "metrics": recorder.metrics_frame(),
            "events": recorder.events_frame(),
            "generations": recorder.generations_frame(),
        }
        for name, frame in frames.items():
            write_parquet(frame, run_dir.table(name))
        write_parquet(recorder.nodes_frame(), run_dir.network_nodes)
        write_parquet(recorder.edges_frame(), run_dir.network_edges)
    if summary is not None:
        run_dir.write_summary(summary)
    manifest.finished_utc = utc_now().isoformat()
    manifest.wall_seconds = round(time.perf_counter() - t0, 4)
    run_dir.write_manifest(manifest)
    return RunResult(
        run_dir.path,
        frames["metrics"],
        frames["events"],
        frames["generations"],
        summary or {},
        manifest.to_json(),
    )


def load(run_dir: str | Path) -> RunResult:
    """Read a stored run back.

    Raises :class:`~society.errors.RunDirectoryError` naming the first missing file, or a file
    that is damaged or does not hold what a run writes there. Reading takes no lock: a run
    still being written reads as incomplete. A stored scenario this version of society does
    not accept is read over the defaults, value by value where the types agree
    (:func:`~society.store.reading.readable_scenario`).
    """
    stored = RunDir.open(run_dir, "load")
    stored.require_complete()
    manifest = stored.read_manifest().to_json()
    manifest["scenario"] = readable_scenario(manifest["scenario"])
    return RunResult(
        path=stored.path,
        metrics=stored.read_table("metrics"),
        events=stored.read_table("events"),
        generations=stored.read_table("generations"),
        summary=stored.read_summary(),
        manifest=manifest,
    )
