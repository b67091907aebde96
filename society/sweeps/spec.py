"""Sweep files: their schema, their validation, and their expansion into points.

A sweep file names a scenario and the dotted scenario keys to vary, either as a full
factorial ``[grid]`` or as a sampled ``[sample]`` (Latin hypercube or Sobol for space filling,
Saltelli or Morris for sensitivity analysis: :mod:`society.sweeps.design`), or both (every grid
combination crossed with every space-filling sample). Each combination is an *arm*; each arm is
run ``replicates`` times. Replicate ``r`` uses the same seed at every arm (common random
numbers), so differences between arms are paired.

Everything is validated here, before any run starts: the file's own keys, the scenario, every
swept key (against :func:`society.scenario.iter_fields`, with a did-you-mean) and every arm's
resolved scenario (through :func:`society.scenario_files.load_scenario`).
"""

from __future__ import annotations

import difflib
import hashlib
import heapq
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from society.claims import Claim
from society.errors import ScenarioError, SocietyError
from society.priors import Prior, PriorSet, priors_from_doc, read_priors
from society.resources import (
    InsufficientMemoryError,
    available_memory_bytes,
    check_fits_in_memory,
    estimate_run_bytes,
)
from society.scenario import Scenario, iter_fields
from society.scenario_files import (
    _unknown_key_text,
    keys_set_by,
    load_scenario,
    parse_override,
    printable,
    read_toml,
    resolve_path,
)
from society.sweeps.design import STRUCTURED, Design
from society.tidy import column_name

#: Keys a sweep may not vary: the seed comes from the replicate, the name from the sweep.
RESERVED_KEYS = ("seed", "name", "question")


class SweepError(SocietyError):
    """A sweep file, sweep directory or sweep option that cannot be used (exit code 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SampleSpec(_Strict):
    """``[sample]``: sampled points over numeric ranges or priors of scenario fields."""

    method: Literal["lhs", "sobol", "saltelli", "morris", "oat"] = Field(
        description="Latin hypercube ('lhs'), 'sobol', 'saltelli' (Sobol indices), 'morris', or "
        "'oat' (one at a time: the medians, then each key alone at its 5% and 95% quantile)."
    )
    n: int = Field(
        ge=1,
        le=1_000_000,
        description="Arms (lhs, sobol); base sample N (saltelli: N (D + 2) arms, N (2D + 2) with "
        "second_order); trajectories r (morris: r (D + 1) arms).",
    )
    ranges: dict[str, list[float]] = Field(
        default_factory=dict, description="Dotted key -> [low, high] (a uniform prior)."
    )
    priors: list[str] | dict[str, dict[str, Any]] | None = Field(
        None,
        description="Prior files (paths relative to the sweep file, or shipped names) or inline "
        "priors by dotted key; each key is drawn from its prior.",
    )
    keys: list[str] | None = Field(
        None,
        description="Of the priors named, sample only these keys, e.g. the few that matter out "
        "of scenarios/priors/model.toml (default: every prior of the files named, except the "
        "fields the scenario file or [set] fixes: those are the conditions the sweep asks about).",
    )
    second_order: bool | None = Field(
        None, description="saltelli: also sample for second-order indices S2 (default false)."
    )
    levels: int | None = Field(None, description="morris: grid levels, even (default 4).")
    seed: int | None = Field(
        None, ge=0, description="Seed of the scrambled sampler (default: the sweep's seed)."
    )


class SweepSpec(_Strict):
    """The top level of a sweep file."""

    scenario: str = Field(description="Scenario path relative to this file, or a shipped name.")
    replicates: int = Field(1, ge=1, le=100_000, description="Seeds per arm.")
    name: str | None = Field(None, description="Sweep name (default: the file's stem).")
    question: str = Field("", description="The question the sweep answers.")
    seed: int | None = Field(
        None, ge=0, description="Base seed of the replicates (default: the scenario's seed)."
    )
    set: dict[str, Any] = Field(
        default_factory=dict, description="Fixed dotted-key overrides applied to every arm."
    )
    grid: dict[str, list[Any]] | None = Field(None, description="Dotted key -> list of values.")
    sample: SampleSpec | None = None
    reference: dict[str, Any] | None = Field(
        None, description="Arm used as reference for paired differences (default: the first)."
    )
    priors: list[str] | dict[str, Any] | None = Field(
        None,
        description="Prior files (paths relative to this file, or shipped names) or an inline "
        "[priors] table: replicate r draws the fields they cover (Latin hypercube), the same "
        "draw in every arm.",
    )
    prior_block: int | None = Field(
        None,
        ge=1,
        description="Draw the priors in Latin hypercube blocks of this many replicates "
        "(default: one block of all of them); adding whole blocks keeps the earlier draws.",
    )
    claim: dict[str, Any] | None = Field(
        None, description="The sweep's claim, as a scenario's [claim] (default: the scenario's)."
    )


@dataclass(frozen=True)
class Point:
    """One run of a sweep: an arm (a set of swept values) and a replicate (a seed)."""

    point_id: str
    arm: int
    replicate: int
    seed: int
    params: dict[str, Any]


@dataclass
class Sweep:
    """A validated, expanded sweep: everything needed to run it and to check a resume."""

    name: str
    source: str
    spec: dict[str, Any]
    scenario_doc: dict[str, Any]
    keys: list[str]
    arms: list[dict[str, Any]]
    scenarios: list[dict[str, Any]]
    seeds: list[int]
    reference_arm: int
    #: Each arm's estimated peak memory per run (:func:`society.resources.estimate_run_bytes`).
    arm_bytes: list[int] = field(default_factory=list)
    #: The sampled design (:meth:`society.sweeps.design.Design.record`), if the sweep samples.
    design: dict[str, Any] | None = None
    #: Prior draws per replicate (``{}`` each without priors): replicate r runs with draw r in
    #: every arm, so arms stay paired in their assumptions as in their seeds.
    draws: list[dict[str, Any]] = field(default_factory=list)
    #: The priors drawn from (the fields the sweep pins left out), and the files they came from.
    priors: PriorSet = field(default_factory=lambda: PriorSet({}))
    #: The claim the sweep answers per arm (its own [claim], else the scenario's; may be
    #: inactive).
    claim: Claim = field(default_factory=Claim)

    @property
    def drawn_keys(self) -> list[str]:
        """The fields drawn from priors, in prior order."""
        return self.priors.keys

    @property
    def columns(self) -> dict[str, str]:
        """Column name -> dotted key of every swept and drawn field (``lab__tax`` ->
        ``lab.tax``), as in points.parquet and the metrics partitions."""
        return {column_name(k): k for k in [*self.keys, *self.drawn_keys]}

    def values(self, point: Point) -> dict[str, Any]:
        """The point's swept and drawn values by column name."""
        drawn = self.draws[point.replicate] if self.draws else {}
        return {column_name(k): v for k, v in {**point.params, **drawn}.items()}

    @property
    def points(self) -> list[Point]:
        return [
            Point(point_id(k, r), k, r, self.seeds[r], params)
            for k, params in enumerate(self.arms)
            for r in range(len(self.seeds))
        ]

    def scenario_of(self, arm: int, replicate: int) -> dict[str, Any]:
        """The resolved scenario of a point: its arm's, with its replicate's draw and seed."""
        doc = dict(self.scenarios[arm])
        for key, value in (self.draws[replicate] if self.draws else {}).items():
            section, name = key.split(".", 1)
            doc[section] = {**doc[section], name: value}
        doc["seed"] = self.seeds[replicate]
        return doc

    def task(self, point: Point) -> dict[str, Any]:
        """What a worker needs to run ``point``: the resolved scenario with the point's seed
        (and its prior draw)."""
        return {
            "point_id": point.point_id,
            "arm": point.arm,
            "replicate": point.replicate,
            "scenario": self.scenario_of(point.arm, point.replicate),
        }

    def fingerprint(self) -> str:
        """A hash of everything that determines the results (to refuse mismatched resumes)."""
        parts: list[Any] = [self.seeds, self.scenarios]
        if any(self.draws):
            parts.append(self.draws)
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_manifest(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "spec": self.spec,
            "scenario_doc": self.scenario_doc,
            "keys": self.keys,
            "drawn_keys": self.drawn_keys,
            "columns": self.columns,
            "priors": priors_doc(self.priors),
            "prior_sources": list(self.priors.sources),
            "claim": self.claim.model_dump() if self.claim.active else None,
            "n_arms": len(self.arms),
            "replicates": len(self.seeds),
            "n_points": len(self.arms) * len(self.seeds),
            "seeds": self.seeds,
            "reference_arm": self.reference_arm,
            "design": self.design,
            "fingerprint": self.fingerprint(),
        }


def point_id(arm: int, replicate: int) -> str:
    """Zero-padded, so sorting ids sorts by arm, then replicate.

    >>> point_id(3, 12)
    'a000003-r00012'
    """
    return f"a{arm:06d}-r{replicate:05d}"


def replicate_seed(base: int, replicate: int) -> int:
    """The seed of replicate ``r``: a fixed function of the base seed and ``r`` only.

    >>> replicate_seed(0, 1) == replicate_seed(0, 1) != replicate_seed(0, 2)
    True
    """
    state = np.random.SeedSequence([base, replicate]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def load_sweep(
    path: str | Path,
    overrides: Iterable[str] = (),
    replicates: int | None = None,
    *,
    allow_llm: bool = False,
) -> Sweep:
    """Read, validate and expand a sweep file; raise :class:`SweepError` on any problem.

    ``overrides`` (``KEY=VALUE``, as ``society sweep --set``) are added to the file's ``[set]``
    and so apply to every point; ``replicates`` replaces the file's. Both scale a sweep down
    (or up) without editing it; a key the sweep varies cannot also be set.
    """
    path = Path(path)
    if not path.is_file():
        raise SweepError(
            f"Sweep file '{path}' not found. Give the path to a sweep TOML file, e.g. "
            f"scenarios/sweeps/lead_vs_tax.toml."
        )
    try:
        doc = read_toml(path)
    except ScenarioError as err:
        raise SweepError(str(err)) from None
    scenario_path = _scenario_path(path, doc.get("scenario"))
    try:
        scenario_doc = read_toml(scenario_path)
    except ScenarioError as err:
        raise SweepError(f"{path}: scenario = {doc.get('scenario')!r}: {err}") from None
    scenario_doc.setdefault("name", scenario_path.stem)
    priors = _sample_priors(doc.get("sample"), path.parent, str(path))
    _apply_command_line(doc, overrides, replicates, str(path), priors)
    drawn = _replicate_priors(doc.get("priors"), path)
    return build_sweep(
        doc,
        scenario_doc,
        source=str(path),
        default_name=path.stem,
        priors=priors,
        replicate_priors=drawn,
        allow_llm=allow_llm,
    )


def _sample_priors(sample: Any, base: Path | None, source: str) -> PriorSet | None:
    """The priors ``[sample] priors`` names: files (relative to ``base``, else a path from here
    or a shipped name) or inline tables by dotted key. ``None`` when it names none."""
    if not isinstance(sample, dict) or not sample.get("priors"):
        return None
    given = sample["priors"]
    try:
        if isinstance(given, dict):
            read = priors_from_doc({"priors": given}, f"{source}: [sample] priors")
        elif isinstance(given, list) and all(isinstance(g, str) for g in given):
            files = [
                base / g if base is not None and (base / g).is_file() else Path(g) for g in given
            ]
            read = read_priors(files)
        else:
            return None  # a wrong type: the spec's validation says so
    except ScenarioError as err:
        raise SweepError(
            f"{source}: [sample] priors: {err} Fix the prior or name another prior file."
        ) from None
    return _only_keys(read, sample.get("keys"), source)


def _only_keys(priors: PriorSet, keys: Any, source: str) -> PriorSet:
    """``priors`` restricted to ``[sample] keys`` (all of them when it is not given)."""
    if not isinstance(keys, list) or not keys:
        return priors
    missing = [k for k in keys if k not in priors.priors]
    if missing:
        raise SweepError(
            f"{source}: [sample] keys names {', '.join(map(str, missing))}, which the priors it "
            f"names do not hold; the priors give {', '.join(priors.keys)}."
        )
    return PriorSet({k: priors.priors[k] for k in keys}, priors.sources)


def _replicate_priors(spec: Any, path: Path) -> PriorSet | None:
    """The priors a sweep file names: files relative to it (or shipped names), or an inline
    ``[priors]`` table. ``None`` when it names none (or names them wrongly: the spec's own
    validation says how)."""
    try:
        if isinstance(spec, list) and all(isinstance(p, str) for p in spec):
            files = [path.parent / p if (path.parent / p).is_file() else Path(p) for p in spec]
            return read_priors(files)
        if isinstance(spec, dict):
            return priors_from_doc({"priors": spec}, f"{path} [priors]")
    except ScenarioError as err:
        raise SweepError(f"{path}: priors: {err}") from None
    return None


def _apply_command_line(
    doc: dict[str, Any],
    overrides: Iterable[str],
    replicates: int | None,
    source: str,
    priors: PriorSet | None = None,
) -> None:
    known = {f["key"]: f for f in iter_fields()}
    swept = set(doc.get("grid") or {}) | set((doc.get("sample") or {}).get("ranges") or {})
    swept |= set(priors.keys if priors is not None else [])
    sets = doc.setdefault("set", {})
    if not isinstance(sets, dict):
        return  # the file's own [set] is wrong: build_sweep says so
    for text in overrides:
        try:
            key, value = parse_override(text)
        except ScenarioError as err:
            raise SweepError(str(err)) from None
        if key in RESERVED_KEYS or key not in known:
            try:
                _check_key(key, known, source, "set")
            except SweepError as err:
                raise SweepError(
                    f"--set {key}: "
                    + str(err)
                    .split(": ", 1)[1]
                    .replace("[set] ", "")
                    .replace("Remove it from [set].", "Drop this --set.")
                ) from None
        if key in swept:
            raise SweepError(
                f"--set {key}: {source} varies {key} in its [grid] or [sample]; a key cannot be "
                f"both swept and set. Edit the sweep file's values instead."
            )
        sets[key] = value
    if replicates is not None:
        if replicates < 1:
            raise SweepError(f"--replicates {replicates}: give at least 1.")
        doc["replicates"] = replicates


def build_sweep(
    doc: dict[str, Any],
    scenario_doc: dict[str, Any],
    *,
    source: str,
    default_name: str,
    priors: PriorSet | None = None,
    replicate_priors: PriorSet | None = None,
    single_arm: bool = False,
    allow_llm: bool = False,
) -> Sweep:
    """Validate a parsed sweep document against its scenario and expand it.

    ``priors`` are the resolved ``[sample] priors``: each sampled arm is one point of them
    (:func:`load_sweep` reads the files, :func:`sweep_from_manifest` takes them from the
    manifest; without them, prior files are read relative to the working directory or as
    shipped names). ``replicate_priors`` are the sweep's top-level ``priors``: replicate r
    draws from them in every arm (an inline ``[priors]`` table is read here). ``single_arm``
    allows a sweep with neither [grid] nor [sample] (the one arm of ``society ask``); a sweep
    file may have one arm only if it draws from priors. ``allow_llm`` accepts LLM-backed arms
    (``society sweep --dry-run`` estimates what they would cost; a sweep runs stub societies
    only).
    """
    spec = _validate_spec(doc, source)
    drawn = replicate_priors
    if drawn is None and isinstance(spec.priors, dict):
        try:
            drawn = priors_from_doc({"priors": spec.priors}, f"{source} [priors]")
        except ScenarioError as err:
            raise SweepError(str(err)) from None
    elif drawn is None and spec.priors:
        raise SweepError(
            f"{source}: priors = {spec.priors!r} names prior files, which are read with the "
            f"sweep file (society.sweeps.spec.load_sweep); give the file, not its contents."
        )
    drawn = drawn or PriorSet({})
    known = {f["key"]: f for f in iter_fields()}
    for key in spec.set:
        _check_key(key, known, source, "set")
    grid = spec.grid
    if grid is not None:
        if not grid:
            raise SweepError(
                f"{source}: [grid] is empty. List at least one dotted scenario key with its "
                f'values, e.g. "lab.tax" = [0.0, 0.5, 1.0], or remove [grid] and use [sample].'
            )
        for key, values in grid.items():
            _check_key(key, known, source, "grid")
            if not values:
                raise SweepError(
                    f'{source}: [grid] "{key}" = [] has no values; give at least one, e.g. '
                    f'"{key}" = [{_example(known[key])}].'
                )
            if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
                raise SweepError(
                    f'{source}: [grid] "{key}" = {values!r} repeats a value; list each value once '
                    f"(use replicates for repeated runs)."
                )
    sample = spec.sample
    sampled = PriorSet({})
    if sample is not None:
        if priors is None:
            priors = _sample_priors(doc.get("sample"), None, source)
        if priors is not None and not sample.keys and not isinstance(sample.priors, dict):
            # A prior file's every prior is sampled, except what the sweep fixes ([set]) and
            # what its scenario file states: those are the conditions it asks about (as for
            # priors it draws). Named in [sample] keys or written inline, a key is sampled.
            priors = priors.without([*spec.set, *keys_set_by(scenario_doc)])
        sampled = _check_sample(sample, priors, known, source, set(grid or {}))
    if grid is None and sample is None and not (single_arm or len(drawn)):
        raise SweepError(
            f"{source}: nothing to sweep. Add a [grid] table of dotted scenario keys and value "
            f'lists (e.g. "lab.tax" = [0.0, 0.5]), a [sample] table (method, n, ranges), or '
            f"priors to draw from (one arm over the priors)."
        )
    for key in spec.set:
        if key in (grid or {}) or key in sampled.priors:
            raise SweepError(
                f'{source}: "{key}" is both fixed in [set] and swept; remove it from one of them.'
            )

    keys = list(grid or {}) + sampled.keys
    grid_arms = (
        [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
        if grid
        else [{}]
    )
    sample_arms: list[dict[str, Any]] = [{}]
    design = None
    if sample is not None:
        sample_arms, design = _sample_arms(sample, sampled, spec.seed or 0, source)
    raw_arms = [{**g, **s} for g in grid_arms for s in sample_arms]

    base_seed = spec.seed if spec.seed is not None else int(scenario_doc.get("seed", 0))
    seeds = [replicate_seed(base_seed, r) for r in range(spec.replicates)]
    arms: list[dict[str, Any]] = []
    scenarios: list[dict[str, Any]] = []
    arm_bytes: list[int] = []
    for k, params in enumerate(raw_arms):
        try:
            scenario = load_scenario(scenario_doc, seed=seeds[0], overrides={**spec.set, **params})
        except ScenarioError as err:
            problem = str(err).removeprefix("scenario: ").partition(" Fix the ")[0]
            raise SweepError(
                f"{source}: arm {k} ({_shown_params(params)}) is not a valid scenario: "
                f"{problem} Fix the values in the sweep file ([grid], [sample] ranges or [set])."
            ) from None
        if scenario.llm.fraction > 0 and not allow_llm:
            raise SweepError(
                f"{source}: arm {k} has llm.fraction = {scenario.llm.fraction} (from the "
                f"scenario or the sweep file), but sweeps run stub societies only: each "
                f"LLM-backed run needs its own endpoint check, budget and response cache. Set "
                f"llm.fraction = 0 in the sweep's [set], or run LLM-backed scenarios one at a "
                f"time with `society run`."
            )
        arm_bytes.append(estimate_run_bytes(scenario))
        dumped = scenario.model_dump()
        # Store the values the scenario resolved to (e.g. 7 -> 7.0 for a float field), so a
        # column of points.parquet has one type.
        arms.append({key: _lookup(dumped, key) for key in params})
        scenarios.append(dumped)

    reference_arm = _reference_arm(spec.reference, arms, keys, known, source)
    # What the sweep pins (its [set], --set, the grid, the sample) and what its scenario file
    # states are never drawn: a scenario's own fields are the conditions it asks about.
    drawn = drawn.without([*spec.set, *keys, *keys_set_by(scenario_doc)])
    draws = prior_draws(drawn, spec.replicates, spec.prior_block or spec.replicates, base_seed)
    if len(drawn):
        _check_draws(scenarios, arms, draws, source)
    sweep = Sweep(
        name=spec.name or default_name,
        source=source,
        spec=spec.model_dump(),
        scenario_doc=scenario_doc,
        keys=keys,
        arms=arms,
        scenarios=scenarios,
        seeds=seeds,
        reference_arm=reference_arm,
        arm_bytes=arm_bytes,
        design=design,
        draws=draws if len(drawn) else [],
        priors=drawn,
        claim=_claim(spec.claim, scenarios[0], source),
    )
    return sweep


def prior_draws(priors: PriorSet, n: int, block: int, base_seed: int) -> list[dict[str, Any]]:
    """The prior draws of replicates ``0 .. n-1``: Latin hypercubes of ``block`` draws each,
    block ``b`` seeded by the base seed and ``b`` alone, so that adding whole blocks of
    replicates keeps every earlier draw (``society ask --until-decided`` adds them in batches).

    >>> prior_draws(PriorSet({}), 3, 3, 0)
    [{}, {}, {}]
    """
    if not len(priors):
        return [{} for _ in range(n)]
    out: list[dict[str, Any]] = []
    for b in range(-(-n // block)):
        seed = int(np.random.SeedSequence([base_seed, 0x5052494F52, b]).generate_state(1)[0])
        out += priors.draw(block, seed=seed)[: n - b * block]
    return out


def _check_draws(
    scenarios: list[dict[str, Any]],
    arms: list[dict[str, Any]],
    draws: list[dict[str, Any]],
    source: str,
) -> None:
    """Every arm with every draw must be a valid scenario (a prior is checked against its
    field's range when read; this catches rules across fields, e.g. role shares summing past
    1)."""
    for k, scenario in enumerate(scenarios):
        for r, draw in enumerate(draws):
            doc = dict(scenario)
            for key, value in draw.items():
                section, name = key.split(".", 1)
                doc[section] = {**doc[section], name: value}
            try:
                Scenario.model_validate(doc)
            except ValidationError as err:
                from society.scenario_files import format_validation_error

                shown = ", ".join(f"{key} = {value!r}" for key, value in draw.items())
                problem = format_validation_error(err, "scenario").removeprefix("scenario: ")
                raise SweepError(
                    f"{source}: replicate {r} of arm {k} draws {shown} from the priors, which "
                    f"is not a valid scenario: {problem.partition(' Fix the ')[0]} Narrow the "
                    f"priors, or pin one of these fields in the sweep's [set] (or --set)."
                ) from None


def _claim(given: dict[str, Any] | None, scenario: dict[str, Any], source: str) -> Claim:
    """The sweep's [claim] if it has one, else its scenario's."""
    if given is None:
        return Claim.model_validate(scenario.get("claim", {}))
    try:
        return Claim.model_validate(given)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise SweepError(
            f"{source}: [claim]{' ' + where if where else ''}: {msg}. A claim is outcome (or "
            f'metric, metric_op and threshold), op and p, e.g. outcome = "safe", op = ">=", '
            f"p = 0.9."
        ) from None


def priors_doc(priors: PriorSet) -> dict[str, Any]:
    """``priors`` as an inline ``[priors]`` table (what a manifest stores to rebuild them)."""
    return {
        key: prior.model_dump(by_alias=True, exclude_none=True)
        for key, prior in priors.priors.items()
    }


def check_memory(sweep: Sweep, concurrent: int = 1, available: int | None = None) -> None:
    """Raise :class:`SweepError` unless every point of ``sweep`` fits in this machine's memory
    on its own, and the ``concurrent`` largest together (the runs in flight at once), before
    any worker starts; ``available`` defaults to
    :func:`society.resources.available_memory_bytes` (unknown: the check passes).

    A single run too large for the machine is refused (``society run``); so is the same
    point in a sweep, which would otherwise start workers that grow until the OOM killer
    ends them.
    """
    have = available_memory_bytes() if available is None else available
    if have is None or not sweep.arm_bytes:
        return
    for k, need in enumerate(sweep.arm_bytes):
        if need > have:
            scenario = Scenario.model_validate(sweep.scenarios[k])
            try:
                check_fits_in_memory(scenario, have)
            except InsufficientMemoryError as err:
                raise SweepError(
                    f"{sweep.source}: arm {k} ({_shown_params(sweep.arms[k])}; points "
                    f"{point_id(k, 0)} to {point_id(k, len(sweep.seeds) - 1)}) would not fit in "
                    f"memory: {err} Change the arm in the sweep file ([grid], [sample] ranges "
                    f"or [set]); nothing was run."
                ) from None
    # The points in flight at once: the largest arms, each as often as it has replicates.
    largest = heapq.nlargest(concurrent, (b for b in sweep.arm_bytes for _ in sweep.seeds))
    together = sum(largest)
    if concurrent > 1 and together > have:
        fit = max(n for n in range(1, len(largest) + 1) if sum(largest[:n]) <= have)  # >= 1
        raise SweepError(
            f"{sweep.source}: {len(largest)} runs at once (one per worker) would need about "
            f"{together / 1e9:.1f} GB of memory together, but this machine has "
            f"{have / 1e9:.1f} GB available (the largest arm alone needs about "
            f"{largest[0] / 1e9:.1f} GB). Run fewer at once with --workers {fit}, or lower "
            f"population.size or network.mean_degree; nothing was run."
        )


def _shown_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{key} = {value!r}" for key, value in params.items()) or "no swept keys"


def sweep_from_manifest(manifest: dict[str, Any], source: str) -> Sweep:
    """Rebuild a sweep from what a sweep directory's manifest recorded (for ``--resume``)."""
    info = manifest.get("sweep")
    if not isinstance(info, dict) or "spec" not in info or "scenario_doc" not in info:
        raise SweepError(
            f"{source}: manifest.json does not describe a sweep; give a directory written by "
            f"`society sweep`."
        )
    spec = {k: v for k, v in info["spec"].items() if v is not None}
    if spec.get("sample"):
        spec["sample"] = {k: v for k, v in spec["sample"].items() if v is not None}
    # The priors the sweep was drawn from, as read when it started (the files may have moved).
    design = info.get("design")
    priors = None
    if isinstance(design, dict) and spec.get("sample", {}).get("priors"):
        ranges = spec["sample"].get("ranges") or {}
        priors = PriorSet(
            {
                k: Prior.model_validate(v)
                for k, v in design["priors"].items()
                if k not in ranges  # the design lists a range as its uniform prior
            },
            (source,),
        )
    drawn = None
    if "priors" in info:  # as drawn: the files named may have changed or moved since
        try:
            stored = (
                priors_from_doc({"priors": info["priors"]}, f"{source} (sweep.priors)").priors
                if info["priors"]
                else {}
            )
        except ScenarioError as err:
            raise SweepError(str(err)) from None
        drawn = PriorSet(stored, tuple(info.get("prior_sources") or ()))
    return build_sweep(
        spec,
        info["scenario_doc"],
        source=source,
        default_name=info["name"],
        priors=priors,
        replicate_priors=drawn,
        single_arm=True,
    )


def _validate_spec(doc: dict[str, Any], source: str) -> SweepSpec:
    try:
        return SweepSpec.model_validate(doc)
    except ValidationError as err:
        parts = []
        if any(e["loc"][:1] == ("priors",) for e in err.errors()):  # one union, several errors
            given = _show(doc.get("priors"))
            parts.append(
                f"priors = {given} must be a list of prior files (paths relative to this file, "
                f'e.g. priors = ["../priors/model.toml"]) or [priors."section.field"] tables.'
            )
        allowed = {
            "": list(SweepSpec.model_fields),
            "sample": list(SampleSpec.model_fields),
        }
        for e in err.errors():
            if e["loc"][:1] == ("priors",):
                continue
            loc = [str(p) for p in e["loc"]]
            key = printable(".".join(loc))  # keys are user input: keep the message one line
            if e["type"] == "extra_forbidden":
                section = "sample" if loc[0] == "sample" else ""
                names = allowed[section]
                hint = difflib.get_close_matches(loc[-1], names, n=1)
                mean = f" Did you mean '{hint[0]}'?" if hint else ""
                where = "[sample]" if section else "the top level of a sweep file"
                if not section and "." in loc[-1]:
                    mean += ' Swept keys go in [grid] (e.g. "lab.tax" = [0.0, 0.5]).'
                parts.append(
                    f"unknown key '{key}'.{mean} Keys allowed in {where}: {', '.join(names)}."
                )
            elif e["type"] == "missing":
                parts.append(f"'{key}' is required.")
            else:
                parts.append(f"{key} = {_show(e.get('input'))}: {e['msg']}.")
        raise SweepError(
            f"{source}: {' '.join(parts)} A sweep file has scenario, replicates, optional seed, "
            f"name, question, [set], [grid], [sample], reference, priors, prior_block and "
            f"[claim]; see scenarios/sweeps/lead_vs_tax.toml and docs/sweeps.md."
        ) from None


def _check_key(key: str, known: dict[str, dict[str, Any]], source: str, table: str) -> None:
    if key in RESERVED_KEYS:
        what = "replicates and the sweep's seed" if key == "seed" else "the sweep"
        raise SweepError(
            f'{source}: [{table}] "{key}" cannot be swept or set: it is chosen by {what}. '
            f"Remove it from [{table}]."
        )
    if key not in known:
        raise SweepError(
            f'{source}: [{table}] "{key}" is not a scenario field: '
            f"{_unknown_key_text(key, set(known))} `society fields` lists every dotted key."
        )


def _check_sample(
    sample: SampleSpec,
    priors: PriorSet | None,
    known: dict[str, dict[str, Any]],
    source: str,
    grid_keys: set[str],
) -> PriorSet:
    """Check ``[sample]`` and return the priors its keys are drawn from (a range is uniform)."""
    if not sample.ranges and not sample.priors:
        raise SweepError(
            f"{source}: [sample] has neither ranges nor priors; give one, e.g. ranges = {{ "
            f'"lab.tax" = [0.0, 2.0] }} or priors = ["my_priors.toml"].'
        )
    for key, bounds in sample.ranges.items():
        _check_key(key, known, source, "sample.ranges")
        if known[key]["type"] not in {"int", "float"}:
            raise SweepError(
                f'{source}: [sample] ranges "{key}": the field has type {known[key]["type"]}; '
                f"only int and float fields can be sampled. Put it in [grid] instead."
            )
        if len(bounds) != 2 or not bounds[0] < bounds[1] or not all(map(math.isfinite, bounds)):
            raise SweepError(
                f'{source}: [sample] ranges "{key}" = {bounds!r} must be [low, high] with '
                f"low < high, both finite."
            )
    drawn = priors if priors is not None else PriorSet({})
    for key in drawn.keys:
        if key in sample.ranges:
            raise SweepError(
                f'{source}: "{key}" has both a [sample] range and a prior; keep one of them.'
            )
    uniform = {
        key: Prior.model_validate(
            {"dist": "uniform", "low": lo, "high": hi, "why": "range in the sweep's [sample]"}
        )
        for key, (lo, hi) in sample.ranges.items()
    }
    sampled = PriorSet(uniform).merged(drawn)
    for key in sampled.keys:
        if key in grid_keys:
            raise SweepError(
                f'{source}: "{key}" is in both [grid] and [sample]; vary it in one only.'
            )
    if grid_keys and sample.method in STRUCTURED:
        raise SweepError(
            f'{source}: [sample] method = "{sample.method}" cannot be crossed with [grid] '
            f"({', '.join(sorted(grid_keys))}): its arms form one design whose order its "
            f"estimator reads. Give those keys a prior or range in [sample] too, or run one "
            f"sweep per grid value (fix them in [set])."
        )
    design = _design(sample, sampled, 0)
    problems = design.problems()
    if problems:
        raise SweepError(f"{source}: [sample] {'; '.join(problems)}.")
    return sampled


def _design(sample: SampleSpec, priors: PriorSet, default_seed: int) -> Design:
    return Design(
        method=sample.method,
        n=sample.n,
        keys=tuple(priors.keys),
        seed=sample.seed if sample.seed is not None else default_seed,
        second_order=bool(sample.second_order),
        levels=sample.levels,
    )


def _sample_arms(
    sample: SampleSpec, priors: PriorSet, default_seed: int, source: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The arms of the design, in its row order, and the design's manifest record."""
    design = _design(sample, priors, default_seed)
    unit = design.unit()
    dumped = {k: p.model_dump(by_alias=True, exclude_none=True) for k, p in priors.priors.items()}
    return priors.at(unit), design.record(unit, dumped)


def _reference_arm(
    reference: dict[str, Any] | None,
    arms: list[dict[str, Any]],
    keys: list[str],
    known: dict[str, dict[str, Any]],
    source: str,
) -> int:
    if reference is None:
        return 0
    for key in reference:
        if key not in keys:
            raise SweepError(
                f'{source}: reference "{key}" is not a swept key; the reference arm is given by '
                f"values of the swept keys ({', '.join(keys)})."
            )
    want = {k: reference[k] for k in keys if k in reference}
    matches = [
        k for k, arm in enumerate(arms) if all(_same(arm[key], v) for key, v in want.items())
    ]
    if len(matches) != 1:
        what = "no arm" if not matches else f"{len(matches)} arms"
        raise SweepError(
            f"{source}: reference = {reference!r} matches {what}; give one value for each swept "
            f"key ({', '.join(keys)}) that appears in [grid]."
        )
    return matches[0]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _lookup(doc: dict[str, Any], key: str) -> Any:
    node: Any = doc
    for part in key.split("."):
        node = node[part]
    return node


def _example(field: dict[str, Any]) -> str:
    default = field["default"]
    return json.dumps(default) if not isinstance(default, bool) else str(default).lower()


def _show(value: Any) -> str:
    return printable(repr(value), limit=60)


def _scenario_path(sweep_path: Path, spec: Any) -> Path:
    if not isinstance(spec, str) or not spec:
        raise SweepError(
            f"{sweep_path}: 'scenario' is required and must be text: a scenario path relative to "
            f'the sweep file (e.g. scenario = "../tiny.toml") or a shipped name (e.g. "baseline").'
        )
    relative = sweep_path.parent / spec
    if relative.is_file():
        return relative
    try:
        return resolve_path(spec)
    except ScenarioError as err:
        raise SweepError(
            f"{sweep_path}: scenario = {spec!r}: not found relative to the sweep file "
            f"({relative}) nor as a shipped name. {err}"
        ) from None


__all__ = [
    "Point",
    "Sweep",
    "SweepError",
    "SweepSpec",
    "build_sweep",
    "load_sweep",
    "point_id",
    "replicate_seed",
    "sweep_from_manifest",
]
