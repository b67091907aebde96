"""The playground's settings, turned into the sweep ``society ask`` would run for them.

The controls are the scenario schema's levers, the main uncertain assumptions and the horizon;
their units, ranges, defaults and help come from :func:`society.scenario.iter_fields` (one
source of truth). Settings travel as a flat mapping that is also the page's URL query (the
permalink): ``scenario``, ``seeds``, ``size``, ``priors`` and one entry per changed field.
"""

from __future__ import annotations

import math
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from society.errors import ScenarioError, printable
from society.priors import PriorSet, read_priors
from society.scenario import Scenario, iter_fields
from society.scenario_files import (
    list_shipped,
    load_scenario,
    parse_override,
    read_toml,
    scenario_to_toml,
    shipped_dir,
)
from society.sweeps.spec import Sweep, SweepError, build_sweep

#: The uncertain assumptions the page shows beside the levers (the rest keep the scenario's
#: values, or their priors' draws with "with priors").
MAIN_ASSUMPTIONS = (
    "knowledge.rate",
    "knowledge.difficulty",
    "capability.returns",
    "generations.decay",
    "hazards.loss_of_control",
    "rival.workforce_ratio",
    "population.initial_alignment",
    "hacking.seed_rate",
)
QUESTION_KEYS = ("days", "lab.lead_days")
DEFAULT_SEEDS = 8
DEFAULT_SIZE = 1000
MAX_SEEDS = 256
MAX_SIZE = 100_000
MAX_UPLOAD = 256 * 1024  # a scenario is a few kB
UPLOADED = "uploaded"


@cache
def controls() -> list[dict[str, Any]]:
    """Every control the page shows: the field's key, kind, unit, bounds, default, help."""
    fields = {f["key"]: f for f in iter_fields()}
    keys = [*QUESTION_KEYS, *(k for k, f in fields.items() if f["kind"] == "lever")]
    keys += [k for k in MAIN_ASSUMPTIONS if k not in keys]
    return [_control(fields[k]) for k in keys if fields[k]["type"] in ("float", "int")]


def _control(f: dict[str, Any]) -> dict[str, Any]:
    lo, hi = _bounds(f["range"])
    return {
        "key": f["key"],
        "kind": f["kind"],
        "type": f["type"],
        "unit": f["unit"],
        "range": f["range"],
        "min": lo,
        "max": hi,
        "default": _json_number(f["default"]),
        "help": f["description"],
    }


def _bounds(text: str) -> tuple[float | None, float | None]:
    """``[0, 100]`` or ``(0, inf)`` as numbers (``None`` where unbounded)."""
    if text == "-":
        return None, None
    lo, hi = (p.strip(" [](") for p in text.split(","))
    return (None if "inf" in lo else float(lo)), (None if "inf" in hi else float(hi))


def _json_number(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def shipped_names() -> list[tuple[str, str]]:
    return [(name, question) for name, _, question in list_shipped()]


@dataclass
class Settings:
    """What the page asks for."""

    scenario: str = "baseline"
    seeds: int = DEFAULT_SEEDS
    size: int = DEFAULT_SIZE
    priors: bool = False
    values: dict[str, Any] = field(default_factory=dict)  # changed fields only
    toml: str = ""  # an opened scenario file's text (scenario = "uploaded")

    @classmethod
    def from_query(cls, query: dict[str, str], toml: str = "") -> Settings:
        """Settings from the URL query / form (text values), checked; a ScenarioError says
        which one is wrong and how to fix it, as the CLI does."""
        known = {c["key"] for c in controls()}
        s = cls(toml=toml)
        for key, text in query.items():
            if key == "scenario":
                s.scenario = text
            elif key == "seeds":
                s.seeds = _int(key, text, 1, MAX_SEEDS)
            elif key == "size":
                s.size = _int(key, text, 2, MAX_SIZE)
            elif key == "priors":
                s.priors = text in ("1", "true", "on")
            elif key in known:
                s.values[key] = parse_override(f"{key}={text}")[1]
            else:
                raise ScenarioError(
                    f"'{printable(key)}' is not a setting of the playground; it shows "
                    f"scenario, seeds, size, priors and the fields listed on the page."
                )
        if s.scenario != UPLOADED and s.scenario not in {n for n, _ in shipped_names()}:
            names = ", ".join(n for n, _ in shipped_names())
            raise ScenarioError(
                f"scenario '{printable(s.scenario)}' is not a shipped scenario; pick one of "
                f"{names}, or open a TOML file."
            )
        if s.scenario == UPLOADED and not toml:
            raise ScenarioError("open a scenario TOML file first (or pick a shipped scenario).")
        return s

    def query(self) -> dict[str, str]:
        """The permalink's query (an opened file's values, not its text)."""
        q = {"scenario": self.scenario, "seeds": str(self.seeds), "size": str(self.size)}
        if self.priors:
            q["priors"] = "1"
        q.update({k: _text(v) for k, v in self.values.items()})
        return q

    def scenario_doc(self) -> dict[str, Any]:
        """The chosen scenario's document (as in its file)."""
        if self.scenario == UPLOADED:
            if len(self.toml.encode()) > MAX_UPLOAD:
                raise ScenarioError(
                    f"the opened file is larger than {MAX_UPLOAD // 1024} KiB; a scenario is a "
                    f"short TOML file."
                )
            try:
                doc = tomllib.loads(self.toml)
            except tomllib.TOMLDecodeError as err:
                raise ScenarioError(
                    f"the opened file: TOML syntax error: {err}. Fix the file (a value needs "
                    f"quotes if it is text; keys are written key = value)."
                ) from None
            doc.setdefault("name", "uploaded")
            return doc
        from society.scenario_files import resolve_path

        path = resolve_path(self.scenario)
        doc = read_toml(path)
        doc.setdefault("name", path.stem)
        return doc

    def overrides(self) -> list[str]:
        """The ``--set`` options (size included), in control order."""
        order = [c["key"] for c in controls()]
        sets = [f"{k}={_text(self.values[k])}" for k in order if k in self.values]
        return [*sets, f"population.size={self.size}"]

    def resolved(self) -> Scenario:
        """The scenario with the settings applied (a ScenarioError as the CLI gives it)."""
        return load_scenario(self.scenario_doc(), overrides=self.overrides())

    def prior_set(self) -> PriorSet:
        return read_priors([_model_prior_file()]) if self.priors else PriorSet({})

    def sweep(self) -> Sweep:
        """The sweep ``society ask`` runs for these settings: replicate r has seed
        ``replicate_seed(seed, r)`` and, with priors, prior draw r."""
        self.resolved()  # a bad value fails here, in the words of `society run --set`
        scenario_doc = self.scenario_doc()
        name = f"ask-{scenario_doc['name']}"
        doc: dict[str, Any] = {
            "scenario": self.scenario,
            "name": name,
            "question": str(scenario_doc.get("question", "")),
            "replicates": self.seeds,
            "set": dict(parse_override(o) for o in self.overrides()),
            "prior_block": self.seeds,
        }
        try:
            return build_sweep(
                doc,
                scenario_doc,
                source=self.scenario,
                default_name=name,
                replicate_priors=self.prior_set(),
                single_arm=True,
            )
        except SweepError as err:
            raise ScenarioError(str(err)) from None

    def file_name(self) -> str:
        """The exported scenario file's name."""
        name = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(self.resolved().name))
        return f"{name[:60] or 'scenario'}-playground.toml"

    def command(self, file: str | None = None) -> str:
        """The CLI command that reproduces the view: ``society ask`` on the exported scenario
        file (or, without one, the shipped name) with the page's seeds, size and changes."""
        target = file or (self.scenario if self.scenario != UPLOADED else "scenario.toml")
        parts = ["society", "ask", target, "--seeds", str(self.seeds), "--size", str(self.size)]
        for o in self.overrides()[:-1]:
            parts += ["--set", o]
        if self.priors:
            path = _model_prior_file()
            parts += ["--priors", str(path.relative_to(path.parents[2]))]
        return shlex.join(parts)

    def export_toml(self) -> str:
        """The resolved scenario with the settings, as a TOML file."""
        return scenario_to_toml(self.resolved())


def _int(key: str, text: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ScenarioError(
            f"{key} = '{printable(text)}' is not allowed; give a whole number in [{lo}, {hi}]."
        )
    return value


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return str(v)


def _model_prior_file() -> Path:
    """The prior file "with priors" draws from: the model's (``model.toml``), as the shipped
    answers do; the opt-in ``settings.toml`` is left to the command line."""
    return shipped_dir() / "priors" / "model.toml"
