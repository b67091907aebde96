"""Drawing a finished run's or sweep's figures and report, where a full disk is not a crash."""

from __future__ import annotations

from pathlib import Path

from society.errors import StorageError, io_text, storage_cause


def draw_report(path: Path, figures: Path, what: str) -> Path:
    """Write ``path``'s figures and ``report.html``; a storage failure (disk full, read-only)
    becomes a :class:`StorageError` saying the results are safe and how to draw them later."""
    from viz import write_report

    try:
        return write_report(path, figures_dir=figures)
    except Exception as err:
        cause = storage_cause(err)
        if cause is None:
            raise
        raise StorageError(
            f"{io_text(cause)} while drawing the figures of {path}: the {what} itself finished "
            f"and its results are stored (see its manifest); only figures and report.html are "
            f"missing. Free space, then draw them with: society report {path} --figures"
        ) from None
