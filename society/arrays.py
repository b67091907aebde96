"""Small array reductions without numpy's Python-level wrappers.

``ndarray.mean()`` spends 15-30 microseconds in Python (argument checks, dtype promotion,
counting the items) before and after one C reduction, and a day of a 1,000-instance run calls
it twenty-odd times. :func:`mean` does the same reduction and the same division, so it gives
the same bits.
"""

from __future__ import annotations

import math

import numpy as np


def mean(x: np.ndarray) -> float:
    """``float(x.mean())``: the same sum (numpy's pairwise ``add.reduce`` over every element,
    or the count of a boolean array, exact) divided by the size; NaN for an empty array.

    >>> mean(np.array([0.1, 0.2, 0.4])) == float(np.array([0.1, 0.2, 0.4]).mean())
    True
    >>> mean(np.array([True, False, False, True]))
    0.5
    """
    n = x.size
    if n == 0:
        return math.nan
    if x.dtype == np.bool_:
        return int(np.count_nonzero(x)) / n
    if x.dtype == np.float64:
        return float(np.add.reduce(x, axis=None)) / n
    return float(x.mean())
