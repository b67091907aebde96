"""Runs for the playground: background worker processes, a results cache and progress.

A run is keyed by its resolved scenario (seed included): the same settings are served from the
cache, and a run asked for by two views at once is simulated once. Workers return what the page
draws (the summary and thinned curves), never whole tables.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

CURVE_POINTS = 250  # per run: enough for a smooth line, small enough to send every poll
CURVES = ("alignment_mean", "a_star", "lead_days", "deference")


def simulate(scenario: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario in a worker; what the page needs of it."""
    from society.model import SocietyModel
    from society.scenario import Scenario

    model = SocietyModel(Scenario.model_validate(scenario))
    model.run()
    rows = model.recorder.metrics
    step = max(1, len(rows) // CURVE_POINTS)
    kept = rows[::step] if rows[-1] in rows[::step] else [*rows[::step], rows[-1]]
    ladder = [
        {
            "generation": g["generation"],
            "mean_alignment": g["mean_alignment"],
            "a_star": g["a_star"],
            "successor_alignment": g["successor_alignment"],
            "completed": g["completed"],
        }
        for g in model.recorder.generations
    ]
    return {
        "summary": _plain(model.summary()),
        "curves": {"day": [r["day"] for r in kept]}
        | {k: [_num(r[k]) for r in kept] for k in CURVES},
        "ladder": _plain(ladder),
    }


def _num(v: Any) -> float | None:
    x = float(v)
    return x if math.isfinite(x) else None


def _plain(v: Any) -> Any:
    """JSON-safe: NaN and infinities as null, numpy scalars as Python numbers."""
    return json.loads(
        json.dumps(v, default=float).replace("NaN", "null").replace("Infinity", "null")
    )


def run_key(scenario: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(scenario, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Job:
    """One view's runs, in replicate order."""

    id: str
    keys: list[str]
    reference: list[str] = field(default_factory=list)  # the pinned reference's runs, paired


class Runner:
    """A process pool, the results cache and the jobs asked of it."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self.pool = ProcessPoolExecutor(self.workers)
        self.lock = threading.Lock()
        self.cache: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, str] = {}
        self.pending: dict[str, Future[dict[str, Any]]] = {}
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)
        # Start the workers now, so the first run does not wait for them to import society.
        for f in [self.pool.submit(_warm) for _ in range(self.workers)]:
            f.result()

    def submit(self, scenarios: list[dict[str, Any]], reference: list[dict[str, Any]]) -> Job:
        """Start (or find in the cache) every run of a view and of its reference."""
        job = Job(f"j{next(self._ids)}", [self._start(s) for s in scenarios])
        job.reference = [self._start(s) for s in reference]
        self.jobs[job.id] = job
        return job

    def _start(self, scenario: dict[str, Any]) -> str:
        key = run_key(scenario)
        with self.lock:
            if key in self.cache or key in self.pending:
                return key
            future = self.pool.submit(simulate, scenario)
            self.pending[key] = future
        future.add_done_callback(functools.partial(self._done, key))
        return key

    def _done(self, key: str, future: Future[dict[str, Any]]) -> None:
        with self.lock:
            self.pending.pop(key, None)
            try:
                self.cache[key] = future.result()
            except Exception as err:  # a run that fails is shown, not raised in the server
                self.errors[key] = f"{type(err).__name__}: {err}"

    def results(self, keys: list[str]) -> list[dict[str, Any] | None]:
        with self.lock:
            return [self.cache.get(k) for k in keys]

    def failures(self, keys: list[str]) -> list[str]:
        with self.lock:
            return [self.errors[k] for k in keys if k in self.errors]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _warm() -> bool:
    import society.model  # noqa: F401  (the import is the point)

    return True
