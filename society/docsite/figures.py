"""``python -m society.docsite.figures``: redraw the figures the README and the site show.

Every figure the documentation shows is a result, so it is drawn by the commands its caption
names, never edited by hand: this module runs exactly those commands (:data:`FIGURES`) and
copies the image into ``docs/figures/``. Rerun it after the model changes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from society.cli.main import main as society

ROOT = Path(__file__).resolve().parents[2]
FIGURES_DIR = ROOT / "docs" / "figures"


@dataclass(frozen=True)
class Figure:
    """A documented figure: the ``society`` commands that draw it and the image they write."""

    name: str  # the file under docs/figures/
    commands: tuple[tuple[str, ...], ...]  # society arguments; "{dir}" is a scratch directory
    image: str  # the image the commands write, relative to the scratch directory

    def command_lines(self, where: str = "runs/fig") -> list[str]:
        """The commands as a user types them, with the scratch directory named ``where``."""
        return ["society " + " ".join(a.format(dir=where) for a in c) for c in self.commands]


def analysis_figure(name: str, sweep: str, target: str, method: str = "sobol") -> Figure:
    """The ``method`` figure of ``target`` from the shipped sweep
    ``scenarios/sweeps/<sweep>.toml`` (Sobol bars, or an OAT tornado)."""
    return Figure(
        name=name,
        commands=(
            ("sweep", f"scenarios/sweeps/{sweep}.toml", "--quiet", "--no-report", "--out", "{dir}"),
            ("analyze", "{dir}", "--method", method, "--target", target, "--quiet"),
        ),
        image=f"analysis/{method}-{target}.png",
    )


FIGURES = (
    Figure(
        name="baseline-drift.png",
        commands=(
            (
                "run",
                "baseline",
                "--seed",
                "0",
                "--set",
                "population.size=1000",
                "--no-report",
                "--quiet",
                "--out",
                "{dir}",
            ),
            ("plot", "{dir}", "--view", "drift"),
        ),
        image="figures/drift.png",
    ),
    analysis_figure("sensitivity-quick-sobol.png", "sensitivity_quick", "final_alignment"),
    # the shipped analysis: 2,560 runs, about 11 min on 2 idle cores
    analysis_figure("sensitivity-baseline-sobol.png", "sensitivity", "safe_chance"),
    # every prior of the essay one at a time: 3,248 runs, about 10 min on 2 idle cores
    analysis_figure(
        "oat-essay-catastrophe_risk.png", "oat_essay_one_month", "catastrophe_risk", "oat"
    ),
)


def draw(figure: Figure, target: Path = FIGURES_DIR) -> Path:
    """Run the figure's commands from the repository root (paths in them are relative to it) in
    a scratch directory, and copy its image to ``target``."""
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        return _draw(figure, target)
    finally:
        os.chdir(here)


def _draw(figure: Figure, target: Path) -> Path:
    with tempfile.TemporaryDirectory() as scratch:
        where = str(Path(scratch) / "run")
        for command in figure.commands:
            code = society([a.format(dir=where) for a in command])
            if code != 0:
                raise RuntimeError(f"{' '.join(command)} exited {code}")
        target.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(Path(where) / figure.image, target / figure.name))


def main(argv: list[str]) -> int:
    for figure in FIGURES:
        if argv and figure.name not in argv:
            continue
        print(draw(figure))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
