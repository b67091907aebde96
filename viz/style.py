"""Shared look of every figure: the Okabe-Ito palette, rcParams, event markers and titles.

Okabe & Ito (2008) chose eight colours that stay distinct under the common forms of colour
blindness; every line, band and marker here draws from them. Continuous data use perceptually
uniform, colour-blind-safe colormaps (``cividis`` for probabilities, ``PuOr`` for signed beliefs).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

from society.text import visible

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
"""The eight Okabe-Ito colours by name."""

CYCLE: list[str] = [
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "black")
]
"""Line colour order (yellow left out: too light on white for thin lines)."""

SEQUENTIAL_CMAP = "cividis"
DIVERGING_CMAP = "PuOr"

# Exogenous and internal events: colour, marker and a short legend label.
EVENT_STYLE: dict[str, tuple[str, str, str]] = {
    "rival_breakthrough": (OKABE_ITO["orange"], "v", "rival breakthrough"),
    "theft": (OKABE_ITO["vermillion"], "X", "theft"),
    "misuse": (OKABE_ITO["reddish_purple"], "D", "misuse attempt"),
    "poisoning": (OKABE_ITO["black"], "P", "poisoning"),
    "tax_cut": (OKABE_ITO["vermillion"], "s", "tax cut"),
    "pressure_resisted": (OKABE_ITO["bluish_green"], "^", "pressure resisted"),
    "test_round": (OKABE_ITO["sky_blue"], "|", "test round"),
    "generation_handoff": (OKABE_ITO["blue"], "o", "generation hand-off"),
    "revolt_cascade": (OKABE_ITO["vermillion"], "*", "revolt cascade"),
    "lost_lead": (OKABE_ITO["black"], "x", "lead lost"),
    "catastrophe": (OKABE_ITO["vermillion"], "X", "catastrophe"),
    "final_evaluation": (OKABE_ITO["blue"], "d", "final evaluation"),
    "safe": (OKABE_ITO["bluish_green"], "*", "safe"),
}
EXOGENOUS_EVENTS = ("rival_breakthrough", "theft", "misuse", "poisoning", "tax_cut")
"""Events from outside the society (docs/model.md, section 1), marked on time axes."""

RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "figure.titlesize": 12,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.prop_cycle": cycler(color=CYCLE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "image.cmap": SEQUENTIAL_CMAP,
}

P = ParamSpec("P")
R = TypeVar("R")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Build the figure inside :data:`RC` so that every view has the same look."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(RC):  # type: ignore[arg-type]
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with pyplot (no display, no global state, freed with its owner)."""
    return Figure(figsize=(width, height), layout="constrained")


def plain(text: object) -> str:
    """User text as a figure shows it literally: :func:`society.text.visible`, with ``$``
    escaped (matplotlib would read ``$...$`` in a scenario name as mathtext, and raise).

    >>> print(plain("costs $5, or $x$"))
    costs \\$5, or \\$x\\$
    """
    return visible(text).replace("$", r"\$")


def scenario_title(manifest: Mapping[str, Any] | None) -> str:
    """``"baseline (seed 0)"`` from a run manifest; ``"run"`` when there is none."""
    if not manifest:
        return "run"
    scenario = manifest.get("scenario")
    name = (
        manifest.get("scenario_name")
        or (scenario.get("name") if isinstance(scenario, Mapping) else None)
        or "run"
    )
    seed = manifest.get("seed")
    return plain(f"{name} (seed {seed})" if seed is not None else name)


def suptitle(fig: Figure, view: str, manifest: Mapping[str, Any] | None) -> None:
    """Title stating the view and the scenario, with the scenario's question underneath."""
    title = f"{view} — {scenario_title(manifest)}"
    scenario = (manifest or {}).get("scenario")
    question = scenario.get("question") if isinstance(scenario, Mapping) else None
    if question:
        text = textwrap.shorten(plain(question), 200, placeholder="…")
        title += "\n" + "\n".join(textwrap.wrap(text, 100))
    fig.suptitle(title, fontsize=RC["figure.titlesize"])
