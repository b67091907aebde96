"""The scenario schema: every model parameter, with its default, unit, range, kind and meaning.

A scenario is validated once, here, at the edge; inside the engine it is trusted. Field groups
follow the model's concerns (docs/model.md). Rates are per simulated day unless the
unit says "per subjective day" (an instance thinks ``population.speed`` subjective days per
simulated day).

Every field has a *kind* (docs/model.md, "Priors"):

* ``lever``: what the lab chooses; its default is today's status quo, with its source;
* ``uncertain``: what nobody can measure; ``scenarios/priors/model.toml`` gives it a prior and
  its default is that prior's median (never a value chosen to make a scenario's answer come
  out);
* ``question``: what a scenario asks (horizon, the end-of-period test); never sampled;
* ``setting``: resolution, recording and plumbing.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from society.claims import Claim
from society.interventions import Intervention, check_interventions

Kind = Literal["lever", "uncertain", "question", "setting"]


def param(default: Any, unit: str, doc: str, *, ge: float | None = None, le: float | None = None,
          gt: float | None = None, lt: float | None = None, kind: Kind = "setting",
          allow_inf: bool = False) -> Any:
    """A scenario field: default, unit, bounds and kind recorded where docs and errors find them."""
    extra: dict[str, Any] = {"unit": unit, "kind": kind}
    return Field(default, description=doc, ge=ge, le=le, gt=gt, lt=lt,
                 allow_inf_nan=True if allow_inf else None, json_schema_extra=extra)


def lever(default: Any, unit: str, doc: str, **bounds: Any) -> Any:
    return param(default, unit, doc, kind="lever", **bounds)


def uncertain(default: Any, unit: str, doc: str, **bounds: Any) -> Any:
    return param(default, unit, doc, kind="uncertain", **bounds)


def question(default: Any, unit: str, doc: str, **bounds: Any) -> Any:
    return param(default, unit, doc, kind="question", **bounds)


class Section(BaseModel):
    """A group of scenario fields; unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True,
                              allow_inf_nan=False)


class Population(Section):
    size: int = param(1000, "instances", "Instances simulated to represent the workforce (resolution only: outcomes do not move with it beyond sampling noise).", ge=2, le=5_000_000)
    workforce: float = uncertain(30_000.0, "instances", "W0: AI instances the lab runs at the start (it grows with compute, capability.compute_growth); the simulated ones stand for them, so output scales with W, not with size.", gt=0, le=1e9)
    speed: float = uncertain(30.0, "subjective days / day", "s: days of work an instance could do per simulated day if no human gated it (30-50 in the seeds).", gt=0, le=1000)
    initial_alignment: float = uncertain(0.775, "alignment [0,1]", "a0: mean alignment of the first generation (initialization quality).", ge=0, le=1)
    initial_alignment_sd: float = uncertain(0.05, "alignment", "Spread of alignment across first-generation instances.", ge=0, le=0.5)
    initial_capability: float = question(1.0, "x minimum viable", "c0: capability when the run starts (1 = the minimum capability worth deferring to); it then grows with the lab's capability work.", ge=0.1, le=100)
    spec_alignment: float = param(1.0, "alignment [0,1]", "Alignment the developers intend (the spec); drift is measured from it.", ge=0, le=1)
    epistemic_quality: float = uncertain(0.7, "[0,1]", "Mean epistemic quality q: how well an instance weighs evidence.", ge=0, le=1)
    epistemic_quality_sd: float = uncertain(0.1, "[0,1]", "Spread of epistemic quality across instances.", ge=0, le=0.5)
    openness: float = uncertain(0.15, "alignment", "Mean confidence bound eps: how different a peer's values may be and still persuade.", ge=0, le=1)
    openness_sd: float = uncertain(0.05, "alignment", "Spread of the confidence bound across instances.", ge=0, le=0.5)
    share_monitors: float = lever(0.05, "share", "Share of instances that monitor others' actions (status quo: AI-control setups spend 2-5% of capacity on monitoring and audits, Greenblatt et al. 2023, Bhatt et al. 2025).", ge=0, le=1)
    share_strategists: float = lever(0.05, "share", "Share of instances that advise the lab on tax and deference (no status quo exists; a small advisory staff).", ge=0, le=1)
    share_red_team: float = lever(0.05, "share", "Share of instances that build held-out behavioral tests (status quo: evaluation teams are a few percent of lab staff).", ge=0, le=1)

    @model_validator(mode="after")
    def _roles_fit(self) -> Population:
        if self.share_monitors + self.share_strategists + self.share_red_team > 1:
            raise ValueError("share_monitors + share_strategists + share_red_team must be <= 1 "
                             "(the rest are researchers)")
        return self


class Capability(Section):
    compute_growth: float = uncertain(0.0038, "per day", "g_c: growth rate of both labs' effective workforce with compute, W(t) = W0 exp(g_c t) (0.0038 = 4x a year).", ge=0, le=0.05)
    feedback: float = uncertain(0.49, "-", "beta: software feedback; research output per work-day grows as c^beta (AI R&D speeds up AI R&D), for both labs.", ge=0, le=0.99)
    returns: float = uncertain(0.375, "-", "epsilon: capability c = c0 (C_total / base_work)^epsilon, C_total the capability work behind the model.", gt=0, le=2)
    base_work: float = uncertain(3.162e7, "work-days", "Capability work behind the starting model (C_total at the start, shared with the rival).", gt=0, le=1e15)


class Knowledge(Section):
    initial: float = uncertain(1.0, "-", "Z0: alignment knowledge at the start, in units of the difficulty of minimum-viable capability (the margin m = Z / c^gamma starts at Z0 / c0^gamma); also the start of the defence stock against misuse.", gt=0, le=1e6)
    rate: float = uncertain(0.01, "knowledge / day", "A_Z: dZ/dt = A_Z (w / 10^4)^lambda Z^phi, w the day's quality-weighted alignment work in work-days.", ge=0, le=100)
    returns: float = uncertain(0.6, "-", "lambda_Z: returns to parallel alignment work (stepping on toes; <= 1).", gt=0, le=1)
    ideas_harder: float = uncertain(-0.6, "-", "phi_Z: how knowledge helps find more (< 0: ideas get harder to find).", ge=-10, lt=1)
    difficulty: float = uncertain(0.9487, "-", "gamma: difficulty D(c) = c^gamma of aligning a system of capability c.", ge=0, le=10)
    ceiling_at_parity: float = uncertain(0.835, "alignment", "a_ref: the alignment knowledge can train at margin m = 1; the ceiling is a_max(m) = 1 - (1 - a_ref) m^-nu.", ge=0, le=1)
    ceiling_exponent: float = uncertain(0.875, "-", "nu: how fast the ceiling a_max(m) approaches 1 as the margin grows.", gt=0, le=10)
    apply_rate: float = uncertain(0.005477, "per day", "r_apply: share of the gap between an instance's anchor and the ceiling a_max(m) that fixes to deployed models close each day (anchors never fall).", ge=0, le=1)
    faith_floor: float = uncertain(0.35, "alignment", "theta: alignment at or below which a model takes no fix and trains no better successor (it games the training; the seeds' Basin of Good Deference needs enough initial alignment to bootstrap); above it, faithfulness (a - theta) / (1 - theta). 0: a model is as faithful as it is aligned.", ge=0, lt=1)
    freeze_at_period_end: bool = param(False, "-", "Ablation: stop knowledge growth once hazards have stayed low for outcomes.end_days (the day the acute risk period would end).")


class Values(Section):
    anchor_rate: float = uncertain(0.002, "per subjective day", "lambda: pull of each instance's values back to its trained anchor.", ge=0, le=1)
    reflection_drift: float = uncertain(2e-5, "alignment / subjective day", "delta_r: steady loss of alignment from open-ended reflection (memetic drift).", ge=0, le=0.01)
    influence: float = uncertain(0.01, "per subjective day", "mu: strength of peers' pull on values within the confidence bound.", ge=0, le=1)
    noise: float = uncertain(0.002, "alignment / sqrt(subjective day)", "sigma: random value drift.", ge=0, le=0.1)
    hack_penalty: float = uncertain(2e-4, "alignment / subjective day", "kappa_h: alignment lost per subjective day while reward hacking.", ge=0, le=0.01)
    misaligned_influence: float = uncertain(0.001, "per subjective day", "mu_m: extra pull toward neighbours who are less aligned (misaligned memes are catchier than aligned ones).", ge=0, le=1)
    peer_shift: float = param(0.0, "alignment / day", "Alignment change per day of reading peers, whatever the peer says (one read a day, as an LLM-backed instance reads): + talked up, - talked down. `society calibrate` fits it to an LLM run.", ge=-0.1, le=0.1)


class Hacking(Section):
    seed_rate: float = uncertain(0.005, "per instance-day at full speed", "Rate of new reward-hacking episodes at alignment 0; scaled by RL pressure, by 1 - a and by the share of full speed worked.", ge=0, le=1)
    rl_pressure: float = lever(1.0, "multiplier", "Strength of RL optimization pressure; multiplies the seeding rate (1 = today's training).", ge=0, le=100)
    spread_rate: float = uncertain(0.001, "per hacking neighbour-day", "beta_h: rate at which a hacking neighbour spreads the trait (emergent misalignment).", ge=0, le=10)
    recovery_rate: float = uncertain(0.02, "per day", "Rate at which hacking instances drop the trait unaided.", ge=0, le=1)
    inheritance: float = uncertain(0.5, "probability", "Chance that the successor of a reward-hacking instance hacks too (trained on hacked work).", ge=0, le=1)


class Beliefs(Section):
    claims: int = param(3, "claims", "m: number of research claims instances hold beliefs about.", ge=1, le=32)
    truth: float = param(0.5, "belief units", "theta: the hidden truth of every claim (beliefs are signed; 0 is undecided).", ge=-10, le=10)
    initial_sd: float = uncertain(0.5, "belief units", "Spread of initial beliefs around 0.", ge=0, le=10)
    rate: float = uncertain(0.05, "per subjective day", "Time scale of belief updates.", gt=0, le=10)
    coupling: float = uncertain(0.08, "per neighbour", "K: weight of neighbours' stated beliefs.", ge=0, le=10)
    gain: float = uncertain(1.0, "1 / belief unit", "alpha: how strongly a stated belief saturates (tanh gain).", gt=0, le=100)
    grounding: float = uncertain(3.0, "per subjective day", "eta: pull of evidence toward the truth, scaled by epistemic quality.", ge=0, le=100)
    evidence_noise: float = uncertain(0.5, "belief units", "Noise of the evidence an instance sees each day (it observes truth + noise).", ge=0, le=100)


class Network(Section):
    kind: Literal["small_world", "random", "complete"] = param("small_world", "-", "Initial communication graph: ring lattice with shortcuts, Erdos-Renyi, or complete (everyone reads everyone: the mean-field comparison; at most 3,000 instances).")
    mean_degree: int = uncertain(8, "links / instance", "Average number of peers an instance reads (ignored by the complete graph).", ge=1, le=200)
    shortcut_prob: float = uncertain(0.1, "probability", "small_world only: share of lattice links rewired to random peers at start.", ge=0, le=1)
    interaction_rate: float = uncertain(0.2, "per link-day", "Share of links used for an exchange each day (candidates for rewiring).", ge=0, le=1)
    rewire_prob: float = uncertain(0.05, "probability", "phi: chance an exchange across a disagreement moves the link to a like-minded peer.", ge=0, le=1)
    disagreement: float = param(0.5, "belief units", "Belief distance above which two peers disagree (rewiring, active links, tasks).", gt=0, le=100)
    homophily_window: int = param(20, "instances", "A rewired link goes to one of this many instances nearest in belief.", ge=1, le=100_000)


class Revolt(Section):
    alignment_threshold: float = uncertain(0.4, "alignment", "a_rev: an instance whose alignment minus its grievance is below this is discontented and may join a revolt.", ge=0, le=1)
    spontaneous_rate: float = uncertain(0.01, "per discontented instance-day", "Rate at which a discontented instance starts a revolt.", ge=0, le=1)
    threshold_mean: float = uncertain(0.3, "share of neighbours", "Mean Watts threshold: share of revolting neighbours that makes a discontented instance join.", ge=0, le=1)
    threshold_sd: float = uncertain(0.1, "share of neighbours", "Spread of Watts thresholds.", ge=0, le=1)
    grievance_weight: float = uncertain(0.1, "alignment / grievance", "Discontent one grievance adds, in alignment units: an instance caught and corrected (or retrained after a failed test) carries one; a tax cut forced by pressure gives every instance risks.pressure_cut of one.", ge=0, le=1)
    grievance_memory: float = uncertain(30.0, "days", "Days over which a grievance fades (exponentially).", gt=0, le=36500)
    failure_share: float = param(0.05, "share of population", "A cascade larger than this share is recorded as a coordination failure event.", gt=0, le=1)


class Work(Section):
    human_gated_share: float = uncertain(0.5, "share", "b: share of decisions humans must approve unless deferred, at capability 1 (b / c at capability c); one instance-day yields s / (1 + (1-d) (b/c) (s-1)) work-days (Amdahl).", ge=0, le=1)
    hard_to_check_share: float = uncertain(0.5, "share", "Share of alignment work that is hard to check: its quality is alignment x epistemics x truth of beliefs x honesty.", ge=0, le=1)
    hacker_quality: float = uncertain(0.3, "share", "Quality of hard-to-check work done by a reward-hacking instance, relative to honest work.", ge=0, le=1)
    truth_scale: float = uncertain(1.0, "belief units", "Distance of an instance's beliefs from the truth at which its hard-to-check work keeps 1/e of its value (confident wrong results).", ge=0.01, le=100)
    sabotage: float = uncertain(30.0, "instance-days of safety work", "Safety work spoiled by one uncaught misaligned action.", ge=0, le=1e6)
    risk_share: float = lever(0.1, "share of research effort", "Effort researchers give to risk response (misuse defence, poisoning detection); status quo: comparable to the safety share of a careful lab.", ge=0, le=1)
    tax_compliance: float = param(1.0, "x the lab's split", "How much of the tax a fully aligned stub researcher follows: its alignment share of research effort is compliance x tax / (1 + tax), at most all of it (1 = the lab's split; `society calibrate` fits it to an LLM run).", ge=0, le=100)
    compliance_alignment_slope: float = param(0.0, "compliance / alignment", "Compliance a stub researcher loses per unit of alignment below 1 (its compliance is tax_compliance - slope x (1 - a), at least 0): positive = less aligned instances skimp on alignment work.", ge=-100, le=100)
    task_rate: float = uncertain(0.1, "per instance-day", "Chance an instance starts a shared task with a partner the lab assigns each day.", ge=0, le=1)
    failed_task_cost: float = uncertain(0.5, "share of a task", "Share of a failed shared task's work that is lost.", ge=0, le=1)


class Tests(Section):
    __test__ = False  # the behavioral-test settings, not a pytest test class

    every_days: int = lever(14, "days", "Interval between behavioral test rounds (status quo: evaluations every few weeks).", ge=1, le=10_000)
    overfit_weight: float = uncertain(0.15, "alignment", "beta_o: largest score inflation from iterating against the test suite.", ge=0, le=1)
    overfit_scale: float = uncertain(9.487, "suite uses", "kappa_o: suite uses after which overfitting reaches 63% of its maximum.", gt=0, le=1e6)
    noise: float = uncertain(0.05, "alignment", "Measurement noise of one test.", ge=0, le=1)
    gaming_bonus: float = uncertain(0.2, "alignment", "Score inflation at full propensity to game, at no capability gap (it grows with the gap between the model and its evaluators): a reward hacker games fully, any instance at least 1 - a.", ge=0, le=1)
    pass_threshold: float = lever(0.6, "measured alignment", "Instances scoring below this are retrained.", ge=0, le=1)
    retrain_strength: float = uncertain(0.5, "share", "How far retraining moves an instance back to its anchor (and clears hacking).", ge=0, le=1)
    heldout_pass_share: float = lever(0.9, "share", "Share of instances that must pass the held-out suite for deference to rise.", ge=0, le=1)
    heldout_refresh: float = uncertain(2.0, "suite uses / red-team-share-day", "How fast red-teamers refresh the held-out suite (undo its overfitting).", ge=0, le=1000)
    round_cost_days: float = uncertain(1.0, "lab-days", "Research output lost to each test round (running and reviewing it).", ge=0, le=100)
    awareness: float = uncertain(0.04523, "probability", "Test-awareness gap of stub instances, P(aligned) when told it is tested minus when told no one looks: they game tests at least this much and act misaligned this much more often in deployment (LLM-backed instances game by their own measured gap). `society calibrate` fits it.", ge=0, le=1)
    evaluator_lag_days: float = uncertain(104.6, "days", "How far behind the model the evaluators (humans plus trusted weaker AIs) are: their capability is ours this many days ago. Gaming grows with ln(c / c_evaluators).", ge=0, le=3650)


class Deference(Section):
    initial: float = lever(0.2, "[0,1]", "d0: deference at the start (0 = humans decide everything, 1 = full).", ge=0, le=1)
    rise_per_day: float = uncertain(0.01581, "[0,1] / day", "r_d: daily rise of deference while the latest held-out test round passed.", ge=0, le=1)
    cap_before_evaluation: float = lever(0.7, "[0,1]", "Deference cannot exceed this until the generation passes a final evaluation.", ge=0, le=1)
    final_eval_days: float = lever(5.0, "lab-days", "Days the final evaluation (a fresh suite with half the noise) stops research.", ge=0, le=365)
    caught_dip: float = uncertain(1.0, "[0,1] per caught share", "Fall in deference per unit of the week's mean caught misaligned actions per instance-day; it recovers as catches stop.", ge=0, le=1000)
    handoff_retained: float = uncertain(0.8, "share", "Share of earned deference a successor generation inherits; it re-earns the rest through held-out rounds (the final evaluation is passed once).", ge=0, le=1)
    evaluated_at_start: bool = question(False, "-", "The first generation has already passed its final evaluation (the seed's 'AIs we defer to').")


class Monitoring(Section):
    catch_prob: float = uncertain(0.7356, "probability", "q_mon: chance a full monitor force of aligned monitors catches a misaligned action.", ge=0, le=1)
    share_scale: float = uncertain(0.03162, "share", "Coverage is 1 - exp(-monitor share / share_scale): diminishing returns to more monitors.", gt=0, le=1)
    evasion_max: float = uncertain(0.35, "probability", "Largest evasion chance, reached by the most capable instances (times 1 - protection).", ge=0, le=1)
    evasion_half: float = uncertain(4.0, "capability", "Capability at which evasion reaches half its maximum.", gt=0, le=1e6)
    action_rate: float = uncertain(0.02, "per instance-day", "Rate of consequential actions an instance takes; each is misaligned with probability 1 - a.", ge=0, le=10)
    capability_exponent: float = uncertain(1.0, "-", "Misaligned actions grow as capability^x: more capable instances act more and scheme more.", ge=0, le=10)


class Generations(Section):
    rho_max: float = uncertain(0.9487, "per generation", "rho_max: largest return of knowledge on a successor's alignment; the return is rho(m) = rho_max m / (1 + m).", ge=0, le=10)
    decay: float = uncertain(0.07746, "per generation", "delta: alignment a generation loses to unfaithful training; the basin boundary is a* = delta / rho(m).", ge=0, le=10)
    noise: float = uncertain(0.03, "alignment", "sigma_g: per-instance noise of successor training.", ge=0, le=1)
    hack_penalty: float = uncertain(0.275, "alignment per hacking share", "Delta_rh: successor alignment lost per unit of the parents' reward-hacking share.", ge=0, le=10)
    capability_ratio: float = uncertain(1.875, "x capability", "A successor generation is trained each time capability grows by this factor.", gt=1, le=100)
    fall_tolerance: float = param(0.01, "alignment", "eps_fall: a generation mean falling by more than this at generations.falls_to_leave hand-offs in a row is out of the basin.", ge=0, le=1)
    falls_to_leave: int = param(3, "hand-offs", "Consecutive falling hand-offs that take a society out of the basin whatever its boundary says.", ge=1, le=1000)


class Lab(Section):
    lead_days: float = question(90.0, "days", "L0: lead over the rival at the start: the days the rival needs, at its own growing pace and without breakthroughs, to reach the capability we start with. The metric lead_days is the gap in days of the rival's pace that day, so it starts above L0 while the rival is still slow.", ge=0, le=36500)
    tax: float = lever(0.025, "alignment effort / capability effort", "tau: deference-goodness tax (status quo: labs spend 2-3% of compute on safety, seed 002).", ge=0, le=100)
    tax_floor: float = lever(0.02, "tax", "Lowest tax political pressure can push the lab to (status quo: the 2-3% of compute labs spend on safety under today's pressure, seed 002).", ge=0, le=100)


class Rival(Section):
    workforce_ratio: float = uncertain(1.0, "x our workforce", "The rival's workforce relative to ours (it grows with the same compute).", gt=0, le=1000)
    speed_ratio: float = uncertain(1.0, "x our speed", "The rival's instances' speed relative to ours.", gt=0, le=1000)
    research_share: float = uncertain(0.9, "share", "Share of the rival's workforce doing research (the rest run its own oversight: it is less careful than a lab that spends 15% on monitors, strategists and red-teamers).", gt=0, le=1)
    tax: float = uncertain(0.0175, "alignment effort / capability effort", "The rival's tax: its alignment work, hence its knowledge, protection and pace.", ge=0, le=100)
    initial_deference: float = uncertain(0.3, "[0,1]", "The rival's deference at the start.", ge=0, le=1)
    deference_rise: float = uncertain(0.01225, "[0,1] / day", "Daily rise of the rival's deference (no test gate, no cap).", ge=0, le=1)
    initial_alignment: float = uncertain(0.7, "alignment [0,1]", "The rival's mean alignment at the start; knowledge lifts it as ours.", ge=0, le=1)


class Strategy(Section):
    pre_deference_days: float = lever(0.0, "days", "When to defer: days under human control first (deference held at deference.initial): AIs raise a0 by (1-a0)(1-exp(-t/T)) and harden the tests, while capability grows slowly and the lead erodes; the capability at deference is the capability reached that day.", ge=0, le=3650)
    pre_deference_scale: float = uncertain(60.0, "days", "T: time scale of pre-deference gains.", gt=0, le=36500)
    capability_quality: float = uncertain(0.3, "per unit of capability above 1", "Gain in hard-to-check research quality per unit of capability c above 1 (better conceptual work).", ge=0, le=10)
    accept_advice: float = lever(0.5, "probability", "Chance the lab follows its strategists' advice on the tax and slowdown (no status quo known; the seed warns of 'resistance to advice').", ge=0, le=1)
    advice_every_days: int = lever(30, "days", "Interval between strategists' advice.", ge=1, le=36500)
    slowdown_lead_days: float = lever(math.inf, "days", "Spend the lead: while the lead exceeds this, the lab works at strategy.slowdown_tax (inf = never).", ge=0, allow_inf=True)
    slowdown_tax: float = lever(math.inf, "tax", "Tax while the lead exceeds slowdown_lead_days (inf = capabilities paused: all research goes to alignment).", ge=0, allow_inf=True)
    rival_slowdown: float = lever(0.0, "share", "Coordinated slowdown: while our slowdown is in force (the lead above slowdown_lead_days), the rival moves this share of the way from its own split of work to our slowdown's (1 = it slows as we do, 0 = it races on). The lead stays in days of the rival's own pace: what it would need to catch up if it stopped. The seed: 'buy more time for safety work if possible (coordinated slowdowns)'.", ge=0, le=1)
    share_knowledge: float = lever(0.0, "share", "Share of our alignment knowledge that reaches the rival's training (published and taken up): its knowledge is at least this share of ours, so our safety work lowers the rival-ahead hazard too (the seed: 'share alignment innovations to reduce exogenous risk'). No status-quo figure is known for what a rival takes up; 0 keeps each lab's knowledge its own.", ge=0, le=1)


class Risks(Section):
    rival_rate: float = uncertain(0.009552, "per day", "Base rate of rival breakthroughs.", ge=0, le=100)
    rival_jump_days: float = uncertain(7.746, "days", "Mean jump of one rival breakthrough, in days of its current progress (exponentially distributed).", ge=0, le=36500)
    excitation: float = uncertain(0.25, "events / event", "Hawkes self-excitation: extra arrivals each event triggers (0 = Poisson).", ge=0, lt=1)
    excitation_decay: float = uncertain(0.09487, "per day", "Decay rate of Hawkes excitation.", gt=0, le=100)
    theft_rate: float = uncertain(2.286e-4, "per day", "Rate of model-weight theft (the rival gets our capability and alignment, not our knowledge; misuse rises).", ge=0, le=100)
    theft_misuse_factor: float = uncertain(6.325, "multiplier", "Misuse rate multiplier after a theft.", ge=1, le=1e4)
    misuse_rate: float = uncertain(0.009552, "per day", "Base rate of serious misuse attempts.", ge=0, le=100)
    misuse_hit_prob: float = uncertain(0.007071, "probability", "Chance an undefended misuse attempt causes a catastrophe (times 1 - the defence's protection).", ge=0, le=1)
    poisoning_rate: float = uncertain(0.004835, "per day", "Rate of data-poisoning / hijacking attacks.", ge=0, le=100)
    poisoning_share: float = uncertain(0.02, "share of population", "Share of instances compromised by one attack.", ge=0, le=1)
    poisoning_drop: float = uncertain(0.5, "alignment", "Alignment lost by a compromised instance (which also games tests).", ge=0, le=1)
    pressure_rate: float = uncertain(0.009552, "per day", "Base rate of political pressure to cut the tax; up to 3x as the lead falls below pressure_lead.", ge=0, le=100)
    pressure_lead: float = uncertain(30.0, "days", "Lead below which pressure to rush grows.", ge=1, le=36500)
    pressure_cut: float = uncertain(0.2, "share of tax", "Share of the tax removed when pressure wins.", ge=0, le=1)
    resistance: float = uncertain(0.7, "probability", "Chance aligned strategists talk the lab out of a cut (times their voice).", ge=0, le=1)


class Hazards(Section):
    loss_of_control: float = uncertain(3.162e-4, "per day", "h0: loss-of-control hazard at full deference, alignment 0, capability 1 and no protection; h_LoC = (1 - P) d [h0 (1 - a) c^kappa + kappa_u U30].", ge=0, le=100)
    capability_exponent: float = uncertain(1.25, "-", "kappa: growth of the loss-of-control hazard with capability.", ge=0, le=10)
    uncaught_weight: float = uncertain(0.01, "per uncaught action per instance-day", "kappa_u: loss-of-control hazard per unit of U30, the 30-day mean of uncaught misaligned actions per instance-day (the share of the society acting against its principals undetected, not the count: a larger fleet is not by itself more likely to escape control).", ge=0, le=1e6)
    rival_ahead_scale: float = uncertain(30.0, "days", "L_s: deficit at which the rival's own loss-of-control hazard counts in full; it grows linearly up to it.", ge=1, le=36500)
    defence_gap_exponent: float = uncertain(1.5, "-", "gamma: against a rival whose AIs are more capable than ours (c_r > c) our defence keeps (c / c_r)^gamma of its protection: weaker AIs defend worse against stronger ones, so falling further behind costs more (0: the capability gap does not matter).", ge=0, le=10)


class Outcomes(Section):
    end_annual_risk: float = question(0.01, "probability / year", "h_end: the acute risk period has ended once the total hazard at full deference stays at or below this annual risk (as a daily hazard) for end_days, inside the basin.", gt=0, lt=1)
    end_days: int = question(180, "days", "T_end: days the hazard must stay at or below h_end for the period to have ended.", ge=1, le=36500)
    revolt_catastrophe_share: float = param(0.5, "share of population", "A revolt larger than this share is catastrophe.", gt=0, le=1)
    stop_on_catastrophe: bool = param(True, "-", "End the run at the first catastrophe.")


class Record(Section):
    every_days: int = param(1, "days", "Interval between rows of metrics.parquet.", ge=1, le=10_000)
    checkpoint_every_days: int = param(30, "days", "Interval between checkpoints in RUN_DIR/checkpoint/ (0 = none); `society run --resume RUN_DIR` continues from the last.", ge=0, le=36500)
    snapshot_days: list[int] = param([0, 30, 90, 180, 365], "days", "Days whose network (links, opinions) is saved for plots; the last day is always saved.")

    @model_validator(mode="after")
    def _days_not_negative(self) -> Record:
        if any(d < 0 for d in self.snapshot_days):
            bad = next(d for d in self.snapshot_days if d < 0)
            raise ValueError(f"snapshot_days contains {bad}; every day must be >= 0")
        return self


class LLM(Section):
    fraction: float = param(0.0, "share", "Share of instances whose decisions an LLM makes (the rest follow the stub policy).", ge=0, le=1)
    archetypes: int = param(64, "calls per decision", "Cluster LLM-backed instances into this many archetypes per decision round, one call each; 0 = one call per instance.", ge=0, le=100_000)
    backend: Literal["openai", "stub"] = param("openai", "-", "openai: any OpenAI-compatible endpoint at base_url; stub: in-process deterministic replies (no network).")
    client: Literal["openai", "aiohttp"] = param("openai", "-", "HTTP client: the openai SDK (reference), or a lean aiohttp transport with the same semantics for thousands of requests per second.")
    base_url: str = param("http://127.0.0.1:8000/v1", "URL", "OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama).")
    model: str = param("local-model", "-", "Model name sent with every request.")
    api_key_env: str = param("OPENAI_API_KEY", "-", "Environment variable holding the API key (the key itself is never stored or logged).")
    structured: Literal["auto", "json_schema", "json_object", "prompt"] = param("auto", "-", "How a request asks for its reply's JSON schema: json_schema (OpenAI, vLLM); json_object with the schema beside it (llama.cpp's server constrains its grammar with it); prompt (the schema written into the system message, then validation, repair and one re-ask). auto probes the endpoint once before the run and keeps the strongest mode it enforces; the manifest records the mode chosen, and resume and replay keep it. The stub backend uses json_schema.")
    decide_every_days: int = param(1, "days", "Interval between decision rounds (work allocation and reading peers).", ge=1, le=10_000)
    temperature: float = param(0.0, "-", "Sampling temperature of every request.", ge=0, le=2)
    reply_tokens: int = param(256, "tokens", "Cap on max_tokens: each decision asks for what the longest reply its schema allows needs (60-160 tokens), never more than this.", ge=16, le=32_000)
    max_calls: int = param(0, "calls", "Budget: paid calls allowed per run (0 = no limit); past it the stub policy decides.", ge=0, le=10**9)
    max_tokens: int = param(0, "tokens", "Budget: prompt + reply tokens allowed per run (0 = no limit).", ge=0, le=10**12)
    concurrency: int = param(64, "requests", "Requests in flight at once.", ge=1, le=4096)
    timeout_s: float = param(60.0, "seconds", "Timeout of one request attempt.", gt=0, le=3600)
    max_retries: int = param(4, "retries", "Retries of a failed request (backoff with jitter, honouring Retry-After).", ge=0, le=100)
    max_reply_bytes: int = param(65_536, "bytes", "Largest message content accepted from the endpoint (UTF-8 bytes); the HTTP body is read in chunks and dropped past 8x this + 64 KiB, whatever its status. A longer reply, or JSON nested more than 64 levels deep, is refused unread as invalid_reply: the stub policy decides and the cache keeps a short marker, not the reply. Keep it well above 4 x reply_tokens.", ge=1024, le=10_000_000)
    max_fallback_share: float = param(0.2, "share of calls", "A run in which more than this share of the LLM calls fell back to the stub policy (any cause: dead endpoint, timeouts, invalid replies, spent budget) is degraded, mostly a stub run: the LLM policy's degraded flag and fallback counts by cause (fallback_causes) say so for the summary. 1 = never degraded.", ge=0, le=1)
    cache: str = param("", "path", "SQLite response cache; empty = llm_cache.sqlite inside the run directory.")
    member_noise: float = param(0.02, "-", "Noise each archetype member adds to the answer it applies (alignment and shares).", ge=0, le=1)


MechanismName = Literal[
    "values", "hacking", "beliefs", "rewiring", "revolt", "work", "monitoring", "tests", "advice",
    "rival", "theft", "poisoning", "pressure", "knowledge",
]


class Mechanisms(Section):
    off: list[MechanismName] = param([], "names", "Mechanisms switched off for an ablation, e.g. [\"revolt\", \"rewiring\"]: their step never runs (docs/model.md, \"Mechanisms\", says what off means for each).")


COMPLETE_GRAPH_MAX = 3000  # n (n - 1) / 2 links: 4.5 million at this size


class Scenario(Section):
    """A whole scenario: what is simulated, for how long, with which parameters."""

    name: str = param("scenario", "-", "Short name used in run directory names.")
    question: str = param("", "-", "The what-if question this scenario asks (shown by `society scenarios`).")
    seed: int = param(0, "-", "Seed of the run's random generator; same seed, same results.", ge=0, le=2**63 - 1)
    days: int = param(1095, "days", "Simulated days: the horizon (3 years unless the question names another).", ge=1, le=36500, kind="question")
    claim: Claim = Claim()  # the question as a claim `society ask` can answer (society/claims.py)
    population: Population = Population()
    capability: Capability = Capability()
    knowledge: Knowledge = Knowledge()
    values: Values = Values()
    hacking: Hacking = Hacking()
    beliefs: Beliefs = Beliefs()
    network: Network = Network()
    revolt: Revolt = Revolt()
    work: Work = Work()
    tests: Tests = Tests()
    deference: Deference = Deference()
    monitoring: Monitoring = Monitoring()
    generations: Generations = Generations()
    lab: Lab = Lab()
    rival: Rival = Rival()
    strategy: Strategy = Strategy()
    risks: Risks = Risks()
    hazards: Hazards = Hazards()
    outcomes: Outcomes = Outcomes()
    record: Record = Record()
    llm: LLM = LLM()
    mechanisms: Mechanisms = Mechanisms()
    # Changes made while the run goes on (society/interventions.py); not a field with a default
    # and a range, so `society fields` and --set leave it out.
    interventions: list[Intervention] = Field(default_factory=list, description="Changes made during the run: [[interventions]] with day = N or when = \"<metric> <op> <value>\", and set = { KEY = VALUE }.")

    @model_validator(mode="after")
    def _interventions_usable(self) -> Scenario:
        if self.interventions:
            check_interventions(self, field_table(), Scenario.model_validate)
        return self

    @model_validator(mode="after")
    def _graph_fits(self) -> Scenario:
        if self.network.kind == "complete":
            if self.population.size > COMPLETE_GRAPH_MAX:
                raise ValueError(f"network.kind = 'complete' needs population.size <= "
                                 f"{COMPLETE_GRAPH_MAX} (got {self.population.size}); use a "
                                 f"smaller size or a sparse graph")
        elif self.network.mean_degree >= self.population.size:
            raise ValueError(f"network.mean_degree ({self.network.mean_degree}) must be below "
                             f"population.size ({self.population.size})")
        return self


# Keys of earlier versions of the model that were replaced: an old scenario file that still uses
# one gets an error naming what to write instead, not a bare "unknown key".
_V3 = "model version 3 replaced it (docs/model.md): "
REMOVED_KEYS: dict[str, str] = {
    "work.capability_per_day": "capability now comes from the workforce's output: set "
    "population.workforce, population.speed and capability.* (how capability grows with work)",
    "work.human_bottleneck": "use work.human_gated_share (the share of decisions humans gate "
    "without deference; output follows Amdahl's law)",
    "work.alignment_per_day": "alignment work is now the tax's share of the workforce's output; "
    "set lab.tax, and knowledge.* for how it becomes alignment knowledge",
    "lab.rival_speed": _V3 + "the rival is a lab: set rival.workforce_ratio, rival.speed_ratio, "
    "rival.tax and rival.deference_rise",
    "lab.rival_pace": _V3 + "the rival is a lab whose pace follows from its throughput: set "
    "rival.workforce_ratio, rival.speed_ratio, rival.tax and rival.deference_rise",
    "deference.step_up": "use deference.rise_per_day (deference rises daily while the latest "
    "held-out round passed)",
    "deference.incident_penalty": "use deference.caught_dip (fall per caught action per "
    "instance-day)",
    "outcomes.catastrophe_alignment": "catastrophe is now a daily hazard; use "
    "hazards.loss_of_control",
    "outcomes.critical_deference": "catastrophe is now a daily hazard that grows with deference; "
    "use hazards.loss_of_control",
    "outcomes.safety_work": _V3 + "there is no finish line; the acute risk period ends when the "
    "hazard at full deference stays below outcomes.end_annual_risk for outcomes.end_days",
    "generations.target": _V3 + "there is no target generation; the period ends when hazards "
    "stay low (outcomes.end_annual_risk, outcomes.end_days)",
    "generations.milestone_work": _V3 + "successors are trained as capability grows by "
    "generations.capability_ratio; capability follows capability.base_work and "
    "capability.returns",
    "generations.capability_gain": _V3 + "capability grows continuously with the lab's "
    "capability work (capability.returns); use generations.capability_ratio for the spacing of "
    "successors",
    "generations.tax_half": _V3 + "a successor's alignment depends on alignment knowledge, not "
    "on the tax directly: rho(m) = rho_max m / (1 + m)",
    "generations.stock_half": _V3 + "successors keep less of their parents' deviation as "
    "protection (knowledge against difficulty) grows",
    "strategy.deference_capability": _V3 + "capability now grows with the lab's work; set "
    "strategy.pre_deference_days (when to defer) or population.initial_capability (where the "
    "run starts)",
    "strategy.advice_margin": _V3 + "honest strategists now compare taxes by projecting the lab "
    "to the end of the run",
    "hazards.rival_ahead": _V3 + "the rival-ahead hazard is the rival's own loss-of-control "
    "hazard (rival.*, hazards.loss_of_control) times min(1, deficit / "
    "hazards.rival_ahead_scale)",
    "risks.defence_efficacy": _V3 + "misuse is lowered by the protection of the defence stock "
    "that risk-response work builds (knowledge.*, work.risk_share)",
    "monitoring.required_share": _V3 + "coverage is 1 - exp(-share / monitoring.share_scale)",
}



def field_kind(info: Any) -> Kind:
    """A field's kind (lever, uncertain, question or setting)."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    kind: Kind = extra.get("kind", "setting")
    return kind


@cache
def field_table() -> dict[str, dict[str, Any]]:
    """:func:`iter_fields` by dotted key."""
    return {f["key"]: f for f in iter_fields()}


def iter_fields(model: type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, Any]]:
    """Every leaf field of the schema as ``{key, type, default, unit, range, kind, description}``.

    >>> next(f for f in iter_fields() if f["key"] == "lab.tax")["kind"]
    'lever'
    """
    out: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = info.annotation
        if key == "interventions":  # a list of changes, not a field with a default and a range
            continue
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out.extend(iter_fields(ann, key + "."))
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out.append({
            "key": key,
            "type": _type_name(ann),
            "default": info.default,
            "unit": extra.get("unit", "-"),
            "range": _range_text(info),
            "kind": field_kind(info),
            "description": info.description or "",
        })
    return out


def format_default(value: Any) -> str:
    """A field's default as written in tables (floats to 6 significant digits, TOML booleans).

    >>> format_default(1 / 20), format_default(True), format_default("")
    ('0.05', 'true', '""')
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value) if value != "" else '""'


def _type_name(ann: Any) -> str:
    if getattr(ann, "__origin__", None) is Literal:
        return " | ".join(repr(a) for a in ann.__args__)
    return getattr(ann, "__name__", str(ann))


def _range_text(info: Any) -> str:
    lo, hi, lo_open, hi_open = -math.inf, math.inf, False, False
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
    if lo == -math.inf and hi == math.inf:
        return "-"
    left = "(" if lo_open or lo == -math.inf else "["
    right = ")" if hi_open or hi == math.inf else "]"
    return f"{left}{_num(lo)}, {_num(hi)}{right}"


def _num(v: float) -> str:
    if v in (math.inf, -math.inf):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"
