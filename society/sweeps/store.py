"""A sweep directory: what is written where, and how a kill never leaves a false 'done'.

Layout (the names are :class:`SweepStore`'s; nothing else spells them)::

    DIR/manifest.json                 sweep, engine, versions, status, timings
    DIR/points/<point_id>.json        one per finished run: the 'done' marker (written last)
    DIR/metrics/arm=<k>/replicate=<r>/part.parquet
                                      each run's metrics table (hive-partitioned dataset)
    DIR/points.parquet                one row per run, assembled from points/ at the end
    DIR/summary.parquet               written by ``society sweep-summary``
    DIR/figures/, DIR/report.html     written by ``society sweep`` and ``society report``
    DIR/analysis/                     written by ``society analyze`` (tables, figures, words)
    DIR/.lock                         while a process writes the sweep; holds its PID

Every file is written to a temporary name and renamed into place. A run's metrics are written
before its point file, so a point file means the run's results are complete; on resume, any
run without a readable point file and a whole metrics file (or whose point file records an
error) is run again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from society.errors import RunDirectoryError
from society.outcome_columns import SUMMARY_SCHEMA
from society.store.files import refuse_links
from society.store.outdir import OutputDir
from society.store.provenance import model_change
from society.store.reading import (
    JSON_INT,
    JSON_LIST,
    JSON_OBJECT,
    JSON_STR,
    check_values,
    read_json,
    read_table,
    unreadable,
)
from society.store.rundir import write_json, write_parquet
from society.sweeps.spec import Point, Sweep, SweepError
from society.tidy import IDENTITY, column_name, with_identity

#: What the ``sweep`` block of a sweep's manifest holds, where readers use it.
_SWEEP_TYPES: dict[str, tuple[type, ...]] = {
    "name": JSON_STR,
    "keys": JSON_LIST,
    "drawn_keys": JSON_LIST,
    "columns": JSON_OBJECT,
    "claim": JSON_OBJECT,
    "reference_arm": JSON_INT,
    "spec": JSON_OBJECT,
    "scenario_doc": JSON_OBJECT,
}
#: Keys of the ``sweep`` block that may be null (a sweep without a claim records ``null``).
_SWEEP_NULLABLE = ("claim",)
#: The columns of points.parquet ``sweep-summary`` needs.
POINT_REQUIRED = (
    "arm",
    "replicate",
    "status",
    "safe",
    "stayed_in_basin",
    "catastrophe",
    "catastrophe_cause",
    "lost_lead",
)
POINT_COLUMNS: dict[str, pl.DataType] = {
    "point_id": pl.String(),
    "arm": pl.Int64(),
    "replicate": pl.Int64(),
    "seed": pl.UInt64(),
    "status": pl.String(),
    "error": pl.String(),
}


class SweepStore(OutputDir):
    """Reads and writes one sweep directory.

    A writer holds the directory's lock (:meth:`create` or :meth:`resume` to :meth:`release`);
    readers (``sweep-summary``, the views) use the paths alone.
    """

    KIND = "sweep"
    POINTS = "points.parquet"
    POINTS_DIR = "points"
    METRICS_DIR = "metrics"
    SUMMARY = "summary.parquet"
    ANALYSIS = "analysis"
    #: The files of every finished sweep.
    REQUIRED = (OutputDir.MANIFEST, POINTS)

    @property
    def root(self) -> Path:
        return self.path

    @property
    def points_dir(self) -> Path:
        """``points/``: one JSON file per finished run."""
        return self.path / self.POINTS_DIR

    @property
    def metrics_dir(self) -> Path:
        """``metrics/``: every run's metrics, hive-partitioned by arm and replicate."""
        return self.path / self.METRICS_DIR

    @property
    def points_path(self) -> Path:
        """``points.parquet``: one row per run."""
        return self.path / self.POINTS

    @property
    def analysis_dir(self) -> Path:
        """``analysis/``: what ``society analyze`` wrote (one table, figure and record each)."""
        return self.path / self.ANALYSIS

    @property
    def summary_path(self) -> Path:
        """``summary.parquet``: per-arm probabilities and paired differences."""
        return self.path / self.SUMMARY

    # -- creating and resuming ---------------------------------------------------------------
    def create(self) -> None:
        """Make a new, empty sweep directory and lock it (refusing to mix with an earlier sweep
        or to write where another process writes)."""
        if self.root.exists() and not self.root.is_dir():
            raise SweepError(f"Output path '{self.root}' exists and is a file; give a directory.")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SweepError(
                f"Cannot create sweep directory '{self.root}' ({err.strerror}); choose a "
                f"writable --out directory."
            ) from None
        self.acquire("Or write this sweep to another --out directory.")
        try:
            refuse_links(self.root, self.KIND)
            if self.entries():
                hint = (
                    f" To continue that sweep, run with --resume {self.root}."
                    if self.manifest_path.is_file()
                    else ""
                )
                raise SweepError(
                    f"Output directory '{self.root}' is not empty; choose a new --out "
                    f"directory.{hint}"
                )
            self.points_dir.mkdir(exist_ok=True)
            self.metrics_dir.mkdir(exist_ok=True)
        except BaseException:
            self.release()
            raise

    def resume(self) -> dict[str, Any]:
        """Lock the sweep directory to continue it; return its manifest."""
        self._require_manifest()  # before the lock file: never litter a wrong directory
        self.acquire("A stopped sweep keeps every run it finished; --resume runs the rest.")
        try:
            refuse_links(self.root, self.KIND)
            manifest = self.read_manifest()
            self._require_same_model(manifest)
            return manifest
        except BaseException:
            self.release()
            raise

    def _require_same_model(self, manifest: dict[str, Any]) -> None:
        change = model_change(manifest.get("model"))
        if change is not None:
            commit = (manifest.get("git") or {}).get("commit") or "not recorded"
            raise SweepError(
                f"--resume {self.root}: its runs were made by a different model ({change}), "
                f"so the runs still to do would not be comparable with those done. Start a new "
                f"sweep with --out, or resume with the version that started it (commit {commit})."
            )

    def _require_manifest(self) -> None:
        if not self.manifest_path.is_file():
            raise SweepError(
                f"--resume {self.root}: no {self.MANIFEST} there, so it is not a sweep directory. "
                f"Give the directory an earlier `society sweep` wrote (it prints it)."
            )

    def read_manifest(self) -> dict[str, Any]:
        """``manifest.json``, with the ``sweep`` block's values checked to have their types;
        a :class:`SweepError` naming the file if it is damaged."""
        self._require_manifest()
        fix = "Rerun `society sweep` to recreate the sweep."
        try:
            data = read_json(self.manifest_path, fix)
            info = data.get("sweep", {})
            if not isinstance(info, dict):
                raise unreadable(self.manifest_path, "'sweep' is not an object", fix)
            check_values(
                info,
                _SWEEP_TYPES,
                self.manifest_path,
                nullable=_SWEEP_NULLABLE,
                where="sweep.",
                fix=fix,
            )
            for name in ("keys", "drawn_keys"):
                if not all(isinstance(k, str) for k in info.get(name, [])):
                    raise unreadable(
                        self.manifest_path, f"'sweep.{name}' holds a key that is not text", fix
                    )
            if not all(isinstance(k, str) for k in info.get("columns", {}).values()):
                raise unreadable(
                    self.manifest_path, "'sweep.columns' names a key that is not text", fix
                )
        except RunDirectoryError as err:
            raise SweepError(str(err)) from None
        return data

    def read_points(
        self, keys: Sequence[str] = (), required: Sequence[str] = POINT_REQUIRED
    ) -> pl.DataFrame:
        """``points.parquet``, checked against the types :meth:`assemble` writes, with the
        columns of ``required`` and one for each swept key of ``keys``."""
        schema = {**POINT_COLUMNS, **SUMMARY_SCHEMA}
        required = (*required, *keys)
        try:
            points = read_table(
                self.points_path,
                schema,
                required=required,
                complete=("arm", "replicate", "status"),
                fix="Rerun `society sweep` to recreate the sweep.",
            )
            if points.height == 0:  # the writer writes a row for every point, failed or not
                raise unreadable(
                    self.points_path,
                    "it holds no runs",
                    "Rerun `society sweep` to recreate the sweep.",
                )
            # A finished run has every outcome flag (``safe`` is null in runs of model v1).
            finished = points.filter(pl.col("status") == "success")
            for name in ("stayed_in_basin", "catastrophe", "lost_lead"):
                if name in finished.columns and finished[name].null_count():
                    raise unreadable(
                        self.points_path,
                        f"column '{name}' is empty (null) for a run that finished",
                        "Rerun `society sweep` to recreate the sweep.",
                    )
        except RunDirectoryError as err:
            raise SweepError(str(err)) from None
        return points

    def clean_partial(self) -> None:
        """Remove temporary files a killed sweep left behind (they never count as done)."""
        self.remove_temporaries()
        self.points_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_dir.mkdir(exist_ok=True)

    def done_ids(self) -> set[str]:
        """Points finished successfully (failed points are retried on resume)."""
        done = set()
        for path in self.points_dir.glob("*.json"):
            # A point file that is not a whole record (cut short, damaged) is not done: the
            # point runs again and the file is rewritten.
            try:
                record = read_json(path)
            except RunDirectoryError:
                continue
            arm, replicate = record.get("arm"), record.get("replicate")
            if not (isinstance(arm, int) and isinstance(replicate, int)):
                continue
            if record.get("status") == "success" and _complete_parquet(
                self.metrics_path(arm, replicate)
            ):
                done.add(path.stem)
        return done

    # -- writing -----------------------------------------------------------------------------
    def metrics_path(self, arm: int, replicate: int) -> Path:
        return self.metrics_dir / f"arm={arm}" / f"replicate={replicate}" / "part.parquet"

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json(manifest, self.manifest_path)

    def write_result(self, sweep: Sweep, result: dict[str, Any]) -> dict[str, Any]:
        """Store one finished run (metrics first, then its point file) and return its record.

        The metrics carry the run's identity (:data:`society.tidy.IDENTITY`, ``run_id`` being
        the point id) and its swept and drawn values as columns (``lab__tax``), so a scan of
        the partitions needs no join.
        """
        arm, replicate = result["arm"], result["replicate"]
        point = Point(result["point_id"], arm, replicate, sweep.seeds[replicate], sweep.arms[arm])
        values = sweep.values(point)
        if result["metrics"] is not None:
            path = self.metrics_path(arm, replicate)
            path.parent.mkdir(parents=True, exist_ok=True)
            outcome = (result["summary"] or {}).get("outcome")
            scenario = str(sweep.scenarios[arm].get("name", ""))
            metrics = with_identity(
                result["metrics"], point.point_id, scenario, point.seed, outcome
            )
            metrics = metrics.select(
                *IDENTITY,
                *(pl.lit(v).alias(c) for c, v in values.items()),
                pl.exclude(*IDENTITY),
            )
            write_parquet(metrics, path)
        record = {
            "point_id": result["point_id"],
            "arm": arm,
            "replicate": replicate,
            "seed": sweep.seeds[replicate],
            "params": sweep.arms[arm],
            "drawn": sweep.draws[replicate] if sweep.draws else {},
            "status": result["status"],
            "error": result["error"],
            "summary": result["summary"],
            "run_seconds": round(result["run_seconds"], 6),
        }
        for host in ("node", "numpy_simd"):  # the Ray node that ran it (host-dependent)
            if result.get(host) is not None:
                record[host] = result[host]
        write_json(record, self.points_dir / f"{result['point_id']}.json")
        return record

    def assemble(self, sweep: Sweep) -> pl.DataFrame:
        """Write points.parquet: one row per run, sorted by point id, from the point files.

        Rows hold the point, its swept and drawn values (a column per field, named as
        :func:`society.tidy.column_name` says: ``lab__tax``), status and error, and the run
        summary. Wall times stay in the point files and the manifest (host-dependent).
        """
        rows = []
        for point in sweep.points:
            path = self.points_dir / f"{point.point_id}.json"
            if not path.is_file():
                continue
            record = json.loads(path.read_text())
            summary = record.get("summary") or {}
            rows.append(
                {
                    "point_id": point.point_id,
                    "arm": point.arm,
                    "replicate": point.replicate,
                    "seed": point.seed,
                    **sweep.values(point),
                    "status": record["status"],
                    "error": record["error"],
                    **{key: summary.get(key) for key in SUMMARY_SCHEMA},
                }
            )
        schema: dict[str, pl.DataType | type[pl.DataType]] = {
            **{k: v for k, v in POINT_COLUMNS.items() if k not in {"status", "error"}},
            **{column_name(k): _dtype([arm[k] for arm in sweep.arms]) for k in sweep.keys},
            **{column_name(k): _dtype([d[k] for d in sweep.draws]) for k in sweep.drawn_keys},
            "status": pl.String(),
            "error": pl.String(),
            **SUMMARY_SCHEMA,
        }
        frame = pl.DataFrame(rows, schema=schema)
        write_parquet(frame, self.points_path)
        return frame

    def has_metrics(self) -> bool:
        """Whether any run's metrics were written."""
        return self.metrics_dir.is_dir() and any(self.metrics_dir.rglob("*.parquet"))

    def scan_metrics(self) -> pl.LazyFrame:
        """Every run's metrics as one lazy frame with the partition keys (``arm`` and
        ``replicate``) as columns."""
        return pl.scan_parquet(self.metrics_dir / "**" / "*.parquet", hive_partitioning=True)


def _complete_parquet(path: Path) -> bool:
    """Whether ``path`` is a whole Parquet file (it ends with the format's magic bytes).

    Files are not synced as a sweep goes, so after a power cut a run's point file may be on
    the disk while its metrics are empty: then the run is not done, and a resume runs it again.
    """
    try:
        with path.open("rb") as f:
            f.seek(-4, os.SEEK_END)
            return f.read(4) == b"PAR1"
    except OSError:  # missing, or shorter than the magic itself
        return False


def _dtype(values: list[Any]) -> pl.DataType:
    if all(isinstance(v, bool) for v in values):
        return pl.Boolean()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pl.Int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pl.Float64()
    return pl.String()
