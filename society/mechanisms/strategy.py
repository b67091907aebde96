"""The lab's strategy levers: pre-deference work, deference with its gate and final evaluation,
and strategists' advice on the tax.

Deference rises by ``r_d`` a day while the latest held-out round passed, falls with caught
misaligned actions, and is capped until the generation passes a final evaluation (a fresh,
less noisy suite that stops research for a few lab-days). Strategists advise the tax: aligned,
well-grounded ones honestly (the smallest tax that keeps the measured society a margin inside
the basin, including inconvenient advice to slow down), delusional or misaligned ones toward
cuts. The lab follows with probability ``strategy.accept_advice``.
"""

from __future__ import annotations

import math

import numpy as np

from society.lab import LabState
from society.mechanisms.base import Clocked, Simulation, register
from society.mechanisms.generations import tax_for_margin
from society.mechanisms.research import truth_closeness
from society.population import Population, Role
from society.scenario import Scenario

CAUGHT_WINDOW = 7.0  # days over which a deference dip from caught actions recovers


def pre_deference_day(pop: Population, lab: LabState, scenario: Scenario) -> None:
    """One day of work before deferring: alignment and its anchor move toward 1 by
    ``1 - exp(-1/T)`` of the remaining gap (so ``(1 - a0)(1 - exp(-t/T))`` after ``t`` days), and
    test gaming shrinks by the same factor (humans and controlled AIs harden the suites)."""
    step = -math.expm1(-1.0 / scenario.strategy.pre_deference_scale)
    pop.alignment += step * (1.0 - pop.alignment)
    pop.anchor += step * (1.0 - pop.anchor)
    lab.test_hardening *= 1.0 - step
    lab.gen_start_alignment = float(pop.anchor.mean())


def deference_day(lab: LabState, scenario: Scenario, caught_share: float) -> bool:
    """Move deference one day. Earned trust rises by ``r_d`` while the latest held-out round
    passed and stays under the cap until the generation is evaluated; deference is that trust
    minus a dip of ``caught_dip`` x the week's mean caught share per instance-day (about 0.02
    at default rates), which recovers over about a week once catches stop. Returns True when
    the generation has reached the cap and should now take its final evaluation."""
    p = scenario.deference
    lab.caught_rate += (caught_share - lab.caught_rate) / CAUGHT_WINDOW
    cap = 1.0 if lab.evaluated else p.cap_before_evaluation
    lab.trust = min(cap, lab.trust + (p.rise_per_day if lab.heldout_passed else 0.0))
    lab.deference = max(0.0, lab.trust - p.caught_dip * lab.caught_rate)
    return not lab.evaluated and not lab.evaluating and lab.trust >= cap - 1e-12


def strategist_voice(pop: Population, scenario: Scenario) -> float:
    """Chance the strategists' advice is honest and right: the mean over working strategists
    of alignment x truth of their beliefs (poor epistemics show as beliefs far from the
    truth), in [0, 1] (0 if none is working)."""
    who = (pop.role == Role.STRATEGIST) & ~pop.revolting
    if not who.any():
        return 0.0
    truth = truth_closeness(pop, scenario.beliefs.truth, scenario.work.truth_scale)
    return float(np.mean(pop.alignment[who] * truth[who]))


def advised_tax(
    pop: Population,
    lab: LabState,
    scenario: Scenario,
    erosion: float,
    quality: float,
    rng: np.random.Generator,
) -> tuple[float, bool]:
    """``(advice, honest)``: the tax the strategists advise, and whether it was honest.

    With probability :func:`strategist_voice` the advice is honest:
    :func:`~society.mechanisms.generations.tax_for_margin` at the mean alignment, the generation's
    erosion so far and its hacking loss, never below the tax in force (an inconvenient truth
    is still told). Otherwise the strategists miss the danger (misaligned ones hide it,
    delusional ones do not see it) and advise keeping the tax in force; with a weak voice they
    also resist pressure to cut it less (:func:`society.mechanisms.risks.pressure`).
    """
    g, k = scenario.generations, scenario.strategy
    if rng.random() >= strategist_voice(pop, scenario):
        return lab.tax, False
    honest = tax_for_margin(
        float(pop.alignment.mean()),
        k.advice_margin,
        g.rho_max,
        g.decay,
        g.tax_half,
        erosion=max(erosion, 0.0),
        hack_loss=g.hack_penalty * float(pop.hacking.mean()),
        quality=max(quality, 1e-6),
    )
    return max(honest, lab.tax), True


@register
class Advice(Clocked):
    """The strategists advise the tax every ``strategy.advice_every_days`` days; the lab follows
    with probability ``strategy.accept_advice``, never below ``lab.tax_floor``. Off: no advice
    (the tax moves only under pressure)."""

    name, order, section, offset, stream = "advice", 20, "strategy", 0.6, "strategy"

    def period(self) -> int:
        return int(self.params.advice_every_days)

    def step(self, model: Simulation) -> None:
        s, lab, pop = model.scenario, model.lab, model.population
        erosion = lab.gen_start_alignment - float(pop.alignment.mean())
        # How much of the nominal tax became effective tax this generation (quality, sabotage).
        quality = lab.effective_tax() / lab.tax if lab.tax > 0 else 1.0
        advice, honest = advised_tax(pop, lab, s, erosion, quality, self.rng)
        followed = bool(self.rng.random() < self.params.accept_advice)
        if abs(advice - lab.tax) < 1e-9:
            return
        before = lab.tax
        if followed:
            lab.tax = max(s.lab.tax_floor, advice)
        model.recorder.event(
            model.day,
            "advice",
            advice,
            lab.generation,
            honest=honest,
            followed=followed,
            tax_before=round(before, 6),
            tax=round(lab.tax, 6),
        )
