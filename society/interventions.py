"""Interventions: changes to a running scenario, on a day or when a trigger fires.

A scenario may list ``[[interventions]]``::

    [[interventions]]
    day = 90
    set = { "lab.tax" = 1.0 }

    [[interventions]]
    when = "incidents_uncaught > 20"
    set = { "lab.deference" = 0.0, "deference.rise_per_day" = 0.0 }

Each fires once: a ``day`` intervention at the end of that day, a ``when`` intervention at the
end of the first day whose metrics row satisfies its trigger (:mod:`society.triggers`; rows
are recorded every ``record.every_days``). Either way it acts after the day's metrics row and
before the day's checkpoint, so the row shows the day as it was, the next day runs under the
change, and a resume re-applies what fired. Each firing is an ``intervention`` event in
``events.parquet``.

``set`` names scenario fields the engine reads while it runs (levers and uncertain
assumptions, except those read only when a run starts: :func:`refusal`) and two keys of the
lab's state:

* ``lab.tax``: the tax lever, and the lab's tax now (pressure and advice move it from there);
* ``lab.deference``: the lab's deference now (its earned trust too); with
  ``deference.rise_per_day = 0`` it stays there: deference paused.

``reseed`` draws every random number after the intervention from a new seed (a fork's branch
seed, :mod:`society.forks`).

This module is the schema and its checks (the scenario schema imports it);
:mod:`society.intervening` fires them in a running model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from society.triggers import Node, TriggerError, parse

#: Keys of the lab's state an intervention may set, beside scenario fields.
STATE_KEYS = {
    "lab.deference": "the lab's deference now, in [0, 1] (its earned trust too)",
}
#: Sections read only when a run starts (the population and graph drawn, the arrival processes
#: bounded) or that are not the model's to change (the question, recording, plumbing).
START_ONLY_SECTIONS = {
    "population": "the population is drawn when the run starts",
    "network": "the graph is built when the run starts",
    "risks": "the arrival processes of risks are set up when the run starts",
}
#: Single fields read only at the start.
START_ONLY_KEYS = {
    "deference.initial": "it is the deference at the start; set lab.deference instead",
    "knowledge.initial": "it is the knowledge at the start",
    "beliefs.initial_sd": "beliefs are drawn when the run starts",
    "revolt.threshold_mean": "thresholds are drawn when the run starts",
    "revolt.threshold_sd": "thresholds are drawn when the run starts",
    "rival.initial_deference": "it is the rival's deference at the start",
    "rival.initial_alignment": "it is the rival's alignment at the start",
    "tests.every_days": "the test clock is set when the run starts",
    "strategy.advice_every_days": "the advice clock is set when the run starts",
}
CHANGEABLE_KINDS = ("lever", "uncertain")


class Intervention(BaseModel):
    """``[[interventions]]``: one change to the running scenario."""

    # inf is a value some levers take (strategy.slowdown_tax); each set value is checked
    # against its field by check_interventions.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, validate_default=True, allow_inf_nan=True
    )

    day: int | None = Field(
        None, ge=1, le=36500, description="Day at whose end the change is made (or give when)."
    )
    when: str = Field(
        "",
        description="Trigger over metric columns, e.g. 'incidents_uncaught > 20': the change is "
        "made at the end of the first recorded day it holds (or give day).",
    )
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted scenario keys (levers, uncertain assumptions) or lab.deference, "
        "with their new values.",
    )
    reseed: int | None = Field(
        None,
        ge=0,
        le=2**63 - 1,
        description="Draw the randomness after the change from this seed (a fork's branch).",
    )
    label: str = Field("", description="A name for the change, shown in events and reports.")

    def trigger(self) -> Node | None:
        return parse(self.when, metric_names()) if self.when else None


@cache
def metric_names() -> frozenset[str]:
    from society.metric_columns import METRIC_COLUMNS

    return frozenset(METRIC_COLUMNS)


#: The scenario's fields by dotted key, as :func:`society.scenario.iter_fields` lists them.
Fields = Mapping[str, dict[str, Any]]


class Planned(Protocol):
    """What the checks read of a scenario. The scenario schema imports this module and hands
    itself, its field table and its validator in, so this module never imports it back."""

    days: int
    interventions: list[Intervention]

    def model_dump(self, *, exclude: set[str]) -> dict[str, Any]: ...


def refusal(key: str, fields: Fields) -> str | None:
    """Why ``key`` cannot be set by an intervention, or None if it can."""
    if key in STATE_KEYS:
        return None
    field = fields.get(key)
    if field is None:
        import difflib

        close = difflib.get_close_matches(key, [*fields, *STATE_KEYS], n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"is not a scenario field.{hint}"
    section = key.split(".", maxsplit=1)[0]
    if section in START_ONLY_SECTIONS:
        return f"cannot change during a run ({START_ONLY_SECTIONS[section]})."
    if key in START_ONLY_KEYS:
        return f"cannot change during a run ({START_ONLY_KEYS[key]})."
    if field["kind"] not in CHANGEABLE_KINDS:
        return (
            f"is a {field['kind']} field, not a lever or an uncertain assumption; interventions "
            f"change what the lab does or what is assumed, not the question or the settings."
        )
    return None


def check_interventions(
    scenario: Planned, fields: Fields, validate: Callable[[dict[str, Any]], object]
) -> None:
    """Raise ``ValueError`` (one sentence per problem) if an intervention cannot be used:
    ``fields`` is the scenario's field table, ``validate`` its schema's validator (the document
    an intervention makes must be a valid scenario)."""
    problems = []
    for i, item in enumerate(scenario.interventions):
        where = f"interventions[{i}]"
        if (item.day is None) == (not item.when):
            problems.append(
                f'{where} needs either day = N or when = "<metric> <op> <value>" (one of the '
                f'two; e.g. day = 90 or when = "incidents_uncaught > 20")'
            )
        if item.day is not None and item.day > scenario.days:
            horizon = scenario.days
            problems.append(f"{where}.day = {item.day} is after the horizon (days = {horizon})")
        if item.when:
            try:
                item.trigger()
            except TriggerError as err:
                problems.append(f"{where}.when: {err}")
        if not item.set and item.reseed is None:
            example = 'set = { "lab.tax" = 1.0 }'
            problems.append(f"{where} changes nothing; give {example} or the like")
        for key, value in item.set.items():
            why = refusal(key, fields)
            if not isinstance(value, bool | int | float | str):
                problems.append(
                    f"{where}.set: '{key}' = {value!r} is not a number, true/false or text"
                )
            elif why is not None:
                problems.append(f"{where}.set: '{key}' {why}")
            elif key in STATE_KEYS and not (
                isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
            ):
                problems.append(
                    f"{where}.set: lab.deference = {value!r} must be a number in [0, 1]"
                )
        if problems:
            continue
        changes = scenario_changes(item)
        if changes:
            doc = with_changes(scenario, changes)
            try:
                validate(doc)
            except ValidationError as err:
                for e in err.errors():
                    key = ".".join(str(p) for p in e["loc"])
                    msg = str(e["msg"]).removeprefix("Value error, ")
                    field = fields.get(key)
                    allowed = f"; allowed range {field['range']}" if field else ""
                    problems.append(f"{where}.set: {key} = {e.get('input')!r}: {msg}{allowed}")
    if problems:
        raise ValueError("; ".join(problems))


def scenario_changes(item: Intervention) -> dict[str, Any]:
    return {k: v for k, v in item.set.items() if k not in STATE_KEYS}


def with_changes(scenario: Planned, changes: dict[str, Any]) -> dict[str, Any]:
    """The scenario's document with ``changes`` (dotted keys) made; interventions left out (a
    changed scenario is validated without re-checking them)."""
    doc = scenario.model_dump(exclude={"interventions"})
    for key, value in changes.items():
        node = doc
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        # A whole number for a float field: TOML's 1 for 1.0 is what the user meant.
        whole = isinstance(value, int) and not isinstance(value, bool)
        node[leaf] = float(value) if whole and isinstance(node.get(leaf), float) else value
    return doc
