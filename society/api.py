"""The Python API: ``society.run`` for notebooks and scripts, ``society.load`` to read runs."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from society import signals
from society.errors import (
    RunDirectoryError,
    Stopped,
    StorageError,
    io_text,
    storage_cause,
    storage_fix,
)
from society.llm.setup import build_stack, check_cache, preflight
from society.model import RunInterrupted, SocietyModel
from society.resources import check_fits_in_memory
from society.scenario import Scenario
from society.scenario_files import load_scenario
from society.store.checkpoint import (
    checkpoints,
    newest_verified,
    remove_checkpoints,
    resume_model,
)
from society.store.checkpoint import save as save_checkpoint
from society.store.files import refuse_links, sync_files
from society.store.provenance import utc_now
from society.store.reading import readable_scenario
from society.store.rundir import (
    LLMRecord,
    Manifest,
    RunDir,
    claim_default_run_dir,
    write_parquet,
)
from society.tidy import with_identity


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
    # write: a second writer of the same directory stops with the first one's PID. A stop
    # signal from here on ends the run cleanly, whenever it comes.
    with signals.stop_requests() as stops, RunDir.create(path, force=force) as run_dir:
        manifest = Manifest.start(path.name, resolved, started)
        _write_first_manifest(run_dir, manifest)
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

        return _execute(run_dir, manifest, build, stops)


def _write_first_manifest(run_dir: RunDir, manifest: Manifest) -> None:
    try:
        run_dir.write_manifest(manifest)
    except OSError as err:
        cause = storage_cause(err) or err
        raise StorageError(
            f"{io_text(cause)}: the run in {run_dir.path} could not start, since its manifest "
            f"cannot be written; nothing was simulated. {storage_fix(cause)}, then run it "
            f"again."
        ) from None


def resume(
    run_dir: str | Path,
    *,
    on_day: Callable[[SocietyModel], None] | None = None,
    on_resume: Callable[[Path, list[str]], None] | None = None,
) -> RunResult:
    """Continue an interrupted or killed run from its newest checkpoint that verifies, in its
    own directory.

    The final outputs are identical to those of an uninterrupted run with the same scenario and
    seed; LLM replies paid for before the interruption are served from the run's cache.
    ``on_resume`` is called once, before the run continues, with the checkpoint it continues
    from and why each newer one was passed over (damaged; see :func:`resume_note`).
    """
    stored = RunDir.open(run_dir, "resume")
    with (
        signals.stop_requests() as stops,
        stored.writing("A run stopped by kill writes a checkpoint that --resume continues from."),
    ):
        refuse_links(stored.path, RunDir.KIND)
        # Read under the lock: the process that held it may have finished the run meanwhile.
        manifest, resolved = stored.read_stored("resume")
        if manifest.status == "success":
            raise RunDirectoryError(
                f"'{stored.path}' already finished (status success); nothing to resume."
            )
        checkpoint, passed_over = newest_verified(stored.path)
        stored.remove_temporaries()  # what a run stopped mid-write left
        if on_resume is not None:
            on_resume(checkpoint, passed_over)
        stack = build_stack(resolved, stored.path) if resolved.llm.fraction > 0 else None
        manifest.status, manifest.error = "running", None
        manifest.resumed_from = checkpoint.name

        def build() -> SocietyModel:
            backend = stack.backend if stack else None
            return resume_model(resolved, checkpoint, on_day=on_day, llm_backend=backend)

        return _execute(stored, manifest, build, stops)


def resume_note(checkpoint: Path, passed_over: list[str]) -> str:
    """The checkpoint a resume continues from, in a sentence (for ``on_resume``)."""
    note = f"resuming {checkpoint.parent.parent} from checkpoint {checkpoint.name}"
    if passed_over:
        note += (
            f", the newest one that verifies (passed over: {'; '.join(passed_over)}; the "
            f"damaged one is replaced as the run goes on)"
        )
    return note


class RunStopped(Stopped):
    """A run stopped by SIGINT or SIGTERM after writing a checkpoint (exit 130 or 143)."""


def _execute(
    run_dir: RunDir,
    manifest: Manifest,
    build: Callable[[], SocietyModel],
    stops: signals.StopRequests,
) -> RunResult:
    """Run a model built by ``build`` in ``run_dir`` (whose lock the caller holds): checkpoints
    on the way, a checkpoint and partial outputs on SIGINT/SIGTERM (``stops``), the manifest's
    status and error on failure."""
    t0 = time.perf_counter()
    model: SocietyModel | None = None
    try:
        model = build()
        if model.scenario.record.checkpoint_every_days:
            model.on_checkpoint = partial(_checkpoint, root=run_dir.checkpoints)
        stops.forward_to(model.request_stop)
        model.run()
    except RunInterrupted:
        assert model is not None
        signum = stops.received[0] if stops.received else signal.SIGINT
        _stop(run_dir, manifest, t0, model, signum)
    except BaseException as err:
        _fail(run_dir, manifest, t0, model, err)
    # Finished: a signal from now on changes nothing (the results are all but written).
    try:
        summary = model.summary()
        manifest.status = "success"
        result = _close(run_dir, manifest, t0, model, summary)
    except BaseException as err:
        _fail(run_dir, manifest, t0, model, err)
    remove_checkpoints(run_dir.checkpoints)  # finished: nothing left to resume
    return result


def _stop(
    run_dir: RunDir, manifest: Manifest, t0: float, model: SocietyModel, signum: int
) -> NoReturn:
    """End a run stopped by ``signum``: a checkpoint, the results so far, status
    ``interrupted``, and :class:`RunStopped` saying how to continue."""
    path, name = run_dir.path, signal.Signals(signum).name
    day = math.floor(model.env.now) + 1
    try:
        save_checkpoint(model, run_dir.checkpoints)
        manifest.status = "interrupted"
        manifest.error = f"stopped by {name} after day {day}"
        _close(run_dir, manifest, t0, model, None)
    except BaseException as err:
        _fail(run_dir, manifest, t0, model, err)
    raise RunStopped(
        f"{name}: stopped after day {day}; a checkpoint and the results so far are in {path}. "
        f"Continue with: society run --resume {path}",
        signum,
    ) from None


def _fail(
    run_dir: RunDir,
    manifest: Manifest,
    t0: float,
    model: SocietyModel | None,
    err: BaseException,
) -> NoReturn:
    """Record ``err`` in the manifest with whatever the run produced, then raise: a storage
    failure (disk full, read-only, I/O error) as one :class:`StorageError` paragraph, anything
    else as it was."""
    storage = storage_cause(err)
    manifest.status = "interrupted" if isinstance(err, KeyboardInterrupt) else "error"
    manifest.error = f"{type(err).__name__}: {err}" if storage is None else io_text(storage)
    if storage is not None:
        run_dir.remove_temporaries()  # a half-written checkpoint may hold the space needed
    recorded = True
    try:
        _close(run_dir, manifest, t0, model, None)
    except Exception:
        # The outputs cannot be written either (the same full, read-only or failing disk): what
        # is already there is kept; the manifest still says why, if it can.
        run_dir.remove_temporaries()
        try:
            run_dir.write_manifest(manifest)
        except Exception:
            recorded = False
    left = run_dir.remove_temporaries()
    if storage is not None:
        raise StorageError(_storage_message(storage, run_dir, model, recorded, left)) from None
    raise err


def _storage_message(
    err: OSError,
    run_dir: RunDir,
    model: SocietyModel | None,
    recorded: bool,
    left: list[Path] | None,
) -> str:
    """What a storage failure stopped, what it left, and how to continue; read from what is
    already known and a directory listing only (reading files may fail again)."""
    path = run_dir.path
    day = "before its first day" if model is None else f"on day {math.floor(model.env.now) + 1}"
    try:
        found: list[Path] | None = checkpoints(path)
    except OSError:
        found = None  # cannot even be listed now; what was written before is still there
    resume = f"then continue with: society run --resume {path}"
    if found is None:
        kept, then = "with its checkpoints (they cannot be listed now)", resume
    elif found:
        kept, then = f"with the newest checkpoint ({found[0].name})", resume
    else:
        kept, then = "but no checkpoint (none was written yet)", "then rerun the scenario"
    manifest = (
        "the manifest says status 'error' with this cause"
        if recorded
        else "the manifest could not be updated"
    )
    if left == []:
        temporaries = "temporary files were removed"
    elif left is None:
        temporaries = "temporary files may remain (the directory could not be searched)"
    else:
        shown = ", ".join(str(p.relative_to(path)) for p in left[:3])
        more = f" and {len(left) - 3} more" if len(left) > 3 else ""
        temporaries = (
            f"what the interrupted write left ({shown}{more}) could not be removed (a resume "
            f"removes it)"
        )
    return (
        f"{io_text(err)}: the run in {path} stopped {day}. What was already written is kept, "
        f"{kept}; {manifest}, and {temporaries}. {storage_fix(err)}, {then}."
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
    """Write whatever the run produced, then the manifest (last, so it marks completion),
    which lists the files written."""
    frames = {"metrics": pl.DataFrame(), "events": pl.DataFrame(), "generations": pl.DataFrame()}
    written: list[Path] = []
    if model is not None and model.llm is not None:
        write_parquet(model.llm.calls_frame(), run_dir.llm_calls)
        written.append(run_dir.llm_calls)
        model.llm.close()
    if model is not None:
        recorder = model.recorder
        outcome = summary["outcome"] if summary is not None else None
        frames = {
            name: with_identity(
                frame, manifest.run_id, manifest.scenario_name, manifest.seed, outcome
            )
            for name, frame in (
                ("metrics", recorder.metrics_frame()),
                ("events", recorder.events_frame()),
                ("generations", recorder.generations_frame()),
            )
        }
        tables = {run_dir.table(name): frame for name, frame in frames.items()}
        tables[run_dir.network_nodes] = recorder.nodes_frame()
        tables[run_dir.network_edges] = recorder.edges_frame()
        for table, frame in tables.items():
            write_parquet(frame, table)
            written.append(table)
    if summary is not None:
        run_dir.write_summary(summary)
        written.append(run_dir.summary)
    # On the disk before the (synced) manifest that lists them: a crash never leaves a
    # manifest that calls the run finished beside results that were lost.
    sync_files(written)
    manifest.files = sorted({*(manifest.files or []), *(p.name for p in written)})
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
