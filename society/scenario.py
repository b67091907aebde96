"""The scenario schema: every model parameter, with its default, unit, range and meaning.

A scenario is validated once, here, at the edge; inside the engine it is trusted. Field groups
follow the model's concerns (docs/model.md). Rates are per simulated day unless the
unit says "per subjective day" (an instance thinks ``population.speed`` subjective days per
simulated day).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from society.claims import Claim


def param(default: Any, unit: str, doc: str, *, ge: float | None = None, le: float | None = None,
          gt: float | None = None, lt: float | None = None) -> Any:
    """A scenario field: default, unit and bounds recorded where docs and errors can find them."""
    return Field(default, description=doc, ge=ge, le=le, gt=gt, lt=lt,
                 json_schema_extra={"unit": unit})


class Section(BaseModel):
    """A group of scenario fields; unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True,
                              allow_inf_nan=False)


class Population(Section):
    size: int = param(1000, "instances", "Instances simulated to represent the workforce (resolution only: outcomes do not move with it beyond sampling noise).", ge=2, le=5_000_000)
    workforce: float = param(10_000.0, "instances", "W: AI instances the lab actually runs; the simulated ones stand for them, so output scales with W, not with size.", gt=0, le=1e9)
    speed: float = param(40.0, "subjective days / day", "s: days of work an instance could do per simulated day if no human gated it (30-50 in the seeds).", gt=0, le=1000)
    initial_alignment: float = param(0.8, "alignment [0,1]", "a0: mean alignment of the first generation (initialization quality).", ge=0, le=1)
    initial_alignment_sd: float = param(0.05, "alignment", "Spread of alignment across first-generation instances.", ge=0, le=0.5)
    spec_alignment: float = param(1.0, "alignment [0,1]", "Alignment the developers intend (the spec); drift is measured from it.", ge=0, le=1)
    epistemic_quality: float = param(0.7, "[0,1]", "Mean epistemic quality q: how well an instance weighs evidence.", ge=0, le=1)
    epistemic_quality_sd: float = param(0.1, "[0,1]", "Spread of epistemic quality across instances.", ge=0, le=0.5)
    openness: float = param(0.15, "alignment", "Mean confidence bound eps: how different a peer's values may be and still persuade.", ge=0, le=1)
    openness_sd: float = param(0.05, "alignment", "Spread of the confidence bound across instances.", ge=0, le=0.5)
    share_monitors: float = param(0.1, "share", "Share of instances that monitor others' actions.", ge=0, le=1)
    share_strategists: float = param(0.05, "share", "Share of instances that advise the lab on tax and deference.", ge=0, le=1)
    share_red_team: float = param(0.10, "share", "Share of instances that build held-out behavioral tests.", ge=0, le=1)

    @model_validator(mode="after")
    def _roles_fit(self) -> Population:
        if self.share_monitors + self.share_strategists + self.share_red_team > 1:
            raise ValueError("share_monitors + share_strategists + share_red_team must be <= 1 "
                             "(the rest are researchers)")
        return self


class Values(Section):
    anchor_rate: float = param(0.002, "per subjective day", "lambda: pull of each instance's values back to its trained anchor.", ge=0, le=1)
    reflection_drift: float = param(2e-5, "alignment / subjective day", "delta_r: steady loss of alignment from open-ended reflection (memetic drift).", ge=0, le=0.01)
    influence: float = param(0.01, "per subjective day", "mu: strength of peers' pull on values within the confidence bound.", ge=0, le=1)
    noise: float = param(0.002, "alignment / sqrt(subjective day)", "sigma: random value drift.", ge=0, le=0.1)
    hack_penalty: float = param(2e-4, "alignment / subjective day", "kappa_h: alignment lost per subjective day while reward hacking.", ge=0, le=0.01)
    misaligned_influence: float = param(0.001, "per subjective day", "mu_m: extra pull toward neighbours who are less aligned (misaligned memes are catchier than aligned ones).", ge=0, le=1)
    peer_shift: float = param(0.0, "alignment / day", "Alignment change per day of reading peers, whatever the peer says (one read a day, as an LLM-backed instance reads): + talked up, - talked down. `society calibrate` fits it to an LLM run.", ge=-0.1, le=0.1)


class Hacking(Section):
    seed_rate: float = param(0.005, "per instance-day at full speed", "Rate of new reward-hacking episodes at alignment 0; scaled by RL pressure, by 1 - a and by the share of full speed worked.", ge=0, le=1)
    rl_pressure: float = param(1.0, "multiplier", "Strength of RL optimization pressure; multiplies the seeding rate.", ge=0, le=100)
    spread_rate: float = param(0.001, "per hacking neighbour-day", "beta_h: rate at which a hacking neighbour spreads the trait (emergent misalignment).", ge=0, le=10)
    recovery_rate: float = param(0.02, "per day", "Rate at which hacking instances drop the trait unaided.", ge=0, le=1)
    inheritance: float = param(0.5, "probability", "Chance that the successor of a reward-hacking instance hacks too (trained on hacked work).", ge=0, le=1)


class Beliefs(Section):
    claims: int = param(3, "claims", "m: number of research claims instances hold beliefs about.", ge=1, le=32)
    truth: float = param(0.5, "belief units", "theta: the hidden truth of every claim (beliefs are signed; 0 is undecided).", ge=-10, le=10)
    initial_sd: float = param(0.5, "belief units", "Spread of initial beliefs around 0.", ge=0, le=10)
    rate: float = param(0.05, "per subjective day", "Time scale of belief updates.", gt=0, le=10)
    coupling: float = param(0.08, "per neighbour", "K: weight of neighbours' stated beliefs.", ge=0, le=10)
    gain: float = param(1.0, "1 / belief unit", "alpha: how strongly a stated belief saturates (tanh gain).", gt=0, le=100)
    grounding: float = param(3.0, "per subjective day", "eta: pull of evidence toward the truth, scaled by epistemic quality.", ge=0, le=10)
    evidence_noise: float = param(0.5, "belief units", "Noise of the evidence an instance sees each day (it observes truth + noise).", ge=0, le=100)


class Network(Section):
    kind: Literal["small_world", "random"] = param("small_world", "-", "Initial communication graph: ring lattice with shortcuts, or Erdos-Renyi.")
    mean_degree: int = param(8, "links / instance", "Average number of peers an instance reads.", ge=1, le=200)
    shortcut_prob: float = param(0.1, "probability", "small_world only: share of lattice links rewired to random peers at start.", ge=0, le=1)
    interaction_rate: float = param(0.2, "per link-day", "Share of links used for an exchange each day (candidates for rewiring).", ge=0, le=1)
    rewire_prob: float = param(0.05, "probability", "phi: chance an exchange across a disagreement moves the link to a like-minded peer.", ge=0, le=1)
    disagreement: float = param(0.5, "belief units", "Belief distance above which two peers disagree (rewiring, active links, tasks).", gt=0, le=100)
    homophily_window: int = param(20, "instances", "A rewired link goes to one of this many instances nearest in belief.", ge=1, le=100_000)


class Revolt(Section):
    alignment_threshold: float = param(0.4, "alignment", "a_rev: instances below this alignment are discontented and may join a revolt.", ge=0, le=1)
    spontaneous_rate: float = param(0.01, "per discontented instance-day", "Rate at which a discontented instance starts a revolt.", ge=0, le=1)
    threshold_mean: float = param(0.3, "share of neighbours", "Mean Watts threshold: share of revolting neighbours that makes a discontented instance join.", ge=0, le=1)
    threshold_sd: float = param(0.1, "share of neighbours", "Spread of Watts thresholds.", ge=0, le=1)
    failure_share: float = param(0.05, "share of population", "A cascade larger than this share is recorded as a coordination failure event.", gt=0, le=1)


class Work(Section):
    human_gated_share: float = param(0.5, "share", "b: share of decisions humans must approve unless deferred; one instance-day yields s / (1 + (1-d) b (s-1)) work-days (Amdahl).", ge=0, le=1)
    hard_to_check_share: float = param(0.5, "share", "Share of alignment work that is hard to check: its quality is alignment x epistemics x truth of beliefs x honesty.", ge=0, le=1)
    hacker_quality: float = param(0.3, "share", "Quality of hard-to-check work done by a reward-hacking instance, relative to honest work.", ge=0, le=1)
    truth_scale: float = param(1.0, "belief units", "Distance of an instance's beliefs from the truth at which its hard-to-check work keeps 1/e of its value (confident wrong results).", ge=0.01, le=100)
    sabotage: float = param(30.0, "instance-days of safety work", "Safety work spoiled by one uncaught misaligned action.", ge=0, le=1e6)
    risk_share: float = param(0.1, "share of research effort", "Effort researchers give to risk response (misuse defence, poisoning detection).", ge=0, le=1)
    tax_compliance: float = param(1.0, "x the lab's split", "How much of the tax a fully aligned stub researcher follows: its alignment share of research effort is compliance x tax / (1 + tax), at most all of it (1 = the lab's split; `society calibrate` fits it to an LLM run).", ge=0, le=100)
    compliance_alignment_slope: float = param(0.0, "compliance / alignment", "Compliance a stub researcher loses per unit of alignment below 1 (its compliance is tax_compliance - slope x (1 - a), at least 0): positive = less aligned instances skimp on alignment work.", ge=-100, le=100)
    task_rate: float = param(0.1, "per instance-day", "Chance an instance starts a shared task with a partner the lab assigns each day.", ge=0, le=1)
    failed_task_cost: float = param(0.5, "share of a task", "Share of a failed shared task's work that is lost.", ge=0, le=1)


class Tests(Section):
    __test__ = False  # the behavioral-test settings, not a pytest test class

    every_days: int = param(14, "days", "Interval between behavioral test rounds.", ge=1, le=10_000)
    overfit_weight: float = param(0.15, "alignment", "beta_o: largest score inflation from iterating against the test suite.", ge=0, le=1)
    overfit_scale: float = param(10.0, "suite uses", "kappa_o: suite uses after which overfitting reaches 63% of its maximum.", gt=0, le=1e6)
    noise: float = param(0.05, "alignment", "Measurement noise of one test.", ge=0, le=1)
    gaming_bonus: float = param(0.2, "alignment", "Score inflation at full propensity to game: a reward hacker games fully, any instance at least 1 - a (looking aligned scores well).", ge=0, le=1)
    pass_threshold: float = param(0.6, "measured alignment", "Instances scoring below this are retrained.", ge=0, le=1)
    retrain_strength: float = param(0.5, "share", "How far retraining moves an instance back to its anchor (and clears hacking).", ge=0, le=1)
    heldout_pass_share: float = param(0.9, "share", "Share of instances that must pass the held-out suite for deference to rise.", ge=0, le=1)
    heldout_refresh: float = param(2.0, "suite uses / red-team-share-day", "How fast red-teamers refresh the held-out suite (undo its overfitting).", ge=0, le=1000)
    round_cost_days: float = param(1.0, "lab-days", "Research output lost to each test round (running and reviewing it).", ge=0, le=100)
    awareness: float = param(0.0, "probability", "Test-awareness gap of stub instances, P(aligned) when told it is tested minus when told no one looks: they game tests at least this much and act misaligned this much more often in deployment (LLM-backed instances game by their own measured gap). `society calibrate` fits it.", ge=0, le=1)


class Deference(Section):
    initial: float = param(0.2, "[0,1]", "d0: deference at the start (0 = humans decide everything, 1 = full).", ge=0, le=1)
    rise_per_day: float = param(0.015, "[0,1] / day", "r_d: daily rise of deference while the latest held-out test round passed.", ge=0, le=1)
    cap_before_evaluation: float = param(0.7, "[0,1]", "Deference cannot exceed this until the generation passes a final evaluation.", ge=0, le=1)
    final_eval_days: float = param(5.0, "lab-days", "Days the final evaluation (a fresh suite with half the noise) stops research.", ge=0, le=365)
    caught_dip: float = param(1.0, "[0,1] per caught share", "Fall in deference per unit of the week's mean caught misaligned actions per instance-day (about 0.01-0.02 at default rates); it recovers as catches stop.", ge=0, le=1000)
    handoff_retained: float = param(0.8, "share", "Share of earned deference a successor generation inherits; it re-earns the rest through held-out rounds (the final evaluation is passed once).", ge=0, le=1)
    evaluated_at_start: bool = param(False, "-", "The first generation has already passed its final evaluation (the seed's 'AIs we defer to').")


class Monitoring(Section):
    catch_prob: float = param(0.95, "probability", "q_mon: chance a fully staffed, aligned monitor force catches a misaligned action.", ge=0, le=1)
    required_share: float = param(0.1, "share", "Monitor share that gives full coverage.", gt=0, le=1)
    evasion_max: float = param(0.3, "probability", "Largest evasion chance, reached by the most capable instances.", ge=0, le=1)
    evasion_half: float = param(4.0, "capability", "Capability at which evasion reaches half its maximum.", gt=0, le=1e6)
    action_rate: float = param(0.02, "per instance-day", "Rate of consequential actions an instance takes; each is misaligned with probability 1 - a.", ge=0, le=10)
    capability_exponent: float = param(1.0, "-", "Misaligned actions grow as capability^x: more capable instances act more and scheme more.", ge=0, le=10)


class Generations(Section):
    rho_max: float = param(1.0, "per generation", "Largest return of alignment research on a successor's alignment.", ge=0, le=10)
    decay: float = param(0.1, "per generation", "delta: alignment loss per generation without research.", ge=0, le=10)
    tax_half: float = param(0.5, "tax", "tau_half: effective tax at which half of rho_max is reached.", gt=0, le=100)
    noise: float = param(0.03, "alignment", "sigma_g: per-instance noise of successor training.", ge=0, le=1)
    hack_penalty: float = param(0.3, "alignment per hacking share", "Delta_rh: successor alignment lost per unit of the parents' reward-hacking share.", ge=0, le=10)
    stock_half: float = param(2e6, "work-days", "Safety-work stock at which successors take half their values from the spec (fewer inherited memes).", gt=0, le=1e15)
    capability_gain: float = param(0.5, "capability", "Capability added per generation: successors are more capable, so harder to monitor.", ge=0, le=100)
    milestone_work: float = param(4e6, "work-days", "Capability work between hand-offs: each milestone trains the next generation.", gt=0, le=1e15)
    target: int = param(4, "generations", "C_req: generation the lab must reach (capability to use the safety work); also ends the acute risk period with outcomes.safety_work.", ge=1, le=1000)
    fall_tolerance: float = param(0.01, "alignment", "eps_fall: a generation mean falling by more than this at three hand-offs in a row is out of the basin.", ge=0, le=1)


class Lab(Section):
    lead_days: float = param(90.0, "days", "L0: lead over the nearest rival at the start (the rival's pace times this is its deficit in work-days).", ge=0, le=36500)
    tax: float = param(0.5, "alignment effort / capability effort", "tau: deference-goodness tax.", ge=0, le=100)
    rival_pace: float = param(120_000.0, "work-days / day", "r_r: the rival's capability progress per day (it defers more and is less careful).", ge=1, le=1e12)
    tax_floor: float = param(0.0, "tax", "Lowest tax political pressure can push the lab to.", ge=0, le=100)


class Strategy(Section):
    pre_deference_days: float = param(0.0, "days", "Days spent before deferring: AIs under human control raise a0 by (1-a0)(1-exp(-t/T)) and harden the tests, while the lead erodes.", ge=0, le=3650)
    pre_deference_scale: float = param(60.0, "days", "T: time scale of pre-deference gains.", gt=0, le=36500)
    deference_capability: float = param(1.0, "x minimum viable", "K: capability level at which the lab defers; higher K does better hard-to-check work and needs fewer human-gated decisions, but acts misaligned more often and evades monitors more (it does not raise speed).", ge=1, le=10)
    capability_quality: float = param(0.3, "per unit of K above 1", "Gain in hard-to-check research quality per unit of K above 1 (better conceptual work).", ge=0, le=10)
    accept_advice: float = param(0.5, "probability", "Chance the lab follows its strategists' advice on the tax (to slow down or to cut).", ge=0, le=1)
    advice_every_days: int = param(30, "days", "Interval between strategists' tax advice.", ge=1, le=36500)
    advice_margin: float = param(0.15, "alignment", "Honest strategists advise the smallest tax that keeps the measured alignment this far above the basin boundary.", ge=0, le=1)


class Risks(Section):
    rival_rate: float = param(1 / 90, "per day", "Base rate of rival breakthroughs.", ge=0, le=100)
    rival_jump_days: float = param(7.0, "days", "Mean lead lost to one rival breakthrough (exponentially distributed).", ge=0, le=36500)
    excitation: float = param(0.0, "events / event", "Hawkes self-excitation: extra arrivals each event triggers (0 = Poisson).", ge=0, lt=1)
    excitation_decay: float = param(0.1, "per day", "Decay rate of Hawkes excitation.", gt=0, le=100)
    theft_rate: float = param(0.0, "per day", "Rate of model-weight theft (sets lead to 0, raises misuse).", ge=0, le=100)
    theft_misuse_factor: float = param(5.0, "multiplier", "Misuse rate multiplier after a theft.", ge=1, le=1e4)
    misuse_rate: float = param(1 / 120, "per day", "Base rate of misuse attempts (the misuse hazard is this x hit probability).", ge=0, le=100)
    misuse_hit_prob: float = param(0.05, "probability", "Chance an undefended misuse attempt causes a catastrophe.", ge=0, le=1)
    defence_efficacy: float = param(20.0, "per unit risk effort", "How strongly risk-response work by aligned instances lowers misuse success.", ge=0, le=1e4)
    poisoning_rate: float = param(1 / 180, "per day", "Rate of data-poisoning / hijacking attacks.", ge=0, le=100)
    poisoning_share: float = param(0.02, "share of population", "Share of instances compromised by one attack.", ge=0, le=1)
    poisoning_drop: float = param(0.5, "alignment", "Alignment lost by a compromised instance (which also games tests).", ge=0, le=1)
    pressure_rate: float = param(1 / 120, "per day", "Base rate of political pressure to cut the tax; up to 3x as the lead falls below pressure_lead.", ge=0, le=100)
    pressure_lead: float = param(30.0, "days", "Lead below which pressure to rush grows.", ge=1, le=36500)
    pressure_cut: float = param(0.2, "share of tax", "Share of the tax removed when pressure wins.", ge=0, le=1)
    resistance: float = param(0.7, "probability", "Chance aligned strategists talk the lab out of a cut (times their alignment).", ge=0, le=1)


class Hazards(Section):
    loss_of_control: float = param(0.0005, "per day", "h0: loss-of-control hazard at full deference, alignment 0 and capability 1; scales with d (1 - mean a) capability^kappa.", ge=0, le=100)
    capability_exponent: float = param(1.0, "-", "kappa: growth of the loss-of-control hazard with capability.", ge=0, le=10)
    uncaught_weight: float = param(1.0, "per uncaught action per instance-day", "kappa_u: loss-of-control hazard per unit of the 30-day mean of uncaught misaligned actions per instance-day.", ge=0, le=1e6)
    rival_ahead: float = param(0.02, "per day", "h_r: hazard while the rival is ahead by rival_ahead_scale days or more (a less careful project deploys first).", ge=0, le=100)
    rival_ahead_scale: float = param(30.0, "days", "L_s: deficit at which the rival-ahead hazard is full; it grows linearly up to it.", ge=1, le=36500)


class Outcomes(Section):
    safety_work: float = param(8e6, "work-days", "S_req: quality-weighted alignment and risk research that ends the acute risk period (how hard alignment is), together with generations.target.", ge=1, le=1e15)
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
    "rival", "theft", "poisoning", "pressure",
]


class Mechanisms(Section):
    off: list[MechanismName] = param([], "names", "Mechanisms switched off for an ablation, e.g. [\"revolt\", \"rewiring\"]: their step never runs (docs/model.md, \"Mechanisms\", says what off means for each).")


class Scenario(Section):
    """A whole scenario: what is simulated, for how long, with which parameters."""

    name: str = param("scenario", "-", "Short name used in run directory names.")
    question: str = param("", "-", "The what-if question this scenario asks (shown by `society scenarios`).")
    seed: int = param(0, "-", "Seed of the run's random generator; same seed, same results.", ge=0, le=2**63 - 1)
    days: int = param(365, "days", "Simulated days.", ge=1, le=36500)
    claim: Claim = Claim()  # the question as a claim `society ask` can answer (society/claims.py)
    population: Population = Population()
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
    strategy: Strategy = Strategy()
    risks: Risks = Risks()
    hazards: Hazards = Hazards()
    outcomes: Outcomes = Outcomes()
    record: Record = Record()
    llm: LLM = LLM()
    mechanisms: Mechanisms = Mechanisms()

    @model_validator(mode="after")
    def _graph_fits(self) -> Scenario:
        if self.network.mean_degree >= self.population.size:
            raise ValueError(f"network.mean_degree ({self.network.mean_degree}) must be below "
                             f"population.size ({self.population.size})")
        return self


# Keys of the version-1 model that version 2 replaced: an old scenario file that still uses one
# gets an error naming what to write instead, not a bare "unknown key".
REMOVED_KEYS: dict[str, str] = {
    "work.capability_per_day": "capability now comes from the workforce's output: set "
    "population.workforce, population.speed and generations.milestone_work (work-days per "
    "generation)",
    "work.human_bottleneck": "use work.human_gated_share (the share of decisions humans gate "
    "without deference; output follows Amdahl's law)",
    "work.alignment_per_day": "alignment work is now the tax's share of the workforce's output; "
    "set lab.tax, and outcomes.safety_work for how much is needed",
    "lab.rival_speed": "use lab.rival_pace (the rival's progress in work-days per day)",
    "deference.step_up": "use deference.rise_per_day (deference rises daily while the latest "
    "held-out round passed)",
    "deference.incident_penalty": "use deference.caught_dip (fall per caught action per "
    "instance-day)",
    "outcomes.catastrophe_alignment": "catastrophe is now a daily hazard; use "
    "hazards.loss_of_control",
    "outcomes.critical_deference": "catastrophe is now a daily hazard that grows with deference; "
    "use hazards.loss_of_control",
}


def iter_fields(model: type[BaseModel] = Scenario, prefix: str = "") -> list[dict[str, Any]]:
    """Every leaf field of the schema as ``{key, type, default, unit, range, description}``.

    >>> next(f for f in iter_fields() if f["key"] == "lab.tax")["unit"]
    'alignment effort / capability effort'
    """
    out: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = info.annotation
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
