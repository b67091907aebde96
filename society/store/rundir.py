"""The run store: where a run's files go, how they are written, and what the manifest says."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from society.errors import RunDirectoryError
from society.scenario import Scenario
from society.scenario_files import printable

RUN_FILES = (
    "manifest.json",
    "metrics.parquet",
    "events.parquet",
    "generations.parquet",
    "summary.json",
)
TRACKED_PACKAGES = (
    "numpy",
    "scipy",
    "networkx",
    "simpy",
    "mesa",
    "polars",
    "pyarrow",
    "pydantic",
    "openai",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    base = runs_root / f"{safe_name(name)}-{utc_stamp(started)}-s{seed}"
    path, k = base, 2
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path


def prepare_run_dir(path: Path, *, force: bool) -> Path:
    """Create ``path`` for a new run; refuse to mix with earlier results unless ``force``.

    With ``force``, the files of an earlier run are removed (nothing else in the folder is).
    The directory is checked to be writable before any simulation starts.
    """
    shown = printable(path)
    try:
        if path.exists() and not path.is_dir():
            raise RunDirectoryError(
                f"Output path '{shown}' exists and is a file; give a directory."
            )
        if path.is_dir() and any(path.iterdir()):
            if not force:
                raise RunDirectoryError(
                    f"Output directory '{shown}' is not empty; choose a new --out directory or "
                    f"add --force to replace the run stored there."
                )
            for name in RUN_FILES:
                (path / name).unlink(missing_ok=True)
            for extra in path.glob("*.parquet"):
                extra.unlink()
            # Derived from the old run, so stale now; the LLM cache stays (it is paid for, and
            # identical requests of the new run are served from it).
            for folder in ("checkpoint", "figures"):
                shutil.rmtree(path / folder, ignore_errors=True)
            (path / "report.html").unlink(missing_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:  # unwritable, not a directory, name too long, ...
        raise RunDirectoryError(
            f"Cannot write to output directory '{shown}' ({err.strerror or err}); choose a "
            f"writable --out directory."
        ) from None
    return path


def stored_run(run_dir: str | Path, purpose: str) -> tuple[dict[str, Any], Scenario]:
    """The manifest and resolved scenario of a stored run, for ``purpose`` (resume, replay,
    reproduce); a clear error naming the directory when they cannot be read."""
    path = Path(run_dir) / "manifest.json"
    where = f"cannot {purpose} '{printable(run_dir)}'"
    if not path.is_file():
        raise RunDirectoryError(
            f"{where}: it has no manifest.json; give the directory of a run that `society run` "
            f"wrote."
        )
    try:
        manifest = json.loads(path.read_text())
        return manifest, Scenario.model_validate(manifest["scenario"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunDirectoryError(
            f"{where}: its manifest.json is unreadable or lacks a valid scenario ({err}); "
            f"rerun the scenario instead."
        ) from None


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write atomically: a reader (or a crash) never sees a half-written file."""
    tmp = path.with_name(path.name + ".tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_json(data: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in ("society", *TRACKED_PACKAGES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the checkout society runs from, if it is a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or shutil.which("git") is None:
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
    }
