"""Reading scenarios: TOML files, shipped names, ``--set`` overrides, and clear error messages."""

from __future__ import annotations

import difflib
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from society.errors import ScenarioError, printable
from society.interventions import Intervention
from society.scenario import REMOVED_KEYS, Scenario, iter_fields
from society.text import BIDI_CONTROLS

_REPO_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
_PACKAGED_SCENARIOS = Path(__file__).resolve().parent / "_shipped_scenarios"
MAX_SCENARIO_BYTES = 16 * 2**20  # a scenario is a few kB; anything this large is a mistake


def shipped_dir() -> Path:
    """The folder holding the scenarios that ship with society (the repo's ``scenarios/``)."""
    return _REPO_SCENARIOS if _REPO_SCENARIOS.is_dir() else _PACKAGED_SCENARIOS


def list_shipped() -> list[tuple[str, Path, str]]:
    """``(name, path, question)`` of every shipped scenario, sorted by name."""
    out = []
    for path in sorted(shipped_dir().glob("*.toml")):
        try:
            question = str(tomllib.loads(path.read_text()).get("question", ""))
        except tomllib.TOMLDecodeError:
            question = "(unreadable)"
        out.append((path.stem, path, question))
    return out


def resolve_path(spec: str | Path) -> Path:
    """A scenario path from a file path or a shipped name (``baseline`` or ``baseline.toml``)."""
    path = Path(spec)
    try:
        if path.is_file():
            return path
        if path.is_dir():
            tomls = sorted(p.name for p in path.glob("*.toml"))[:5]
            inside = f" It holds {', '.join(tomls)}." if tomls else ""
            raise ScenarioError(
                f"'{printable(spec)}' is a directory, not a scenario file.{inside} Give the path "
                f"of one TOML file (e.g. {printable(path / (tomls[0] if tomls else 'my.toml'))}) "
                f"or a shipped name; `society scenarios` lists them. To read a finished run, use "
                f"`society report DIR` or `society.load(DIR)`."
            )
        shipped = shipped_dir() / (path.stem + ".toml")
        if path.parent == Path(".") and shipped.is_file():
            return shipped
    except OSError as err:  # e.g. a name too long for the file system
        raise ScenarioError(
            f"Scenario file {_show(str(spec))} cannot be used ({err.strerror}); give a path "
            f"to a TOML file or a shipped name (`society scenarios` lists them)."
        ) from None
    names = [name for name, _, _ in list_shipped()]
    hint = difflib.get_close_matches(path.stem, names, n=1)
    did_you_mean = f" Did you mean '{hint[0]}'?" if hint else ""
    raise ScenarioError(
        f"Scenario file '{printable(spec)}' not found.{did_you_mean} Give a path to a TOML "
        f"file or one of the shipped names ({', '.join(names)}); `society scenarios` lists them."
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path`` as TOML, turning syntax errors into a message naming file and line."""
    where = printable(path)
    try:
        if path.stat().st_size > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                f"{where}: {path.stat().st_size:,} bytes is too large for a scenario file "
                f"(at most {MAX_SCENARIO_BYTES:,}); a scenario is a short TOML file."
            )
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ScenarioError(
            f"{where}: arrays or tables are nested too deeply to read; a scenario needs at most "
            f"one level of [table] and flat lists."
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(
            f"{where}: TOML syntax error: {err}. Fix the file (a value needs quotes if it is "
            f"text; keys are written key = value)."
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{where}: not a UTF-8 text file; a scenario is a TOML file.") from None
    except OSError as err:
        raise ScenarioError(f"{where}: cannot be read ({err.strerror}).") from None


def keys_set_by(doc: Mapping[str, Any]) -> set[str]:
    """The dotted keys a scenario document sets itself: its stated conditions, which prior
    draws (``society ask --priors``, a sweep's replicate priors, the mechanism table) leave
    as written.

    >>> sorted(keys_set_by({"name": "x", "lab": {"tax": 0.5}, "population": {"size": 9}}))
    ['lab.tax', 'name', 'population.size']
    """

    def flat(d: Mapping[str, Any], prefix: str) -> set[str]:
        keys: set[str] = set()
        for k, v in d.items():
            keys |= flat(v, f"{prefix}{k}.") if isinstance(v, Mapping) else {f"{prefix}{k}"}
        return keys

    return flat(doc, "")


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``KEY=VALUE``; VALUE is read as a TOML value, or as text if it is not one.

    >>> parse_override("lab.tax=0.25")
    ('lab.tax', 0.25)
    >>> parse_override("name=rushed")
    ('name', 'rushed')
    """
    if not isinstance(text, str):
        raise ScenarioError(
            f"override {_show(text)} is not text; write overrides as 'KEY=VALUE' strings or as "
            f"a mapping {{'lab.tax': 0.25}}."
        )
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(
            f"--set '{printable(text)}' is not KEY=VALUE; write e.g. --set lab.tax=0.25 (dotted "
            f"key, value as in the TOML file)."
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ScenarioError(
            f"--set {printable(key)}: the value is nested too deeply; give a number, text, "
            f"true/false or a flat list."
        ) from None
    return key, value


def apply_overrides(doc: dict[str, Any], overrides: Mapping[str, Any] | Iterable[str]) -> None:
    """Set dotted keys in ``doc`` in place; unknown keys fail with a did-you-mean."""
    items = overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides)
    known = {f["key"] for f in iter_fields()}
    for key, value in items:
        if not isinstance(key, str):
            raise ScenarioError(
                f"override key {_show(key)} is not text; use a dotted key such as 'lab.tax'."
            )
        if key not in known:
            raise ScenarioError(f"--set {printable(key)}: {_unknown_key_text(key, known)}")
        node = doc
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ScenarioError(
                    f"--set {printable(key)}: '{printable(part)}' is not a table in the scenario."
                )
        node[leaf] = value


def load_scenario(
    source: str | Path | Scenario | Mapping[str, Any],
    *,
    seed: int | None = None,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
) -> Scenario:
    """Validate a scenario from a path, shipped name, mapping or :class:`Scenario`.

    ``seed`` and ``overrides`` (dotted keys, e.g. ``{"lab.tax": 0.25}`` or
    ``["lab.tax=0.25"]``) are applied before validation, so they are checked like the file.
    Raises :class:`~society.errors.ScenarioError` with a one-paragraph message.
    """
    origin = "scenario"
    if isinstance(source, Scenario):
        doc = source.model_dump()
    elif isinstance(source, Mapping):
        doc = _deep_copy(source)
    elif not isinstance(source, str | Path):
        raise ScenarioError(
            f"a scenario is a file path, shipped name, mapping or Scenario, not "
            f"{type(source).__name__} ({_show(source)})."
        )
    else:
        path = resolve_path(source)
        origin = printable(path)
        doc = read_toml(path)
        doc.setdefault("name", path.stem)
    given: dict[str, str] = {}  # key -> how the user gave it, when not in the file
    if overrides:
        apply_overrides(doc, overrides)
        if isinstance(overrides, Mapping):
            given.update({str(k): f"override {k}" for k in overrides})
        else:
            given.update({k: f"--set {k}" for k, _ in map(parse_override, overrides)})
    if seed is not None:
        doc["seed"] = seed
        given["seed"] = "--seed"
    try:
        return Scenario.model_validate(doc)
    except ValidationError as err:
        raise ScenarioError(format_validation_error(err, origin, given)) from None


def _deep_copy(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in doc.items()}


def format_validation_error(
    err: ValidationError, origin: str, given: Mapping[str, str] | None = None
) -> str:
    """One paragraph naming where each bad value came from (the file, or the ``--set``/``--seed``
    override in ``given``), each bad key, its value, and what is allowed."""
    given = given or {}
    errors = err.errors()
    keys = [_given_key(e, given) for e in errors]
    from_overrides = [k in given for k in keys]
    if all(from_overrides):
        lead = ", ".join(dict.fromkeys(given[k] for k in keys))
        fix = "Fix the override's value"
    else:
        lead = origin
        fix = "Fix the value in the file or override it with --set KEY=VALUE"
        if any(from_overrides):
            fix += " (the values marked with their --set/--seed came from the command line)"
    parts = _error_parts(errors, given if not all(from_overrides) else {})
    return f"{lead}: {' '.join(parts)} {fix}; `society check` shows every resolved field."


def _given_key(error: Any, given: Mapping[str, str]) -> str:
    """The key an error is about, as :func:`format_validation_error` attributes it: the field
    key of its location, or, for a rule a section checks (located at the section, e.g.
    ``record``), the overridden key under it whose name the rule's message gives."""
    key = _field_key(error["loc"])
    if key in given:
        return key
    message = str(error.get("msg", ""))
    named = [
        k
        for k in given
        if key
        and k.startswith(f"{key}.")
        and re.search(rf"\b{re.escape(k.rsplit('.', 1)[-1])}\b", message)
    ]
    return named[0] if len(named) == 1 else key


def _field_key(loc: tuple[Any, ...]) -> str:
    """The dotted field key of an error location, without list indices."""
    index = next((i for i, p in enumerate(loc) if isinstance(p, int)), None)
    return ".".join(str(p) for p in (loc if index is None else loc[:index]))


def _error_parts(errors: list[Any], given: Mapping[str, str]) -> list[str]:
    fields = {f["key"]: f for f in iter_fields()}
    known = set(fields)
    sections = {k.rsplit(".", 1)[0] for k in known if "." in k}
    parts = []
    for e in errors:
        if _given_key(e, given) in given:
            parts.append(f"({given[_given_key(e, given)]})")
        loc = e["loc"]
        key = ".".join(str(p) for p in loc)
        value = e.get("input")
        if loc and loc[0] == "interventions" and len(loc) > 2:
            # A bad item of an [[interventions]] entry: its index and key say which.
            where = f"interventions[{loc[1]}]." + ".".join(str(p) for p in loc[2:])
            message = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                allowed = ", ".join(Intervention.model_fields)
                parts.append(f"unknown key {where}; an intervention has the keys {allowed}.")
            else:
                parts.append(f"{where} = {_show(value)}: {message.rstrip('.')}.")
            continue
        if e["type"] == "extra_forbidden":
            parts.append(_unknown_key_text(key, known, loc))
            continue
        if e["type"] == "invalid_key":
            where = f"[{'.'.join(map(str, loc[:-1]))}]" if len(loc) > 1 else "the top level"
            parts.append(f"key {_show(loc[-1])} in {where} is not text; keys are names.")
            continue
        if e["type"] == "missing":
            parts.append(f"'{key}' is required.")
            continue
        if key in sections and e["type"] in {"model_type", "dict_type", "model_attributes_type"}:
            listing = ", ".join(
                k.rsplit(".", 1)[-1]
                for k in sorted(known)
                if k.startswith(key + ".") and "." not in k[len(key) + 1 :]
            )
            parts.append(
                f"{key} = {_show(value)} has the wrong type: expected a table [{key}] "
                f"with keys {listing}."
            )
            continue
        # An item of a list field, e.g. record.snapshot_days[1]: the field's key without indices.
        index = next((i for i, p in enumerate(loc) if isinstance(p, int)), None)
        if index is not None and index > 0:
            key = ".".join(str(p) for p in loc[:index])
            shown_key = key + "".join(f"[{p}]" for p in loc[index:])
        else:
            shown_key = key
        field = fields.get(key)
        if field is None:
            # A rule spanning several keys (a model validator): its message says which.
            message = str(e["msg"]).removeprefix("Value error, ")
            message = message.rstrip(".")
            parts.append(f"[{key or 'top level'}] {message}." if key else f"{message}.")
            continue
        shown = _show(value)
        allowed = (
            f"allowed range {field['range']}" if field["range"] != "-" else f"type {field['type']}"
        )
        unit = f" ({field['unit']})" if field["unit"] != "-" else ""
        if shown_key != key:  # an item of a list
            expected = str(e["msg"]).removeprefix("Input should be ").removeprefix("a valid ")
            parts.append(
                f"{shown_key} = {shown} is not allowed in {key} (expected {expected}); "
                f"{allowed}{unit}."
            )
        elif e["type"].endswith("_type") or e["type"] in {"literal_error", "finite_number"}:
            what = (
                "is not finite"
                if e["type"] == "finite_number"
                else f"has the wrong type: expected {field['type']}"
            )
            parts.append(f"{key} = {shown} {what}; {allowed}{unit}.")
        else:
            parts.append(f"{key} = {shown} is out of range; {allowed}{unit}.")
    return parts


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key_text(key: str, known: set[str], loc: tuple[Any, ...] | None = None) -> str:
    parts = [str(p) for p in loc] if loc else key.split(".")
    if loc and any("." in p for p in parts):
        # A quoted key such as "population.size" = 3 is one key with a dot in it, not a path.
        inside = f"[{'.'.join(parts[:-1])}]" if len(parts) > 1 else "the top level"
        return (
            f"unknown key '{printable(parts[-1])}' in {printable(inside)}: a quoted key with a "
            f"dot in it is a single name; write the table and key instead, e.g. [population] "
            f"then size = 100."
        )
    if ".".join(parts) in REMOVED_KEYS:
        return f"'{printable(key)}' is no longer a scenario field: {REMOVED_KEYS['.'.join(parts)]}."
    section = ".".join(parts[:-1])
    siblings = sorted(k for k in known if (k.rsplit(".", 1)[0] if "." in k else "") == section)
    candidates = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    hint = f" Did you mean '{candidates[0]}'?" if candidates else ""
    where = f"[{printable(section)}]" if section else "the top level"
    listing = ", ".join(s.rsplit(".", 1)[-1] for s in siblings) or "(none: it is not a section)"
    return f"unknown key '{printable(key)}'.{hint} Keys allowed in {where}: {listing}."


def scenario_to_toml(scenario: BaseModel) -> str:
    """Render a validated scenario as TOML (for `society check` and manifests)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in scenario.model_dump().items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif key == "interventions" and not value:
            continue  # none: nothing to write (the default)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            continue  # written as an array of tables below
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    arrays: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in list(scenario.model_dump().items()):
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            arrays.append((key, value))
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    for name, items in arrays:  # [[interventions]]: an array of tables, after the tables
        for item in items:
            lines.append(f"\n[[{name}]]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in item.items() if v is not None)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_toml_char(c) for c in value) + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table, e.g. an intervention's set
        pairs = (f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    return str(value)


def _toml_char(c: str) -> str:
    """One character of a TOML basic string: quotes and backslashes escaped, and control
    characters and bidi controls written as ``\\uXXXX`` (TOML forbids the former raw, and
    neither may reach a terminal that prints the text)."""
    if c in '"\\':
        return "\\" + c
    if c in BIDI_CONTROLS or unicodedata.category(c) == "Cc":
        return f"\\u{ord(c):04x}"
    return c


def fragment_overrides(path: str | Path) -> list[str]:
    """The ``KEY=VALUE`` overrides a scenario fragment (a TOML file of scenario tables) stands
    for, in file order; a :class:`~society.errors.ScenarioError` naming the file if it cannot be
    read."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(
            f"--set-file '{printable(str(path))}' is not a file; give the TOML fragment `society "
            f"calibrate` wrote (RUN_DIR/calibrated.toml by default)."
        )
    out: list[str] = []

    def walk(doc: dict[str, Any], prefix: str) -> None:
        for key, value in doc.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                out.append(f"{prefix}{key}={_toml_value(value)}")

    walk(read_toml(p), "")
    return out
