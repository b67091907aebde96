"""Where a sweep's runs execute: a local process pool, or Ray tasks.

Both engines run :func:`run_point` on task dicts (see :meth:`society.sweeps.spec.Sweep.task`)
and yield its results in completion order. By default they hand a worker several runs at once
(:func:`run_points`), which steps the runs that fit as one batch (:mod:`society.batch`): the
same results, with less fixed cost per run and day. Workers only simulate: they return the run's
summary and metrics table to the driver, which writes them (so a Ray cluster needs no shared
filesystem). At most ``window`` results are in flight at once, so a sweep of any size never
holds more than a few runs' metrics in memory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from society.signals import current_handlers, ignore_interrupts, restore
from society.sweeps.spec import SweepError

Task = dict[str, Any]
Result = dict[str, Any]
ENGINES = ("local", "ray")


def run_point(task: Task) -> Result:
    """Simulate one point; never raises for a failing run (the error is returned instead)."""
    from society.model import SocietyModel
    from society.scenario import Scenario

    t0 = time.perf_counter()
    result = error_result(task, None)
    try:
        model = SocietyModel(Scenario.model_validate(task["scenario"]))
        model.run()
        result["summary"] = model.summary()
        result["metrics"] = model.recorder.metrics_frame()
    except Exception as err:
        result.update(status="error", error=f"{type(err).__name__}: {err}")
    result["run_seconds"] = time.perf_counter() - t0
    return result


def run_points(tasks: list[Task]) -> list[Result]:
    """Simulate several points: those that can share a batch (:func:`society.batch.batch_key`)
    as one, the rest alone; each result is what :func:`run_point` gives for its task (its
    ``run_seconds`` its share of the batch's time)."""
    from society.batch import run_each
    from society.model import SocietyModel
    from society.scenario import Scenario

    def scenario(task: Task) -> Scenario | None:
        try:
            return Scenario.model_validate(task["scenario"])
        except Exception:
            return None  # run_point reports it

    def reduce(model: SocietyModel) -> Result:
        return {"summary": model.summary(), "metrics": model.recorder.metrics_frame()}

    done = run_each([scenario(t) for t in tasks], reduce, lambda i: run_point(tasks[i]))
    results = []
    for task, (outcome, seconds) in zip(tasks, done, strict=True):
        result = outcome if "status" in outcome else {**error_result(task, None), **outcome}
        result["run_seconds"] = result["run_seconds"] or seconds
        results.append(result)
    return results


def run_points_on_ray(tasks: list[Task]) -> list[Result]:
    """:func:`run_points` in a Ray worker, with the id of the node that ran them (``node``:
    where a sweep's points ran on a cluster) and the SIMD levels of its numpy maths
    (``numpy_simd``); both are kept in the point files, never in points.parquet."""
    import ray

    from society.fusion import use_everywhere
    from society.store.provenance import vector_maths

    use_everywhere()  # a Ray worker runs many points: load the fused kernels once (same bits)
    results = run_points(tasks)
    node = ray.get_runtime_context().get_node_id()
    for result in results:
        result["node"] = node
        # Nodes with other CPUs may round some metrics differently in the last digit.
        result["numpy_simd"] = vector_maths()
    return results


def error_result(task: Task, error: str | None) -> Result:
    """A result for ``task``: failed with ``error``, or (``None``) an empty success to fill."""
    return {
        "point_id": task["point_id"],
        "arm": task["arm"],
        "replicate": task["replicate"],
        "status": "success" if error is None else "error",
        "error": error,
        "summary": None,
        "metrics": None,
        "run_seconds": 0.0,
    }


#: Most instances one worker steps as a batch (about 1 KB each, a few batches per worker).
BATCH_INSTANCES = 250_000
#: Most runs in one batch: the gain levels off well before, and a stopped sweep finishes the
#: batches in flight (one a worker), so they must stay short.
BATCH_RUNS = 32


def batch_size(total: int, workers: int, instances: int) -> int:
    """How many runs of ``instances`` each to hand a worker at once, for ``total`` runs on
    ``workers``: as large as :data:`BATCH_RUNS` and :data:`BATCH_INSTANCES` allow, in at least
    two calls a worker and a number of calls that the workers share evenly (so none sits idle
    while another runs the last batch).

    >>> batch_size(200, 2, 1000), batch_size(144, 2, 1000), batch_size(40, 2, 1000)
    (25, 24, 10)
    >>> batch_size(200, 2, 200_000), batch_size(3, 2, 1000)
    (1, 1)
    """
    cap = max(1, min(BATCH_RUNS, BATCH_INSTANCES // instances))
    calls = max(2 * workers, -(-total // cap))
    calls = -(-calls // workers) * workers
    return max(1, -(-total // calls))


def _in_flight(workers: int, batch: int) -> int:
    """Calls in flight: two a worker for single runs (the next one queued), one a worker for
    batches (a stop waits only for the batches already running)."""
    return 2 * workers if batch == 1 else workers


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def bounded_map(
    submit: Callable[[Any], Any],
    next_done: Callable[[list[Any]], tuple[Any, list[Any]]],
    tasks: Iterable[Any],
    window: int,
) -> Iterator[Any]:
    """Keep at most ``window`` tasks (here: lists of runs) in flight; yield each result as it
    completes.

    ``submit(task)`` returns a handle; ``next_done(handles)`` blocks until one is done and
    returns ``(its result, the handles still pending)``.
    """
    pending: list[Any] = []
    it = iter(tasks)
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            try:
                pending.append(submit(next(it)))
            except StopIteration:
                exhausted = True
        if not pending:
            return
        result, pending = next_done(pending)
        yield result


class LocalEngine:
    """A pool of ``workers`` processes on this machine (forked from a preloaded fork server).

    If a worker process dies (killed, out of memory, a crash in native code), the pool is
    restarted and each run that was in flight is run again on its own: one that kills its
    worker again is recorded as failed, the others complete normally.
    """

    name = "local"

    def __init__(self, workers: int | None = None, fn: Callable[[Task], Result] = run_point):
        self.workers = workers or default_workers()
        self._fn = fn
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        # A fork server imports society once, single-threaded, and forks every worker from
        # it: workers start in milliseconds instead of each re-importing numpy, polars, mesa
        # and numba's kernels (1-2 s apiece), and no worker is forked from a parent that
        # already runs Polars or progress-bar threads (which 'fork' would risk deadlocking).
        # 'spawn' elsewhere.
        if "forkserver" in multiprocessing.get_all_start_methods():
            server = multiprocessing.get_context("forkserver")
            server.set_forkserver_preload(["society.sweeps.preload"])
            return ProcessPoolExecutor(
                max_workers=self.workers, mp_context=server, initializer=ignore_interrupts
            )
        spawn = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=spawn, initializer=ignore_interrupts
        )

    def map(
        self, tasks: Iterable[Task], window: int | None = None, batch: int = 1
    ) -> Iterator[Result]:
        """Run ``tasks``, handing a worker ``batch`` of them at a time (:func:`run_points`);
        yield each result as its call completes."""
        owner: dict[Future[Any], list[Task]] = {}

        def submit(chunk: list[Task]) -> Future[Any]:
            try:
                future: Future[Any] = (
                    self._pool.submit(self._fn, chunk[0])
                    if batch == 1
                    else self._pool.submit(run_points, chunk)
                )
            except BrokenProcessPool as err:
                # A worker died since the last result: this chunk is in flight with the
                # others, and next_done retries them all, as for a future the pool broke.
                future = Future()
                future.set_exception(err)
            owner[future] = chunk
            return future

        def next_done(
            pending: list[Future[Any]],
        ) -> tuple[list[Result], list[Future[Any]]]:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            first = next(iter(done))
            chunk = owner.pop(first)
            rest = [f for f in pending if f is not first]
            try:
                result = first.result()
                return (result if batch > 1 else [result]), rest
            except BrokenProcessPool:
                # Every run in flight is lost; restart and retry them one at a time.
                lost = [*chunk, *(t for f in rest for t in owner.pop(f))]
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                return [self._isolated(t) for t in lost], []

        for results in bounded_map(
            submit, next_done, _chunks(tasks, batch), window or _in_flight(self.workers, batch)
        ):
            yield from results

    def _isolated(self, task: Task) -> Result:
        try:
            return self._pool.submit(self._fn, task).result()
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return error_result(
                task,
                "WorkerDied: the worker process running this point died (killed, out of "
                "memory, or a crash in native code)",
            )

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers}

    def close(self, abandon: bool = False) -> None:
        """Shut the pool down; with ``abandon``, stop the runs still in flight at once."""
        if abandon:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)


class RayEngine:
    """Ray tasks on an existing cluster (``address``) or on a local Ray instance.

    If Ray is already initialised in this process, that instance is used and left running;
    otherwise this engine starts (or connects) and shuts down on :meth:`close`.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:  # pragma: no cover - depends on the environment
            raise SweepError(
                "--engine ray needs Ray: install it with `pip install 'society[ray]'`, or use "
                "--engine local."
            ) from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            # Ray takes SIGTERM over for itself while it starts (its handler exits the
            # process, leaving the sweep's manifest 'running'); the sweep's own handlers are
            # put back once it has started, so a SIGTERM stops the sweep as it stops a local one.
            kept = current_handlers()
            try:
                if address:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(
                        num_cpus=workers or default_workers(),
                        include_dashboard=False,
                        log_to_driver=False,
                    )
            except ConnectionError as err:
                raise SweepError(
                    f"--address {address}: cannot connect to a Ray cluster ({err}). Start one "
                    f"with `ray start --head` and pass --address auto, or omit --address to "
                    f"use a local Ray instance."
                ) from None
            finally:
                restore(kept)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or cpus
        # SPREAD: on a cluster, points go to every node rather than filling the driver's first.
        self._remote = ray.remote(num_cpus=1, max_retries=0, scheduling_strategy="SPREAD")(
            run_points_on_ray
        )

    def map(
        self, tasks: Iterable[Task], window: int | None = None, batch: int = 1
    ) -> Iterator[Result]:
        """Run ``tasks`` as Ray tasks of ``batch`` runs each; yield each result as its task
        completes."""
        ray = self._ray

        owner: dict[Any, list[Task]] = {}

        def submit(chunk: list[Task]) -> Any:
            ref = self._remote.remote(chunk)
            owner[ref] = chunk
            return ref

        def next_done(pending: list[Any]) -> tuple[list[Result], list[Any]]:
            done, rest = ray.wait(pending, num_returns=1)
            chunk = owner.pop(done[0])
            try:
                results: list[Result] = ray.get(done[0])
            except ray.exceptions.RayError as err:  # e.g. the worker process died
                error = f"{type(err).__name__}: {err}".split("\n")[0]
                results = [error_result(task, error) for task in chunk]
            return results, rest

        for results in bounded_map(
            submit, next_done, _chunks(tasks, batch), window or _in_flight(self.workers, batch)
        ):
            yield from results

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers}

    def close(self, abandon: bool = False) -> None:
        """Shut Ray down if this engine started it (running tasks go with it)."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


def make_engine(
    name: str, workers: int | None = None, address: str | None = None
) -> LocalEngine | RayEngine:
    if workers is not None and workers < 1:
        raise SweepError(f"--workers {workers}: give a positive number of workers.")
    if name == "local":
        if address:
            raise SweepError("--address is for --engine ray; remove it or add --engine ray.")
        return LocalEngine(workers)
    if name == "ray":
        return RayEngine(workers, address)
    raise SweepError(f"--engine {name}: unknown engine; choose one of {', '.join(ENGINES)}.")
