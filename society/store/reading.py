"""Reading what a run or a sweep wrote, as untrusted input.

A file in a run or sweep directory may be cut short by a full disk, damaged, or crafted. Every
reader reads through here: a file that cannot be parsed, or whose content is not what the
writer writes (a JSON object whose values have the right types; a Parquet table whose columns
have the right types), is a :class:`~society.errors.RunDirectoryError` naming the file and what
is wrong with it, never a traceback from a parser or from the code that uses the values.

Columns and keys a reader can do without (written by older versions, or not at all) may be
missing; those present must have their type. Extra columns and keys are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from society.errors import RunDirectoryError, printable

__all__ = [
    "JSON_BOOL",
    "JSON_INT",
    "JSON_LIST",
    "JSON_NUMBER",
    "JSON_OBJECT",
    "JSON_STR",
    "RERUN",
    "check_values",
    "read_json",
    "read_table",
    "readable_scenario",
    "unreadable",
]

RERUN = "Rerun the scenario to recreate it."
"""The fix for a damaged run file: what was computed is gone, the inputs are not."""

# What a JSON value may be, by the Python types ``json.loads`` gives (``bool`` is never an
# ``int`` here, although Python says it is).
JSON_BOOL: tuple[type, ...] = (bool,)
JSON_INT: tuple[type, ...] = (int,)
JSON_NUMBER: tuple[type, ...] = (int, float)
JSON_STR: tuple[type, ...] = (str,)
JSON_LIST: tuple[type, ...] = (list,)
JSON_OBJECT: tuple[type, ...] = (dict,)
_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "text", list: "a list",
          dict: "an object", type(None): "null"}  # fmt: skip


def unreadable(path: str | Path, problem: str, fix: str = RERUN) -> RunDirectoryError:
    """The error for a file a reader cannot use: ``'PATH' cannot be read: PROBLEM. FIX``."""
    return RunDirectoryError(f"'{printable(path)}' cannot be read: {problem}. {fix}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return _NAMES.get(type(value), type(value).__name__)


def read_json(path: str | Path, fix: str = RERUN) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises
    ------
    RunDirectoryError
        When the file cannot be read, is not UTF-8 JSON, is nested too deeply to parse, or
        holds something other than an object.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_bytes().decode("utf-8"))
    except OSError as err:
        raise unreadable(p, err.strerror or type(err).__name__, fix) from None
    except UnicodeDecodeError:
        raise unreadable(p, "it is not UTF-8 text", fix) from None
    except RecursionError:
        raise unreadable(p, "its JSON is nested too deeply to read", fix) from None
    except ValueError as err:
        raise unreadable(p, f"it is not valid JSON ({printable(err, 80)})", fix) from None
    if not isinstance(data, dict):
        raise unreadable(p, f"it holds {_kind(data)} where a JSON object belongs", fix)
    return data


def check_values(
    data: Mapping[str, Any],
    types: Mapping[str, tuple[type, ...]],
    path: str | Path,
    *,
    required: Iterable[str] = (),
    nullable: Iterable[str] = (),
    where: str = "",
    fix: str = RERUN,
) -> None:
    """Check that ``data`` (read from ``path``) has every key of ``required`` and that each
    key of ``types`` present holds a value of one of its types (or null, for ``nullable``
    keys). ``where`` prefixes the key in the message (``sweep.`` for a nested object).

    Raises
    ------
    RunDirectoryError
    """
    for key in required:
        if key not in data:
            raise unreadable(path, f"key '{where}{key}' is missing", fix)
    allow_null = set(nullable)
    for key, allowed in types.items():
        if key not in data:
            continue
        value = data[key]
        if value is None and key in allow_null:
            continue
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if not ok:
            wanted = " or ".join(dict.fromkeys(_NAMES[t] for t in allowed))
            raise unreadable(
                path,
                f"'{where}{key}' is {_kind(value)} ({printable(value, 40)}), not {wanted}",
                fix,
            )


def _compatible(have: pl.DataType, want: pl.DataType) -> bool:
    """Whether a column of type ``have`` can stand for one of type ``want`` (numbers for
    numbers, an all-null column for anything)."""
    if have in (want, pl.Null):
        return True
    return have.is_numeric() and want.is_numeric()


def read_table(
    path: str | Path,
    schema: Mapping[str, Any],
    *,
    required: Iterable[str] = (),
    complete: Iterable[str] = (),
    fix: str = RERUN,
) -> pl.DataFrame:
    """The Parquet table in ``path``, its columns of ``schema`` cast to their types.

    Raises
    ------
    RunDirectoryError
        When the file cannot be read as Parquet, lacks a column of ``required``, has a column
        of ``schema`` of another kind (text for a number, ...), or has a null in a column of
        ``complete``.
    """
    p = Path(path)
    if p.is_dir():
        raise unreadable(p, "it is a directory, not a Parquet file", fix)
    try:
        frame = pl.read_parquet(p)
    except OSError as err:
        raise unreadable(p, err.strerror or type(err).__name__, fix) from None
    except (pl.exceptions.PolarsError, ValueError, pl.exceptions.PanicException) as err:
        detail = printable(str(err).splitlines()[0] if str(err) else type(err).__name__, 100)
        raise unreadable(p, f"it is not a readable Parquet table ({detail})", fix) from None
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise unreadable(p, f"column '{printable(missing[0])}' is missing", fix)
    casts = []
    for name, dtype in schema.items():
        if name not in frame.columns:
            continue
        want = dtype() if isinstance(dtype, type) else dtype
        have = frame.schema[name]
        if have == want:
            continue
        if not _compatible(have, want):
            raise unreadable(p, f"column '{name}' holds {have}, not {want}", fix)
        casts.append(pl.col(name).cast(want, strict=False))
    frame = frame.with_columns(casts) if casts else frame
    for name in complete:
        if name in frame.columns and frame[name].null_count():
            raise unreadable(p, f"column '{name}' has empty (null) values", fix)
    return check_frame(frame, p, fix=fix)


def check_frame(frame: pl.DataFrame, path: str | Path, *, fix: str = RERUN) -> pl.DataFrame:
    """``frame`` (read from ``path``) if every column is a scalar the readers can show:
    numbers, text, true/false or dates, not lists or structures they would choke on."""
    for name, dtype in frame.schema.items():
        if dtype.is_nested() or dtype in (pl.Object, pl.Binary):
            raise unreadable(path, f"column '{printable(name, 40)}' holds {dtype} values", fix)
    return frame


def readable_scenario(doc: Any) -> dict[str, Any]:
    """A stored scenario as the readers use it: ``doc`` itself if this version of society
    accepts it, else the defaults with each of ``doc``'s values whose type agrees with its
    default's (an older version's scenario, or a damaged one, still shows what it can).

    >>> s = readable_scenario({"days": "many", "lab": {"tax": 0.25}, "old_key": 3})
    >>> s["days"], s["lab"]["tax"], s["old_key"]
    (1095, 0.25, 3)
    """
    from pydantic import ValidationError

    from society.scenario import Scenario

    try:
        Scenario.model_validate(doc)
    except (ValidationError, TypeError, ValueError, RecursionError):
        return _typed_merge(Scenario().model_dump(), doc if isinstance(doc, dict) else {})
    return dict(doc)


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    if isinstance(default, list):
        return isinstance(value, list) and all(_same_kind(0, v) for v in value)
    return isinstance(value, type(default))


def _typed_merge(defaults: dict[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in doc.items():
        if key not in defaults:
            # A key of an older version: kept if it is a plain value, for the record.
            if isinstance(key, str) and (value is None or isinstance(value, str | int | float)):
                out[key] = value
            continue
        default = defaults[key]
        if isinstance(default, dict):
            if isinstance(value, Mapping):
                out[key] = _typed_merge(default, value)
        elif _same_kind(default, value):
            out[key] = value
    return out
