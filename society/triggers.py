"""Trigger conditions of interventions: a tiny comparison language over metric columns.

A trigger is written as text in a scenario (``when = "incidents_uncaught > 5"``), so it is
user input: it is read by the hand-written tokenizer and recursive-descent parser below into a
small tree of comparisons, never handed to ``eval``. The grammar::

    expr    := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | "(" expr ")" | compare
    compare := operand OP operand          OP: < <= > >= == !=
    operand := NAME | NUMBER               NAME: a metric column; NUMBER: 5, -0.5, 1e-3

A comparison with NaN (a metric undefined that day) is false, as in IEEE arithmetic.

>>> t = parse("incidents > 5 and not (deference <= 0.1)", {"incidents", "deference"})
>>> t.evaluate({"incidents": 6, "deference": 0.5}), t.evaluate({"incidents": 6, "deference": 0.0})
(True, False)
>>> parse("lead_days < ", {"lead_days"})
Traceback (most recent call last):
...
society.triggers.TriggerError: expected a metric name or a number at the end of 'lead_days < '
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 500  # a trigger is a line; anything longer is a mistake (and bounds the parser)
MAX_DEPTH = 20  # nesting of parentheses and "not"

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|==|!=|<|>)|(?P<punct>[()\-]))"
)
_WORDS = {"and", "or", "not"}


class TriggerError(ValueError):
    """A trigger that cannot be read; the message says where and what was expected."""


@dataclass(frozen=True)
class Compare:
    left: str | float
    op: str
    right: str | float

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        a, b = _value(self.left, row), _value(self.right, row)
        if math.isnan(a) or math.isnan(b):
            return False
        return _OPS[self.op](a, b)


@dataclass(frozen=True)
class Not:
    inner: Node

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        return not self.inner.evaluate(row)


@dataclass(frozen=True)
class Both:
    op: str  # "and" or "or"
    left: Node
    right: Node

    def evaluate(self, row: Mapping[str, Any]) -> bool:
        if self.op == "and":
            return self.left.evaluate(row) and self.right.evaluate(row)
        return self.left.evaluate(row) or self.right.evaluate(row)


Node = Compare | Not | Both


def _value(operand: str | float, row: Mapping[str, Any]) -> float:
    if isinstance(operand, str):
        v = row.get(operand)
        return math.nan if v is None else float(v)
    return operand


def names(node: Node) -> set[str]:
    """The metric columns a trigger reads."""
    if isinstance(node, Compare):
        return {x for x in (node.left, node.right) if isinstance(x, str)}
    if isinstance(node, Not):
        return names(node.inner)
    return names(node.left) | names(node.right)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise TriggerError(
                f"unexpected character {text[start]!r} at position {start + 1} of {text!r}; a "
                f"trigger compares metric columns and numbers with < <= > >= == != and joins "
                f"comparisons with and, or, not and parentheses"
            )
        group = m.lastgroup or ""
        value, kind = m.group(group), group
        if kind == "name" and value in _WORDS:
            kind = "word"
        out.append((kind, value, m.start(group)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, allowed: Collection[str]) -> None:
        self.text, self.allowed = text, allowed
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def where(self) -> str:
        tok = self.peek()
        if tok is None:
            return f"at the end of {self.text!r}"
        return f"at position {tok[2] + 1} of {self.text!r}"

    def expr(self) -> Node:
        node = self.conj()
        while (tok := self.peek()) and tok[:2] == ("word", "or"):
            self.i += 1
            node = Both("or", node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.unary()
        while (tok := self.peek()) and tok[:2] == ("word", "and"):
            self.i += 1
            node = Both("and", node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TriggerError(f"{self.text!r} nests more than {MAX_DEPTH} levels deep")
        try:
            tok = self.peek()
            if tok and tok[:2] == ("word", "not"):
                self.i += 1
                return Not(self.unary())
            if tok and tok[:2] == ("punct", "("):
                self.i += 1
                node = self.expr()
                close = self.peek()
                if not close or close[:2] != ("punct", ")"):
                    raise TriggerError(f"expected ')' {self.where()}")
                self.i += 1
                return node
            left = self.operand()
            op = self.peek()
            if not op or op[0] != "op":
                raise TriggerError(
                    f"expected a comparison (< <= > >= == !=) {self.where()}; a trigger is "
                    f"e.g. 'incidents_uncaught > 5'"
                )
            self.i += 1
            return Compare(left, op[1], self.operand())
        finally:
            self.depth -= 1

    def operand(self) -> str | float:
        tok = self.peek()
        sign = 1.0
        if tok and tok[:2] == ("punct", "-"):
            self.i += 1
            sign, tok = -1.0, self.peek()
            if not tok or tok[0] != "num":
                raise TriggerError(f"expected a number after '-' {self.where()}")
        if tok and tok[0] == "num":
            self.i += 1
            value = sign * float(tok[1])
            if not math.isfinite(value):
                raise TriggerError(f"{tok[1]!r} in {self.text!r} is not a finite number")
            return value
        if tok and tok[0] == "name":
            if tok[1] not in self.allowed:
                words = sorted(tok[1].split("_"))  # the same words in another order first
                close = [a for a in sorted(self.allowed) if sorted(a.split("_")) == words]
                close += difflib.get_close_matches(tok[1], sorted(self.allowed), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise TriggerError(
                    f"'{tok[1]}' in {self.text!r} is not a metric column.{hint} A trigger reads "
                    f"the columns of metrics.parquet (e.g. incidents_uncaught, deference, "
                    f"lead_days, alignment_mean: `society fields --metrics` lists them)"
                )
            self.i += 1
            return tok[1]
        raise TriggerError(f"expected a metric name or a number {self.where()}")


def parse(text: str, allowed: Collection[str]) -> Node:
    """The trigger ``text`` as a tree; a :class:`TriggerError` saying what is wrong and where."""
    if not text.strip():
        raise TriggerError("the trigger is empty; write e.g. 'incidents_uncaught > 5'")
    if len(text) > MAX_LENGTH:
        raise TriggerError(f"the trigger is {len(text)} characters long (at most {MAX_LENGTH})")
    p = _Parser(text, allowed)
    node = p.expr()
    if p.peek() is not None:
        raise TriggerError(f"unexpected {p.peek()[1]!r} {p.where()}")  # type: ignore[index]
    return node
