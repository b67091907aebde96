"""``society.scan``: one lazy frame of a table over many runs and sweeps (the tidy rules of
:mod:`society.tidy` make them stack without a join)."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from society.errors import RunDirectoryError, printable
from society.store.reading import read_json
from society.tidy import IDENTITY, RUN_TABLES, column_name

#: What to do about a directory :func:`scan` cannot read.
_FIX = "Give run or sweep directories that society wrote, or leave this one out."


def scan(paths: str | Path | Iterable[str | Path], table: str = "metrics") -> pl.LazyFrame:
    """One lazy frame of ``table`` over many runs and sweeps.

    Parameters
    ----------
    paths : glob, path or paths
        Run directories, sweep directories or Parquet files, or glob patterns matching them
        (``"runs/*"``, ``"runs/sweeps/lead_vs_tax-*"``).
    table : {"metrics", "events", "generations"}
        Which table. A sweep stores its runs' metrics only.

    Returns
    -------
    polars.LazyFrame
        The tables stacked (columns missing from some filled with nulls), each row with
        :data:`IDENTITY`; a sweep's rows also carry its swept and drawn values (``lab__tax``)
        and its ``arm`` and ``replicate``. Older runs written before the tables carried their
        identity get it from their manifest and summary.

    Examples
    --------
    >>> import tempfile, society
    >>> run = society.run("tiny", overrides={"days": 5}, runs_dir=tempfile.mkdtemp())
    >>> frame = scan(str(run.path.parent / "*")).collect()
    >>> frame.select("scenario", "seed", "outcome").unique().rows()
    [('tiny', 7, 'undecided')]
    """
    if table not in RUN_TABLES:
        raise RunDirectoryError(
            f"scan(table={printable(table)!r}): choose one of {', '.join(RUN_TABLES)}."
        )
    found = _expand(paths)
    if not found:
        raise RunDirectoryError(
            f"scan({printable(paths)!r}) matches no run directory, sweep directory or Parquet "
            f"file; give e.g. 'runs/*' or 'runs/sweeps/*'."
        )
    frames = [_scan_one(p, table) for p in found]
    return pl.concat(frames, how="diagonal_relaxed")


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    out: list[Path] = []
    for item in items:
        matches = sorted(glob.glob(str(item))) if glob.has_magic(str(item)) else [str(item)]
        for m in matches:
            p = Path(m)
            parquet = p.is_file() and p.suffix == ".parquet"
            if parquet or (p.is_dir() and (p / "manifest.json").is_file()):
                out.append(p)
    return out


def _scan_one(path: Path, table: str) -> pl.LazyFrame:
    if path.is_file():
        return pl.scan_parquet(path)
    manifest = _manifest(path)
    if manifest.get("kind") == "sweep":
        if table != "metrics":
            raise RunDirectoryError(
                f"'{printable(path)}' is a sweep directory; a sweep stores its runs' metrics "
                f"only, so scan it with table='metrics'."
            )
        return _scan_sweep(path)
    file = path / f"{table}.parquet"
    if not file.is_file():
        raise RunDirectoryError(
            f"'{printable(path)}' has no {file.name}: it is not a finished run; finish it with "
            f"`society run --resume {printable(path)}` or leave it out of the pattern."
        )
    frame = pl.scan_parquet(file)
    if "run_id" in frame.collect_schema().names():
        return frame
    summary_path = path / "summary.json"
    summary = read_json(summary_path, _FIX) if summary_path.is_file() else {}
    ids = {
        "run_id": manifest.get("run_id", path.name),
        "scenario": manifest.get("scenario_name"),
        "seed": manifest.get("seed"),
        "outcome": summary.get("outcome"),
    }
    return frame.select(
        *(pl.lit(ids[name], dtype=dtype).alias(name) for name, dtype in IDENTITY.items()),
        pl.all(),
    )


def _scan_sweep(path: Path) -> pl.LazyFrame:
    from society.sweeps.store import SweepStore

    store = SweepStore(path)
    if not store.has_metrics():
        raise RunDirectoryError(
            f"'{printable(path)}' holds no stored metrics yet; run or resume the sweep first."
        )
    metrics = store.scan_metrics()
    if "run_id" in metrics.collect_schema().names() or not store.points_path.is_file():
        return metrics
    # A sweep written before its partitions carried identity and swept values: join them in.
    points = pl.scan_parquet(store.points_path)
    names = points.collect_schema().names()
    keep = ["arm", "replicate", "point_id", "seed", "outcome"]
    swept = [c for c in names if "." in c]
    joined = metrics.with_columns(pl.col("arm").cast(pl.Int64), pl.col("replicate").cast(pl.Int64))
    points = points.select(*keep, *swept).rename(
        {"point_id": "run_id", **{c: column_name(c) for c in swept}}
    )
    scenario = str(_manifest(path).get("sweep", {}).get("scenario_doc", {}).get("name", ""))
    return joined.join(points, on=["arm", "replicate"], how="left").with_columns(
        pl.lit(scenario).alias("scenario")
    )


def _manifest(path: Path) -> dict[str, Any]:
    """A directory's manifest, read as untrusted input (:mod:`society.store.reading`)."""
    return read_json(path / "manifest.json", _FIX)


__all__ = ["scan"]
