"""Checkpoints: everything a run needs to continue exactly where it was.

A checkpoint is taken at the end of a day (after its metrics row, before the next step). It holds
the population and network arrays (``arrays.npz``, no pickles), the lab, outcomes, every random
stream's state, each risk process's pending arrival, the LLM policy's state and the rows
recorded so far (``state.json``); network snapshots go to ``snapshots/`` once each. It is
written to a temporary folder and renamed into place (``checkpoint/day-00030``), so a kill
never leaves a half-written checkpoint that looks complete; older ones are then removed.
There is no fsync: a killed process's writes still reach the disk, and syncing every
checkpoint would cost more than the 5% overhead budget; a power cut may lose the last one.
"""

from __future__ import annotations

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
    _save_snapshots(rec, root / "snapshots")
    state = {
        "format": FORMAT,
        "day": day,
        "parts": values,
        "recorder": {
            "metric_rows": _save_metric_rows(rec, root / "rows"),
            "events": rec.events,
            "generations": rec.generations,
            "snapshot_days": [int(f["day"][0]) for f in rec.node_snapshots],
        },
    }
    (tmp / "state.json").write_text(json.dumps(state, default=_plain))
    if final.exists():  # the same day saved twice (a stop right after a periodic checkpoint)
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in root.glob(f"{PREFIX}*"):
        if old != final and old.name < final.name:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _save_metric_rows(recorder: Recorder, folder: Path) -> int:
    """Append the metrics rows not yet saved as an immutable part ``metrics-START-END.arrow``;
    return how many rows this checkpoint covers. Re-serialising every row at every checkpoint
    would make checkpoints cost more the longer a run gets."""
    folder.mkdir(exist_ok=True)
    rows = recorder.metrics
    saved = max((int(p.stem.split("-")[2]) for p in folder.glob("metrics-*.arrow")), default=0)
    if len(rows) > saved:
        part = recorder.metrics_frame().slice(saved)
        tmp = folder / ".metrics.tmp"
        part.write_ipc(tmp, compression="uncompressed")
        os.replace(tmp, folder / f"metrics-{saved:06d}-{len(rows):06d}.arrow")
    return len(rows)


def _load_metric_rows(folder: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` metrics rows; parts written after this checkpoint are dropped (a run
    killed between writing a part and its checkpoint leaves one behind)."""
    parts = sorted(folder.glob("metrics-*.arrow"))
    rows: list[dict[str, Any]] = []
    for part in parts:
        start = int(part.stem.split("-")[1])
        if start >= count:
            part.unlink()
            continue
        rows.extend(pl.read_ipc(part).to_dicts())
    return rows[:count]


def _plain(value: Any) -> Any:
    """numpy scalars (e.g. a bool computed with numpy) as the Python values they hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot checkpoint a {type(value).__name__}")


def _save_snapshots(recorder: Recorder, folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for nodes, edges in zip(recorder.node_snapshots, recorder.edge_snapshots, strict=True):
        day = int(nodes["day"][0])
        target = folder / f"edges-{day:05d}.arrow"
        if target.exists():
            continue
        # Uncompressed Arrow IPC: a checkpoint is scratch data, written often, read once.
        nodes.write_ipc(folder / f"nodes-{day:05d}.arrow", compression="uncompressed")
        edges.write_ipc(folder / ".edges.tmp", compression="uncompressed")
        os.replace(folder / ".edges.tmp", target)  # the edges file marks the pair complete


def latest(run_dir: Path) -> Path:
    """The newest complete checkpoint of a run; a clear error if there is none."""
    root = run_dir / "checkpoint"
    found = sorted(p for p in root.glob(f"{PREFIX}*") if (p / "state.json").is_file())
    if not found:
        raise RunDirectoryError(
            f"cannot resume '{run_dir}': it has no checkpoint (checkpoints are written every "
            f"record.checkpoint_every_days days into RUN_DIR/checkpoint/). Rerun the scenario."
        )
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
    state = json.loads((checkpoint / "state.json").read_text())
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
    rec.metrics = _load_metric_rows(checkpoint.parent / "rows", state["recorder"]["metric_rows"])
    rec.events = state["recorder"]["events"]
    rec.generations = state["recorder"]["generations"]
    folder = checkpoint.parent / "snapshots"
    days = state["recorder"]["snapshot_days"]
    rec.node_snapshots = [pl.read_ipc(folder / f"nodes-{d:05d}.arrow") for d in days]
    rec.edge_snapshots = [pl.read_ipc(folder / f"edges-{d:05d}.arrow") for d in days]
