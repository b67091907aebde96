"""The registry of validation cases: a case is a function ``(quick, rng) -> CaseResult``.

Its own module so that case modules (``society.validation``, ``society.validation_ask``) register
into one place without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CaseResult:
    """One row of the suite (without its run time)."""

    model: str
    parameters: str
    reference: str
    measured: float
    tolerance: str
    passed: bool


CaseFn = Callable[[bool, np.random.Generator], CaseResult]
CASES: dict[str, CaseFn] = {}


def _case(name: str) -> Callable[[CaseFn], CaseFn]:
    def register(fn: CaseFn) -> CaseFn:
        CASES[name] = fn
        return fn

    return register
