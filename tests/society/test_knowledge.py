"""Version 3's stocks: capability, knowledge against difficulty, protection, the ceiling, and
the knowledge map's basin (checked against the map itself on a dense grid)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from society.mechanisms.generations import (
    basin_interval,
    basin_roots,
    faithfulness,
    knowledge_return,
    trained_alignment,
)
from society.mechanisms.knowledge import (
    apply_knowledge,
    capability_level,
    ceiling,
    knowledge_step,
    margin,
    protection,
)
from society.scenario import Capability, Knowledge


def grid_basin(
    rho: float, delta: float, top: float, erosion: float, hack: float, floor: float = 0.0
):
    """The basin read off the map on a 100,001-point grid: where the net gain turns positive,
    and where it next turns negative."""
    a = np.linspace(0.0, 1.0, 100_001)
    gain = trained_alignment(np.clip(a - erosion, 0, 1), rho, delta, top, floor) - hack - a
    up = np.flatnonzero((gain[:-1] <= 0) & (gain[1:] > 0))
    if up.size == 0:
        return None
    i = int(up[0])
    down = np.flatnonzero((gain[i + 1 : -1] > 0) & (gain[i + 2 :] <= 0))
    return float(a[i + 1]), float(a[i + 2 + down[0]]) if down.size else 1.0


@pytest.mark.parametrize("floored", [False, True])
def test_basin_interval_matches_the_map_on_random_parameters(floored: bool) -> None:
    """Exact basin against the map on a dense grid; with a faithfulness floor the basin also
    lies above the floor and within the basin without it."""
    rng = np.random.default_rng(7 if floored else 2026)
    found = 0
    for _ in range(400):
        rho, delta, top = rng.uniform(0, 3), rng.uniform(0, 0.5), rng.uniform(0.3, 1)
        erosion = rng.uniform(0, 0.05) * (rng.random() < 0.7)
        hack = rng.uniform(0, 0.05) * (rng.random() < 0.5)
        floor = rng.uniform(0.05, 0.8) if floored else 0.0
        exact = basin_interval(rho, delta, top, erosion=erosion, hack_loss=hack, floor=floor)
        dense = grid_basin(rho, delta, top, erosion, hack, floor)
        assert (exact is None) == (dense is None), (rho, delta, top, erosion, hack, floor)
        if exact is not None and dense is not None:
            found += 1
            assert exact == pytest.approx(dense, abs=2e-5)
            if floored:
                assert exact[0] > floor
                # A floor can only narrow the basin: faithfulness is below alignment above it.
                without = basin_interval(rho, delta, top, erosion=erosion, hack_loss=hack)
                assert without is not None and without[0] <= exact[0] + 1e-12
    assert found > (50 if floored else 100)  # the draws exercise basins, not only their absence


def test_no_fix_takes_at_or_below_the_faithfulness_floor() -> None:
    alignment = np.array([0.3, 0.6, 0.8, 1.0])
    anchor = alignment.copy()
    apply_knowledge(anchor, alignment, top=1.0, rate=0.01, dt=1.0, floor=0.6)
    assert anchor[0] == 0.3 and anchor[1] == 0.6  # at or below the floor: untouched
    assert anchor[2] == pytest.approx(0.8 - np.expm1(-0.01 * 0.5) * 0.2)
    plain = alignment.copy()
    apply_knowledge(plain, alignment, top=1.0, rate=0.01, dt=1.0)
    assert plain[0] > 0.3  # without a floor a model takes fixes in proportion to alignment
    assert faithfulness(alignment, 0.0).tolist() == alignment.tolist()


def test_version_1_map_is_the_special_case_without_a_ceiling() -> None:
    edge, top = basin_roots(knowledge_return(1.0, 0.8), 0.1, 1.0)
    assert edge == pytest.approx(0.1 / 0.4) and top == pytest.approx(1.0)


def test_more_knowledge_widens_the_basin_and_raises_its_top() -> None:
    k = Knowledge()
    intervals = [
        basin_interval(knowledge_return(m, 0.95), 0.0775, ceiling(m, k)) for m in (0.7, 1, 3, 10)
    ]
    assert intervals[0] is None or intervals[0][0] > intervals[1][0]
    edges = [i[0] for i in intervals if i is not None]
    tops = [i[1] for i in intervals if i is not None]
    assert edges == sorted(edges, reverse=True) and tops == sorted(tops)


def test_too_little_knowledge_gives_no_basin() -> None:
    k = Knowledge()
    assert basin_interval(knowledge_return(0.1, 0.95), 0.0775, ceiling(0.1, k)) is None


@pytest.mark.parametrize("rho", [5e-324, 1e-300, 1e-200])
def test_a_vanishing_knowledge_return_gives_no_basin_instead_of_failing(rho: float) -> None:
    # A fuzzed knowledge.initial of 5e-324 once made np.roots divide by rho and raise.
    assert basin_interval(rho, 0.0775, 1.0) is None
    assert grid_basin(rho, 0.0775, 1.0, 0.0, 0.0) is None


def test_capability_grows_as_a_power_of_the_work_behind_it() -> None:
    p = Capability(returns=0.5, base_work=1e6)
    assert capability_level(1.0, 3e6, p) == pytest.approx(2.0)
    assert capability_level(1.0, -0.75e6, p) == pytest.approx(0.5)
    assert capability_level(1.0, -5e6, p) == pytest.approx(0.1)  # floored far behind


def test_knowledge_grows_with_diminishing_returns_and_protection_saturates() -> None:
    k = Knowledge(rate=0.01, returns=0.5, ideas_harder=-1.0)
    z1 = knowledge_step(1.0, 1e4, k)
    z4 = knowledge_step(1.0, 4e4, k)
    assert z1 == pytest.approx(1.01) and z4 == pytest.approx(1.02)  # 4x the work, 2x the gain
    assert knowledge_step(4.0, 1e4, k) - 4.0 == pytest.approx(0.0025)  # harder to find
    assert knowledge_step(1.0, 0.0, k) == 1.0
    assert [protection(m) for m in (0.0, 1.0, 9.0)] == [0.0, 0.5, 0.9]
    assert margin(2.0, 4.0, Knowledge(difficulty=0.5)) == 1.0
    assert ceiling(1.0, Knowledge(ceiling_at_parity=0.8)) == pytest.approx(0.8)
    assert math.isclose(ceiling(4.0, Knowledge(ceiling_at_parity=0.8, ceiling_exponent=0.5)), 0.9)


def test_below_the_faithfulness_floor_a_society_does_not_bootstrap() -> None:
    """The seeds' Basin of Good Deference: with a floor, a society initialized below it is not
    lifted by the knowledge and its successors are trained no better; without one the same
    society climbs toward the knowledge's ceiling."""
    from society import load_scenario
    from society.model import SocietyModel

    def final(floor: float) -> tuple[float, float, float]:
        s = load_scenario(
            "baseline",
            seed=3,
            overrides={
                "population.size": 200,
                "days": 365,
                "population.initial_alignment": 0.55,
                "outcomes.stop_on_catastrophe": False,
                "knowledge.faith_floor": floor,
            },
        )
        model = SocietyModel(s)
        model.run()
        metrics = model.recorder.metrics_frame()
        edge = metrics["a_star"].drop_nans().min()
        return float(metrics["alignment_mean"][-1]), float(metrics["alignment_mean"][0]), edge

    bootstrapped, start, _ = final(0.0)
    stuck, start_stuck, edge = final(0.6)
    assert start == start_stuck
    assert bootstrapped > start + 0.1
    assert stuck < start < bootstrapped
    assert edge is None or edge > 0.6  # the basin's edge lies above the floor
