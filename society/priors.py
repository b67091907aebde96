"""Priors: distributions over the scenario fields whose values nobody knows.

A prior file (``scenarios/priors/*.toml``) gives, for each uncertain field, a distribution with
its family, its bounds and a one-line justification::

    [priors."values.reflection_drift"]
    dist = "loguniform"
    low = 5e-6
    high = 1e-4
    why = "no grounding found: wide"
    source = ""

Families and the keys each takes:

=============  =======================================================================
``uniform``    ``low``, ``high``
``loguniform`` ``low``, ``high`` (both > 0)
``normal``     ``mean``, ``sd``; optional ``low``/``high`` truncate it
``lognormal``  ``median``, ``sigma`` (sd of the log); optional ``low``/``high`` truncate it
``triangular`` ``low``, ``mode``, ``high``
``beta``       ``a``, ``b``; scaled to [``low``, ``high``] (default [0, 1])
``levels``     ``values`` (a list), optional ``weights``
=============  =======================================================================

The same schema serves the model (a field's default is its prior's median, see
``docs/model.md``) and the analysis (``society ask --priors``, sweeps that draw from priors).
Every prior is validated against the scenario schema when read: the key must be a field, not
a question field, and every value the prior can give must lie in the field's range.

Examples
--------
>>> p = Prior.model_validate({"dist": "uniform", "low": 0.0, "high": 2.0, "why": "w"})
>>> p.median(), p.ppf(np.array([0.0, 0.25, 1.0])).tolist()
(1.0, [0.0, 0.5, 2.0])
"""

from __future__ import annotations

import functools
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from society.errors import ScenarioError, printable

Family = Literal["uniform", "loguniform", "normal", "lognormal", "triangular", "beta", "levels"]

#: Fields that state the question, never an uncertain parameter (DESIGN: never sampled).
QUESTION_FIELDS = ("name", "question", "seed", "days")
QUESTION_PREFIXES = ("record.", "llm.", "mechanisms.", "claim.")

_KEYS: dict[str, tuple[set[str], set[str]]] = {  # family -> (required, optional)
    "uniform": ({"low", "high"}, set()),
    "loguniform": ({"low", "high"}, set()),
    "normal": ({"mean", "sd"}, {"low", "high"}),
    "lognormal": ({"median", "sigma"}, {"low", "high"}),
    "triangular": ({"low", "mode", "high"}, set()),
    "beta": ({"a", "b"}, {"low", "high"}),
    "levels": ({"values"}, {"weights"}),
}
_PARAMS = {"low", "high", "mean", "sd", "median", "sigma", "mode", "a", "b", "values", "weights"}


class Prior(BaseModel):
    """One field's prior: a family, its parameters, and why (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    dist: Family = Field(description="Distribution family.")
    why: str = Field(
        min_length=1,
        description="One-line justification: a source, an argument, or 'unknown: wide'.",
    )
    source: str = Field("", description="Reference(s) behind the prior, if any.")
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    median_: float | None = Field(None, alias="median")
    sigma: float | None = Field(None, gt=0)
    mode: float | None = None
    a: float | None = Field(None, gt=0)
    b: float | None = Field(None, gt=0)
    values: list[Any] | None = Field(None, min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Prior:
        required, optional = _KEYS[self.dist]
        given = {k for k in _PARAMS if getattr(self, "median_" if k == "median" else k) is not None}
        missing, extra = required - given, given - required - optional
        if missing:
            raise ValueError(f"dist = '{self.dist}' needs {', '.join(sorted(missing))}")
        if extra:
            raise ValueError(
                f"dist = '{self.dist}' takes {', '.join(sorted(required | optional))}, "
                f"not {', '.join(sorted(extra))}"
            )
        lo, hi = self.low, self.high
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"low ({lo}) must be below high ({hi})")
        if self.dist == "loguniform" and (lo or 0.0) <= 0:
            raise ValueError("loguniform needs low > 0")
        if self.dist == "lognormal" and (self.median_ or 0.0) <= 0:
            raise ValueError("lognormal needs median > 0")
        if self.dist == "triangular" and not (lo or 0.0) <= (self.mode or 0.0) <= (hi or 0.0):
            raise ValueError(f"mode ({self.mode}) must lie in [low, high]")
        if self.dist == "levels" and self.weights is not None:
            values = self.values or []
            if len(self.weights) != len(values) or min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be one non-negative number per value, not all 0")
        for name, value in (("mean", self.mean), ("median", self.median_)):
            if value is not None and (
                (lo is not None and value < lo) or (hi is not None and value > hi)
            ):
                raise ValueError(f"{name} ({value}) must lie in [low, high]")
        return self

    # -- the distribution ----------------------------------------------------------------
    def _frozen(self) -> Any:
        """The scipy distribution (continuous families), untruncated."""
        from scipy import stats  # imported here: scipy.stats costs every command half a second

        lo, hi = self.low, self.high
        if self.dist == "uniform":
            return stats.uniform(lo, hi - lo)  # type: ignore[operator]
        if self.dist == "loguniform":
            return stats.loguniform(lo, hi)
        if self.dist == "normal":
            return stats.norm(self.mean, self.sd)
        if self.dist == "lognormal":
            return stats.lognorm(self.sigma, scale=self.median_)
        if self.dist == "triangular":
            width = hi - lo  # type: ignore[operator]
            return stats.triang((self.mode - lo) / width, loc=lo, scale=width)  # type: ignore[operator]
        scale_lo, scale_hi = (lo if lo is not None else 0.0), (hi if hi is not None else 1.0)
        return stats.beta(self.a, self.b, loc=scale_lo, scale=scale_hi - scale_lo)

    def _truncation(self) -> tuple[float, float]:
        """The share of the untruncated CDF below ``low`` and below ``high`` (normal and
        lognormal only; other families are bounded by construction)."""
        if self.dist not in ("normal", "lognormal"):
            return 0.0, 1.0
        d = self._frozen()
        return (
            float(d.cdf(self.low)) if self.low is not None else 0.0,
            float(d.cdf(self.high)) if self.high is not None else 1.0,
        )

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles at probabilities ``u`` in [0, 1]: the inverse CDF that turns uniform
        (Latin hypercube, Sobol) draws into draws from this prior. ``levels`` gives an object
        array of the listed values."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
        if self.dist == "levels":
            values = self.values or []
            w = np.asarray(self.weights or [1.0] * len(values), dtype=np.float64)
            edges = np.cumsum(w) / w.sum()
            idx = np.minimum(np.searchsorted(edges, u, side="right"), len(values) - 1)
            return np.array(values, dtype=object)[idx]
        lo, hi = self._truncation()
        out: np.ndarray = self._frozen().ppf(lo + u * (hi - lo))
        return out

    def median(self) -> Any:
        """The prior's median: the default of the field it describes (for ``levels``, the
        value at cumulative weight 1/2)."""
        if self.dist == "levels":  # the first value whose cumulative weight reaches 1/2
            values = self.values or []
            w = np.asarray(self.weights or [1.0] * len(values), dtype=np.float64)
            return values[int(np.searchsorted(np.cumsum(w) / w.sum(), 0.5 - 1e-12))]
        return float(self.ppf(np.array([0.5]))[0])

    def quantile(self, q: float) -> Any:
        """One quantile (``q`` in [0, 1])."""
        value = self.ppf(np.array([q]))[0]
        return value if self.dist == "levels" else float(value)

    def support(self) -> tuple[float, float]:
        """The smallest and largest value the prior can give (``inf`` where unbounded)."""
        if self.dist == "levels":
            nums = [v for v in self.values or [] if isinstance(v, int | float)]
            return (min(nums), max(nums)) if nums else (math.nan, math.nan)
        if self.dist in ("normal", "lognormal"):
            floor = 0.0 if self.dist == "lognormal" else -math.inf
            return (
                self.low if self.low is not None else floor,
                self.high if self.high is not None else math.inf,
            )
        if self.dist == "beta":
            return (self.low or 0.0, self.high if self.high is not None else 1.0)
        return (float(self.low), float(self.high))  # type: ignore[arg-type]

    def describe(self) -> str:
        """The prior in a few words, e.g. ``loguniform [5e-06, 0.0001]``."""
        if self.dist == "levels":
            return f"levels {self.values}"
        params = {
            "normal": lambda: f"mean {self.mean:g}, sd {self.sd:g}",
            "lognormal": lambda: f"median {self.median_:g}, sigma {self.sigma:g}",
            "triangular": lambda: f"mode {self.mode:g}",
            "beta": lambda: f"a {self.a:g}, b {self.b:g}",
        }.get(self.dist, lambda: "")()
        lo, hi = self.support()
        bounds = f"[{lo:g}, {hi:g}]"
        return f"{self.dist} {bounds}" + (f" ({params})" if params else "")


@dataclass(frozen=True)
class PriorSet:
    """Priors by dotted scenario key, in the order they were read, with the files behind them."""

    priors: dict[str, Prior]
    sources: tuple[str, ...] = ()

    @property
    def keys(self) -> list[str]:
        return list(self.priors)

    def __len__(self) -> int:
        return len(self.priors)

    def medians(self) -> dict[str, Any]:
        """``{key: median}``: the scenario overrides that set every field to its prior median."""
        return {k: _as_field(k, p.median()) for k, p in self.priors.items()}

    def at(self, u: np.ndarray) -> list[dict[str, Any]]:
        """Points of the unit cube (``u`` of shape ``(n, len(self))``, columns in key order)
        turned into scenario overrides, one dict per row."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        if u.shape[1] != len(self):
            raise ValueError(f"u has {u.shape[1]} columns for {len(self)} priors")
        cols = [p.ppf(u[:, j]) for j, p in enumerate(self.priors.values())]
        keys = self.keys
        return [
            {k: _as_field(k, col[i]) for k, col in zip(keys, cols, strict=True)}
            for i in range(u.shape[0])
        ]

    def draw(
        self, n: int, seed: int, method: Literal["lhs", "random"] = "lhs"
    ) -> list[dict[str, Any]]:
        """``n`` joint draws (independent marginals) as scenario overrides: a scrambled Latin
        hypercube (every prior's range covered evenly at any ``n``) or plain random draws.
        The same ``n`` and ``seed`` always give the same draws."""
        if n <= 0 or not self.priors:
            return [{} for _ in range(max(n, 0))]
        if method == "lhs":
            from scipy.stats import qmc

            u = qmc.LatinHypercube(d=len(self), seed=np.random.default_rng(seed)).random(n)
        else:
            u = np.random.default_rng(seed).random((n, len(self)))
        return self.at(u)

    def merged(self, other: PriorSet) -> PriorSet:
        """These priors with ``other``'s added; ``other`` wins where both name a key."""
        return PriorSet({**self.priors, **other.priors}, self.sources + other.sources)

    def without(self, keys: Iterable[str]) -> PriorSet:
        """These priors except ``keys`` (fields a scenario or ``--set`` pins)."""
        drop = set(keys)
        return PriorSet({k: p for k, p in self.priors.items() if k not in drop}, self.sources)


@functools.cache
def _field_types() -> dict[str, dict[str, Any]]:
    # Cached: the schema is fixed for the process, and PriorSet.at asks once per drawn value
    # (a Saltelli design of 8 keys has over 10,000), at about a millisecond a call.
    from society.scenario import iter_fields

    return {f["key"]: f for f in iter_fields()}


def _as_field(key: str, value: Any) -> Any:
    """A drawn value in the type its field takes (integers rounded)."""
    if isinstance(value, np.generic):
        value = value.item()
    if _field_types().get(key, {}).get("type") == "int" and isinstance(value, float):
        return round(value)
    return value


def priors_from_doc(doc: Mapping[str, Any], source: str) -> PriorSet:
    """Validate a prior document (a TOML file's contents); raise :class:`ScenarioError` with
    one paragraph naming ``source``, the key and the fix on any problem."""
    from society.scenario_files import _unknown_key_text

    extra = set(doc) - {"priors", "title", "description"}
    if extra:
        raise ScenarioError(
            f"{source}: unknown top-level key(s) {', '.join(sorted(extra))}; a prior file has "
            f"'title', 'description' and a [priors.\"section.field\"] table per field."
        )
    table = doc.get("priors", {})
    if not isinstance(table, dict) or not table:
        raise ScenarioError(
            f'{source}: no [priors."section.field"] tables; give at least one, e.g. '
            f'[priors."values.reflection_drift"] with dist, its parameters and why.'
        )
    fields = _field_types()
    out: dict[str, Prior] = {}
    for key, body in table.items():
        where = f'{source}: priors."{printable(key)}"'
        if key not in fields:
            raise ScenarioError(f"{where}: {_unknown_key_text(key, set(fields))}")
        if key in QUESTION_FIELDS or key.startswith(QUESTION_PREFIXES):
            raise ScenarioError(
                f"{where}: '{key}' states the question or the run's bookkeeping, not an "
                f"uncertain parameter; it is never drawn from a prior. Set it in the scenario."
            )
        if not isinstance(body, dict):
            raise ScenarioError(f"{where} must be a table with dist, its parameters and why.")
        try:
            prior = Prior.model_validate(body)
        except ValidationError as err:
            first = err.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            msg = first["msg"].removeprefix("Value error, ")
            raise ScenarioError(
                f"{where}{'.' + loc if loc else ''}: {msg}. Families and their keys are listed "
                f"in docs/model.md (priors)."
            ) from None
        _check_in_range(where, key, prior, fields[key])
        out[key] = prior
    return PriorSet(out, (source,))


def _check_in_range(where: str, key: str, prior: Prior, field: Mapping[str, Any]) -> None:
    from society.scenario import Scenario

    kind = field["type"]
    if prior.dist != "levels" and kind not in ("float", "int"):
        raise ScenarioError(
            f"{where}: '{key}' is a {kind} field; give it dist = \"levels\" with its values."
        )
    lo, hi = prior.support()
    probes: list[Any] = list(prior.values or []) if prior.dist == "levels" else [lo, hi]
    probes = [p for p in probes if not (isinstance(p, float) and math.isinf(p))]
    if prior.dist != "levels" and (math.isinf(lo) or math.isinf(hi)) and field["range"] != "-":
        raise ScenarioError(
            f"{where}: {prior.describe()} is unbounded but '{key}' has range {field['range']}; "
            f"add low and high to truncate it."
        )
    section, _, name = key.rpartition(".")
    for probe in probes:
        value = _as_field(key, probe)
        try:
            Scenario.model_validate(_nested(section, name, value))
        except ValidationError:
            raise ScenarioError(
                f"{where}: the prior can give {value!r}, outside the range of '{key}' "
                f"({field['range']}, unit {field['unit']}); narrow the prior to fit."
            ) from None


def _nested(section: str, name: str, value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {name: value}
    for part in reversed(section.split(".")) if section else []:
        doc = {part: doc}
    return doc


def read_priors(paths: Iterable[str | Path]) -> PriorSet:
    """Read and validate prior files in order (a later file wins where two name a key).

    A bare name (``model``) means the shipped ``scenarios/priors/model.toml``.
    """
    from society.scenario_files import shipped_dir

    out = PriorSet({})
    for spec in paths:
        path = Path(spec)
        if not path.is_file() and path.parent == Path("."):
            shipped = shipped_dir() / "priors" / (path.stem + ".toml")
            if shipped.is_file():
                path = shipped
        if not path.is_file():
            names = ", ".join(p.stem for p in shipped_priors())
            raise ScenarioError(
                f"Prior file '{printable(spec)}' not found. Give the path of a prior TOML file "
                f"or a shipped name ({names}: scenarios/priors/)."
            )
        try:
            doc = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as err:
            raise ScenarioError(
                f"Prior file '{printable(path)}' cannot be read ({printable(err)}); fix its "
                f"TOML syntax."
            ) from None
        out = out.merged(priors_from_doc(doc, str(path)))
    return out


def shipped_priors() -> list[Path]:
    """The shipped prior files (``scenarios/priors/*.toml``), sorted by name."""
    from society.scenario_files import shipped_dir

    return sorted((shipped_dir() / "priors").glob("*.toml"))
