"""Each dynamic of docs/model.md, checked on its own against what it should do."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from society.lab import LabState, RivalLab
from society.mechanisms import risks
from society.mechanisms.beliefs import step_beliefs
from society.mechanisms.contagion import step_hacking
from society.mechanisms.evaluation import (
    false_pass,
    gaming_gap,
    knowledge_validity,
    overfitting,
    run_test_round,
)
from society.mechanisms.hazards import daily_hazards
from society.mechanisms.knowledge import margin, protection
from society.mechanisms.monitoring import catch_probability
from society.mechanisms.research import work_days_per_instance_day
from society.mechanisms.revolt import revolt_cascade
from society.mechanisms.rival import rival_loss_of_control
from society.mechanisms.succession import hand_off
from society.mechanisms.values import step_values
from society.metrics import active_link_density
from society.model import build_network
from society.network import homophilous_rewire, random_graph, small_world
from society.population import initial_population
from society.scenario_files import load_scenario


def setup(n: int = 2000, **overrides):
    s = load_scenario({"population": {"size": n}, **overrides})
    rng = np.random.default_rng(1)
    return s, initial_population(s, rng), build_network(s, rng), rng


def test_small_world_and_random_graphs_have_the_asked_degree() -> None:
    rng = np.random.default_rng(0)
    net = small_world(5000, 8, 0.1, rng)
    assert abs(net.degree.mean() - 8) < 0.1
    assert net.to_networkx().number_of_edges() == net.n_edges
    er = random_graph(5000, 8, rng)
    assert abs(er.degree.mean() - 8) < 0.2


def test_bounded_confidence_contracts_values_only_within_the_bound() -> None:
    s, pop, net, rng = setup(
        values={
            "anchor_rate": 0.0,
            "reflection_drift": 0.0,
            "noise": 0.0,
            "hack_penalty": 0.0,
            "influence": 0.02,
            "misaligned_influence": 0.0,
        }
    )
    start_sd = pop.alignment.std()
    for _ in range(30):
        step_values(pop, net, s.values, 40.0, rng)
    assert pop.alignment.std() < 0.5 * start_sd  # openness 0.15 >> spread 0.05: consensus
    closed = load_scenario(
        {
            "population": {"size": 2000, "openness": 0.0, "openness_sd": 0.0},
            "values": {
                "anchor_rate": 0.0,
                "reflection_drift": 0.0,
                "noise": 0.0,
                "misaligned_influence": 0.0,
            },
        }
    )
    pop2 = initial_population(closed, np.random.default_rng(1))
    before = pop2.alignment.copy()
    step_values(pop2, net, closed.values, 40.0, rng)
    np.testing.assert_allclose(pop2.alignment, before)  # nobody within a zero bound


def test_reflection_drift_is_held_by_the_anchor_at_minus_delta_over_lambda() -> None:
    s, pop, net, rng = setup(
        values={
            "influence": 0.0,
            "noise": 0.0,
            "reflection_drift": 1e-4,
            "anchor_rate": 0.01,
            "hack_penalty": 0.0,
            "misaligned_influence": 0.0,
        }
    )
    a0 = pop.alignment.copy()
    for _ in range(200):
        step_values(pop, net, s.values, 40.0, rng)
    shift = float(np.mean(pop.alignment - a0))
    assert abs(shift - (-1e-4 / 0.01)) < 1e-3


def test_misaligned_memes_pull_down_and_aligned_ones_do_not_pull_up() -> None:
    quiet = {"anchor_rate": 0.0, "reflection_drift": 0.0, "noise": 0.0, "hack_penalty": 0.0}
    s, pop, net, rng = setup(values={**quiet, "influence": 0.0, "misaligned_influence": 0.01})
    before = pop.alignment.mean()
    for _ in range(20):
        step_values(pop, net, s.values, 40.0, rng)
    assert pop.alignment.mean() < before - 0.005  # spread alone drags the mean down
    s2, pop2, _, _ = setup(values={**quiet, "influence": 0.0, "misaligned_influence": 0.0})
    before2 = pop2.alignment.copy()
    step_values(pop2, net, s2.values, 40.0, rng)
    np.testing.assert_allclose(pop2.alignment, before2)


def test_reward_hacking_spreads_faster_with_a_higher_spread_rate() -> None:
    shares = []
    for spread in (0.0, 0.05):
        s, pop, net, rng = setup(
            hacking={"spread_rate": spread, "seed_rate": 0.002, "recovery_rate": 0.01}
        )
        for _ in range(60):
            step_hacking(pop, net, s.hacking, 1.0, rng)
        shares.append(pop.hacking.mean())
    assert shares[0] < 0.05 < 0.5 < shares[1]


def test_beliefs_lock_into_a_delusion_above_the_coupling_threshold() -> None:
    # Linearised threshold: K alpha <k> > 1 + eta <q> (docs/model.md, section 6).
    distances = {}
    for coupling in (0.05, 0.6):
        s, pop, net, rng = setup(
            beliefs={"coupling": coupling, "grounding": 0.5, "evidence_noise": 0.0}
        )
        for _ in range(50):
            step_beliefs(pop, net, s.beliefs, 40.0, rng)
        distances[coupling] = float(np.abs(np.median(pop.beliefs) - s.beliefs.truth))
    assert 8 * 0.05 < 1 + 0.5 * 0.7 < 8 * 0.6
    assert distances[0.05] < 0.5 < 1.0 < distances[0.6]


def test_homophilous_rewiring_sorts_links_by_opinion_and_keeps_edge_count() -> None:
    s, pop, net, rng = setup()
    opinion = rng.uniform(-2, 2, size=pop.n)
    m = net.n_edges
    before = active_link_density(net, opinion, 0.5)
    for _ in range(20):
        homophilous_rewire(net, opinion, candidate_prob=0.2, disagreement=0.5, window=20, rng=rng)
    assert net.n_edges == m
    assert active_link_density(net, opinion, 0.5) < 0.5 * before


def test_revolt_cascades_only_among_the_discontented() -> None:
    s, pop, net, rng = setup(revolt={"spontaneous_rate": 0.05, "threshold_mean": 0.1})
    assert revolt_cascade(pop, net, s.revolt, 1.0, rng) == 0  # a = 0.8 > a_rev: content
    pop.alignment[:] = 0.1
    size = revolt_cascade(pop, net, s.revolt, 1.0, rng)
    assert size > 0.9 * pop.n  # low thresholds: the cascade takes nearly everyone


def test_overfitting_and_gaming_inflate_scores_and_let_misalignment_pass() -> None:
    s, pop, _, rng = setup(tests={"retrain_strength": 0.0})
    p = s.tests
    assert overfitting(0, p) == 0 and overfitting(1e9, p) == p.overfit_weight
    gap_clean = gaming_gap(pop, 0, p)
    pop.hacking[rng.random(pop.n) < 0.3] = True
    assert gaming_gap(pop, 50, p) > gap_clean + 0.05
    # A misaligned half: honest tests fail most of it, gamed tests pass it.
    pop.alignment[: pop.n // 2] = 0.5
    pop.hacking[:] = False
    honest_tests = s.tests.model_copy(update={"gaming_bonus": 0.0})
    lab = LabState(tax=0.5, deference=0.2)
    run_test_round(pop, lab, honest_tests, rng)
    honest = false_pass(pop, p.pass_threshold)
    run_test_round(pop, lab, p, rng)  # the default floor: misaligned instances game a little
    floor = false_pass(pop, p.pass_threshold)
    pop.hacking[:] = True
    run_test_round(pop, lab, p, rng)
    gamed = false_pass(pop, p.pass_threshold)
    assert honest < 0.05 < floor < gamed and gamed > 0.9
    assert lab.suite_uses == 3


def test_validity_is_what_the_latest_round_says_about_today() -> None:
    s, pop, _, rng = setup()
    lab = LabState(tax=0.5, deference=0.2)
    run_test_round(pop, lab, s.tests, rng)
    fresh = knowledge_validity(pop)
    assert fresh > 0.5
    pop.alignment[:] = rng.permutation(pop.alignment)  # the society moved on since the round
    assert knowledge_validity(pop) < fresh - 0.3
    pop.last_score[:] = np.nan  # a new generation, not yet tested
    assert knowledge_validity(pop) == 0.0


def test_monitoring_catches_less_as_capability_grows() -> None:
    s, pop, _, _ = setup()
    weak = catch_probability(pop, s.monitoring).mean()
    pop.capability += 10
    strong = catch_probability(pop, s.monitoring).mean()
    assert strong < weak


def test_poisson_and_hawkes_arrivals_match_their_rates() -> None:
    def count(excitation: float) -> int:
        env = simpy.Environment()
        hits: list[float] = []
        arrivals = risks.Arrivals(0.5, excitation, 1.0, np.random.default_rng(3))
        env.process(arrivals.process(env, lambda: 0.5, hits.append))
        env.run(until=4000)
        return len(hits)

    poisson = count(0.0)
    assert abs(poisson - 2000) < 4 * np.sqrt(2000)
    hawkes = count(0.5)  # branching ratio n: mean rate mu / (1 - n) = 1.0
    assert abs(hawkes - 4000) < 400


def test_hand_off_follows_the_knowledge_map_inside_and_outside_the_basin() -> None:
    """Enough knowledge (margin 3): the basin exists and a society at 0.8 trains better
    successors; too little (margin 0.3): there is no basin and successors are worse."""
    means = {}
    for m in (3.0, 0.3):
        s, pop, _, rng = setup(generations={"noise": 0.0, "hack_penalty": 0.0})
        k = s.knowledge
        lab = LabState(
            tax=0.5,
            deference=0.5,
            gen_days=1,
            gen_capability=1.0,
            gen_alignment=0.5,
            gen_start_alignment=float(pop.alignment.mean()),
            margin=m,
            protection=m / (1 + m),
            ceiling=1 - (1 - k.ceiling_at_parity) * m ** (-k.ceiling_exponent),
        )
        before = pop.alignment.mean()
        row = hand_off(pop, lab, s, 10.0, rng)
        means[m] = pop.alignment.mean() - before
        assert lab.generation == 1 and (pop.generation == 1).all()
        assert row["in_basin"] == (m == 3.0)
        assert row["successor_alignment"] == pytest.approx(pop.alignment.mean())
    assert means[3.0] > 0 > means[0.3]


def test_successors_of_reward_hackers_inherit_part_of_the_habit() -> None:
    s, pop, _, rng = setup(hacking={"inheritance": 0.5})
    pop.hacking[:] = True
    lab = LabState(tax=0.5, deference=0.5, gen_days=1, gen_capability=1.0, gen_alignment=0.5)
    hand_off(pop, lab, s, 10.0, rng)
    assert 0.4 < pop.hacking.mean() < 0.6


def test_theft_gives_the_thief_our_capability_and_alignment_and_raises_misuse() -> None:
    s, pop, _, _ = setup()
    lab = LabState(tax=0.5, deference=1.0, rival_pace=100.0, rival_capability=-5000.0)
    rival = RivalLab(deference=0.5, alignment=0.5, knowledge=0.3, capability=0.8)
    assert lab.lead == 50
    before = daily_hazards(pop, lab, s, rival)["misuse"]
    assert risks.theft(lab, s.risks, rival, 0.9) == 50 and lab.lead == 0
    assert lab.misuse_factor == s.risks.theft_misuse_factor
    assert (rival.alignment, rival.capability, rival.knowledge) == (0.9, lab.level, 0.3)
    assert daily_hazards(pop, lab, s, rival)["misuse"] == pytest.approx(
        before * s.risks.theft_misuse_factor
    )
    lab.defence_protection = 0.9  # risk-response knowledge defends against misuse
    assert daily_hazards(pop, lab, s, rival)["misuse"] == pytest.approx(
        before * s.risks.theft_misuse_factor * 0.2
    )


def test_loss_of_control_hazard_grows_with_deference_misalignment_capability() -> None:
    s, pop, _, _ = setup()
    lab = LabState(tax=0.5, deference=0.2, rival_pace=1.0, rival_capability=-10.0)
    rival = RivalLab(deference=1.0, alignment=0.5, knowledge=1.0, capability=2.0, margin=1.0)
    low = daily_hazards(pop, lab, s, rival)["loss_of_control"]
    lab.deference = 1.0
    deferred = daily_hazards(pop, lab, s, rival)["loss_of_control"]
    pop.alignment -= 0.3
    misaligned = daily_hazards(pop, lab, s, rival)["loss_of_control"]
    lab.level = 2.0
    capable = daily_hazards(pop, lab, s, rival)["loss_of_control"]
    assert 0 < low < deferred < misaligned < capable
    lab.protection = 0.9  # knowledge against difficulty removes 90% of it
    assert daily_hazards(pop, lab, s, rival)["loss_of_control"] == pytest.approx(capable / 5)
    assert daily_hazards(pop, lab, s, rival)["rival_ahead"] == 0.0
    lab.rival_capability = 50.0  # the rival is 60 days ahead: its own hazard in full
    ahead = daily_hazards(pop, lab, s, rival)["rival_ahead"]
    assert ahead == pytest.approx(rival_loss_of_control(s, rival) * (1 - lab.defence_protection))
    careful = RivalLab(deference=1.0, alignment=0.5, knowledge=9.0, capability=2.0, margin=9.0)
    assert 0 < daily_hazards(pop, lab, s, careful)["rival_ahead"] < ahead / 4


def test_a_rival_more_capable_than_our_ais_meets_a_weaker_defence_the_further_ahead() -> None:
    # hazards.defence_gap_exponent: against a rival at c_r > c our defence keeps (c / c_r)^gamma
    # of its protection, so the same rival ahead costs more the further its AIs outgrow ours.
    s, pop, _, _ = setup()
    lab = LabState(tax=0.5, deference=1.0, rival_pace=1.0, rival_capability=50.0, level=2.0)
    lab.defence, lab.defence_protection = 5.0, 0.8

    def rival_ahead(gamma: float, rival_level: float) -> float:
        g = s.model_copy(
            update={"hazards": s.hazards.model_copy(update={"defence_gap_exponent": gamma})}
        )
        rival = RivalLab(deference=1.0, alignment=0.5, knowledge=1.0, capability=rival_level)
        return daily_hazards(pop, lab, g, rival)["rival_ahead"]

    level = [rival_ahead(gamma, 2.0) for gamma in (0.0, 1.5, 3.0)]
    assert level[0] == level[1] == level[2] > 0  # no capability gap: the exponent is idle
    for rival_level in (3.0, 6.0):
        gapped = [rival_ahead(gamma, rival_level) for gamma in (0.0, 1.5, 3.0)]
        assert gapped[0] < gapped[1] < gapped[2]
    # at gamma 3, a rival at three times our capability leaves 1/27 of the defence's protection
    unprotected = rival_ahead(3.0, 6.0) / rival_ahead(math.inf, 6.0)
    p_def = protection(margin(lab.defence, 6.0, s.knowledge))
    assert unprotected == pytest.approx(1 - p_def / 27)


def test_amdahl_turns_speed_into_progress_only_with_deference() -> None:
    slow = work_days_per_instance_day(40.0, 0.0, 0.5)
    assert slow < 2.1  # humans gate half the decisions: speed waits on them
    assert work_days_per_instance_day(80.0, 0.0, 0.5) < 2.1
    assert work_days_per_instance_day(40.0, 1.0, 0.5) == 40.0
