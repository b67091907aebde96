"""Will a run fit in memory? An estimate from the scenario, checked before anything runs.

The estimate is calibrated against measured peak RSS (``benchmarks/memory.py``): the state
arrays and the temporaries of one day's kernels per instance, the edge list, CSR views and the
temporaries of building them per link, the network snapshots (kept in memory, then concatenated
once at the end) and the metric rows. It errs on the high side.

>>> from society.scenario_files import load_scenario
>>> round(estimate_run_bytes(load_scenario("baseline")) / 1e6)
24
"""

from __future__ import annotations

import os
from pathlib import Path

from society.errors import SocietyError
from society.scenario import Scenario

# Calibrated with benchmarks/memory.py (peak RSS of 3-day runs, 10k-300k instances, mean
# degree 8-100, 3-32 claims, 2-5 snapshots): measured about 240 B per instance (3 claims),
# 40 B per extra claim and 101 B per link. The constants below put the estimate 1.06-1.5x
# above every measured point, so a run that passes the check is not cut short by its size.
BYTES_PER_INSTANCE = 150  # state arrays (about 110 B) plus one day's temporaries
BYTES_PER_INSTANCE_CLAIM = 40  # beliefs (n x m float64) and their update temporaries
BYTES_PER_LINK = 95  # edge list, CSR + reading matrix, rows, and construction temporaries
SNAPSHOT_BYTES_PER_INSTANCE = 40  # day, node, opinion, alignment, role, hacking
SNAPSHOT_BYTES_PER_LINK = 8  # day, u, v (partly shared with the live edge list)
BYTES_PER_METRIC_ROW = 4_500  # one dict of ~60 Python floats per recorded day
FIXED_BYTES = 8 * 2**20  # the run store, parquet writers, small buffers


class InsufficientMemoryError(SocietyError):
    """A scenario whose run would need more memory than the machine has available."""


def estimate_run_bytes(scenario: Scenario) -> int:
    """Peak bytes a run of ``scenario`` is expected to add to the process (stub policy)."""
    n = scenario.population.size
    links = n * scenario.network.mean_degree // 2
    days = scenario.days
    snapshots = len({d for d in scenario.record.snapshot_days if 0 <= d <= days} | {days})
    rows = days // scenario.record.every_days + 2
    return int(
        n * (BYTES_PER_INSTANCE + BYTES_PER_INSTANCE_CLAIM * scenario.beliefs.claims)
        + links * BYTES_PER_LINK
        + snapshots * (n * SNAPSHOT_BYTES_PER_INSTANCE + links * SNAPSHOT_BYTES_PER_LINK)
        + rows * BYTES_PER_METRIC_ROW
        + FIXED_BYTES
    )


def available_memory_bytes() -> int | None:
    """Memory available to a new allocation: ``MemAvailable`` from ``/proc/meminfo``, else free
    physical pages from ``os.sysconf``; ``None`` if neither can be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def check_fits_in_memory(scenario: Scenario, available: int | None = None) -> int:
    """Raise :class:`InsufficientMemoryError` if the run would not fit; return the estimate.

    ``available`` defaults to :func:`available_memory_bytes`; the check passes when that is
    unknown.
    """
    need = estimate_run_bytes(scenario)
    have = available_memory_bytes() if available is None else available
    if have is not None and need > have:
        n, k = scenario.population.size, scenario.network.mean_degree
        raise InsufficientMemoryError(
            f"population.size = {n:,} with network.mean_degree = {k} would need about "
            f"{need / 1e9:.1f} GB of memory, but this machine has {have / 1e9:.1f} GB "
            f"available. Lower population.size or network.mean_degree (memory grows with "
            f"size x mean_degree), or run on a larger machine."
        )
    return need
