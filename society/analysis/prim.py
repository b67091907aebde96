"""PRIM scenario discovery: a box of swept values where a target concentrates, in words.

The Patient Rule Induction Method (Friedman & Fisher 1999, "Bump hunting in high-dimensional
data", Statistics and Computing 9:123-143), as scenario discovery uses it (Bryant & Lempert
2010; the EMA Workbench's defaults):

* **peeling**: starting from the box holding every point, remove a slice holding about
  ``peel_alpha`` of the points in the box from one face (the low or high end of a numeric key,
  or one value of a categorical key), choosing the slice whose removal leaves the highest
  mean of ``y``; repeat while the box holds at least ``min_mass`` of all points. Each box is a
  step of the *peeling trajectory*.
* **selection**: of the boxes on the trajectory whose density reaches ``min_density``, the
  one with the best balance of coverage and density (:func:`select`);
* **pasting**: grow the selected box again along one face at a time by about ``paste_alpha``
  of its points, as long as that raises its mean (peeling is greedy and can cut too much).
  Pasting steps are finer than peeling steps (0.01 against 0.05): a coarse paste adds points
  from beyond the true edge together with those inside it and is refused, leaving the box
  too tight.
* **simplification**: drop, one at a time, the limit whose removal is least significant, as
  long as its quasi-p-value is above ``max_p`` (0.05): the chance of at least the box's cases
  among its points if the cases were as frequent as in the box without that limit (a one-sided
  binomial test, as the EMA Workbench reports for each limit, after Bryant & Lempert 2010).
  Peeling trims every key a little at the edges; without this step a box over eight keys
  names eight limits, most of them noise.

``y`` is in [0, 1]: 0/1 for "the case of interest happened", or a per-arm probability. Of a
box, *coverage* is the share of all of ``y`` inside it, *density* the mean of ``y`` inside it
and *mass* the share of the points inside it.

This is a small implementation of its own, not the EMA Workbench's: the Workbench 3.0 needs
Python 3.12 (this project supports 3.11), and PRIM itself is a hundred lines.

>>> rng = np.random.default_rng(0)
>>> x = {"a": rng.random(1000), "b": rng.random(1000)}
>>> y = ((x["a"] > 0.7) & (x["b"] < 0.5)).astype(float)
>>> result = prim(x, y)
>>> result.describe("hit")
'hit when a >= 0.704 and b <= 0.504: coverage 0.99, density 0.99'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

PEEL_ALPHA = 0.05
PASTE_ALPHA = 0.01
MIN_MASS = 0.05
MIN_DENSITY = 0.8
MAX_P = 0.05


@dataclass(frozen=True)
class Box:
    """Limits on each key: ``[low, high]`` (inclusive) for a numeric key, the values allowed
    for a categorical one."""

    low: dict[str, float]
    high: dict[str, float]
    allowed: dict[str, frozenset[object]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One box of the trajectory with its statistics."""

    box: Box
    coverage: float
    density: float
    mass: float
    n: int


@dataclass
class PrimResult:
    """The peeling trajectory, the index of the box selected on it, that box after pasting
    (``pasted``) and after simplification (``chosen``, the one reported), with what describing
    them needs."""

    trajectory: list[Step]
    selected: int
    chosen: Step
    pasted: Step
    keys: list[str]
    data_low: dict[str, float]
    data_high: dict[str, float]
    categories: dict[str, frozenset[object]]

    def limits(self, box: Box) -> dict[str, str]:
        """The box's limits that cut something, by key, in words (``a >= 0.7``,
        ``b in {x, y}``)."""
        out = {}
        for key in self.keys:
            if key in self.categories:
                allowed = box.allowed[key]
                if allowed != self.categories[key]:
                    shown = ", ".join(sorted(str(v) for v in allowed))
                    out[key] = f"{key} in {{{shown}}}"
                continue
            lo, hi = box.low[key], box.high[key]
            cut_lo, cut_hi = lo > self.data_low[key], hi < self.data_high[key]
            if cut_lo and cut_hi:
                out[key] = f"{_num(lo)} <= {key} <= {_num(hi)}"
            elif cut_lo:
                out[key] = f"{key} >= {_num(lo)}"
            elif cut_hi:
                out[key] = f"{key} <= {_num(hi)}"
        return out

    def restrictions(self, box: Box) -> list[str]:
        """The limits of :meth:`limits`, in key order."""
        return list(self.limits(box).values())

    def describe(self, label: str, step: Step | None = None) -> str:
        """``label when <limits>: coverage c, density d`` for ``step`` (default: the chosen
        box)."""
        step = step or self.chosen
        limits = self.restrictions(step.box)
        where = " and ".join(limits) if limits else "anywhere (no box beats the whole sweep)"
        return f"{label} when {where}: coverage {step.coverage:.2f}, density {step.density:.2f}"


def prim(
    x: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    peel_alpha: float = PEEL_ALPHA,
    paste_alpha: float = PASTE_ALPHA,
    min_mass: float = MIN_MASS,
    min_density: float = MIN_DENSITY,
    max_p: float = MAX_P,
    trials: int = 1,
) -> PrimResult:
    """Run PRIM on points ``x`` (key -> one value per point; numeric or categorical) and
    ``y`` in [0, 1] (see the module docstring). ``trials`` is the number of runs behind each
    ``y`` (a per-arm share over replicates), which the simplification's binomial test counts.
    Deterministic: ties go to the larger box, then to the first key and the low face."""
    keys = list(x)
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n == 0 or float(y.sum()) <= 0.0:
        raise ValueError("PRIM needs points and at least one case of interest (y > 0)")
    numeric = {k: np.asarray(v, dtype=np.float64) for k, v in x.items() if _is_numeric(v)}
    labels = {k: np.asarray(v, dtype=object) for k, v in x.items() if k not in numeric}
    categories = {k: frozenset(v.tolist()) for k, v in labels.items()}
    data = _Data(numeric, labels, y, float(y.sum()))
    box = Box(
        {k: float(v.min()) for k, v in numeric.items()},
        {k: float(v.max()) for k, v in numeric.items()},
        dict(categories),
    )
    inside = data.mask(box)
    trajectory = [data.step(box, inside)]
    while True:
        best = _best_peel(data, box, inside, peel_alpha, math.ceil(min_mass * n))
        if best is None:
            break
        box, inside = best
        trajectory.append(data.step(box, inside))
    selected = select(trajectory, min_density)
    pasted = _paste(data, trajectory[selected].box, paste_alpha)
    chosen = _simplify(data, pasted.box, trajectory[0].box, max_p, trials)
    return PrimResult(
        trajectory,
        selected,
        chosen,
        pasted,
        keys,
        dict(trajectory[0].box.low),
        dict(trajectory[0].box.high),
        categories,
    )


def select(trajectory: list[Step], min_density: float = MIN_DENSITY) -> int:
    """The index of the box to report: of the boxes whose density reaches ``min_density`` (all
    boxes if none does), the one that best balances coverage and density, by their harmonic
    mean (as an F1 score balances recall and precision); ties go to the larger box.

    >>> box = Box({}, {})
    >>> trajectory = [Step(box, 1.0, 0.2, 1.0, 10), Step(box, 0.9, 0.9, 0.2, 2)]
    >>> select([*trajectory, Step(box, 0.3, 1.0, 0.1, 1)])
    1
    """
    dense = [i for i, s in enumerate(trajectory) if s.density >= min_density]
    pool = dense or list(range(len(trajectory)))
    return max(pool, key=lambda i: (round(_balance(trajectory[i]), 12), -i))


def _balance(step: Step) -> float:
    c, d = step.coverage, step.density
    return 0.0 if c + d <= 0 or math.isnan(d) else 2 * c * d / (c + d)


@dataclass
class _Data:
    numeric: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    y: np.ndarray
    total: float

    def mask(self, box: Box) -> np.ndarray:
        inside = np.ones(self.y.size, dtype=bool)
        for k, v in self.numeric.items():
            inside &= (v >= box.low[k]) & (v <= box.high[k])
        for k, v in self.labels.items():
            inside &= np.isin(v, np.array(list(box.allowed[k]), dtype=object))
        return inside

    def step(self, box: Box, inside: np.ndarray) -> Step:
        count = int(inside.sum())
        inside_y = self.y[inside]
        return Step(
            box,
            float(inside_y.sum()) / self.total,
            float(inside_y.mean()) if count else math.nan,
            count / self.y.size,
            count,
        )


def _best_peel(
    data: _Data, box: Box, inside: np.ndarray, alpha: float, min_count: int
) -> tuple[Box, np.ndarray] | None:
    """The peel leaving the highest mean (ties: the larger box), or None if no peel keeps
    ``min_count`` points."""
    count = int(inside.sum())
    best: tuple[float, int, Box, np.ndarray] | None = None
    for candidate in _peels(data, box, inside, alpha):
        kept = data.mask(candidate) & inside
        size = int(kept.sum())
        if size < max(min_count, 1) or size == count:
            continue
        mean = float(data.y[kept].mean())
        if (
            best is None
            or mean > best[0] + 1e-12
            or (abs(mean - best[0]) <= 1e-12 and size > best[1])
        ):
            best = (mean, size, candidate, kept)
    return None if best is None else (best[2], best[3])


def _peels(data: _Data, box: Box, inside: np.ndarray, alpha: float) -> list[Box]:
    """Every candidate peel of ``box``: each numeric key's low and high face, each value of a
    categorical key."""
    out = []
    count = int(inside.sum())
    k = max(1, math.ceil(alpha * count))
    for key, values in data.numeric.items():
        xs = np.sort(values[inside])
        unique = np.unique(xs)
        if unique.size < 2:
            continue
        # Cut about alpha of the box's points; on ties, at least the smallest (largest) value.
        low = xs[min(k, count - 1)]
        low = low if low > unique[0] else unique[1]
        high = xs[max(count - 1 - k, 0)]
        high = high if high < unique[-1] else unique[-2]
        out.append(replace(box, low={**box.low, key: float(low)}))
        out.append(replace(box, high={**box.high, key: float(high)}))
    for key, values in data.labels.items():
        present = set(values[inside].tolist())
        if len(present) < 2:
            continue
        for value in sorted(present, key=str):
            out.append(replace(box, allowed={**box.allowed, key: box.allowed[key] - {value}}))
    return out


def _paste(data: _Data, box: Box, alpha: float) -> Step:
    """Grow ``box`` one face at a time while that raises its mean (Friedman & Fisher's
    pasting), by about ``alpha`` of its points each time."""
    inside = data.mask(box)
    mean = float(data.y[inside].mean())
    while True:
        count = int(inside.sum())
        k = max(1, math.ceil(alpha * count))
        best: tuple[float, Box, np.ndarray] | None = None
        for candidate in _pastes(data, box, k):
            grown = data.mask(candidate)
            value = float(data.y[grown].mean())
            if value > mean + 1e-12 and (best is None or value > best[0] + 1e-12):
                best = (value, candidate, grown)
        if best is None:
            return data.step(box, inside)
        mean, box, inside = best


def _pastes(data: _Data, box: Box, k: int) -> list[Box]:
    out = []
    for key, values in data.numeric.items():
        # Points inside the box on every other key: those a move of this face would add.
        others = data.mask(
            replace(box, low={**box.low, key: -math.inf}, high={**box.high, key: math.inf})
        )
        below = np.sort(values[others & (values < box.low[key])])[::-1]
        if below.size:
            out.append(replace(box, low={**box.low, key: float(below[min(k, below.size) - 1])}))
        above = np.sort(values[others & (values > box.high[key])])
        if above.size:
            out.append(replace(box, high={**box.high, key: float(above[min(k, above.size) - 1])}))
    for key, values in data.labels.items():
        missing = set(values.tolist()) - box.allowed[key]
        for value in sorted(missing, key=str):
            out.append(replace(box, allowed={**box.allowed, key: box.allowed[key] | {value}}))
    return out


def quasi_p(data: _Data, box: Box, wider: Box, trials: int = 1) -> float:
    """P(at least the cases of ``box`` among its points) if cases were as frequent there as in
    ``wider``: the binomial upper tail ``I_p(k, n - k + 1)``, continuous in ``k`` (cases can
    be fractional: shares of runs)."""
    from scipy.special import betainc

    inside = data.mask(box)
    n = trials * int(inside.sum())
    k = trials * float(data.y[inside].sum())
    rate = float(data.y[data.mask(wider)].mean())
    if k <= 0 or rate >= 1.0:
        return 1.0
    if rate <= 0.0:
        return 0.0
    return float(betainc(k, n - k + 1, rate))


def _simplify(data: _Data, box: Box, whole: Box, max_p: float, trials: int) -> Step:
    """Drop the least significant limit while its quasi-p-value exceeds ``max_p``."""
    while True:
        candidates = []
        for key in [*data.numeric, *data.labels]:
            wider = _without(box, whole, key)
            if wider == box:
                continue
            candidates.append((quasi_p(data, box, wider, trials), key, wider))
        weakest = max(candidates, key=lambda c: c[0], default=None)
        if weakest is None or weakest[0] <= max_p:
            return data.step(box, data.mask(box))
        box = weakest[2]


def _without(box: Box, whole: Box, key: str) -> Box:
    """``box`` with no limit on ``key`` (``whole`` holds every point)."""
    if key in box.allowed:
        return replace(box, allowed={**box.allowed, key: whole.allowed[key]})
    return replace(
        box, low={**box.low, key: whole.low[key]}, high={**box.high, key: whole.high[key]}
    )


def _is_numeric(values: np.ndarray) -> bool:
    array = np.asarray(values)
    return array.dtype.kind in "iuf" or (
        array.dtype.kind == "O"
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in array.tolist())
    )


def _num(value: float) -> str:
    """A limit as written in a box: integers whole, others to 3 significant digits."""
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.3g}"


__all__ = [
    "MAX_P",
    "MIN_DENSITY",
    "MIN_MASS",
    "PASTE_ALPHA",
    "PEEL_ALPHA",
    "Box",
    "PrimResult",
    "Step",
    "prim",
    "quasi_p",
]
