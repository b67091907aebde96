"""Running a sweep: validate, run the points not yet done, store them, assemble points.parquet.

>>> import tempfile
>>> from society.scenario_files import shipped_dir
>>> result = run_sweep(shipped_dir() / "sweeps" / "smoke.toml", out=tempfile.mkdtemp() + "/s",
...                    workers=1)
>>> result.points.height, result.failed
(4, 0)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from society import signals
from society.errors import Stopped, StorageError, io_text, storage_cause, storage_fix
from society.resources import available_memory_bytes
from society.store.provenance import (
    git_state,
    model_fingerprint,
    package_versions,
    platform_info,
    utc_now,
)
from society.store.rundir import safe_name, utc_stamp
from society.sweeps.engines import batch_size, default_workers, make_engine
from society.sweeps.spec import (
    Sweep,
    SweepError,
    check_memory,
    load_sweep,
    sweep_from_manifest,
)
from society.sweeps.store import SweepStore

SWEEP_FORMAT = 1


@dataclass
class SweepResult:
    """A finished sweep: its directory, its points table, and how many runs failed."""

    path: Path
    points: pl.DataFrame
    failed: int
    manifest: dict[str, Any]

    @property
    def store(self) -> SweepStore:
        return SweepStore(self.path)

    def scan_metrics(self) -> pl.LazyFrame:
        return self.store.scan_metrics()


class SweepInterrupted(Stopped):
    """A sweep stopped by SIGINT or SIGTERM; its finished runs are stored (exit 130 or 143)."""


def _stop_on_storage(
    store: SweepStore, manifest: dict[str, Any], err: OSError, n_points: int
) -> NoReturn:
    """A full, read-only or failing disk mid-sweep: keep every stored point, remove
    temporaries, mark the manifest (if it can still be written) and say, truthfully, what was
    left and how to continue."""
    store.remove_temporaries()
    manifest.update(status="error", error=io_text(err), finished_utc=utc_now().isoformat())
    try:
        store.write_manifest(manifest)
        recorded = "the manifest says status 'error'"
    except Exception:
        recorded = "the manifest could not be updated"
    left = store.remove_temporaries()
    temporaries = (
        "temporary files were removed"
        if left == []
        else "temporary files may remain (a resume removes them)"
    )
    try:
        stored = f"the {len(store.done_ids())} of {n_points} runs stored before it are kept"
    except OSError:
        stored = "the runs stored before it are kept"
    raise StorageError(
        f"{io_text(err)}: the sweep in {store.root} stopped; {stored}, {temporaries}, and "
        f"{recorded}. {storage_fix(err)}, then continue with: society sweep --resume "
        f"{store.root}"
    ) from None


def default_sweep_dir(sweeps_root: Path, name: str) -> Path:
    base = sweeps_root / f"{safe_name(name)}-{utc_stamp(utc_now())}"
    path, k = base, 2
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path


def prepare(
    sweep_file: str | Path | None,
    *,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    sweeps_root: str | Path = "runs/sweeps",
    overrides: Iterable[str] = (),
    replicates: int | None = None,
    engine: str = "local",
    workers: int | None = None,
) -> tuple[Sweep, SweepStore, dict[str, Any] | None]:
    """Validate everything (sweep file, every arm, its memory, output directory) before any
    run starts.

    ``overrides`` and ``replicates`` change the sweep file's ``[set]`` and replicate count
    (see :func:`~society.sweeps.spec.load_sweep`). Every point must fit in this machine's
    memory, and with the local engine its ``workers`` largest together
    (:func:`~society.sweeps.spec.check_memory`).

    The returned store holds the directory's write lock; :func:`execute` releases it.
    """
    if resume is not None and out is not None and Path(out) != Path(resume):
        raise SweepError(
            "Give either --out (a new sweep) or --resume DIR (continue one), not both."
        )
    overrides = list(overrides)
    if resume is not None and sweep_file is None and (overrides or replicates is not None):
        raise SweepError(
            f"--resume {resume} continues the stored sweep as it was; --set and --replicates "
            f"would change it. Drop them, or start a new sweep with the sweep file and --out."
        )
    if resume is not None:
        store = SweepStore(Path(resume))
        manifest = store.resume()  # locked from here until execute() ends
        try:
            stored = sweep_from_manifest(manifest, str(store.manifest_path))
            recorded, rebuilt = manifest["sweep"].get("fingerprint"), stored.fingerprint()
            if recorded is not None and recorded != rebuilt:
                raise SweepError(
                    f"--resume {store.root}: the sweep rebuilt from its manifest is not the one "
                    f"that ran (its seeds, scenarios or prior draws differ: fingerprint "
                    f"{rebuilt} against the stored {recorded}), most likely because "
                    f"numpy or scipy changed since (the manifest lists the versions it ran "
                    f"with). Resume with those versions, or start a new sweep with --out."
                )
            sweep = (
                load_sweep(sweep_file, overrides, replicates) if sweep_file is not None else stored
            )
            check_memory(sweep, _in_flight(engine, workers))
            if sweep.fingerprint() != rebuilt:
                raise SweepError(
                    f"--resume {store.root}: the sweep stored there (from "
                    f"{manifest['sweep']['source']}) differs from {sweep_file} (scenario, swept "
                    f"values or seeds changed). Resume without the sweep file to continue the "
                    f"stored sweep, or start a new one with --out."
                )
        except BaseException:
            store.release()
            raise
        return sweep, store, manifest
    if sweep_file is None:
        raise SweepError("Give a sweep file (e.g. scenarios/sweeps/lead_vs_tax.toml).")
    sweep = load_sweep(sweep_file, overrides, replicates)
    check_memory(sweep, _in_flight(engine, workers))
    root = Path(out) if out is not None else default_sweep_dir(Path(sweeps_root), sweep.name)
    store = SweepStore(root)
    store.create()  # locked from here until execute() ends
    return sweep, store, None


def _in_flight(engine: str, workers: int | None) -> int:
    """How many runs of a sweep share this machine's memory at once: one per local worker;
    Ray places its tasks itself (on other machines, perhaps), so each must fit on its own."""
    return (workers or default_workers()) if engine == "local" else 1


def run_sweep(
    sweep_file: str | Path | None,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    sweeps_root: str | Path = "runs/sweeps",
    on_start: Callable[[int, int], None] | None = None,
    on_point: Callable[[dict[str, Any]], None] | None = None,
    overrides: Iterable[str] = (),
    replicates: int | None = None,
) -> SweepResult:
    """Run (or resume) a sweep and return its points table.

    ``on_start(total, already_done)`` is called once before the first run and
    ``on_point(record)`` after each stored run (for progress display). ``overrides``
    (``KEY=VALUE``) and ``replicates`` are ``society sweep``'s ``--set`` and ``--replicates``.
    """
    sweep, store, previous = prepare(
        sweep_file,
        out=out,
        resume=resume,
        sweeps_root=sweeps_root,
        overrides=overrides,
        replicates=replicates,
        engine=engine,
        workers=workers,
    )
    return execute(
        sweep,
        store,
        previous,
        engine=engine,
        workers=workers,
        address=address,
        on_start=on_start,
        on_point=on_point,
    )


def execute(
    sweep: Sweep,
    store: SweepStore,
    previous: dict[str, Any] | None,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_point: Callable[[dict[str, Any]], None] | None = None,
    annotations: dict[str, Any] | None = None,
    keep_lock: bool = False,
    runner: Any | None = None,
    batch: bool = True,
) -> SweepResult:
    """Run the points of ``sweep`` not yet done in ``store`` and assemble points.parquet.

    ``store`` normally comes from :func:`prepare`, locked; it is locked here if it is not, and
    released when this returns or raises (unless ``keep_lock``: ``society ask`` runs several
    looks under one lock, and releases it on error all the same). ``annotations`` are added to
    the manifest each time it is written (``society ask`` keeps its plan there). ``runner``
    is an engine from :func:`~society.sweeps.engines.make_engine` to use (and leave open) instead
    of starting one: ``society ask`` keeps one pool of workers over all its looks. With
    ``batch`` (the default) a worker steps several runs of one population size as one batch
    (:mod:`society.batch`; the same results); ``society sweep --no-batch`` turns it off.
    """
    store.acquire()
    try:
        result = _execute(
            sweep,
            store,
            previous,
            engine=engine,
            workers=workers,
            address=address,
            on_start=on_start,
            on_point=on_point,
            annotations=annotations or {},
            shared=runner,
            batch=batch,
        )
    except BaseException:
        store.release()
        raise
    if not keep_lock:
        store.release()  # the next writer must not find it locked
    return result


def _execute(
    sweep: Sweep,
    store: SweepStore,
    previous: dict[str, Any] | None,
    *,
    engine: str,
    workers: int | None,
    address: str | None,
    on_start: Callable[[int, int], None] | None,
    on_point: Callable[[dict[str, Any]], None] | None,
    annotations: dict[str, Any],
    shared: Any | None = None,
    batch: bool = True,
) -> SweepResult:
    if previous is not None:
        store.clean_partial()
    done = store.done_ids()
    points = sweep.points
    todo = [p for p in points if p.point_id not in done]
    started = utc_now()
    manifest: dict[str, Any] = {
        "format": SWEEP_FORMAT,
        "kind": "sweep",
        "status": "running",
        "sweep": sweep.to_manifest(),
        "engine": {"engine": engine, "workers": workers, "address": address},
        "versions": package_versions(),
        "git": git_state(),
        "model": model_fingerprint(),
        "platform": platform_info(),
        "started_utc": (previous or {}).get("started_utc", started.isoformat()),
        "sessions": [*(previous or {}).get("sessions", [])],
        "finished_utc": None,
        "n_points": len(points),
        "n_success": None,
        "n_failed": None,
        **annotations,
    }
    session: dict[str, Any] = {
        "started_utc": started.isoformat(),
        "resumed": previous is not None,
        "already_done": len(done),
        "to_run": len(todo),
    }
    store.write_manifest(manifest)
    if on_start is not None:
        on_start(len(points), len(done))
    t0 = time.perf_counter()
    run_seconds = write_seconds = 0.0
    first_result: float | None = None
    stop: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if stop:  # a second signal: stop now, abandoning the points still running
            raise KeyboardInterrupt
        stop.append(signum)

    def tasks() -> Iterator[dict[str, Any]]:
        for p in todo:
            if stop:  # a signal came: submit nothing more, let the running points finish
                return
            yield sweep.task(p)

    previous_handlers = signals.install(on_signal)
    runner = None
    abandon = False
    try:
        if todo:
            try:
                runner = shared if shared is not None else make_engine(engine, workers, address)
            except SystemExit:
                # Ray's own SIGTERM handler, in force while Ray starts (the engine puts this
                # one back once it has), turns a SIGTERM into an exit: stop as for any other.
                if engine != "ray":
                    raise
                stop.append(signal.SIGTERM)
        if runner is not None:
            per_call = _per_call(sweep, todo, runner.workers) if batch else 1
            manifest["engine"] = {**runner.describe(), "address": address, "batch": per_call}
            for result in runner.map(tasks(), batch=per_call):
                if first_result is None:
                    first_result = time.perf_counter() - t0
                t_write = time.perf_counter()
                record = store.write_result(sweep, result)
                write_seconds += time.perf_counter() - t_write
                run_seconds += result["run_seconds"]
                del result
                if on_point is not None:
                    on_point(record)
    except KeyboardInterrupt:
        # Every finished point is already stored; the running ones are abandoned.
        stop.append(signal.SIGINT)
        abandon = True
    except BaseException as err:
        storage = storage_cause(err)
        if storage is None:
            raise
        abandon = True
        _stop_on_storage(store, manifest, storage, len(points))
    finally:
        if runner is not None and (shared is None or abandon):
            runner.close(abandon=abandon)
        signals.restore(previous_handlers)
    try:
        timings = {
            "run_seconds": round(run_seconds, 4),
            "write_seconds": round(write_seconds, 4),
            "first_result_seconds": None if first_result is None else round(first_result, 4),
            "runs": len(todo),
        }
        return _finish(sweep, store, manifest, {**session, **timings}, stop, t0)
    except OSError as err:
        storage = storage_cause(err)
        if storage is None:
            raise
        _stop_on_storage(store, manifest, storage, len(points))


def _per_call(sweep: Sweep, todo: list[Any], workers: int) -> int:
    """Runs a worker steps at once as a batch (:func:`~society.sweeps.engines.batch_size`),
    sized by the largest population among the runs to do, and small enough that every
    worker's batch of the largest arm fits in the memory available together."""
    if len(todo) < 2:
        return 1
    largest = max(int(doc.get("population", {}).get("size", 1)) for doc in sweep.scenarios)
    size = batch_size(len(todo), workers, largest)
    have = available_memory_bytes()
    if have is not None and sweep.arm_bytes:
        size = min(size, max(1, have // (workers * max(sweep.arm_bytes))))
    return size


def _finish(
    sweep: Sweep,
    store: SweepStore,
    manifest: dict[str, Any],
    session: dict[str, Any],
    stop: list[int],
    t0: float,
) -> SweepResult:
    """Record how the session ended: interrupted (raise :class:`SweepInterrupted`), or done
    (assemble points.parquet)."""
    points = sweep.points
    if stop:
        manifest.update(status="interrupted", finished_utc=utc_now().isoformat())
        store.write_manifest(manifest)
        signum = stop[0]
        raise SweepInterrupted(
            f"{signal.Signals(signum).name}: the sweep stopped; the "
            f"{len(store.done_ids())} of {len(points)} runs finished so far are stored in "
            f"{store.root}. Continue with: society sweep --resume {store.root}",
            signum,
        )
    wall = time.perf_counter() - t0
    frame = store.assemble(sweep)
    failed = int((frame["status"] != "success").sum())
    ended = {"finished_utc": utc_now().isoformat(), "wall_seconds": round(wall, 4)}
    keys = ("started_utc", "resumed", "already_done", "to_run")
    session = {**{k: session[k] for k in keys}, **ended, **session}  # the order written before
    manifest.update(
        status="complete" if failed == 0 else "failed",
        finished_utc=utc_now().isoformat(),
        n_success=frame.height - failed,
        n_failed=failed,
        sessions=[*manifest["sessions"], session],
    )
    store.write_manifest(manifest)
    return SweepResult(store.root, frame, failed, manifest)
