"""Checkpoints: everything a run needs to continue exactly where it was.

A checkpoint is taken at the end of a day (after its metrics row, before the next step). It holds
the population and network arrays (``arrays.npz``, no pickles), the lab, outcomes, every random
stream's state, each risk process's pending arrival, the LLM policy's state and the rows
recorded so far (``state.json``); network snapshots go to ``snapshots/`` once each. It is
written to a temporary folder and renamed into place (``checkpoint/day-00030``), so a kill
never leaves a half-written checkpoint that looks complete. Its files and folders are synced to
the disk (``fsync``) before the rename, and the rename before an older checkpoint is removed;
the last two are kept. A crash of the machine or a filesystem abort (after which a file that
was not synced may be empty) therefore leaves at least one complete checkpoint, and a resume
takes the newest one that verifies (:func:`newest_verified`). Syncing roughly doubles what a
checkpoint costs (``benchmarks/checkpoint_overhead.py``: 3% of a 10,000-instance run without,
4-8% with, on a shared machine), a price paid for not losing a run to one crash.

Every file a checkpoint reads back carries a SHA-256: ``state.json`` in ``state.sha256`` beside
it, the others (``arrays.npz``, the metrics row parts, the snapshots) in ``state.json``'s
``files``, taken from each immutable file's ``.sha256`` sidecar written with it. A resume
verifies all of them before it changes anything, and refuses a damaged or missing file with
a message naming it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import polars as pl

from society.errors import RunDirectoryError
from society.state import Saved
from society.store.files import open_new, sync_directory, write_new
from society.store.provenance import model_change, model_fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable

    from llm_backends import Backend
    from society.model import SocietyModel
    from society.recorder import Recorder
    from society.scenario import Scenario

# 2: every part saves its own state (society.state); 3: model version 3; 4: hazards by cause
FORMAT = 4
PREFIX = "day-"
STATE_DIGEST = "state.sha256"
#: Checkpoints kept: the newest, and one more in case the newest cannot be read back.
KEPT = 2
#: Every file a run's checkpoint folder may hold, relative to it (what ``--force`` removes).
LAYOUT = re.compile(
    r"(day-\d+|\.day-\d+(\.old)?\.tmp)/(arrays\.npz|state\.json|state\.sha256)"
    r"|snapshots/((nodes|edges)-\d+\.arrow(\.sha256)?|\.(nodes|edges)\.tmp)"
    r"|rows/(metrics-\d+-\d+\.arrow(\.sha256)?|\.metrics\.tmp)"
)


def save(model: SocietyModel, root: Path) -> Path:
    """Write a checkpoint of ``model`` under ``root`` (``RUN_DIR/checkpoint``); return its path.

    Each of :meth:`SocietyModel.parts` saves its own state; arrays go to ``arrays.npz`` as
    ``PART.NAME``, values to ``state.json`` under ``parts.PART``. Everything the checkpoint
    reads back is on the disk before it is renamed into place, and it is in place before an
    older checkpoint is removed (:data:`KEPT` remain).
    """
    day = math.floor(model.env.now) + 1
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{day:05d}"
    tmp = root / f".{PREFIX}{day:05d}.tmp"
    _remove_tree(tmp)
    tmp.mkdir()
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    for name, part in model.parts().items():
        saved = part.save_state()
        values[name] = saved.values
        arrays.update({f"{name}.{key}": a for key, a in saved.arrays.items()})
    write_new(tmp / "arrays.npz", partial(_write_npz, arrays), durable=True)
    rec = model.recorder
    files = {"arrays.npz": _digest(tmp / "arrays.npz")}
    files.update(_save_snapshots(rec, root / "snapshots"))
    count, parts = _save_metric_rows(rec, root / "rows")
    files.update(parts)
    state = {
        "format": FORMAT,
        "model": model_fingerprint(),
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
    write_new(tmp / "state.json", lambda f: f.write(text), durable=True)
    digest = hashlib.sha256(text).hexdigest().encode()
    write_new(tmp / STATE_DIGEST, lambda f: f.write(digest), durable=True)
    sync_directory(tmp)
    replaced = root / f".{PREFIX}{day:05d}.old.tmp"
    if final.exists():  # the same day saved twice (a stop right after a periodic checkpoint)
        _remove_tree(replaced)
        os.replace(final, replaced)
    os.replace(tmp, final)
    sync_directory(root)
    _remove_tree(replaced)
    _prune(root, final)
    return final


def _write_npz(arrays: dict[str, np.ndarray], f: BinaryIO) -> None:
    np.savez(f, **arrays)  # type: ignore[arg-type]


def _prune(root: Path, newest: Path) -> None:
    """Remove every checkpoint but ``newest`` and the newest of those before it (a checkpoint
    after ``newest`` is one a resume found damaged and went back from)."""
    older = sorted(p for p in root.glob(f"{PREFIX}*") if p.name < newest.name)
    keep = {newest, *older[len(older) - (KEPT - 1) :]}
    for path in root.glob(f"{PREFIX}*"):
        if path not in keep:
            _remove_tree(path)


def _remove_tree(path: Path) -> None:
    """Remove a checkpoint folder (a link in its place is removed, not followed)."""
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def remove_checkpoints(root: Path) -> None:
    """Remove every checkpoint file under ``root`` (:func:`checkpoint_files`), then the folders
    left empty; anything else there stays, and so do the folders holding it."""
    for path in checkpoint_files(root):
        path.unlink(missing_ok=True)
    if not root.is_dir() or root.is_symlink():
        return
    folders = [Path(folder) for folder, _, _ in os.walk(root)]
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()  # fails, harmlessly, while it holds anything that is not the run's


def checkpoint_files(root: Path) -> list[Path]:
    """The files under ``root`` (``RUN_DIR/checkpoint``) that are a checkpoint's, by the
    layout its writer gives them (:data:`LAYOUT`); anything else there is not the run's."""
    if not root.is_dir() or root.is_symlink():
        return []
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if LAYOUT.fullmatch(path.relative_to(root).as_posix()) and not path.is_symlink():
                found.append(path)
    return sorted(found)


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
        write_new(tmp, partial(_write_ipc, part), durable=True)
        final = folder / f"metrics-{saved:06d}-{len(rows):06d}.arrow"
        _write_sidecar(final, _digest(tmp))
        os.replace(tmp, final)
        sync_directory(folder)
        ends[final] = len(rows)
    return len(rows), {
        f"rows/{p.name}": _sidecar(p) for p, end in sorted(ends.items()) if end <= len(rows)
    }


def _load_metric_rows(root: Path, files: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The first ``count`` metrics rows from the parts the checkpoint lists (verified)."""
    rows: list[dict[str, Any]] = []
    for name in sorted(name for name in files if name.startswith("rows/")):
        rows.extend(pl.read_ipc(root / name).to_dicts())
    return rows[:count]


def _keep_only_listed(root: Path, files: dict[str, str]) -> None:
    """Make the checkpoint folder ``root`` hold only the metrics parts and snapshots that the
    checkpoint being resumed lists, each with its digest beside it.

    Parts and snapshots written after it (by a run killed between writing one and its
    checkpoint, or belonging to a newer checkpoint that could not be read back) are dropped:
    the resumed run writes them again. A digest beside a listed file that a crash lost (it is
    not synced, being derived) is written again from the verified listing.
    """
    for folder, pattern in (("rows", "metrics-*.arrow"), ("snapshots", "*.arrow")):
        for path in (root / folder).glob(pattern):
            name = f"{folder}/{path.name}"
            if name not in files:
                path.unlink()
                Path(f"{path}.sha256").unlink(missing_ok=True)
            elif _sidecar(path) != files[name]:
                _write_sidecar(path, files[name])


def _plain(value: Any) -> Any:
    """numpy scalars (e.g. a bool computed with numpy) as the Python values they hold."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot checkpoint a {type(value).__name__}")


def _save_snapshots(recorder: Recorder, folder: Path) -> dict[str, str]:
    """Write the network snapshots not yet on disk; return the digests of all of them."""
    folder.mkdir(exist_ok=True)
    files: dict[str, str] = {}
    written = False
    for nodes, edges in zip(recorder.node_snapshots, recorder.edge_snapshots, strict=True):
        day = int(nodes["day"][0])
        node_file = folder / f"nodes-{day:05d}.arrow"
        target = folder / f"edges-{day:05d}.arrow"
        if not target.exists():
            # Uncompressed Arrow IPC: a checkpoint is scratch data, written often, read once.
            for frame, tmp, final in (
                (nodes, folder / ".nodes.tmp", node_file),
                (edges, folder / ".edges.tmp", target),  # last: it marks the pair complete
            ):
                write_new(tmp, partial(_write_ipc, frame), durable=True)
                _write_sidecar(final, _digest(tmp))
                os.replace(tmp, final)
            written = True
        files[f"snapshots/{node_file.name}"] = _sidecar(node_file)
        files[f"snapshots/{target.name}"] = _sidecar(target)
    if written:
        sync_directory(folder)
    return files


def _write_ipc(frame: pl.DataFrame, f: BinaryIO) -> None:
    frame.write_ipc(f, compression="uncompressed")


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_sidecar(path: Path, digest: str) -> None:
    """Record ``path``'s digest beside it. Not synced: the checkpoint that lists ``path``
    holds the digest too, and a resume writes a lost one again from there."""
    with open_new(Path(f"{path}.sha256")) as f:
        f.write(digest.encode())


def _sidecar(path: Path) -> str:
    """The digest recorded when ``path`` was written ("" if the record is gone: then the file
    cannot be verified, and a resume refuses it)."""
    try:
        return Path(f"{path}.sha256").read_text().strip()
    except FileNotFoundError:
        return ""


def verify(checkpoint: Path) -> dict[str, Any]:
    """The checkpoint's state, after checking that ``state.json`` and every file it reads back
    are exactly what the run wrote (SHA-256). A mismatch or a missing or unreadable file is a
    :class:`DamagedCheckpoint` naming the file; nothing is changed on disk."""
    state_file = checkpoint / "state.json"
    recorded = _read_or_none(checkpoint / STATE_DIGEST)
    if recorded is None:
        raise _damaged(checkpoint, checkpoint / STATE_DIGEST, "is missing")
    text = _read_or_none(state_file)
    if text is None:
        raise _damaged(checkpoint, state_file, "is missing")
    if hashlib.sha256(text).hexdigest().encode() != recorded.strip():
        raise _damaged(checkpoint, state_file, MISMATCH)
    state: dict[str, Any] = json.loads(text)
    for name, digest in state.get("files", {}).items():
        path = checkpoint / name if name == "arrays.npz" else checkpoint.parent / name
        if not path.is_file():
            raise _damaged(checkpoint, path, "is missing")
        try:
            matches = bool(digest) and _digest(path) == digest
        except OSError as err:
            raise _damaged(checkpoint, path, f"cannot be read ({err.strerror})") from None
        if not matches:
            raise _damaged(checkpoint, path, MISMATCH)
    return state


MISMATCH = "does not match the checksum recorded when it was written"


class DamagedCheckpoint(RunDirectoryError):
    """A checkpoint that cannot be resumed from; ``problem`` names its file and what is wrong
    with it, e.g. ``'state.json' does not match ...``."""

    def __init__(self, message: str = "", problem: str = "") -> None:
        super().__init__(message, problem)  # all state in args: copies keep it
        self.problem = problem


def _read_or_none(path: Path) -> bytes | None:
    """The file's bytes; ``None`` if it is missing (a :class:`DamagedCheckpoint` if it cannot
    be read)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise _damaged(path.parent, path, f"cannot be read ({err.strerror})") from None


def _damaged(checkpoint: Path, path: Path, what: str) -> DamagedCheckpoint:
    run_dir = checkpoint.parent.parent
    return DamagedCheckpoint(
        f"cannot resume '{run_dir}': its checkpoint file '{path}' {what}, so resuming would "
        f"give wrong results. Nothing was changed. Rerun the scenario instead: `society run "
        f"--reproduce {run_dir} --out NEW_DIR` reruns it from its manifest.",
        f"'{path.relative_to(checkpoint.parent)}' {what}",
    )


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoints, newest first (an ``OSError`` if the folder cannot be listed)."""
    return sorted((run_dir / "checkpoint").glob(f"{PREFIX}*"), reverse=True)


def newest_verified(run_dir: Path) -> tuple[Path, list[str]]:
    """The newest checkpoint of a run that verifies, and why each newer one was passed over
    (``["day-00062: 'day-00062/state.json' does not match ..."]``).

    A clear error if there is no checkpoint, or none verifies (the newest one's problem, and
    the others'); nothing is changed on disk.
    """
    try:
        found = checkpoints(run_dir)
    except OSError as err:
        raise RunDirectoryError(
            f"cannot resume '{run_dir}': its checkpoint folder cannot be read "
            f"({err.strerror}). Nothing was changed. Check the disk, then try again."
        ) from None
    if not found:
        raise RunDirectoryError(
            f"cannot resume '{run_dir}': it has no checkpoint (checkpoints are written every "
            f"record.checkpoint_every_days days into RUN_DIR/checkpoint/). Rerun the scenario."
        )
    skipped: list[DamagedCheckpoint] = []
    for checkpoint in found:
        try:
            verify(checkpoint)
        except DamagedCheckpoint as err:
            skipped.append(err)
            continue
        return checkpoint, [f"{p.name}: {e.problem}" for p, e in zip(found, skipped, strict=False)]
    if len(skipped) == 1:
        raise skipped[0]
    problems = "; ".join(f"{p.name}: {e.problem}" for p, e in zip(found, skipped, strict=True))
    raise RunDirectoryError(
        f"cannot resume '{run_dir}': none of its {len(found)} checkpoints can be used "
        f"({problems}), so resuming would give wrong results. Nothing was changed. Rerun the "
        f"scenario instead: `society run --reproduce {run_dir} --out NEW_DIR` reruns it from "
        f"its manifest."
    )


def latest(run_dir: Path) -> Path:
    """The newest checkpoint of a run that verifies (see :func:`newest_verified`)."""
    return newest_verified(run_dir)[0]


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
            f"checkpoint '{checkpoint}' was written by another version of society (checkpoint "
            f"format {state.get('format')}, this version writes {FORMAT}: the state a run keeps "
            f"changed); rerun the scenario instead of resuming."
        )
    change = model_change(state.get("model"))
    if change is not None:
        raise RunDirectoryError(
            f"checkpoint '{checkpoint}' was written by a different model ({change}): "
            f"continuing it would finish the run under other equations or defaults than it "
            f"started with. Rerun the scenario, or resume with the version that wrote it (the "
            f"commit in the run's manifest.json)."
        )
    parts = model.parts()
    # A fork adds interventions to a trunk that had none: that part starts with none fired.
    added = set(parts) - set(state["parts"]) == {"interventions"}
    if set(parts) != set(state["parts"]) and not (added and set(state["parts"]) < set(parts)):
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
        values = state["parts"].get(name, {})
        part.load_state(Saved(values=values, arrays=arrays.get(name, {})))
    _keep_only_listed(checkpoint.parent, state["files"])
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
