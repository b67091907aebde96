"""The run directory: the one definition of what a run writes where, and of its manifest.

Everything that reads or writes a run (the API, the command line, the views) asks
:class:`RunDir` for a file's path instead of spelling its name, and reads and writes
``manifest.json`` through :class:`Manifest`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from society.errors import RunDirectoryError, printable
from society.scenario import Scenario
from society.store.checkpoint import checkpoint_files, remove_checkpoints
from society.store.files import open_nofollow, refuse_links, write_atomic
from society.store.outdir import OutputDir
from society.store.provenance import (
    git_state,
    model_fingerprint,
    package_versions,
    platform_info,
    utc_now,
)
from society.store.reading import (
    JSON_BOOL,
    JSON_INT,
    JSON_NUMBER,
    JSON_OBJECT,
    JSON_STR,
    check_values,
    read_json,
    read_table,
)

__all__ = [
    "GitState",
    "LLMRecord",
    "Manifest",
    "RunDir",
    "RunStatus",
    "claim_default_run_dir",
    "claim_dir",
    "default_run_dir",
    "free_path",
    "git_state",
    "package_versions",
    "platform_info",
    "prepare_run_dir",
    "safe_name",
    "utc_now",
    "utc_stamp",
    "write_json",
    "write_parquet",
]

RunStatus = Literal["running", "success", "error", "interrupted"]
#: The value types of ``summary.json``'s keys (:meth:`RunDir.read_summary` checks them); the
#: days, the reason for leaving the basin and the catastrophe's cause are null until decided.
SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "outcome": JSON_STR,
    "verdict": JSON_STR,
    **dict.fromkeys(("left_basin_reason", "catastrophe_cause", "llm_structured"), JSON_STR),
    **dict.fromkeys(
        ("safe", "stayed_in_basin", "catastrophe", "lost_lead", "reached_target",
         "safety_done", "llm_degraded", "llm_budget_exhausted"),
        JSON_BOOL,
    ),
    **dict.fromkeys(
        ("safe_day", "left_basin_day", "catastrophe_day", "lost_lead_day",
         "reached_target_day", "safety_done_day", "initial_alignment", "final_alignment",
         "final_drift_w1", "final_echo_r", "final_truth_distance", "final_lead_days",
         "final_safety_progress", "final_capability", "final_deference", "final_tax",
         "failed_task_share", "llm_accepted_share", "llm_repaired_share",
         "llm_fallback_share"),
        JSON_NUMBER,
    ),
    **dict.fromkeys(
        ("target_generation", "generations", "days_simulated", "incidents_caught",
         "incidents_uncaught", "llm_calls", "llm_fallbacks", "llm_repaired", "llm_tokens"),
        JSON_INT,
    ),
    "llm_fallback_causes": JSON_OBJECT,
}  # fmt: skip
_SUMMARY_NULLABLE = (
    *(key for key in SUMMARY_TYPES if key.endswith("_day")),
    "left_basin_reason",
    "catastrophe_cause",
)
#: The outcome labels a summary may hold (society.outcomes.OUTCOME_LABELS).
_OUTCOMES = ("catastrophe", "left_basin", "safe", "undecided")
#: Manifest keys written only when they hold something (LLM runs, resumed runs), as before
#: the manifest was typed.
_WRITTEN_ONLY_IF_SET = ("llm", "resumed_from")


# -- the manifest ------------------------------------------------------------------------------
class GitState(BaseModel):
    """The checkout society ran from (both ``None`` outside a git checkout)."""

    commit: str | None = None
    dirty: bool | None = None


class LLMRecord(BaseModel):
    """Where an LLM run's replies are cached, the run whose cache it replays (if any), and how
    its requests asked for structured replies (``llm.structured`` as resolved, with what the
    ``auto`` probe found)."""

    cache: str | None = None
    replay_from: str | None = None
    structured: str | None = None
    negotiation: str | None = None


class Manifest(BaseModel):
    """A run's ``manifest.json``: what was run, on what, and how it ended.

    Written when the run starts (status ``running``) and again, last of all its files, when it
    ends, so a manifest whose status is not ``running`` means every other file is final. Keys
    are written in the order of the fields; ``llm`` only for LLM runs and ``resumed_from`` only
    for resumed ones. Keys this version does not know are kept as they are.

    Examples
    --------
    >>> import tempfile
    >>> from society.scenario_files import load_scenario
    >>> m = Manifest.start("tiny-s7", load_scenario("tiny"), utc_now())
    >>> m.status, m.seed, list(m.to_json())[:4]
    ('running', 7, ['run_id', 'status', 'scenario_name', 'seed'])
    >>> path = Path(tempfile.mkdtemp()) / "manifest.json"
    >>> m.write(path)
    >>> Manifest.read(path) == m
    True
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    run_id: str
    status: RunStatus
    scenario_name: str
    seed: int
    #: The resolved scenario (every field, defaults filled in), as ``Scenario.model_dump()``.
    scenario: dict[str, Any]
    #: SHA-256 of ``scenario`` (canonical JSON): resume, replay and reproduce refuse a manifest
    #: whose scenario was edited after the run wrote it.
    scenario_sha256: str | None = None
    versions: dict[str, str]
    git: GitState
    #: The fingerprint of the model's code (``provenance.model_fingerprint``; ``None`` in
    #: manifests written before it was recorded): ``--reproduce`` notes when it differs.
    model: str | None = None
    platform: dict[str, str]
    started_utc: str
    finished_utc: str | None = None
    wall_seconds: float | None = None
    error: str | None = None
    #: The result files the run wrote in its directory (set when it ends; ``None`` in
    #: manifests written before the list existed): with the manifest itself, its checkpoints
    #: and the figures and report drawn from it, what ``--force`` may remove.
    files: list[str] | None = None
    llm: LLMRecord | None = None
    #: The checkpoint a resumed run continued from (``day-00031``).
    resumed_from: str | None = None

    @classmethod
    def start(cls, run_id: str, scenario: Scenario, started: datetime) -> Manifest:
        """The manifest of a run starting now: status ``running`` and this machine's
        provenance (package versions, git state, platform)."""
        return cls(
            run_id=run_id,
            status="running",
            scenario_name=scenario.name,
            seed=scenario.seed,
            scenario=scenario.model_dump(),
            scenario_sha256=scenario_digest(scenario.model_dump()),
            versions=package_versions(),
            git=GitState(**git_state()),
            model=model_fingerprint(),
            platform=platform_info(),
            started_utc=started.isoformat(),
            files=[],
        )

    def scenario_intact(self) -> bool:
        """Whether ``scenario`` is what the run wrote (manifests without a digest: unknown,
        taken as intact)."""
        return self.scenario_sha256 is None or scenario_digest(self.scenario) == (
            self.scenario_sha256
        )

    def resolved_scenario(self) -> Scenario:
        """The scenario the run used; raises pydantic's ValidationError if this version of
        society no longer accepts it (use :meth:`RunDir.read_stored` for a user error)."""
        return Scenario.model_validate(self.scenario)

    def to_json(self) -> dict[str, Any]:
        """The manifest as the plain dict written to ``manifest.json``."""
        data = self.model_dump()
        for key in _WRITTEN_ONLY_IF_SET:
            if data.get(key) is None:
                data.pop(key, None)
        return data

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """Read and validate ``path``; a :class:`RunDirectoryError` naming it if it is
        unreadable or not a run manifest."""
        shown = printable(path)
        data = read_json(path)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise RunDirectoryError(
                f"'{shown}' is not a run manifest ({_first_problem(err)}); rerun the scenario "
                f"to recreate the run."
            ) from None

    def write(self, path: str | Path) -> None:
        """Write atomically and durably: a crash, even of the machine or its filesystem,
        leaves the previous manifest or this one, never half of one (a resume needs it)."""
        write_json(self.to_json(), Path(path), durable=True)


def _first_problem(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    extra = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{where}: {first['msg']}{extra}"


# -- the directory ------------------------------------------------------------------------------
class RunDir(OutputDir):
    """One run's directory: where each of its files goes, its manifest, its write lock.

    Layout::

        manifest.json                  Manifest (written first, and last when the run ends)
        metrics.parquet                one row per recorded day
        events.parquet                 one row per discrete event
        generations.parquet            one row per generation
        summary.json                   outcome flags and final values (finished runs)
        network_nodes.parquet          network snapshots: nodes ...
        network_edges.parquet          ... and links
        llm_calls.parquet              one row per LLM call (LLM runs)
        llm_cache.sqlite               every paid LLM reply (LLM runs; llm.cache may move it)
        checkpoint/                    checkpoints of an unfinished run
        figures/, report.html          views and report (``society run``, ``society report``)
        .lock                          while a process writes the run; holds its PID

    Parameters
    ----------
    path : str or Path
        The directory (it need not exist yet).

    Examples
    --------
    >>> run = RunDir("runs/baseline-s0")
    >>> str(run.metrics), str(run.table("events"))
    ('runs/baseline-s0/metrics.parquet', 'runs/baseline-s0/events.parquet')
    >>> str(run.checkpoints), str(run.lock_path)
    ('runs/baseline-s0/checkpoint', 'runs/baseline-s0/.lock')
    """

    KIND = "run"
    METRICS = "metrics.parquet"
    EVENTS = "events.parquet"
    GENERATIONS = "generations.parquet"
    SUMMARY = "summary.json"
    NETWORK_NODES = "network_nodes.parquet"
    NETWORK_EDGES = "network_edges.parquet"
    LLM_CALLS = "llm_calls.parquet"
    LLM_CACHE = "llm_cache.sqlite"
    CHECKPOINTS = "checkpoint"
    #: The files of every finished run (what :func:`society.load` reads).
    REQUIRED = (OutputDir.MANIFEST, METRICS, EVENTS, GENERATIONS, SUMMARY)
    #: The tables a rerun of the same scenario and seed reproduces exactly (by stem).
    REPRODUCIBLE = ("metrics", "events", "generations", "network_nodes", "network_edges")
    #: The result files a run wrote, for manifests written before they listed them.
    WRITTEN_BEFORE_LISTS = (*REQUIRED, NETWORK_NODES, NETWORK_EDGES, LLM_CALLS)
    #: How to avoid a directory another process is writing, for a new run.
    NEW_RUN_ADVICE = "Or write this run to another --out directory."

    # -- paths ---------------------------------------------------------------------------------
    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def events(self) -> Path:
        return self.path / self.EVENTS

    @property
    def generations(self) -> Path:
        return self.path / self.GENERATIONS

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def network_nodes(self) -> Path:
        return self.path / self.NETWORK_NODES

    @property
    def network_edges(self) -> Path:
        return self.path / self.NETWORK_EDGES

    @property
    def llm_calls(self) -> Path:
        return self.path / self.LLM_CALLS

    @property
    def llm_cache(self) -> Path:
        """The default LLM response cache (a scenario's ``llm.cache`` may put it elsewhere)."""
        return self.path / self.LLM_CACHE

    @property
    def checkpoints(self) -> Path:
        """``checkpoint/``: one ``day-NNNNN`` folder per checkpoint (unfinished runs only)."""
        return self.path / self.CHECKPOINTS

    def table(self, stem: str) -> Path:
        """The Parquet table ``<stem>.parquet`` (e.g. ``"metrics"``)."""
        return self.path / f"{stem}.parquet"

    # -- opening and creating ------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, purpose: str = "read") -> RunDir:
        """An existing run directory, checked to hold a manifest.

        ``purpose`` (``"resume"``, ``"replay"``, ...) names what the user was doing in the
        error raised otherwise.
        """
        run = cls(path)
        if not run.manifest_path.is_file():
            it = "it" if run.path.is_dir() else "it is not a directory, so it"
            raise RunDirectoryError(
                f"cannot {purpose} '{printable(path)}': {it} has no {cls.MANIFEST} and is not a "
                f"run directory. Give the directory `society run` wrote (the last line it "
                f"prints)."
            )
        return run

    @classmethod
    @contextmanager
    def create(cls, path: str | Path, *, force: bool) -> Iterator[RunDir]:
        """Make ``path`` the directory of a new run and hold its write lock in the block.

        A directory that holds a symbolic link is refused (:func:`refuse_links`), and so is
        one that already holds anything, unless ``force``. With ``force``, the run stored there
        is removed (:meth:`run_files`) and nothing else is: the LLM cache is kept (it is paid
        for, and the new run's identical requests are served from it), and a directory without
        a valid run manifest is refused rather than emptied. Every problem is raised before
        the block runs, so before any simulation.
        """
        run = cls(path)
        shown = printable(path)
        try:
            if run.path.exists() and not run.path.is_dir():
                raise RunDirectoryError(
                    f"Output path '{shown}' exists and is a file; give a directory."
                )
            run.path.mkdir(parents=True, exist_ok=True)
            run._take_lock(cls.NEW_RUN_ADVICE)  # the lock file doubles as the write probe
        except OSError as err:  # unwritable, not a directory, name too long, ...
            raise run._unwritable(err) from None
        try:
            refuse_links(run.path, cls.KIND)
            if run.entries():
                if not force:
                    raise RunDirectoryError(
                        f"Output directory '{shown}' is not empty; choose a new --out directory "
                        f"or add --force to replace the run stored there."
                    )
                run._remove_stored_run()
            yield run
        finally:
            run.release()

    def run_files(self, manifest: Manifest) -> list[Path]:
        """The files of the run stored here that exist, as ``--force`` removes them: the
        manifest and the result files it lists, the checkpoints (by their layout), and the
        figures and report drawn from the run (by the names society gives them). Anything else
        (a user's notes, the LLM cache) is not the run's."""
        listed = manifest.files if manifest.files is not None else self.WRITTEN_BEFORE_LISTS
        names = {self.MANIFEST, self.REPORT, *listed} - {self.LLM_CACHE}
        found = [self.path / name for name in sorted(names) if _is_file(self.path / name)]
        found += checkpoint_files(self.checkpoints)
        if self.figures.is_dir():
            drawn = drawn_figure_names()
            found += sorted(p for p in self.figures.iterdir() if p.name in drawn and _is_file(p))
        return found

    def _remove_stored_run(self) -> None:
        """``--force``: remove the stored run's files (:meth:`run_files`), then the folders
        they leave empty; refuse a directory that holds no run."""
        try:
            manifest = self.read_manifest()
        except RunDirectoryError:
            found = sorted(p.name for p in self.entries())
            shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
            why = (
                f"its {self.MANIFEST} is not a valid run manifest"
                if self.manifest_path.exists()
                else f"it has no {self.MANIFEST}"
            )
            raise RunDirectoryError(
                f"--force replaces the run stored in '{printable(self.path)}', but that "
                f"directory holds no run ({why}) and holds other files ({shown}), which --force "
                f"never removes. Nothing was removed. Choose another --out directory, or move "
                f"those files away first."
            ) from None
        try:
            for path in self.run_files(manifest):
                path.unlink(missing_ok=True)
            remove_checkpoints(self.checkpoints)  # the folders the files above leave empty
            _remove_if_empty(self.figures)
        except OSError as err:
            raise self._unwritable(err) from None

    def _unwritable(self, err: OSError) -> RunDirectoryError:
        return RunDirectoryError(
            f"Cannot write to output directory '{printable(self.path)}' "
            f"({err.strerror or err}); choose a writable --out directory."
        )

    # -- reading and writing -------------------------------------------------------------------
    def missing(self) -> list[str]:
        """The files of :attr:`REQUIRED` this directory lacks."""
        return [name for name in self.REQUIRED if not (self.path / name).is_file()]

    def require_complete(self) -> None:
        """Raise :class:`RunDirectoryError` naming the first file a finished run would have and
        this one lacks (with the manifest's status, when that explains why)."""
        missing = self.missing()
        if not missing:
            return
        status: object = ""
        if self.manifest_path.is_file():
            try:
                status = read_json(self.manifest_path).get("status") or ""
            except RunDirectoryError:
                status = ""
        why = {
            "running": " (its manifest says it is still running, or it was killed)",
            "interrupted": " (it was interrupted; finish it with `society run --resume DIR`)",
            "error": f" (it stopped with an error; see its {self.MANIFEST})",
        }.get(status if isinstance(status, str) else "", "")
        raise RunDirectoryError(
            f"'{printable(self.path)}' is not a complete run{why}: {missing[0]} is missing. A "
            f"run directory holds {', '.join(self.REQUIRED[:-1])} and {self.REQUIRED[-1]}; "
            f"rerun the scenario to recreate it."
        )

    def read_manifest(self) -> Manifest:
        return Manifest.read(self.manifest_path)

    def write_manifest(self, manifest: Manifest) -> None:
        manifest.write(self.manifest_path)

    def read_stored(self, purpose: str = "rerun") -> tuple[Manifest, Scenario]:
        """The manifest and the resolved scenario it stores, for ``purpose`` (resume, replay,
        reproduce); a clear error naming the directory when they cannot be used."""
        manifest = self.read_manifest()
        if not manifest.scenario_intact():
            raise RunDirectoryError(
                f"cannot {purpose} '{printable(self.path)}': the scenario in its "
                f"{self.MANIFEST} was changed after the run wrote it (its SHA-256 no longer "
                f"matches), so the stored results belong to another scenario. Nothing was "
                f"changed. Restore the manifest, or run the edited scenario as a new run."
            )
        try:
            return manifest, manifest.resolved_scenario()
        except ValidationError as err:
            raise RunDirectoryError(
                f"cannot {purpose} '{printable(self.path)}': the scenario in its "
                f"{self.MANIFEST} is not valid for this version of society "
                f"({_first_problem(err)}); rerun the scenario instead."
            ) from None

    def read_table(self, stem: str) -> pl.DataFrame:
        """The run's table ``<stem>.parquet`` (``metrics``, ``events``, ``generations``,
        ``network_nodes`` or ``network_edges``), checked against the types its writer uses
        (the identity columns of :data:`society.tidy.IDENTITY` included): a
        :class:`RunDirectoryError` naming the file if it is damaged (see
        :mod:`society.store.reading`). Columns a reader can do without may be missing."""
        from society.recorder import (
            EDGE_SCHEMA,
            EVENT_SCHEMA,
            GENERATION_SCHEMA,
            METRIC_SCHEMA,
            NODE_SCHEMA,
        )
        from society.tidy import IDENTITY

        # (schema, columns a reader needs, columns that may hold no null). The run tables
        # start with the run's identity (society.tidy.IDENTITY), which older runs lack.
        tables: dict[str, tuple[Mapping[str, Any], tuple[str, ...], tuple[str, ...]]] = {
            "metrics": ({**IDENTITY, **METRIC_SCHEMA}, ("day",), ("day",)),
            "events": ({**IDENTITY, **EVENT_SCHEMA}, tuple(EVENT_SCHEMA), ("day", "kind")),
            "generations": ({**IDENTITY, **GENERATION_SCHEMA}, ("generation",), ("generation",)),
            "network_nodes": (NODE_SCHEMA, tuple(NODE_SCHEMA), ("day", "node")),
            "network_edges": (EDGE_SCHEMA, tuple(EDGE_SCHEMA), tuple(EDGE_SCHEMA)),
        }
        schema, required, complete = tables[stem]
        return read_table(self.table(stem), schema, required=required, complete=complete)

    def read_summary(self) -> dict[str, Any]:
        """``summary.json``, its values checked to have their types (:data:`SUMMARY_TYPES`);
        a :class:`RunDirectoryError` naming the file otherwise."""
        summary = read_json(self.summary)
        check_values(
            summary, SUMMARY_TYPES, self.summary, required=("outcome",), nullable=_SUMMARY_NULLABLE
        )
        if summary["outcome"] not in _OUTCOMES:
            raise RunDirectoryError(
                f"'{printable(self.summary)}' cannot be read: outcome "
                f"{printable(summary['outcome'], 40)!r} is none of {', '.join(_OUTCOMES)}. "
                f"Rerun the scenario to recreate it."
            )
        return summary

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(summary, self.summary)


def _is_file(path: Path) -> bool:
    """A regular file (a link is not one: links are refused before anything is removed)."""
    return path.is_file() and not path.is_symlink()


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails, harmlessly, while it holds anything that is not the run's


#: The formats ``society plot --format`` draws.
FIGURE_FORMATS = ("png", "svg", "pdf")


#: The views of a run ``viz.runviews.RUN_VIEWS`` draws (named here so the store, which sits
#: below the figures, knows their files; a test keeps the two equal).
RUN_VIEW_NAMES = ("drift", "ladder", "echo", "network", "coordination", "lab", "tests")


def drawn_figure_names() -> set[str]:
    """The file names society gives the figures it draws into a run's ``figures/``: each view
    (``society run``, ``society plot``, any format), the LLM figure and the calibration one."""
    views = [*RUN_VIEW_NAMES, "llm", "calibration"]
    return {f"{view}.{fmt}" for view in views for fmt in FIGURE_FORMATS}


# -- names and paths ----------------------------------------------------------------------------
def utc_stamp(t: datetime) -> str:
    """Compact UTC timestamp used in directory names, e.g. ``20261125T121314Z``."""
    return t.strftime("%Y%m%dT%H%M%SZ")


def safe_name(name: str) -> str:
    """A scenario name reduced to characters that are safe in a directory name.

    >>> safe_name("../My run: α")
    'My-run'
    """
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "-" for c in name)
    cleaned = "-".join(part for part in cleaned.replace(".", "-").split("-") if part)
    return cleaned[:60] or "run"


def default_run_dir(runs_root: Path, name: str, seed: int, started: datetime) -> Path:
    """``runs_root/<name>-<UTC time>-s<seed>``, made unique with a counter if needed."""
    return free_path(_run_base(runs_root, name, seed, started))


def _run_base(runs_root: Path, name: str, seed: int, started: datetime) -> Path:
    return runs_root / f"{safe_name(name)}-{utc_stamp(started)}-s{seed}"


def free_path(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``, ... : the first that does not exist yet."""
    path, k = base, 2
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path


def claim_dir(base: Path) -> Path:
    """Create and return :func:`free_path` of ``base``: of two processes that start in the
    same second, each gets its own folder (``mkdir`` is atomic). An :class:`OSError` other
    than "exists" (no permission, no space) is raised for the caller to explain.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> [claim_dir(root / "table").name for _ in range(3)]
    ['table', 'table-2', 'table-3']
    """
    while True:
        path = free_path(base)
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue  # taken since free_path looked; the next name is free
        return path


def claim_default_run_dir(runs_root: Path, name: str, seed: int, started: datetime) -> Path:
    """:func:`default_run_dir`, created here: two runs started in the same second (same
    scenario and seed) each get their own directory instead of meeting at its lock.

    If it cannot be created, the path is returned all the same, for :meth:`RunDir.create` to
    say why.
    """
    base = _run_base(runs_root, name, seed, started)
    try:
        return claim_dir(base)
    except OSError:
        return free_path(base)


def prepare_run_dir(path: Path, *, force: bool) -> Path:
    """Create ``path`` for a new run, as :meth:`RunDir.create` does, and unlock it again."""
    with RunDir.create(path, force=force) as run:
        return run.path


# -- atomic writes ------------------------------------------------------------------------------
def scenario_digest(scenario: dict[str, Any]) -> str:
    """SHA-256 of a scenario dump as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(scenario, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write atomically: a reader (or a crash) never sees a half-written file.

    The file is encoded in memory and written with Python's own I/O, so a full or read-only
    disk raises an ``OSError`` with its errno (polars reports one as an opaque "transport
    error"); the temporary file is removed on any failure, and no link is written through.
    """
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", statistics=True)
    write_atomic(path, buffer.getbuffer())


def write_json(data: dict[str, Any], path: Path, *, durable: bool = False) -> None:
    """Write atomically (a temporary file renamed into place; no link is written through);
    with ``durable``, the file and its name are on the disk when this returns.

    On a full disk, a file that already has room for the new text (its allocated blocks) is
    rewritten in place instead: no new space is needed, so a manifest can still record why a
    run stopped. That last resort is not atomic; it is used only when the atomic write cannot
    be done at all.
    """
    text = (json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n").encode()
    try:
        write_atomic(path, text, durable=durable)
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        try:
            fd = open_nofollow(path, os.O_RDWR)
        except OSError:
            raise err from None
        with os.fdopen(fd, "r+b") as f:
            if os.fstat(fd).st_blocks * 512 < len(text):
                raise err from None
            f.write(text)
            f.truncate()


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
