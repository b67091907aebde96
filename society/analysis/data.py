"""What every analysis reads from a sweep directory: points, targets, per-arm values, design.

A sweep's ``points.parquet`` has one row per run. An analysis looks at *arms* (one set of swept
values each): with replicates, the value of a target at an arm is its mean over the arm's
finished runs, so a flag such as ``safe`` becomes P(safe) at that arm. Targets are found in the
data: any boolean or numeric per-run column (and ``left_basin`` and ``cause_<cause>``, derived
as ``society sweep-summary`` derives them), so new outcome columns need no code here.

:func:`read_points` is the one place that reads ``points.parquet`` and :func:`value_column`
the one place that finds a swept key's column in it: a change to that table's layout is made
here.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from society.errors import RunDirectoryError, SocietyError, printable
from society.store.reading import read_json, read_table
from society.store.rundir import RunDir
from society.sweeps.design import Design, digest
from society.sweeps.store import SweepStore

#: The fix for a damaged sweep file.
_REDO = "Rerun `society sweep` to recreate the sweep."
#: Columns of points.parquet that identify a run rather than measure it.
BOOKKEEPING = ("point_id", "arm", "replicate", "seed", "status", "error")


class AnalysisError(SocietyError):
    """A sweep directory, target or option an analysis cannot use (exit code 2)."""


def require_every_arm(y: np.ndarray, needs: str) -> None:
    """Refuse outputs ``y`` with an arm that has no value: ``needs`` says what needs every arm
    ("a Saltelli design", "a Morris trajectory")."""
    if not np.isfinite(y).all():
        raise AnalysisError(
            f"{int((~np.isfinite(y)).sum())} arm(s) have no value of the target (every run "
            f"there failed, or the target is empty there); {needs} needs every arm."
        )


def read_points(path: Path) -> pl.DataFrame:
    """``points.parquet`` with the derived flags ``left_basin`` (not ``stayed_in_basin``) and
    ``cause_<cause>`` (one per catastrophe cause recorded), where their sources exist.

    The file is read as untrusted input (:mod:`society.store.reading`): one that cannot be
    read, or whose columns do not have the types :meth:`SweepStore.assemble` writes, is an
    :class:`AnalysisError` naming it.
    """
    from society.outcome_columns import SUMMARY_SCHEMA
    from society.sweeps.store import POINT_COLUMNS

    try:
        points = read_table(path, {**POINT_COLUMNS, **SUMMARY_SCHEMA}, fix=_REDO)
    except RunDirectoryError as err:
        raise AnalysisError(str(err)) from None
    derived = []
    if "stayed_in_basin" in points.columns and "left_basin" not in points.columns:
        derived.append((~pl.col("stayed_in_basin")).alias("left_basin"))
    if "catastrophe_cause" in points.columns:
        causes = sorted(points["catastrophe_cause"].drop_nulls().unique().to_list())
        cause = pl.col("catastrophe_cause").fill_null("")
        derived += [(cause == c).alias(f"cause_{c}") for c in causes if c]
    return points.with_columns(derived) if derived else points


def value_column(points: pl.DataFrame, key: str) -> str | None:
    """The column of ``points`` holding swept key ``key`` (``lab.tax``): the dotted name, or
    the same name without dots (``lab_tax``, ``lab__tax``), whichever the table has."""
    for name in _spellings(key):
        if name in points.columns:
            return name
    return None


def _spellings(key: str) -> tuple[str, str, str]:
    return key, key.replace(".", "__"), key.replace(".", "_")


@dataclass(frozen=True)
class Target:
    """What an analysis explains: a per-run column, made a flag by ``threshold`` if given
    (``column >= threshold``, or ``<`` with ``below``)."""

    column: str
    threshold: float | None = None
    below: bool = False
    flag: bool = True

    @property
    def label(self) -> str:
        """``P(safe)``, ``P(final_alignment >= 0.6)`` or ``final_alignment``."""
        if self.threshold is not None:
            return f"P({self.column} {'<' if self.below else '>='} {self.threshold:g})"
        return f"P({self.column})" if self.flag else self.column

    @property
    def slug(self) -> str:
        """A file-name form: ``safe``, ``final_alignment-ge-0.6``."""
        if self.threshold is None:
            return self.column
        return f"{self.column}-{'lt' if self.below else 'ge'}-{self.threshold:g}"


@dataclass
class SweepData:
    """A finished sweep, as the analyses see it.

    ``points`` holds every run (finished or not); ``keys`` are the swept dotted keys in the
    sweep's order; ``design`` is the manifest's record of the sampled design, if any.
    """

    path: Path
    manifest: dict[str, Any]
    points: pl.DataFrame
    keys: list[str]
    design: dict[str, Any] | None

    @property
    def name(self) -> str:
        return str(self.manifest.get("sweep", {}).get("name") or self.path.name)

    @property
    def grid_keys(self) -> list[str]:
        """The keys of the sweep file's ``[grid]`` (a full factorial)."""
        grid = self.manifest.get("sweep", {}).get("spec", {}).get("grid") or {}
        return [k for k in grid if k in self.keys]

    @property
    def drawn_keys(self) -> list[str]:
        """The prior-drawn keys (``--priors``): each run holds its own draw of them."""
        drawn = self.manifest.get("sweep", {}).get("drawn_keys") or []
        return [str(k) for k in drawn if value_column(self.points, str(k)) is not None]

    def run_points(self, target: Target) -> pl.DataFrame:
        """One row per finished run with a value: its swept and drawn values (columns named by
        dotted key) and ``y``, the target's value (1.0 or 0.0 for a flag). For a sweep whose
        runs draw priors, where each run is its own point of the assumptions."""
        columns = {k: value_column(self.points, k) for k in (*self.keys, *self.drawn_keys)}
        values = self.finished().select(
            "arm", "replicate", *(pl.col(c).alias(k) for k, c in columns.items() if c)
        )
        runs = self.run_values(target).join(values, on=["arm", "replicate"], how="left")
        return runs.drop("arm", "replicate")

    @property
    def replicates(self) -> int:
        return int(self.manifest.get("sweep", {}).get("replicates", 1))

    def finished(self) -> pl.DataFrame:
        """The runs that finished (status ``success``)."""
        if "status" not in self.points.columns:
            return self.points
        return self.points.filter(pl.col("status") == "success")

    def targets(self) -> list[str]:
        """Every column an analysis can explain: boolean or numeric, measured per run."""
        # A swept value is an input, whichever spelling of its column the table has.
        skip = set(BOOKKEEPING) | {name for k in self.keys for name in _spellings(k)}
        return [
            name
            for name, dtype in self.points.schema.items()
            if name not in skip and (dtype == pl.Boolean or dtype.is_numeric())
        ]

    def target(self, column: str, threshold: float | None = None, below: bool = False) -> Target:
        """Check ``column`` is a recorded target (with a did-you-mean) and return it."""
        known = self.targets()
        if column not in known:
            close = difflib.get_close_matches(column, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise AnalysisError(
                f"--target {printable(column)}: {self.path / SweepStore.POINTS} records no such "
                f"per-run column.{hint} Targets this sweep records: {', '.join(known)}."
            )
        dtype = self.points.schema[column]
        if threshold is not None and dtype == pl.Boolean:
            raise AnalysisError(
                f"--threshold {threshold:g}: --target {column} is already a yes/no outcome, so "
                f"P({column}) needs no threshold. Drop --threshold, or give a numeric target "
                f"such as final_alignment."
            )
        if threshold is not None and not math.isfinite(threshold):
            raise AnalysisError(f"--threshold {threshold}: give a finite number.")
        flag = dtype == pl.Boolean or threshold is not None
        return Target(column, threshold, below, flag)

    def run_values(self, target: Target) -> pl.DataFrame:
        """One row per finished run with a value: ``arm``, ``replicate`` and ``y``, the
        target's value (1.0 or 0.0 for a flag)."""
        value = pl.col(target.column)
        if target.threshold is not None:
            value = value < target.threshold if target.below else value >= target.threshold
        return (
            self.finished()
            .select("arm", "replicate", value.cast(pl.Float64).alias("y"))
            .drop_nulls("y")
            .filter(pl.col("y").is_not_nan())
        )

    def arm_values(self, target: Target) -> pl.DataFrame:
        """One row per arm, in arm order: ``arm``, the swept values (columns named by dotted
        key), ``runs`` (finished runs with a value), ``failed`` (runs that did not finish), and
        ``y``: the target's mean over the runs (P(target) for a flag; NaN without runs). For a
        flag, ``k`` counts the runs where it held."""
        runs = self.run_values(target).rename({"y": "_y"})
        per_arm = runs.group_by("arm").agg(
            pl.len().alias("runs"), pl.col("_y").sum().alias("k"), pl.col("_y").mean().alias("y")
        )
        every = self.points.group_by("arm").agg(
            pl.len().alias("all"),
            *(
                pl.col(value_column(self.points, k) or k).first().alias(k)
                for k in self.keys
                if value_column(self.points, k)
            ),
        )
        table = (
            every.join(per_arm, on="arm", how="left")
            .with_columns(
                pl.col("runs").fill_null(0).cast(pl.Int64),
                pl.col("k").fill_null(0.0),
                pl.col("y").fill_null(float("nan")),
            )
            .sort("arm")
        )
        n_finished = self.finished().group_by("arm").agg(pl.len().alias("_ok"))
        table = table.join(n_finished, on="arm", how="left").with_columns(
            (pl.col("all") - pl.col("_ok").fill_null(0)).alias("failed")
        )
        columns = ["arm", *[k for k in self.keys if k in table.columns], "runs", "failed", "y"]
        return table.select(*columns, *(["k"] if target.flag else []))

    def sampled_design(self, method: str) -> tuple[Design, np.ndarray]:
        """The sweep's sampled design and its unit-cube points (rebuilt from the manifest and
        checked against its digest); raise :class:`AnalysisError` unless it is ``method``."""
        record = self.design
        want = {"saltelli": "a Saltelli", "morris": "a Morris", "oat": "an oat"}[method]
        option = {"saltelli": "sobol", "morris": "morris", "oat": "oat"}[method]
        result = {
            "saltelli": "Sobol indices need",
            "morris": "Morris effects need",
            "oat": "one-at-a-time effects need",
        }[method]
        if record is None or record.get("method") != method:
            if self.grid_keys:
                what = f"a grid sweep ([grid] {', '.join(self.grid_keys)})"
            elif record is not None:
                what = f'a [sample] method = "{record.get("method")}" sweep'
            else:
                what = "a sweep without a sampled design"
            fix = (
                "use --method prim (any sweep) or --method frontier (a two-key grid)"
                if self.grid_keys
                else "use --method prim"
            )
            raise AnalysisError(
                f"--method {option} on {self.path}: this is {what}, but {result} {want} "
                f"design, whose arms are laid out for the estimator. Run a "
                f'sweep with [sample] method = "{method}" (see docs/sweeps.md), or {fix}.'
            )
        design = Design.from_record(record)
        unit = design.unit()
        if digest(unit) != record.get("unit_sha256"):
            raise AnalysisError(
                f"{self.path}: the {method} design rebuilt from the manifest differs from the one "
                f"the sweep ran (its digest changed: another SALib or scipy version?). Analyse "
                f"the sweep with the versions its manifest lists under 'versions'."
            )
        n_arms = self.points["arm"].n_unique()
        if n_arms != unit.shape[0]:
            raise AnalysisError(
                f"{self.path}: points.parquet has {n_arms} arms but the {method} design has "
                f"{unit.shape[0]}; the sweep is incomplete. Finish it with `society sweep "
                f"--resume {self.path}`."
            )
        return design, unit


def load(path: str | Path) -> SweepData:
    """Read a finished sweep directory; raise :class:`AnalysisError` with the fix otherwise."""
    root = Path(path)
    shown = printable(root)
    if not root.is_dir():
        raise AnalysisError(
            f"'{shown}' is not a directory. Give the directory `society sweep` printed, e.g. "
            f"runs/sweeps/lead_vs_tax-<UTC time>."
        )
    store = SweepStore(root)
    manifest = _manifest(store)
    is_sweep = manifest is not None and manifest.get("kind") == "sweep"
    looks_like_run = (manifest is not None and "run_id" in manifest) or any(
        (root / name).is_file() for name in (RunDir.SUMMARY, RunDir.METRICS)
    )
    if not is_sweep and looks_like_run:
        raise AnalysisError(
            f"'{shown}' is a run directory (from `society run`), not a sweep: an analysis "
            f"compares many runs. Run a sweep first, e.g. `society sweep "
            f"scenarios/sweeps/lead_vs_tax.toml`, then `society analyze` its directory."
        )
    if manifest is None or not is_sweep:
        raise AnalysisError(
            f"'{shown}' holds no sweep {SweepStore.MANIFEST}, so it is not a sweep directory. "
            f"Give the directory `society sweep` printed."
        )
    if not store.points_path.is_file():
        status = manifest.get("status", "unknown")
        raise AnalysisError(
            f"'{shown}': points.parquet is missing (the sweep's status is '{status}': it did "
            f"not finish). Finish it with `society sweep --resume {shown}`, then analyse it."
        )
    points = read_points(store.points_path)
    if points.height == 0:
        raise AnalysisError(f"{store.points_path} holds no runs; there is nothing to analyse.")
    info = manifest.get("sweep", {})
    keys = [str(k) for k in info.get("keys", [])]
    design = info.get("design") if isinstance(info.get("design"), dict) else None
    return SweepData(root, manifest, points, keys, design)


def _manifest(store: SweepStore) -> dict[str, Any] | None:
    if not store.manifest_path.is_file():
        return None
    try:
        return read_json(store.manifest_path, _REDO)
    except RunDirectoryError as err:
        raise AnalysisError(str(err)) from None


__all__ = ["AnalysisError", "SweepData", "Target", "load", "read_points", "value_column"]
