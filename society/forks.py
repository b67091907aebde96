"""Forks: a finished or stopped run continued from its day-N state into counterfactual branches.

A branch is the trunk's scenario plus one intervention at the end of day N (the changes
given, and optionally ``reseed``: the randomness after day N drawn from another seed). Up to
day N a branch is therefore the trunk, number for number; a branch with no change and no seed
is the trunk again. The branch starts from the trunk's newest checkpoint before day N when
the trunk still has one (a stopped or killed run; a finished run removes its checkpoints) and
replays the days from there to N; otherwise it replays from day 0. Either way the result is
the same (resume is exact), only the time differs. An LLM run's branch starts with a copy of
the trunk's response cache, so the shared prefix is served from it, not paid for again.

Each branch is a run directory of its own (its manifest stores the branch's scenario, so
``society run --resume`` and ``--reproduce`` work on it); ``society compare TRUNK BRANCH``
sets them side by side.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from society import signals
from society.errors import RunDirectoryError, ScenarioError, printable
from society.model import SocietyModel
from society.scenario import Scenario
from society.scenario_files import load_scenario, parse_override
from society.store.checkpoint import PREFIX, checkpoints, resume_model, verify
from society.store.provenance import utc_now
from society.store.rundir import LLMRecord, Manifest, RunDir


@dataclass
class Branch:
    """One counterfactual: the changes made at the end of ``day`` and the seed drawn after it
    (``None``: the trunk's own randomness continues)."""

    day: int
    changes: dict[str, Any]
    seed: int | None = None

    def intervention(self, trunk_name: str) -> dict[str, Any]:
        label = f"fork of {trunk_name} at day {self.day}"
        return {"day": self.day, "set": dict(self.changes), "reseed": self.seed, "label": label}


def branch_scenario(trunk: Scenario, branch: Branch, trunk_dir: Path) -> Scenario:
    """The trunk's scenario with the branch's intervention (the trunk's own, if no change)."""
    where = f"fork of '{printable(trunk_dir)}' at day {branch.day}"
    if not 1 <= branch.day < trunk.days:
        raise ScenarioError(
            f"{where}: --day must be between 1 and {trunk.days - 1} (the trunk runs {trunk.days} "
            f"days; a fork continues it from the end of day N)."
        )
    if not branch.changes and branch.seed is None:
        return trunk
    doc = trunk.model_dump()
    doc["interventions"] = [*doc["interventions"], branch.intervention(trunk.name)]
    try:
        return load_scenario(doc)
    except ScenarioError as err:
        text = str(err).removeprefix("scenario: ")
        index = len(trunk.interventions)
        text = text.replace(f"interventions[{index}].set: ", "--set ").split(" Fix the value")[0]
        raise ScenarioError(
            f"{where}: {text} Change that --set (a fork changes levers and uncertain assumptions "
            f"the run reads as it goes, and lab.deference)."
        ) from None


def parse_changes(overrides: Iterable[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` options as a mapping (values read as TOML, like ``society run``)."""
    return dict(parse_override(text) for text in overrides)


def parse_seeds(text: str) -> list[int]:
    """``--seeds 1,2,5`` as a list of branch seeds.

    >>> parse_seeds("1, 2,5")
    [1, 2, 5]
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(re.fullmatch(r"[0-9]{1,18}", p) for p in parts):
        raise ScenarioError(
            f"--seeds '{printable(text)}' is not a list of seeds; write e.g. --seeds 1,2,3 (each "
            f"branch draws its randomness after the fork from one of them)."
        )
    return list(dict.fromkeys(int(p) for p in parts))


def branch_dirs(
    trunk_dir: Path, day: int, seeds: Sequence[int | None], out: Path | None
) -> list[Path]:
    """Where the branches go: ``out`` (one branch) or ``out/seed-S``; by default beside the
    trunk, ``TRUNK-fork-dN`` (``-sS`` per seed)."""
    if out is not None:
        if len(seeds) == 1:
            return [out]
        return [out / f"seed-{s}" for s in seeds]
    base = trunk_dir.parent / f"{trunk_dir.name}-fork-d{day}"
    return [base if s is None else base.with_name(f"{base.name}-s{s}") for s in seeds]


def nearest_checkpoint(trunk_dir: Path, day: int) -> Path | None:
    """The trunk's newest checkpoint taken before the end of day ``day`` that verifies."""
    for path in checkpoints(trunk_dir):  # newest first
        if int(path.name.removeprefix(PREFIX)) < day:
            try:
                verify(path)
            except RunDirectoryError:
                continue
            return path
    return None


def fork(
    trunk_dir: str | Path,
    day: int,
    *,
    changes: dict[str, Any] | None = None,
    seeds: Sequence[int] = (),
    out: str | Path | None = None,
    force: bool = False,
    on_day: Callable[[SocietyModel], None] | None = None,
) -> list[Any]:
    """Continue the run in ``trunk_dir`` from the end of day ``day`` into one branch per seed
    (one with the trunk's randomness if ``seeds`` is empty), each with ``changes`` made;
    return their :class:`~society.api.RunResult`."""
    from society.api import RunResult

    stored = RunDir.open(trunk_dir, "fork")
    _, trunk = stored.read_stored("fork")
    ended = _ended_before(stored, day)
    if ended is not None:
        raise ScenarioError(
            f"cannot fork '{printable(stored.path)}' at day {day}: the trunk ended on day "
            f"{ended:g} (it stops at a catastrophe); fork at an earlier day."
        )
    plan: list[int | None] = list(seeds) or [None]
    branches = [Branch(day, dict(changes or {}), seed) for seed in plan]
    scenarios = [branch_scenario(trunk, b, stored.path) for b in branches]  # all checked first
    dirs = branch_dirs(stored.path, day, plan, Path(out) if out is not None else None)
    results: list[RunResult] = []
    for scenario, path in zip(scenarios, dirs, strict=True):
        results.append(_run_branch(stored, scenario, day, path, force=force, on_day=on_day))
    return results


def _ended_before(stored: RunDir, day: int) -> float | None:
    """The day the trunk stopped at a catastrophe, if that was before the end of ``day``."""
    try:
        summary = stored.read_summary()
    except RunDirectoryError:
        return None  # a stopped run has no summary yet; its checkpoint says where it is
    end = summary.get("catastrophe_day")
    stopped = summary.get("days_simulated")
    if end is not None and stopped is not None and stopped < day:
        return float(stopped)
    return None


def _run_branch(
    stored: RunDir,
    scenario: Scenario,
    day: int,
    path: Path,
    *,
    force: bool,
    on_day: Callable[[SocietyModel], None] | None,
) -> Any:
    from society.api import _execute, _write_first_manifest
    from society.llm.setup import CACHE_NAME, build_stack

    checkpoint = nearest_checkpoint(stored.path, day)
    with signals.stop_requests() as stops, RunDir.create(path, force=force) as run_dir:
        manifest = Manifest.start(path.name, scenario, utc_now())
        _write_first_manifest(run_dir, manifest)
        start: Path | None = None
        if checkpoint is not None:
            start = _copy_checkpoint(checkpoint, run_dir.checkpoints)
        stack = None
        if scenario.llm.fraction > 0:
            trunk_cache = stored.path / CACHE_NAME
            if not scenario.llm.cache and trunk_cache.is_file():
                _copy_cache(trunk_cache, path / CACHE_NAME)  # the shared prefix's replies
            stack = build_stack(scenario, path)
            manifest.llm = LLMRecord(
                cache=str(stack.cache.path) if stack.cache is not None else None,
                replay_from=None,
                structured=scenario.llm.structured,
                negotiation=None,
            )
        if start is not None:
            manifest.resumed_from = f"{stored.path.name}/checkpoint/{start.name}"

        def build() -> SocietyModel:
            backend = stack.backend if stack else None
            if start is not None:
                return resume_model(scenario, start, on_day=on_day, llm_backend=backend)
            return SocietyModel(scenario, on_day=on_day, llm_backend=backend)

        return _execute(run_dir, manifest, build, stops)


def _copy_cache(source: Path, target: Path) -> None:
    """Copy an SQLite response cache through SQLite's backup, so replies still in its
    write-ahead log (a cache another connection holds open) come along."""
    with (
        contextlib.closing(
            sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        ) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _copy_checkpoint(checkpoint: Path, root: Path) -> Path:
    """Copy one checkpoint with the rows and snapshots it reads back into ``root`` (the
    branch's checkpoint folder): resuming prunes what its checkpoint does not list, which must
    never touch the trunk."""
    trunk_root = checkpoint.parent
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(checkpoint, root / checkpoint.name)
    for folder in ("rows", "snapshots"):
        if (trunk_root / folder).is_dir():
            shutil.copytree(trunk_root / folder, root / folder)
    return root / checkpoint.name
