"""Sampled designs: the unit-cube points of a sweep's ``[sample]`` and how many arms they make.

Four samplers, each giving points of the unit cube ``[0, 1]^D`` (one column per sampled key):

============  ==========================================  =====================================
method        points (arms)                               what it is for
============  ==========================================  =====================================
``lhs``       ``n``                                       space filling (scipy's Latin hypercube)
``sobol``     ``n`` (a power of two)                      space filling (scipy's scrambled Sobol')
``saltelli``  ``n (D + 2)``, or ``n (2D + 2)`` with       Sobol' indices (SALib's Saltelli
              ``second_order``; ``n`` a power of two      scheme); ``society analyze --method
                                                          sobol``
``morris``    ``n (D + 1)``: ``n`` trajectories over      elementary effects (SALib's Morris
              ``levels`` grid levels                      trajectories); ``--method morris``
``oat``       ``1 + 2D`` (``n`` must be 1): every key     one at a time: each prior's 5% and
              at its median, then each key alone at       95% quantile against the medians
              its 5% and 95% quantiles                    (arm 0, the reference)
============  ==========================================  =====================================

The unit-cube points become scenario values through the prior of each key
(:meth:`society.priors.PriorSet.at`): a ``[low, high]`` range is a uniform prior. The order of
the rows is the design: Saltelli's and Morris's estimators read the outputs in that order, so
arm ``k`` of a sweep is row ``k``. A design is a pure function of its :class:`Design` record
(method, n, keys, seed, options), so the analysis rebuilds the points from the manifest and
checks them against the digest recorded there.

>>> d = Design("saltelli", 8, ("a", "b", "c"), seed=1)
>>> d.size(), Design("saltelli", 8, ("a", "b", "c"), seed=1, second_order=True).size()
(40, 64)
>>> Design("morris", 4, ("a", "b", "c"), seed=1, levels=4).size()
16
>>> bool((d.unit() == d.unit()).all()), d.unit().shape
(True, (40, 3))
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: The samplers a ``[sample]`` table may name.
METHODS = ("lhs", "sobol", "saltelli", "morris", "oat")
#: The quantiles an ``oat`` design moves each key to, one at a time.
OAT_QUANTILES = (0.05, 0.95)
#: Samplers whose row order is a structured design read by an estimator.
STRUCTURED = ("saltelli", "morris", "oat")
#: At most this many arms in one design (a sweep this large would run for years here).
MAX_ARMS = 1_000_000


@dataclass(frozen=True)
class Design:
    """What determines a sampled design: sampler, size, keys (column order), seed, options.

    ``n`` is the number of arms for ``lhs`` and ``sobol``, Saltelli's base sample size ``N``
    for ``saltelli`` and the number of trajectories ``r`` for ``morris``. ``second_order``
    (Saltelli) adds the cross-sampled rows second-order indices need; ``levels`` (Morris) is
    the number of grid levels of each trajectory step.
    """

    method: str
    n: int
    keys: tuple[str, ...]
    seed: int
    second_order: bool = False
    levels: int | None = None

    @property
    def dimensions(self) -> int:
        return len(self.keys)

    def size(self) -> int:
        """Rows (arms) of the design."""
        d = self.dimensions
        if self.method == "saltelli":
            return self.n * (2 * d + 2 if self.second_order else d + 2)
        if self.method == "morris":
            return self.n * (d + 1)
        if self.method == "oat":
            return 1 + 2 * d
        return self.n

    def problems(self) -> list[str]:
        """What is wrong with this design, in words (empty when it can be sampled)."""
        out = []
        n = self.n
        power_of_two = n >= 1 and not n & (n - 1)
        if self.method in ("sobol", "saltelli") and not power_of_two:
            up, down = 1 << (n - 1).bit_length(), 1 << (n.bit_length() - 1)
            what = "a Sobol sample" if self.method == "sobol" else "Saltelli's base sample N"
            out.append(
                f"n = {n}: {what} must have a power-of-two size to keep the Sobol' "
                f"sequence balanced; use n = {up} or {down}"
                + ('; or method = "lhs"' if self.method == "sobol" else "")
            )
        if self.method == "saltelli" and power_of_two and n < 4:
            out.append(
                f"n = {n}: Saltelli's base sample N needs at least 4 (the bootstrap intervals "
                f"of the indices resample N); use n = 4 or more, e.g. 64"
            )
        if self.method == "morris":
            if n < 2:
                out.append(
                    f"n = {n}: Morris needs at least 2 trajectories (sigma, the spread of the "
                    f"elementary effects, needs two); use n = 10 or more"
                )
            levels = self.levels if self.levels is not None else 4
            if levels < 2 or levels % 2:
                out.append(
                    f"levels = {levels}: Morris's grid needs an even number of levels, at least "
                    f"2 (so each step is half the range); use levels = 4"
                )
        if self.method == "oat" and n != 1:
            out.append(
                f"n = {n}: a one-at-a-time design has 1 + 2D arms whatever n is; use n = 1 (and "
                f"replicates for more runs per arm)"
            )
        if self.levels is not None and self.method != "morris":
            out.append(f'levels = {self.levels} applies to method = "morris" only; remove it')
        if self.second_order and self.method != "saltelli":
            out.append('second_order applies to method = "saltelli" only; remove it')
        if not out and self.size() > MAX_ARMS:
            out.append(
                f"the design has {self.size():,} arms, more than {MAX_ARMS:,}; lower n "
                f"(it gives {self.describe_size()})"
            )
        return out

    def describe_size(self) -> str:
        """How the number of arms follows from n and D, e.g. ``N (D + 2) = 8 x 5 = 40``."""
        d = self.dimensions
        if self.method == "saltelli":
            k = 2 * d + 2 if self.second_order else d + 2
            formula = "N (2D + 2)" if self.second_order else "N (D + 2)"
            return f"{formula} = {self.n} x {k} = {self.size()} arms"
        if self.method == "morris":
            return f"r (D + 1) = {self.n} x {d + 1} = {self.size()} arms"
        if self.method == "oat":
            return f"1 + 2D = 1 + 2 x {d} = {self.size()} arms"
        return f"n = {self.n} arms"

    def unit(self) -> np.ndarray:
        """The design's points in the unit cube, shape ``(size(), D)``: the same every call."""
        d = self.dimensions
        if self.method in ("lhs", "sobol"):
            from scipy.stats import qmc

            rng = np.random.default_rng(self.seed)
            engine: qmc.QMCEngine = (
                qmc.Sobol(d=d, scramble=True, rng=rng)
                if self.method == "sobol"
                else qmc.LatinHypercube(d=d, rng=rng)
            )
            return np.asarray(engine.random(self.n), dtype=np.float64)
        if self.method == "oat":
            points = np.full((self.size(), d), 0.5)
            for j in range(d):
                points[1 + 2 * j, j], points[2 + 2 * j, j] = OAT_QUANTILES
            return points
        problem = self.problem()
        if self.method == "saltelli":
            from SALib.sample import sobol as saltelli

            points = saltelli.sample(
                problem, self.n, calc_second_order=self.second_order, scramble=True, seed=self.seed
            )
        elif self.method == "morris":
            from SALib.sample import morris

            points = morris.sample(problem, self.n, num_levels=self.levels or 4, seed=self.seed)
        else:  # pragma: no cover - the spec's Literal allows nothing else
            raise ValueError(f"unknown sampler {self.method!r}")
        return np.asarray(points, dtype=np.float64)

    def problem(self) -> dict[str, Any]:
        """SALib's problem definition: the unit cube over the keys."""
        return {
            "num_vars": self.dimensions,
            "names": list(self.keys),
            "bounds": [[0.0, 1.0]] * self.dimensions,
        }

    def record(self, unit: np.ndarray, priors: dict[str, Any]) -> dict[str, Any]:
        """What the sweep manifest stores: this record, the arms it gives, the priors the unit
        points went through, and a digest of the points (so a rebuilt design is checked)."""
        return {
            **asdict(self),
            "keys": list(self.keys),
            "dimensions": self.dimensions,
            "arms": int(unit.shape[0]),
            "size": self.describe_size(),
            "priors": priors,
            "unit_sha256": digest(unit),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Design:
        """The design a manifest's ``design`` record describes."""
        return cls(
            method=str(record["method"]),
            n=int(record["n"]),
            keys=tuple(record["keys"]),
            seed=int(record["seed"]),
            second_order=bool(record.get("second_order", False)),
            levels=record.get("levels"),
        )


def digest(unit: np.ndarray) -> str:
    """SHA-256 of the points as little-endian float64 (stable across machines)."""
    data = np.ascontiguousarray(unit, dtype="<f8").tobytes()
    return hashlib.sha256(data).hexdigest()


__all__ = ["MAX_ARMS", "METHODS", "STRUCTURED", "Design", "digest"]
