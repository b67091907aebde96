"""Checkpoints: everything a run needs to continue exactly where it was.

A checkpoint is taken at the end of a day (after its metrics row, before the next step). It holds
the population and network arrays (``arrays.npz``, no pickles), the lab, outcomes, every random
stream's state, each risk process's pending arrival, the LLM policy's state and the rows
recorded so far (``state.json``); network snapshots go to ``snapshots/`` once each. It is
written to a temporary folder and renamed into place (``checkpoint/day-00030``), so a kill
never leaves a half-written checkpoint that looks complete; older ones are then removed.
There is no fsync: a killed process's writes still reach the disk, and syncing every
checkpoint would cost more than the 5% overhead budget; a power cut may lose the last one.

Every file a checkpoint reads back carries a SHA-256: ``state.json`` in ``state.sha256`` beside
it, the others (``arrays.npz``, the metrics row parts, the snapshots) in ``state.json``'s
``files``, taken from each immutable file's ``.sha256`` sidecar written with it. A resume
verifies all of them before it changes anything, and refuses a damaged or missing file with
a message naming it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from society.errors import RunDirectoryError
from society.state import Saved

if TYPE_CHECKING:
    from collections.abc import Callable

    from llm_backends import Backend
    from society.model import SocietyModel
    from society.recorder import Recorder
    from society.scenario import Scenario

FORMAT = 2  # 2: every part saves its own state (society.state)
PREFIX = "day-"
STATE_DIGEST = "state.sha256"


def save(model: SocietyModel, root: Path) -> Path:
    """Write a checkpoint of ``model`` under ``root`` (``RUN_DIR/checkpoint``); return its path.

    Each of :meth:`SocietyModel.parts` saves its own state; arrays go to ``arrays.npz`` as
    ``PART.NAME``, values to ``state.json`` under ``parts.PART``.
    """
    day = math.floor(model.env.now) + 1
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{day:05d}"
    tmp = root / f".{PREFIX}{day:05d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    for name, part in model.parts().items():
        saved = part.save_state()
        values[name] = saved.values
        arrays.update({f"{name}.{key}": a for key, a in saved.arrays.items()})
    np.savez(tmp / "arrays.npz", **arrays)  # type: ignore[arg-type]
    rec = model.recorder
    files = {"arrays.npz": _digest(tmp / "arrays.npz")}
    files.update(_save_snapshots(rec, root / "snapshots"))
    count, parts = _save_metric_rows(rec, root / "rows")
    files.update(parts)
    state = {
        "format": FORMAT,
        "day": day,
        "parts": values,
        "recorder": {
            "metric_rows": count,
            "events": rec.events,
            "generations": rec.generations,
            "snapshot_days": [int(f["day"][0]) for f in rec.node_snapshots],
        },
        "files": files,  # every file this checkpoint reads back, with its SHA-256
    }
    text = json.dumps(state, default=_plain).encode()
    (tmp / "state.json").write_bytes(text)
    (tmp / STATE_DIGEST).write_text(hashlib.sha256(text).hexdigest())
    if final.exists():  # the same day saved twice (a stop right after a periodic checkpoint)
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in root.glob(f"{PREFIX}*"):
        if old != final and old.name < final.name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _save_metric_rows(recorder: Recorder, folder: Path) -> tuple[int, dict[str, str]]:
    """Append the metrics rows not yet saved as an immutable part ``metrics-START-END.arrow``;
    return how many rows this checkpoint covers and the digests of the parts holding them.
    Re-serialising every row at every checkpoint would make checkpoints cost more the longer a
    run gets; each part's digest is computed once, when it is written (``PART.sha256``)."""
    folder.mkdir(exist_ok=True)
    rows = recorder.metrics
    ends = {p: int(p.stem.split("-")[2]) for p in folder.glob("metrics-*.arrow")}
    saved = max((end for end in ends.values() if end <= len(rows)), default=0)
    if len(rows) > saved:
        part = recorder.metrics_frame().slice(saved)
        tmp = folder / ".metrics.tmp"
        part.write_ipc(tmp, compression="uncompressed")
        final = folder / f"metrics-{saved:06d}-{len(rows):06d}.arrow"
        _write_sidecar(final, _digest(tmp))
        os.replace(tmp, final)
        ends[final] = len(rows)
    return len(rows), {
        f"rows/{p.name}": _sidecar(p) for p, end in sorted(ends.items()) if end <= len(rows)
    }


def _load_metric_rows(root: Path, files: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The first ``count`` metrics rows from the parts the checkpoint lists (verified); parts
    written after this checkpoint are dropped (a run killed between writing a part and its
    checkpoint leaves one behind)."""
    listed = sorted(name for name in files if name.startswith("rows/"))
    for part in (root / "rows").glob("metrics-*.arrow"):
        if f"rows/{part.name}" not in listed:
            part.unlink()
            Path(f"{part}.sha256").unlink(missing_ok=True)
    rows: list[dict[str, Any]] = []
    for name in listed:
        rows.extend(pl.read_ipc(root / name).to_dicts())
    return rows[:count]


def _plain(value: Any) -> Any:
    """numpy scalars (e.g. a bool computed with numpy) as the Python values they hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot checkpoint a {type(value).__name__}")


def _save_snapshots(recorder: Recorder, folder: Path) -> dict[str, str]:
    """Write the network snapshots not yet on disk; return the digests of all of them."""
    folder.mkdir(exist_ok=True)
    files: dict[str, str] = {}
    for nodes, edges in zip(recorder.node_snapshots, recorder.edge_snapshots, strict=True):
        day = int(nodes["day"][0])
        node_file = folder / f"nodes-{day:05d}.arrow"
        target = folder / f"edges-{day:05d}.arrow"
        if not target.exists():
            # Uncompressed Arrow IPC: a checkpoint is scratch data, written often, read once.
            nodes.write_ipc(node_file, compression="uncompressed")
            _write_sidecar(node_file, _digest(node_file))
            edges.write_ipc(folder / ".edges.tmp", compression="uncompressed")
            _write_sidecar(target, _digest(folder / ".edges.tmp"))
            os.replace(folder / ".edges.tmp", target)  # the edges file marks the pair complete
        files[f"snapshots/{node_file.name}"] = _sidecar(node_file)
        files[f"snapshots/{target.name}"] = _sidecar(target)
    return files


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_sidecar(path: Path, digest: str) -> None:
    Path(f"{path}.sha256").write_text(digest)


def _sidecar(path: Path) -> str:
    """The digest recorded when ``path`` was written ("" if the record is gone: then the file
    cannot be verified, and a resume refuses it)."""
    try:
        return Path(f"{path}.sha256").read_text().strip()
    except FileNotFoundError:
        return ""


def verify(checkpoint: Path) -> dict[str, Any]:
    """The checkpoint's state, after checking that ``state.json`` and every file it reads back
    are exactly what the run wrote (SHA-256). A mismatch or a missing file is a
    :class:`RunDirectoryError` naming the file; nothing is changed on disk."""
    run_dir = checkpoint.parent.parent
    state_file = checkpoint / "state.json"
    recorded = _read_or_none(checkpoint / STATE_DIGEST)
    if recorded is None:
        raise RunDirectoryError(
            f"checkpoint '{checkpoint}' has no checksums: it was written by an older version of "
            f"society. Rerun the scenario instead of resuming."
        )
    text = state_file.read_bytes()
    if hashlib.sha256(text).hexdigest() != recorded.strip():
        raise _corrupt(run_dir, state_file)
    state: dict[str, Any] = json.loads(text)
    for name, digest in state.get("files", {}).items():
        path = checkpoint / name if name == "arrays.npz" else checkpoint.parent / name
        if not path.is_file():
            raise _corrupt(run_dir, path, missing=True)
        if not digest or _digest(path) != digest:
            raise _corrupt(run_dir, path)
    return state


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _corrupt(run_dir: Path, path: Path, *, missing: bool = False) -> RunDirectoryError:
    what = "is missing" if missing else "does not match the checksum recorded when it was written"
    return RunDirectoryError(
        f"cannot resume '{run_dir}': its checkpoint file '{path}' {what}, so resuming would "
        f"give wrong results. Nothing was changed. Rerun the scenario instead: `society run "
        f"--reproduce {run_dir} --out NEW_DIR` reruns it from its manifest."
    )


def latest(run_dir: Path) -> Path:
    """The newest complete checkpoint of a run, verified; a clear error if there is none or it
    is damaged."""
    root = run_dir / "checkpoint"
    found = sorted(p for p in root.glob(f"{PREFIX}*") if (p / "state.json").is_file())
    if not found:
        raise RunDirectoryError(
            f"cannot resume '{run_dir}': it has no checkpoint (checkpoints are written every "
            f"record.checkpoint_every_days days into RUN_DIR/checkpoint/). Rerun the scenario."
        )
    verify(found[-1])  # before anything (the manifest's status) is touched
    return found[-1]


def resume_model(
    scenario: Scenario,
    checkpoint: Path,
    *,
    on_day: Callable[[SocietyModel], None] | None = None,
    llm_backend: Backend | None = None,
) -> SocietyModel:
    """A model rebuilt from ``checkpoint``; running it on gives the same results as the run that
    wrote the checkpoint would have."""
    from society.model import SocietyModel

    model = SocietyModel(scenario, on_day=on_day, llm_backend=llm_backend, fresh=False)
    restore(model, checkpoint)
    model.start()
    return model


def restore(model: SocietyModel, checkpoint: Path) -> None:
    """Overwrite a freshly built ``model`` (same scenario) with the checkpoint's state."""
    state = verify(checkpoint)
    if state.get("format") != FORMAT:
        raise RunDirectoryError(
            f"checkpoint '{checkpoint}' was written by another version of society; rerun the "
            f"scenario instead of resuming."
        )
    parts = model.parts()
    if set(parts) != set(state["parts"]):
        raise RunDirectoryError(
            f"checkpoint '{checkpoint}' holds the parts {sorted(state['parts'])}, but this "
            f"scenario's run has {sorted(parts)}; resume with the scenario the run was started "
            f"with (its manifest.json), or rerun it."
        )
    with np.load(checkpoint / "arrays.npz", allow_pickle=False) as stored:
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for key in stored.files:
            name, _, field = key.rpartition(".")
            arrays.setdefault(name, {})[field] = stored[key]
    for name, part in parts.items():
        part.load_state(Saved(values=state["parts"][name], arrays=arrays.get(name, {})))
    rec = model.recorder
    rec.metrics = _load_metric_rows(
        checkpoint.parent, state["files"], state["recorder"]["metric_rows"]
    )
    rec.events = state["recorder"]["events"]
    rec.generations = state["recorder"]["generations"]
    folder = checkpoint.parent / "snapshots"
    days = state["recorder"]["snapshot_days"]
    rec.node_snapshots = [pl.read_ipc(folder / f"nodes-{d:05d}.arrow") for d in days]
    rec.edge_snapshots = [pl.read_ipc(folder / f"edges-{d:05d}.arrow") for d in days]
