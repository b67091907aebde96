"""The strategists' projection (society.mechanisms.projection): what it prefers, and that
stepping knowledge and defence as one array gives the bits of stepping them apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from society import load_scenario
from society.mechanisms import projection
from society.mechanisms.knowledge import workforce_growth
from society.mechanisms.strategy import outlook
from society.model import SocietyModel

TAXES = [0.025, 0.1, 0.5, 2.0, 10.0]


def _start(overrides: dict[str, object]) -> tuple[SocietyModel, projection.Outlook]:
    model = SocietyModel(load_scenario("baseline", overrides={"population.size": 200, **overrides}))
    model.run_until(60)
    return model, outlook(model)


def _two_stocks_apart(s, start, taxes, days):  # type: ignore[no-untyped-def]
    """The projection as first written: knowledge and defence stepped one after the other,
    capability recomputed at the top of every step (the reference for the bits)."""
    z, r, k = s.hazards, s.risks, s.knowledge
    c0 = s.population.initial_capability
    tax = np.asarray(taxes, dtype=np.float64)
    aligned_share = np.where(np.isinf(tax), 1.0, np.where(np.isinf(tax), 0.0, tax) / (1.0 + tax))
    steps = max(1, int(np.ceil(days / projection.STEP_DAYS)))
    dt = days / steps
    rival_work, rival_pace, rival_hazard = projection._rival_path(s, start, steps, dt)
    n = tax.size
    work = np.full(n, start.capability_work)
    zk, zd, a = np.full(n, start.knowledge), np.full(n, start.defence), np.full(n, start.alignment)
    d, total = start.deference, np.zeros(n)
    for i in range(steps):
        c = projection._levels(c0, work, s)
        gated = s.work.human_gated_share / np.maximum(c, 1.0)
        speed = s.population.speed
        per_instance = speed / (1.0 + (1.0 - d) * gated * max(speed - 1.0, 0.0))
        workforce = s.population.workforce * workforce_growth(s.capability, start.day + i * dt)
        output = workforce * start.working_share * per_instance * c**s.capability.feedback
        research = output * (1.0 - s.work.risk_share)
        work = work + research * (1.0 - aligned_share) * dt
        zk = projection._knowledge(zk, research * aligned_share * start.quality, k, dt)
        zd = projection._knowledge(zd, output * s.work.risk_share * start.quality, k, dt)
        c = projection._levels(c0, work, s)
        difficulty = c**k.difficulty
        m = zk / difficulty
        top = np.clip(1.0 - (1.0 - k.ceiling_at_parity) * m ** (-k.ceiling_exponent), 0.0, 1.0)
        a = np.where(top > a, a - np.expm1(-k.apply_rate * a * dt) * (top - a), a)
        d = min(start.deference_cap, d + s.deference.rise_per_day * dt)
        loc = (d / (1.0 + m)) * (
            z.loss_of_control * (1.0 - a) * c**z.capability_exponent
            + z.uncaught_weight * start.uncaught_rate
        )
        undefended = 1.0 / (1.0 + zd / difficulty)
        misuse = r.misuse_rate * start.misuse_factor * r.misuse_hit_prob * undefended
        lead = (work - rival_work[i]) / rival_pace[i]
        behind = np.where(lead < 0, np.minimum(1.0, -lead / z.rival_ahead_scale), 0.0)
        total += (loc + misuse + rival_hazard[i] * behind * undefended) * dt
    return -total


@pytest.mark.parametrize(
    "overrides",
    [{}, {"knowledge.ideas_harder": 0.6, "knowledge.returns": 0.4}, {"lab.lead_days": 0.0}],
)
def test_knowledge_and_defence_stepped_together_give_the_bits_of_stepping_them_apart(
    overrides: dict[str, object],
) -> None:
    model, start = _start(overrides)
    for days in (5.0, 300.0, 1000.0):
        together = projection.projected_log_survival(model.scenario, start, TAXES, days)
        apart = _two_stocks_apart(model.scenario, start, TAXES, days)
        assert np.array_equal(together, apart)
        assert np.all(together < 0)


def test_far_ahead_more_tax_projects_more_survival_and_a_reckless_rival_costs_some() -> None:
    # Far ahead of the rival, a higher tax buys knowledge and only costs lead that is not
    # needed: survival rises with the tax.
    model, start = _start({"lab.lead_days": 3000.0})
    far = projection.projected_log_survival(model.scenario, start, TAXES, 1000.0)
    assert np.all(np.diff(far) > 0)
    # Level with a rival whose own AIs are dangerous, it costs survival at every tax, and more
    # at a tax that gives up lead than at the status quo.
    reckless = replace(start.rival, alignment=0.0, deference=1.0)
    level = replace(start, rival_work=start.capability_work, rival=reckless)
    close = projection.projected_log_survival(model.scenario, level, TAXES, 1000.0)
    cost = far - close
    assert np.all(cost > 0) and cost.max() > 1.5 * cost[0]
