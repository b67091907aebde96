"""Find out what a directory holds (a run or a sweep) and read it, with errors that say what is
missing.

A **run** directory is what ``society run`` writes; its layout is
:class:`society.store.rundir.RunDir` (network snapshots are optional). A **sweep** directory is
what ``society sweep`` writes; its layout is :class:`society.sweeps.store.SweepStore`
(``metrics/`` is optional). Everything the views assume about a sweep's tables is in
:func:`load_sweep`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from society.errors import RunDirectoryError, printable
from society.outcome_columns import CAUSES
from society.store.reading import check_frame, read_json, read_table, unreadable
from society.store.rundir import RunDir
from society.sweeps.store import SweepStore
from society.sweeps.summary import swept_columns
from viz._common import resolved_scenario

if TYPE_CHECKING:  # society.api imports the engine (mesa), which reading a sweep never needs
    from society.api import RunResult

# Columns a sweep's points.parquet is assumed to have besides the swept parameters (which are
# named by dotted scenario key such as ``lab.tax``).
SWEEP_BOOKKEEPING = ("seed", "replicate", "status", "run_dir", "path", "point", "run_id")
#: Outcome flags the sweep views summarise, the answer first (as ``society sweep-summary``):
#: safe, catastrophe, left the basin (derived: not ``stayed_in_basin``), lost the lead.
SWEEP_OUTCOMES = ("safe", "catastrophe", "left_basin", "lost_lead")
#: The columns of points.parquet those flags come from.
SWEEP_OUTCOME_COLUMNS = ("safe", "stayed_in_basin", "catastrophe", "lost_lead")
#: P(catastrophe) by cause: flag ``cause_<cause>`` is ``catastrophe_cause == cause``.
CAUSE_OUTCOMES = tuple(f"cause_{c}" for c in CAUSES)
OUTCOME_LABELS = {
    "safe": "safe",
    "catastrophe": "catastrophe",
    "left_basin": "left basin",
    "lost_lead": "lost lead",
    "stayed_in_basin": "stayed in basin",
    **{f"cause_{c}": f"catastrophe by {c.replace('_', ' ')}" for c in CAUSES},
}


def outcome_flags(points: pl.DataFrame) -> pl.DataFrame:
    """``points`` with the derived flags: ``left_basin`` and, where the cause was recorded, one
    ``cause_<cause>`` per catastrophe cause."""
    derived = []
    if "stayed_in_basin" in points.columns and "left_basin" not in points.columns:
        derived.append((~pl.col("stayed_in_basin")).alias("left_basin"))
    if "catastrophe_cause" in points.columns:
        cause = pl.col("catastrophe_cause").cast(pl.String).fill_null("")
        derived += [(cause == c).alias(f"cause_{c}") for c in CAUSES]
    return points.with_columns(derived) if derived else points


@dataclass
class Sweep:
    """A sweep's tables: one row per run in ``points``, the swept parameter names, and (if
    written) every run's metrics stacked, with the parameter columns added."""

    path: Path
    manifest: dict[str, Any]
    points: pl.DataFrame
    parameters: list[str]
    metrics: pl.DataFrame | None = None


def kind_of(path: str | Path) -> Literal["run", "sweep"]:
    """``"run"`` or ``"sweep"``; raises :class:`RunDirectoryError` for anything else."""
    p = Path(path)
    if not p.is_dir():
        raise RunDirectoryError(
            f"'{p}' is not a directory; give a run directory (from `society run`) or a sweep "
            f"directory (from `society sweep`)."
        )
    if SweepStore(p).points_path.is_file() or _manifest_kind(p) == "sweep":
        return "sweep"
    run = RunDir(p)
    if run.manifest_path.is_file() or len(run.missing()) < len(RunDir.REQUIRED):  # some of them
        return "run"
    raise RunDirectoryError(
        f"'{p}' is neither a run nor a sweep directory: {RunDir.MANIFEST} is missing (a run "
        f"holds {', '.join(RunDir.REQUIRED)}; a sweep holds {' and '.join(SweepStore.REQUIRED)})."
    )


def _manifest_kind(p: Path) -> str | None:
    try:
        manifest = read_json(RunDir(p).manifest_path)
    except RunDirectoryError:
        return None
    kind = manifest.get("kind") or manifest.get("type")
    return str(kind) if kind else None


def load_run(path: str | Path) -> RunResult:
    """Read a run directory (:func:`society.load`), with the error naming a missing file.

    The other files the views draw from (network snapshots, LLM calls) are checked too, so a
    damaged one stops a report or a figure before anything is drawn.
    """
    if kind_of(path) != "run":
        raise RunDirectoryError(f"'{path}' is a sweep directory, not a run directory.")
    from society.api import load as load_run_result

    result = load_run_result(path)
    load_network(path)
    load_llm_calls(path)
    return result


def load_network(path: str | Path) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The run's network snapshots ``(nodes, edges)``, or ``None`` if the run has none.

    nodes: day:int32, node:int32, opinion:f64, alignment:f64, role:str, hacking:bool;
    edges: day:int32, u:int32, v:int32 (written at the days in ``record.snapshot_days``).
    """
    run = RunDir(path)
    nodes, edges = run.network_nodes, run.network_edges
    if not nodes.is_file() and not edges.is_file():
        return None
    for f in (nodes, edges):
        if not f.is_file():
            raise RunDirectoryError(
                f"'{run.path}' has incomplete network snapshots: {f.name} is missing (snapshots "
                f"need both {nodes.name} and {edges.name})."
            )
    return run.read_table("network_nodes"), run.read_table("network_edges")


def load_llm_calls(path: str | Path) -> pl.DataFrame | None:
    """The run's ``llm_calls.parquet`` (one row per LLM call, columns as
    :data:`society.llm.policy.CALL_SCHEMA`), or ``None`` if it made none."""
    from society.llm.policy import CALL_SCHEMA

    calls = RunDir(path).llm_calls
    if not calls.is_file() and not calls.is_symlink():
        return None
    calls_read = read_table(
        calls,
        CALL_SCHEMA,
        required=("day", "decision", "fallback", "prompt_tokens", "completion_tokens", "latency_s"),
        complete=("day", "decision"),
    )
    if not calls_read["day"].is_finite().all():
        raise unreadable(calls, "column 'day' has NaN or infinite values")
    return calls_read


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep directory (laid out as :class:`~society.sweeps.store.SweepStore` says).

    Assumed: ``manifest.json``; ``points.parquet`` with one row per run: swept parameters as
    columns (named ``lab__tax`` as the manifest's ``sweep.columns`` says, and renamed here to
    the dotted key ``lab.tax``; older sweeps name them by dotted key), ``seed``, ``replicate``,
    ``status``, the outcome flags ``safe``, ``stayed_in_basin``, ``catastrophe`` (with
    ``catastrophe_cause``), ``lost_lead``, plus summary metrics; optionally ``metrics/``
    (hive-partitioned parquet, one partition per run, partition keys among the points'
    columns). ``left_basin`` and the ``cause_<cause>`` flags are derived
    (:func:`outcome_flags`).
    """
    store = SweepStore(path)
    p = store.path
    if kind_of(p) != "sweep":
        raise RunDirectoryError(f"'{p}' is a run directory, not a sweep directory.")
    for name in SweepStore.REQUIRED:
        if not (p / name).is_file():
            raise RunDirectoryError(
                f"'{p}' is not a complete sweep: {name} is missing. A sweep directory holds "
                f"{' and '.join(SweepStore.REQUIRED)}; rerun `society sweep` to recreate it."
            )
    manifest = store.read_manifest()
    if not isinstance(manifest.get("sweep", {}), dict):
        manifest.pop("sweep")
    # The views name swept and drawn values by dotted key (``lab.tax``): the files name them
    # without dots (``lab__tax``), and the manifest keeps the mapping.
    dotted = _dotted_names(manifest)
    columns = _parquet_columns(store.points_path)
    missing = [c for c in SWEEP_OUTCOME_COLUMNS if columns is not None and c not in columns]
    if missing:
        old = " (written by model v1, which had no 'safe' outcome: run the sweep again)"
        raise RunDirectoryError(
            f"'{store.points_path}' lacks the outcome column(s) {', '.join(missing)}"
            f"{old if 'safe' in missing and len(missing) == 1 else ''}."
        )
    points = store.read_points(list(swept_columns(manifest)), required=SWEEP_OUTCOME_COLUMNS)
    points = points.rename(_renames(points.columns, dotted))
    manifest = _flatten_sweep_manifest(manifest)
    metrics = None
    if store.has_metrics():
        # Only the columns the sweep views draw, scanned lazily: a 10,000-point sweep's whole
        # metrics dataset need never be in memory. The arm index is mapped to parameter values.
        params = sweep_parameters(points, manifest)
        wanted = [
            "arm",
            "replicate",
            "day",
            "alignment_mean",
            "a_star",
            "drift_w1_initial",
            "margin",
            *params,
        ]
        metrics = _scan_metrics(store, wanted, dotted)
        if (
            "arm" in points.columns
            and "arm" in metrics.columns
            and params
            and not all(c in metrics.columns for c in params)
        ):
            arms = points.select("arm", *params).unique("arm")
            metrics = metrics.with_columns(pl.col("arm").cast(arms["arm"].dtype)).join(
                arms, on="arm", how="left"
            )
    return Sweep(p, manifest, points, sweep_parameters(points, manifest), metrics)


def _dotted_names(manifest: dict[str, Any]) -> dict[str, str]:
    """Column name -> dotted key of the swept and drawn fields (empty for sweeps written when
    the columns were named by the dotted key itself)."""
    sweep = manifest.get("sweep")
    columns = sweep.get("columns") if isinstance(sweep, dict) else None
    return dict(columns) if isinstance(columns, dict) else {}


def _renames(names: list[str], dotted: dict[str, str]) -> dict[str, str]:
    """The renames of ``dotted`` that apply to a table with columns ``names``: a column named
    as :func:`society.tidy.column_name` names its key, to a name the table does not hold yet
    (a crafted manifest cannot make two columns one)."""
    from society.tidy import column_name

    return {
        c: k
        for c, k in dotted.items()
        if c in names and c != k and c == column_name(k) and k not in names
    }


def _parquet_columns(path: Path) -> list[str] | None:
    """The column names of a Parquet file, or ``None`` if it cannot be read (reading it says
    why)."""
    try:
        return list(pl.read_parquet_schema(path))
    except (OSError, ValueError, pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None


def _scan_metrics(store: SweepStore, wanted: list[str], dotted: dict[str, str]) -> pl.DataFrame:
    """The columns of ``wanted`` that every run's metrics have, stacked (the swept and drawn
    values renamed by ``dotted``, column -> dotted key); the dataset's columns checked against
    the types a run writes."""
    from society.recorder import METRIC_SCHEMA

    fix = "Rerun `society sweep` to recreate the sweep."
    try:
        scanned = store.scan_metrics()
        names = scanned.collect_schema().names()
        scanned = scanned.rename(_renames(names, dotted))
        present = [c for c in wanted if c in scanned.collect_schema().names()]
        metrics = scanned.select(present).collect()
    except (OSError, ValueError, pl.exceptions.PolarsError, pl.exceptions.PanicException) as err:
        detail = printable(str(err).splitlines()[0] if str(err) else type(err).__name__, 100)
        raise unreadable(
            store.metrics_dir, f"its runs' metrics are not readable Parquet tables ({detail})", fix
        ) from None
    for name in ("arm", "replicate", "day", *(c for c in wanted if c in METRIC_SCHEMA)):
        if name in metrics.columns and not (
            metrics.schema[name].is_numeric() or metrics.schema[name] == pl.Null
        ):
            raise unreadable(
                store.metrics_dir, f"column '{name}' holds {metrics.schema[name]}, not numbers", fix
            )
    return check_frame(metrics, store.metrics_dir, fix=fix)


def _flatten_sweep_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """Lift the names the views use (name, question, base scenario, reference arm) from the
    ``sweep`` block that ``society sweep`` writes to the manifest's top level."""
    sweep = manifest.get("sweep")
    if not isinstance(sweep, dict):
        return manifest
    raw_spec = sweep.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    doc = sweep.get("scenario_doc")
    lifted = {
        "name": sweep.get("name") or spec.get("name"),
        "question": spec.get("question"),
        # The base scenario as the runs saw it: defaults filled in, the sweep's [set] applied.
        "scenario": resolved_scenario(doc, spec.get("set")) if isinstance(doc, dict) else None,
        "reference": spec.get("reference"),
        "arms": sweep.get("keys"),
    }
    return {**{k: v for k, v in lifted.items() if v is not None}, **manifest}


def sweep_parameters(points: pl.DataFrame, manifest: dict[str, Any] | None = None) -> list[str]:
    """The swept parameters: dotted-key columns that take more than one value (those the
    manifest names as swept, when it does: values drawn from priors vary too, but are not
    arms)."""
    sweep = (manifest or {}).get("sweep")
    keys = sweep.get("keys") if isinstance(sweep, dict) else None
    candidates = keys if isinstance(keys, list) else [c for c in points.columns if "." in c]
    return [c for c in candidates if c in points.columns and points[c].n_unique() > 1]
