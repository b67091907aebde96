"""Storage faults: a full, read-only or failing disk ends a run in one paragraph (cause, what
was left, how to continue; exit 1, no traceback), and the checkpoints survive it.

The faults are real where the machine allows: a small ext4 filesystem on a loop device,
remounted read-only or shut down (``EXT4_IOC_SHUTDOWN``: every later access fails with EIO and
what its journal had not committed is lost, as in a power cut). Where mounting is not
permitted those tests skip; the simulated faults below cover each errno path everywhere.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from society_helpers import assert_identical, assert_same_outputs

import society
import society.api
from society.api import RunStopped
from society.cli import main as cli_main
from society.errors import StorageError, io_text, storage_cause
from society.model import SocietyModel
from society.store import checkpoint

OVER = {"days": 40, "record.checkpoint_every_days": 5, "outcomes.stop_on_catastrophe": False}
EXT4_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
NOLOGFLUSH = 2  # shut down without committing the journal: unsynced writes are lost


def one_paragraph(err: pytest.ExceptionInfo[StorageError]) -> str:
    text = str(err.value)
    assert "\n" not in text and err.value.exit_code == 1, text
    return text


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run of :data:`OVER` that nothing interrupted."""
    return society.run("tiny", overrides=OVER, out=tmp_path_factory.mktemp("whole") / "r").path


# -- a real filesystem ---------------------------------------------------------------------------
class Disk:
    """A 32 MB ext4 image mounted on a loop device at ``mount``."""

    def __init__(self, image: Path, mount: Path) -> None:
        self.image, self.mount = image, mount

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.mount)], check=True)

    def shut_down(self) -> None:
        """Fail the filesystem as a dying disk would: EIO from now on, uncommitted data lost."""
        fd = os.open(self.mount, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", NOLOGFLUSH))
        finally:
            os.close(fd)

    def mount_again(self) -> None:
        """Unmount and mount the image again (after a shutdown: as after a reboot)."""
        subprocess.run(["umount", str(self.mount)], check=True)
        subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mount)], check=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 (e2fsprogs) is not installed")
    image, mount = tmp_path / "disk.img", tmp_path / "mnt"
    with image.open("wb") as f:
        f.truncate(32 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mount)], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a loop device here ({made.stderr.strip()})")
    try:
        yield Disk(image, mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def on_day(day: int, action: Callable[[], None]) -> Callable[[SocietyModel], None]:
    """An ``on_day`` hook that runs ``action`` once, after day ``day`` is recorded."""
    done: list[bool] = []

    def hook(model: SocietyModel) -> None:
        if model.day > day - 1 and not done:
            done.append(True)
            action()

    return hook


def test_a_read_only_remount_mid_run_is_one_paragraph_and_resumes_identically(
    disk: Disk, whole: Path
) -> None:
    run = disk.mount / "r"
    with pytest.raises(StorageError) as err:
        society.run("tiny", overrides=OVER, out=run, on_day=on_day(12, lambda: disk.remount("ro")))
    text = one_paragraph(err)
    assert text.startswith("Read-only file system") and "(EROFS)" in text
    assert "stopped on day 15" in text and "newest checkpoint (day-00010)" in text
    assert "the manifest could not be updated" in text  # true: the disk is read-only
    assert f"continue with: society run --resume {run}" in text
    disk.remount("rw")
    resumed = society.resume(run)
    assert resumed.manifest["status"] == "success" and resumed.manifest["resumed_from"] == (
        "day-00010"
    )
    assert_same_outputs(whole, run)


def test_a_disk_failing_mid_checkpoint_loses_nothing_and_says_what_it_left(
    disk: Disk, whole: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EIO while day 15's checkpoint is written (its temporary folder exists, its state.json
    does not yet): the error message reads no file (they fail too) and says the temporary
    folder could not be removed; after a remount the run resumes from day 10, synced before the
    failure, and ends byte-identical to a run that never failed."""
    write_new = checkpoint.write_new

    def fail_before_the_state(path: Path, write: Callable[[BinaryIO], Any], **kw: Any) -> None:
        if path.name == "state.json" and path.parent.name == ".day-00015.tmp":
            disk.shut_down()
        write_new(path, write, **kw)

    monkeypatch.setattr(checkpoint, "write_new", fail_before_the_state)
    run = disk.mount / "r"
    with pytest.raises(StorageError) as err:
        society.run("tiny", overrides=OVER, out=run)
    text = one_paragraph(err)  # before: a traceback, the message itself failing with EIO
    assert text.startswith("Input/output error") and "(EIO)" in text and "dmesg" in text
    assert "stopped on day 15" in text and "newest checkpoint (day-00010)" in text
    assert "the manifest could not be updated" in text
    assert "interrupted write left (checkpoint/.day-00015.tmp) could not be removed" in text
    assert f"continue with: society run --resume {run}" in text
    monkeypatch.setattr(checkpoint, "write_new", write_new)
    disk.mount_again()
    assert json.loads((run / "manifest.json").read_text())["status"] == "running"
    resumed = society.resume(run)  # before: day-00010 lost or empty, nothing to resume from
    assert resumed.manifest["resumed_from"] == "day-00010"
    assert_same_outputs(whole, run)


# -- the newest checkpoint damaged --------------------------------------------------------------
def stopped_run(out: Path, day: int = 22) -> Path:
    with pytest.raises(RunStopped):
        society.run(
            "tiny",
            overrides=OVER,
            out=out,
            on_day=lambda m: m.request_stop() if m.day >= day else None,
        )
    return out


def test_the_last_two_checkpoints_are_kept(tmp_path: Path) -> None:
    run = stopped_run(tmp_path / "r")
    kept = sorted(p.name for p in (run / "checkpoint").glob("day-*"))
    assert kept == ["day-00020", "day-00023"]  # the periodic one before the stop's own
    assert not list((run / "checkpoint").glob(".*"))  # no temporaries


def truncate(path: Path) -> None:
    path.write_bytes(b"")


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("name", "damage"),
    [("state.json", truncate), ("arrays.npz", flip), ("state.sha256", Path.unlink)],
    ids=["state-emptied", "arrays-flipped", "digest-lost"],
)
def test_resume_passes_over_a_damaged_newest_checkpoint_and_says_so(
    tmp_path: Path,
    whole: Path,
    name: str,
    damage: Callable[[Path], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = stopped_run(tmp_path / "r")
    damage(run / "checkpoint" / "day-00023" / name)
    capsys.readouterr()
    code = cli_main(["run", "--resume", str(run), "--quiet", "--no-report"])
    out, err = capsys.readouterr()
    assert code == 0, err  # before: exit 2, the only checkpoint damaged
    said = " ".join(err.split())
    assert f"resuming {run} from checkpoint day-00020" in said and "passed over: day-00023" in said
    assert f"'day-00023/{name}'" in said and out.strip() == str(run)
    assert json.loads((run / "manifest.json").read_text())["resumed_from"] == "day-00020"
    assert_same_outputs(whole, run)


# -- every errno path, simulated ----------------------------------------------------------------
FAULTS = {
    "ENOSPC": OSError(errno.ENOSPC, "No space left on device", "x/arrays.npz"),
    "EROFS": OSError(errno.EROFS, "Read-only file system"),
    "EIO": OSError(errno.EIO, "Input/output error"),
    "EDQUOT": OSError(errno.EDQUOT, "Disk quota exceeded"),
    # polars' own writers: the errno only in the text (4 of 10 read-only faults in the issue)
    "EROFS-polars": OSError("failed to write whole buffer: Read-only file system (os error 30)"),
    "EIO-wrapped": RuntimeError("IPC write failed: Input/output error (os error 5)"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_storage_errno_is_one_paragraph_with_the_resume_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    save = society.api.save_checkpoint

    def save_or_fail(model: SocietyModel, root: Path) -> Path:
        if model.day > 10:
            (root / ".day-00015.tmp").mkdir()  # as a write cut short leaves it
            raise FAULTS[fault]
        return save(model, root)

    monkeypatch.setattr(society.api, "save_checkpoint", save_or_fail)
    run = tmp_path / "r"
    with pytest.raises(StorageError) as err:
        society.run("tiny", overrides=OVER, out=run)
    text = one_paragraph(err)
    code = fault.split("-", maxsplit=1)[0]
    assert f"({code})" in text and f"society run --resume {run}" in text
    assert "newest checkpoint (day-00010)" in text and "temporary files were removed" in text
    assert "the manifest says status 'error' with this cause" in text
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "error" and f"({code})" in manifest["error"]
    assert not list(run.rglob("*.tmp"))
    monkeypatch.setattr(society.api, "save_checkpoint", save)
    assert society.resume(run).manifest["status"] == "success"


def test_storage_causes_are_found_by_errno_or_by_text_and_nothing_else() -> None:
    for name, fault in FAULTS.items():
        found = storage_cause(fault)
        assert found is not None and io_text(found).endswith(f"({name.split('-')[0]})"), name
    chained = RuntimeError("write failed")
    chained.__cause__ = OSError(None, "Read-only file system")
    assert io_text(storage_cause(chained) or OSError()) == "Read-only file system (EROFS)"
    for not_storage in (
        RuntimeError("403 Permission denied by the endpoint"),
        OSError(errno.ECONNREFUSED, "Connection refused"),
        ValueError("no space left in the plan"),
    ):
        assert storage_cause(not_storage) is None, not_storage


def test_a_sweep_storage_fault_without_errno_is_one_paragraph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from society.sweeps import store
    from society.sweeps.runner import run_sweep

    (tmp_path / "s.toml").write_text(
        'scenario = "tiny"\nreplicates = 2\nseed = 1\n[grid]\n"lab.tax" = [0.0, 0.5]\n'
    )
    calls: list[str] = []
    write_result = store.SweepStore.write_result

    def fail_second(self: store.SweepStore, sweep: Any, result: dict[str, Any]) -> Any:
        calls.append(result["point_id"])
        if len(calls) == 2:
            raise OSError("failed to write: Read-only file system (os error 30)")
        return write_result(self, sweep, result)

    monkeypatch.setattr(store.SweepStore, "write_result", fail_second)
    out = tmp_path / "out"
    with pytest.raises(StorageError) as err:
        run_sweep(tmp_path / "s.toml", out=out, workers=1)
    text = one_paragraph(err)
    assert "(EROFS)" in text and "the 1 of 4 runs stored before it are kept" in text
    assert "temporary files were removed" in text and "manifest says status 'error'" in text
    assert f"society sweep --resume {out}" in text
    monkeypatch.setattr(store.SweepStore, "write_result", write_result)
    assert run_sweep(None, resume=out, workers=1).failed == 0


def test_checkpoint_files_are_synced_before_they_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file a checkpoint reads back, and the folders naming it, are fsynced before the
    checkpoint is renamed into place, and that before an older one is removed; the results,
    before the manifest that lists them."""
    events: list[str] = []
    fsync, replace, rmtree = os.fsync, os.replace, shutil.rmtree

    def synced(fd: int) -> None:
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        events.append(f"sync {target.relative_to(tmp_path)}")
        fsync(fd)

    def renamed(src: Any, dst: Any) -> None:
        events.append(f"rename {Path(dst).name}")
        replace(src, dst)

    def removed(path: Any, *args: Any, **kw: Any) -> None:
        events.append(f"remove {Path(path).name}")
        rmtree(path, *args, **kw)

    monkeypatch.setattr(os, "fsync", synced)
    monkeypatch.setattr(os, "replace", renamed)
    monkeypatch.setattr(shutil, "rmtree", removed)
    society.run("tiny", overrides={**OVER, "days": 16}, out=tmp_path / "r")
    at = events.index("rename day-00015")
    before = events[: at + 2]
    day = [e for e in before[events.index("rename day-00010") :] if "day-0001" in e]
    for name in ("arrays.npz", "state.json", "state.sha256"):
        assert f"sync r/checkpoint/.day-00015.tmp/{name}" in day
    assert "sync r/checkpoint/.day-00015.tmp" in day  # the folder naming them
    assert events[at + 1] == "sync r/checkpoint"  # the rename itself
    assert "remove day-00005" in events[at:] and "remove day-00005" not in before
    assert "sync r/checkpoint/rows/.metrics.tmp" in before  # the rows it reads back
    # The results are on the disk before the manifest that calls the run finished.
    last = len(events) - 1 - events[::-1].index("rename manifest.json")
    for table in ("metrics", "events", "generations", "network_nodes", "network_edges"):
        assert events.index(f"sync r/{table}.parquet") < last, table
    assert events.index("sync r/summary.json") < last
    assert events.index("sync r/manifest.json.tmp", last - 2) < last


def test_a_sweep_run_whose_metrics_a_crash_emptied_is_run_again(tmp_path: Path) -> None:
    """After a power cut, a run's point file can be on the disk while its metrics (not synced)
    are empty: the run does not count as done, and a resume runs it again."""

    from society.sweeps.runner import run_sweep
    from society.sweeps.store import SweepStore

    (tmp_path / "s.toml").write_text(
        'scenario = "tiny"\nreplicates = 2\nseed = 1\n[grid]\n"lab.tax" = [0.0, 0.5]\n'
    )
    out = tmp_path / "out"
    first = run_sweep(tmp_path / "s.toml", out=out, workers=1)
    store = SweepStore(out)
    before = store.scan_metrics().collect().sort("arm", "replicate", "day")
    store.metrics_path(1, 0).write_bytes(b"")
    assert store.done_ids() == {"a000000-r00000", "a000000-r00001", "a000001-r00001"}
    resumed = run_sweep(None, resume=out, workers=1)
    assert resumed.manifest["sessions"][-1]["runs"] == 1
    assert_identical(resumed.points, first.points)
    assert_identical(store.scan_metrics().collect().sort("arm", "replicate", "day"), before)
