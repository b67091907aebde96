"""Imported once by the sweep engines' fork server, before it forks any worker.

Workers then start with society imported and the fused kernels loaded (:mod:`society.fusion`):
each would otherwise pay about a second for numba on its first run, and small runs would keep
the slower numpy forms. Results are the same bits either way.
"""

from __future__ import annotations

import society.sweeps.engines  # noqa: F401  (what every worker runs)
from society.fusion import use_everywhere

use_everywhere()
