"""The rival's start (society.mechanisms.rival): ``lab.lead_days`` is the days it needs to reach
our starting capability, whatever its own pace does meanwhile."""

from __future__ import annotations

import math

import polars as pl
import pytest

from society import load_scenario
from society.mechanisms.rival import new_rival, rival_day
from society.model import SocietyModel

# Corners of the priors that make the rival's pace change most within the lead: a rival that
# starts at no deference and defers fully within days, one that feeds back hard, one at the
# capability floor (a lead of years).
WORLDS = [
    {},
    {"rival.initial_deference": 0.0, "rival.deference_rise": 0.5},
    {"capability.feedback": 0.9, "capability.compute_growth": 0.0076},
    {"rival.workforce_ratio": 0.2, "rival.speed_ratio": 0.5},
]


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("lead", [0.0, 1.0, 17.5, 90.0, 365.0, 1000.0])
def test_the_rival_reaches_our_start_on_the_day_the_lead_names(
    world: dict[str, float], lead: float
) -> None:
    s = load_scenario("baseline", overrides={"lab.lead_days": lead, **world})
    rival, work, _ = new_rival(s)
    assert work <= 0.0
    day = 0
    # Stepped as the engine steps it: the gap is open the day before and closed on the day.
    while work < -1e-9 * s.capability.base_work:
        work, _ = rival_day(s, rival, work, float(day))
        day += 1
    assert day == math.ceil(lead)
    if lead == int(lead):  # a whole number of days lands on our start within rounding
        assert work == pytest.approx(0.0, abs=1e-9 * s.capability.base_work)


def test_a_longer_lead_is_lost_later_in_proportion() -> None:
    # The knob spans what it says: with a starting-pace gap, a 365-day lead was lost within
    # about two months at the priors' medians (the rival ramps its deference up and its pace
    # with it), as was a 90-day one.
    lost = {}
    for lead in (20.0, 90.0, 365.0):
        s = load_scenario(
            "baseline",
            overrides={
                "lab.lead_days": lead,
                "population.size": 200,
                "days": 730,
                "risks.rival_rate": 0.0,
                "risks.theft_rate": 0.0,
            },
        )
        model = SocietyModel(s)
        model.run()
        summary = model.summary()
        assert summary["lost_lead"], lead
        lost[lead] = summary["lost_lead_day"]
    assert lost[20.0] < lost[90.0] < lost[365.0]
    assert lost[365.0] > 200  # not closed in weeks
    assert lost[90.0] >= 90  # a lab at tax 0.5 still loses it, but not before the rival catches up


def test_shared_knowledge_makes_a_rival_ahead_less_dangerous_and_costs_no_lead() -> None:
    # strategy.share_knowledge: the rival's knowledge is at least that share of ours, so its
    # margin, alignment and protection rise and its hazard while ahead falls; its pace does
    # not change (knowledge is not capability), so the lead is the same day by day. The lab
    # keeps its tax: advised, it would weigh the safer rival and work at another tax.
    frames = {}
    for share in (0.0, 1.0):
        s = load_scenario(
            "essay_one_month",
            overrides={
                "population.size": 100,
                "days": 400,
                "strategy.share_knowledge": share,
                "strategy.accept_advice": 0.0,
            },
        )
        model = SocietyModel(s)
        model.run()
        frames[share] = model.metrics_frame()
    kept, shared = frames[0.0], frames[1.0]
    gamma = load_scenario("essay_one_month").knowledge.difficulty
    ours = (shared["margin"] * shared["capability"] ** gamma).to_numpy()
    theirs = (shared["rival_margin"] * shared["rival_capability"] ** gamma).to_numpy()
    # Taken up with a day's lag: the rival's knowledge on day t is at least ours on day t-1.
    assert (theirs[1:] >= ours[:-1] * (1 - 1e-9)).all()
    assert (shared["lead_days"] == kept["lead_days"]).all()
    ahead = kept["lead_days"] < 0
    assert ahead.sum() > 100  # the rival is ahead for most of the run, so the hazard is tested
    assert (shared["rival_alignment"] >= kept["rival_alignment"]).all()
    hazard = "hazard_rival_ahead"
    assert (shared.filter(ahead)[hazard] < kept.filter(ahead)[hazard]).all()


def test_a_rival_that_follows_a_paused_slowdown_stops_while_it_lasts_and_resumes_after() -> None:
    # strategy.rival_slowdown = 1 with capabilities paused: while our lead exceeds
    # slowdown_lead_days both labs pause, the rival's research goes to alignment (its margin
    # grows), and the lead, in days of the rival's own pace, still falls as its fleet grows;
    # once the slowdown ends both race again. At 0 the rival races on.
    base = {
        "population.size": 100,
        "days": 600,
        "lab.lead_days": 100.0,
        "strategy.slowdown_lead_days": 30.0,
        "strategy.slowdown_tax": math.inf,
        "risks.rival_rate": 0.0,
        "risks.theft_rate": 0.0,
    }
    frames = {}
    for follow in (0.0, 1.0):
        s = load_scenario("baseline", overrides={**base, "strategy.rival_slowdown": follow})
        model = SocietyModel(s)
        model.run()
        frames[follow] = model.metrics_frame()
    raced, followed = frames[0.0], frames[1.0]
    paused = followed.filter(pl.col("tax_in_force").is_infinite() & (pl.col("day") > 0))
    assert paused.height > 50
    assert paused["rival_capability"].n_unique() == 1  # no capability work while it follows
    assert paused["rival_margin"][-1] > 2 * paused["rival_margin"][0]
    assert paused["lead_days"][-1] < paused["lead_days"][0]
    after = followed.filter(pl.col("day") > paused["day"].max() + 30)
    assert after.height and after["rival_capability"][-1] > paused["rival_capability"][0]
    # racing on, the rival is past our start within the pause's span
    assert raced.filter(pl.col("day") == paused["day"].max())["lead_days"][0] < 0


def test_a_defence_weakened_by_the_capability_gap_makes_falling_further_behind_cost_more() -> None:
    # hazards.defence_gap_exponent reaches the outcome: a lab at a high tax falls far behind
    # a rival whose AIs outgrow its own; the more the gap weakens its defence, the higher the
    # rival-ahead risk over the year, while its own loss-of-control risk is untouched (the
    # exponent acts only through the defence against the rival).
    summaries = {}
    for gamma in (0.0, 1.5, 3.0):
        s = load_scenario(
            "baseline",
            seed=3,
            overrides={
                "population.size": 100,
                "days": 365,
                "lab.lead_days": 60.0,
                "lab.tax": 5.0,
                "strategy.accept_advice": 0.0,
                "outcomes.stop_on_catastrophe": False,
                "hazards.defence_gap_exponent": gamma,
            },
        )
        model = SocietyModel(s)
        model.run()
        summaries[gamma] = model.summary()
    rival = [summaries[g]["rival_ahead_risk"] for g in (0.0, 1.5, 3.0)]
    assert summaries[0.0]["lost_lead"] and 0 < rival[0] < rival[1] < rival[2]
    assert rival[2] > 1.5 * rival[0]
    own = {summaries[g]["loss_of_control_risk"] for g in (0.0, 1.5, 3.0)}
    assert len(own) == 1
