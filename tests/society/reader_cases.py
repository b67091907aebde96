"""Crafted run and sweep directories for the reader fuzz (``test_fuzz.py``).

Each case copies a real run or sweep directory and damages one or two of its files the ways a
disk, a crash or a hostile user does: cut short, overwritten with garbage or emptied, a JSON
value of the wrong type, a key or a column dropped, renamed or of another type, nesting far
too deep, a file replaced by a directory or a dangling link. Cases are generated from their
number alone (``random.Random(number)``), so a failing case is rebuilt exactly by its number.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

JSON_VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1.5, math.nan, math.inf, "", "x", "[/]", "\x1b[31m\u202e",
    [], [1, "a"], {}, {"a": {"b": None}}, "2026-01-01", -1e308,
]  # fmt: skip
DTYPES = [pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Null, pl.Int8, pl.List(pl.Int64)]


@dataclass(frozen=True)
class Case:
    """One crafted directory: what it was made from and what was done to it."""

    number: int
    kind: str  # "run", "llm_run" or "sweep"
    path: Path
    damage: tuple[str, ...]

    def __str__(self) -> str:
        return f"case {self.number} ({self.kind}): {'; '.join(self.damage)}"


def craft(number: int, bases: dict[str, Path], root: Path) -> Case:
    """Case ``number``: a copy of one of ``bases`` (by kind) under ``root``, damaged."""
    rng = random.Random(number)
    kind = rng.choice(sorted(bases))
    path = root / f"case-{number:04d}"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(bases[kind], path, symlinks=True)
    files = _targets(path)
    damage = []
    for _ in range(1 if rng.random() < 0.8 else 2):
        target = rng.choice(files)
        if not target.is_file():  # gone, a directory or a link by an earlier damage
            continue
        damage.append(f"{target.relative_to(path)}: {_damage(target, rng)}")
    return Case(number, kind, path, tuple(damage))


def _targets(path: Path) -> list[Path]:
    """The files a reader may read, the important ones several times over."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".parquet"))
    core = [p for p in files if p.name in ("manifest.json", "summary.json", "points.parquet")]
    tables = [p for p in files if p.parent == path and p.suffix == ".parquet"]
    return files + core * 3 + tables


def _damage(target: Path, rng: random.Random) -> str:
    generic: list[tuple[str, Callable[[Path, random.Random], str]]] = [
        ("truncate", _truncate),
        ("garbage", _garbage),
        ("empty", _empty),
        ("directory", _directory),
        ("dangling", _dangling),
        ("delete", _delete),
    ]
    specific = _JSON_DAMAGE if target.suffix == ".json" else _TABLE_DAMAGE
    # Mostly damage that keeps the file readable, so the checks behind the parser are reached.
    choices = generic + specific * 4
    name, damage = rng.choice(choices)
    try:
        return f"{name} {damage(target, rng)}".strip()
    except (OSError, ValueError, RecursionError, pl.exceptions.PolarsError):
        # Damaged already (two damages drawn for one file): cut it short instead.
        return f"truncate {_truncate(target, rng)}"


# -- any file --------------------------------------------------------------------------------


def _truncate(path: Path, rng: random.Random) -> str:
    data = path.read_bytes()
    cut = rng.randrange(0, max(1, len(data)))
    path.write_bytes(data[:cut])
    return f"at {cut} of {len(data)} bytes"


def _garbage(path: Path, rng: random.Random) -> str:
    data = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 16)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        data = bytearray(rng.randbytes(rng.randint(0, 4096)))
    path.write_bytes(bytes(data))
    return ""


def _empty(path: Path, rng: random.Random) -> str:
    path.write_bytes(b"")
    return ""


def _directory(path: Path, rng: random.Random) -> str:
    path.unlink()
    path.mkdir()
    (path / "inner.parquet").write_bytes(b"PAR1")
    return ""


def _dangling(path: Path, rng: random.Random) -> str:
    path.unlink()
    path.symlink_to(path.with_name("nowhere-" + path.name))
    return ""


def _delete(path: Path, rng: random.Random) -> str:
    path.unlink()
    return ""


# -- JSON ------------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _write(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, allow_nan=True))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in ``doc`` (dict keys and list indices)."""
    found: list[tuple[Any, ...]] = []
    items = (
        doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    )
    for key, value in items:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return found


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _json_wrong_type(path: Path, rng: random.Random) -> str:
    doc = _load(path)
    keys = _paths(doc)
    if not keys:
        return ""
    # Top-level keys half the time: those are what readers index first.
    top = [k for k in keys if len(k) == 1]
    where = rng.choice(top if top and rng.random() < 0.5 else keys)
    value = rng.choice(JSON_VALUES)
    _at(doc, where[:-1])[where[-1]] = value
    _write(path, doc)
    return f"{'.'.join(map(str, where))} = {value!r}"


def _json_drop_key(path: Path, rng: random.Random) -> str:
    doc = _load(path)
    keys = [k for k in _paths(doc) if isinstance(_at(doc, k[:-1]), dict)]
    if not keys:
        return ""
    top = [k for k in keys if len(k) == 1]
    where = rng.choice(top if top and rng.random() < 0.6 else keys)
    del _at(doc, where[:-1])[where[-1]]
    _write(path, doc)
    return ".".join(map(str, where))


def _json_top_type(path: Path, rng: random.Random) -> str:
    value = rng.choice([[], [1, 2], 3, "text", None, True])
    _write(path, value)
    return repr(value)


def _json_deep(path: Path, rng: random.Random) -> str:
    depth = rng.choice([5_000, 100_000])
    doc = _load(path)
    text = "[" * depth + "]" * depth
    if isinstance(doc, dict) and doc and rng.random() < 0.5:
        key = rng.choice(sorted(doc))
        body = json.dumps({k: v for k, v in doc.items() if k != key}, allow_nan=True)
        path.write_text(body[:-1] + (", " if len(body) > 2 else "") + f'"{key}": {text}}}')
        return f"{key} nested {depth} deep"
    path.write_text(text)
    return f"{depth} deep"


def _json_not_utf8(path: Path, rng: random.Random) -> str:
    data = path.read_bytes()
    at = rng.randrange(0, max(1, len(data)))
    path.write_bytes(data[:at] + b"\xff\xfe" + data[at:])
    return f"at {at}"


_JSON_DAMAGE: list[tuple[str, Callable[[Path, random.Random], str]]] = [
    ("wrong type", _json_wrong_type),
    ("wrong type", _json_wrong_type),
    ("drop key", _json_drop_key),
    ("drop key", _json_drop_key),
    ("top type", _json_top_type),
    ("deep", _json_deep),
    ("not utf-8", _json_not_utf8),
]


# -- Parquet ---------------------------------------------------------------------------------


def _table_drop_column(path: Path, rng: random.Random) -> str:
    frame = pl.read_parquet(path)
    if not frame.columns:
        return ""
    name = rng.choice(frame.columns)
    frame.drop(name).write_parquet(path)
    return name


def _table_retype(path: Path, rng: random.Random) -> str:
    frame = pl.read_parquet(path)
    if not frame.columns:
        return ""
    name = rng.choice(frame.columns)
    dtype = rng.choice(DTYPES)
    if dtype == pl.Null:
        column = pl.lit(None).alias(name)
    elif isinstance(dtype, pl.List):
        column = pl.lit([1, 2], dtype=dtype).alias(name)
    else:
        column = pl.col(name).cast(dtype, strict=False)
    frame.with_columns(column).write_parquet(path)
    return f"{name} as {dtype}"


def _table_rename(path: Path, rng: random.Random) -> str:
    frame = pl.read_parquet(path)
    if not frame.columns:
        return ""
    name = rng.choice(frame.columns)
    new = rng.choice(["x", "[/]", f"{name}_old", "day" if name != "day" else "days"])
    if new in frame.columns:
        frame = frame.drop(new)
    frame.rename({name: new}).write_parquet(path)
    return f"{name} -> {new}"


def _table_no_rows(path: Path, rng: random.Random) -> str:
    pl.read_parquet(path).clear().write_parquet(path)
    return ""


def _table_nulls(path: Path, rng: random.Random) -> str:
    frame = pl.read_parquet(path)
    if not frame.columns or frame.height == 0:
        return ""
    name = rng.choice(frame.columns)
    value: Any = None
    if frame[name].dtype.is_float():
        value = rng.choice([None, math.nan, math.inf, -1e308])
    elif frame[name].dtype == pl.String:
        value = rng.choice([None, "", "[/]", "{not json", "\x1b[31m", "x" * 10_000])
    elif frame[name].dtype.is_integer():
        value = rng.choice([None, -1, 0, 2**31 - 1])
    frame.with_columns(pl.lit(value, dtype=frame[name].dtype).alias(name)).write_parquet(path)
    return f"{name} = {value!r:.20}"


def _table_not_a_table(path: Path, rng: random.Random) -> str:
    path.write_text(json.dumps({"rows": [1, 2, 3]}))
    return ""


_TABLE_DAMAGE: list[tuple[str, Callable[[Path, random.Random], str]]] = [
    ("drop column", _table_drop_column),
    ("drop column", _table_drop_column),
    ("retype", _table_retype),
    ("retype", _table_retype),
    ("rename", _table_rename),
    ("no rows", _table_no_rows),
    ("values", _table_nulls),
    ("not parquet", _table_not_a_table),
]
