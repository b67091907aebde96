"""The lab's strategy levers: pre-deference work, deference with its gate and final evaluation,
and strategists' advice on the tax.

Deference rises by ``r_d`` a day while the latest held-out round passed, falls with caught
misaligned actions, and is capped until the generation passes a final evaluation (a fresh,
less noisy suite that stops research for a few lab-days). Strategists advise the tax: aligned,
well-grounded ones honestly (the tax whose projection gives the best chance of getting through
the run, including inconvenient advice to slow down), delusional or misaligned ones to keep it.
The lab follows with probability ``strategy.accept_advice``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from society.lab import LabState
from society.mechanisms.base import Batched, Clocked, Simulation, register
from society.mechanisms.evaluation import knowledge_validity
from society.mechanisms.projection import Outlook, candidate_taxes, projected_log_survival_runs
from society.mechanisms.research import research_quality, truth_closeness
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


def outlook(model: Simulation, errors: tuple[float, float] = (0.0, 0.0)) -> Outlook:
    """Where the lab stands, as the strategists estimate it: they see knowledge and the lead
    through the tests, so their estimates carry an error that shrinks with test validity
    (lognormal on knowledge, normal on the lead; sd 0.5 and 30 days at validity 0): ``errors``
    are the two standard normal draws."""
    lab, pop, s = model.lab, model.population, model.scenario
    validity = max(0.0, knowledge_validity(pop))
    sd = 0.5 * (1.0 - validity)
    working = (pop.role == Role.RESEARCHER) & ~pop.revolting
    quality = research_quality(pop, s, lab.level)
    return Outlook(
        day=math.floor(model.day) + 1.0,
        capability_work=lab.capability,
        rival_work=lab.rival_capability + 60.0 * sd * lab.rival_pace * errors[1],
        rival_pace=lab.rival_pace,
        knowledge=lab.knowledge * math.exp(sd * errors[0]),
        defence=lab.defence,
        alignment=float(pop.alignment.mean()),
        deference=lab.deference,
        deference_cap=1.0 if lab.evaluated else s.deference.cap_before_evaluation,
        uncaught_rate=lab.uncaught_rate,
        working_share=float(working.mean()),
        quality=float(np.mean(quality, where=working)) if working.any() else 0.0,
        misuse_factor=lab.misuse_factor,
        rival=model.rival,
    )


def advised_tax(model: Simulation, rng: np.random.Generator) -> tuple[float, bool]:
    """``(advice, honest)``: the tax the strategists advise, and whether it was honest.

    With probability :func:`strategist_voice` the advice is honest: of
    :func:`~society.mechanisms.projection.candidate_taxes`, the one whose projection
    (:func:`~society.mechanisms.projection.projected_log_survival`, from the strategists'
    estimate of where the lab stands) gives the best chance of getting through the run. It may
    be above the tax in force (an inconvenient truth is still told) or below it (when the
    race is the greater danger). Otherwise the strategists miss the danger (misaligned ones
    hide it, delusional ones do not see it) and advise keeping the tax in force; with a weak
    voice they also resist pressure to cut it less (:func:`society.mechanisms.risks.pressure`).
    """
    return advised_taxes([model], [rng])[0]


@dataclass(frozen=True)
class _Question:
    """What honest strategists project: from where, and which taxes."""

    start: Outlook
    taxes: list[float]
    tax: float  # the tax in force

    def answer(self, scores: np.ndarray) -> float:
        """The best-scoring tax; the tax in force when it scores as well."""
        taxes, tax = self.taxes, self.tax
        best = max(range(len(taxes)), key=lambda i: (scores[i], -abs(taxes[i] - tax)))
        current = [i for i, t in enumerate(taxes) if abs(t - tax) < 1e-9]
        if current and scores[best] <= scores[current[0]] + 1e-12:
            return tax
        return taxes[best]


def advised_taxes(
    models: Sequence[Simulation], rngs: Sequence[np.random.Generator]
) -> list[tuple[float, bool]]:
    """:func:`advised_tax` for several runs (a batch's, advised on the same day), each from
    its own stream; the honest runs' projections are computed together
    (:func:`~society.mechanisms.projection.projected_log_survival_runs`)."""
    out: list[tuple[float, bool]] = []
    asked: dict[float, dict[int, _Question]] = {}  # projection length -> its runs' questions
    for b, (model, rng) in enumerate(zip(models, rngs, strict=True)):
        lab, s = model.lab, model.scenario
        u, errors = rng.random(), (float(rng.standard_normal()), float(rng.standard_normal()))
        out.append((lab.tax, False))
        if u < strategist_voice(model.population, s):
            start = outlook(model, errors)
            days = max(1.0, s.days - start.day + 1.0)
            asked.setdefault(days, {})[b] = _Question(start, candidate_taxes(lab.tax), lab.tax)
    for days, questions in asked.items():
        scores = projected_log_survival_runs(
            [models[b].scenario for b in questions],
            [q.start for q in questions.values()],
            [q.taxes for q in questions.values()],
            days,
        )
        for (b, q), row in zip(questions.items(), scores, strict=True):
            out[b] = (q.answer(row[: len(q.taxes)]), True)
    return out


@register
class Advice(Clocked):
    """The strategists advise the tax every ``strategy.advice_every_days`` days; the lab follows
    with probability ``strategy.accept_advice``, never below ``lab.tax_floor``. Off: no advice
    (the tax moves only under pressure)."""

    name, order, section, offset, stream = "advice", 20, "strategy", 0.6, "strategy"

    def period(self) -> int:
        return int(self.params.advice_every_days)

    def step(self, model: Simulation) -> None:
        self._follow(model, *advised_tax(model, self.rng))

    @classmethod
    def step_runs(cls, mechanisms: Sequence[Any], batch: Batched) -> bool:
        advice = advised_taxes(batch.models, [m.rng for m in mechanisms])
        for mechanism, model, (tax, honest) in zip(mechanisms, batch.models, advice, strict=True):
            mechanism._follow(model, tax, honest)
        return True

    def _follow(self, model: Simulation, advice: float, honest: bool) -> None:
        """The lab follows the advice or not, and the advice is recorded if it differs."""
        s, lab = model.scenario, model.lab
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
