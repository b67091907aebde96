"""Where a sweep's runs execute: a local process pool, or Ray tasks.

Both engines run :func:`run_point` on task dicts (see :meth:`society.sweeps.spec.Sweep.task`)
and yield its results in completion order. Workers only simulate: they return the run's
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


def run_point_on_ray(task: Task) -> Result:
    """:func:`run_point` in a Ray worker, with the id of the node that ran it (``node``: where
    a sweep's points ran on a cluster) and the SIMD levels of its numpy maths (``numpy_simd``);
    both are kept in the point files, never in points.parquet."""
    import ray

    from society.fusion import use_everywhere
    from society.store.provenance import vector_maths

    use_everywhere()  # a Ray worker runs many points: load the fused kernels once (same bits)
    result = run_point(task)
    result["node"] = ray.get_runtime_context().get_node_id()
    # Nodes with other CPUs may round some metrics differently in the last digit.
    result["numpy_simd"] = vector_maths()
    return result


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


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def bounded_map(
    submit: Callable[[Task], Any],
    next_done: Callable[[list[Any]], tuple[Any, list[Any]]],
    tasks: Iterable[Task],
    window: int,
) -> Iterator[Result]:
    """Keep at most ``window`` tasks in flight; yield each result as it completes.

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

    def map(self, tasks: Iterable[Task], window: int | None = None) -> Iterator[Result]:
        owner: dict[Future[Result], Task] = {}

        def submit(task: Task) -> Future[Result]:
            future = self._pool.submit(self._fn, task)
            owner[future] = task
            return future

        def next_done(pending: list[Future[Result]]) -> tuple[Result, list[Future[Result]]]:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            first = next(iter(done))
            task = owner.pop(first)
            rest = [f for f in pending if f is not first]
            try:
                return first.result(), rest
            except BrokenProcessPool:
                # Every run in flight is lost; restart and retry them one at a time.
                lost = [task, *(owner.pop(f) for f in rest)]
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                retried = [self._isolated(t) for t in lost]
                first_result, *others = retried
                self._retried.extend(others)
                return first_result, []

        self._retried: list[Result] = []

        def results() -> Iterator[Result]:
            for result in bounded_map(submit, next_done, tasks, window or 2 * self.workers):
                yield result
                while self._retried:
                    yield self._retried.pop()

        return results()

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
            run_point_on_ray
        )

    def map(self, tasks: Iterable[Task], window: int | None = None) -> Iterator[Result]:
        ray = self._ray

        owner: dict[Any, Task] = {}

        def submit(task: Task) -> Any:
            ref = self._remote.remote(task)
            owner[ref] = task
            return ref

        def next_done(pending: list[Any]) -> tuple[Result, list[Any]]:
            done, rest = ray.wait(pending, num_returns=1)
            task = owner.pop(done[0])
            try:
                result: Result = ray.get(done[0])
            except ray.exceptions.RayError as err:  # e.g. the worker process died
                result = error_result(task, f"{type(err).__name__}: {err}".split("\n")[0])
            return result, rest

        return bounded_map(submit, next_done, tasks, window or 2 * self.workers)

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
