"""``society calibrate RUN_DIR``: fit the stub policy to the decisions an LLM run recorded."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from society.cli.text import for_terminal
from society.errors import RunDirectoryError, printable
from society.store.files import open_new

NAME = "calibrate"
HELP = (
    "fit the stub policy to an LLM run's decisions; print LLM vs stub side by side and write a "
    "scenario fragment"
)
EXAMPLES = """\
examples:
  society calibrate runs/llm-small
  society calibrate runs/llm-small --out llm.toml --no-figure
"""

FRAGMENT = "calibrated.toml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, help="directory of an LLM run (from `society run`)")
    p.add_argument(
        "--out",
        type=Path,
        metavar="FILE.toml",
        help=f"scenario fragment to write (default: RUN_DIR/{FRAGMENT})",
    )
    p.add_argument("--no-figure", action="store_true", help="skip RUN_DIR/figures/calibration.png")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.calibrate import calibrate, fragment_toml, table_rows
    from society.store.rundir import RunDir

    cal = calibrate(args.run_dir)
    run = RunDir(args.run_dir)
    table = Table(
        title=f"LLM vs stub decisions on the recorded states of {for_terminal(run.path)}",
        caption="* = outside the LLM's 95% interval. Stub: the run's own parameters (default) "
        "and the calibrated ones, evaluated at each recorded state.",
    )
    for col, justify in (
        ("quantity", "left"),
        ("LLM mean [95% interval]", "right"),
        ("stub default", "right"),
        ("stub calibrated", "right"),
        ("n", "right"),
        ("unit", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in table_rows(cal):
        table.add_row(*(for_terminal(cell) for cell in row))
    from society.cli.output import print_table

    print_table(out, table)
    for note in cal.notes:
        out.print(f"note: {for_terminal(note)}")
    target = args.out if args.out is not None else run.path / FRAGMENT
    command = "society calibrate " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    _write(target, fragment_toml(cal, command if sys.argv[1:2] == [NAME] else ""))
    if not args.no_figure:
        from viz.calibration import calibration_figure
        from viz.runviews import save_figure

        try:
            save_figure(calibration_figure(cal), run.figures / "calibration.png")
        except OSError as e:
            raise RunDirectoryError(
                f"cannot write {printable(run.figures / 'calibration.png')} ({e.strerror}); "
                f"the fragment was written to {printable(target)}. Make the run directory "
                f"writable, or pass --no-figure."
            ) from None
        out.print(f"figure: {for_terminal(run.figures / 'calibration.png')}")
    out.print(f"apply it: society run SCENARIO --set-file {for_terminal(shlex.quote(str(target)))}")
    print(target, flush=True)
    return 0


def _write(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with open_new(tmp) as f:  # never through a link left at that name
            f.write(text.encode("utf-8"))
        tmp.replace(target)
    except OSError as e:
        raise RunDirectoryError(
            f"cannot write the fragment {printable(target)} ({e.strerror}); give a writable "
            f"path with --out FILE.toml."
        ) from None
