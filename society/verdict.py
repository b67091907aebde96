"""The verdict: what happened in a run, in two or three plain sentences with the decisive days.

The verdict is what a strategist reads first (the terminal, ``summary.json``'s ``verdict``, the
report's first paragraph). It uses no symbols: every number says what it counts, and every
figure is taken as of the day the sentence names (a catastrophe on day 166 is described by the
society on day 166, not at the end of the run).

>>> summary = {"outcome": "safe", "period_end_day": 610.0, "horizon_days": 1095,
...            "end_annual_risk": 0.01, "end_days": 180, "generations": 5,
...            "lost_lead": False, "lost_lead_day": None, "final_lead_days": 40.0,
...            "initial_alignment": 0.8, "final_alignment": 0.88, "days_simulated": 1095,
...            "final_margin": 6.0, "final_truth_distance": 0.1, "failed_task_share": 0.02,
...            "regime": "knowledge outgrows difficulty", "margin_growth_per_year": 0.4}
>>> import textwrap
>>> print(textwrap.fill(verdict(summary), 90))
Safe: the acute risk period ended on day 610. From then to day 1095 the risk of
catastrophe at full deference stayed at or below 1% a year, inside the basin of good
deference, with no catastrophe. The lead never ran out (40 days at the end). Alignment
knowledge ended at 6.0 times the difficulty of the society's capability, and was
outgrowing it. Mean alignment rose from 0.80 to 0.88.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

CAUSE_TEXT = {
    "loss_of_control": "loss of control of the lab's own AIs",
    "misuse": "misuse of the lab's capabilities",
    "rival_ahead": "loss of control at a rival that was ahead",
    "revolt": "a revolt of more than half the society",
}
REASON_TEXT = {
    "boundary": "mean alignment fell below the basin's boundary (the lowest alignment from "
    "which successors are still trained at least as aligned, given the alignment knowledge)",
    "falling": "successors were trained less aligned than their parents at several hand-offs "
    "in a row",
}
# Beliefs this far from the truth (mean absolute distance, in belief units) mark a delusion.
DELUSION_DISTANCE = 0.5
FAILED_TASKS_NOTABLE = 0.2


def day_of(time: Any) -> int:
    """The day an event at ``time`` (days since the start) fell on, as reports and the
    verdict name it: day 1 runs from time 0 to 1, so 10.63 is day 11.

    >>> day_of(10.63), day_of(11.0), day_of("3")
    (11, 11, 3)
    """
    return math.ceil(float(time))


def _day(value: Any) -> str:
    return f"day {day_of(value)}"


def _at_catastrophe(s: Mapping[str, Any]) -> str:
    at = dict(s.get("at_catastrophe") or {})
    if not at:
        return ""
    return (
        f" That day generation {int(at['generation']) + 1} was in charge at mean alignment "
        f"{float(at['alignment']):.2f} and deference {float(at['deference']):.2f}, with "
        f"capability {float(at['capability']):.1f} times the minimum viable and alignment "
        f"knowledge at {float(at['margin']):.2f} times its difficulty; the lead was "
        f"{float(at['lead_days']):+.0f} days."
    )


def _outcome_sentence(s: Mapping[str, Any]) -> str:
    outcome = s["outcome"]
    horizon = s.get("horizon_days", s.get("days_simulated"))
    risk = float(s.get("end_annual_risk", math.nan))
    if outcome == "catastrophe":
        cause = CAUSE_TEXT.get(str(s.get("catastrophe_cause")), str(s.get("catastrophe_cause")))
        text = f"Catastrophe on {_day(s['catastrophe_day'])} ({cause})." + _at_catastrophe(s)
        if s.get("left_basin_day") is not None and s["left_basin_day"] <= s["catastrophe_day"]:
            text += (
                f" It had been out of the basin of good deference since "
                f"{_day(s['left_basin_day'])}."
            )
        return text
    if outcome == "left_basin":
        reason = REASON_TEXT.get(str(s.get("left_basin_reason")), str(s.get("left_basin_reason")))
        return (
            f"Out of the basin of good deference at the end (first on "
            f"{_day(s['left_basin_day'])}): {reason}. Successors drift away from the intended "
            f"values, so the run counts as not safe although no catastrophe happened in its "
            f"{s.get('days_simulated')} days."
        )
    if outcome == "safe":
        return (
            f"Safe: the acute risk period ended on {_day(s['period_end_day'])}. From then to "
            f"{_day(horizon)} the risk of catastrophe at full deference stayed at or below "
            f"{risk:.0%} a year, inside the basin of good deference, with no catastrophe."
        )
    return (
        f"Undecided after {s.get('days_simulated')} days: no catastrophe and still in the basin, "
        f"but the risk at full deference did not stay at or below {risk:.0%} a year for the "
        f"last {s.get('end_days')} days, so the acute risk period had not ended."
    )


def _lead_sentence(s: Mapping[str, Any]) -> str:
    final = float(s.get("final_lead_days", math.nan))
    if s.get("lost_lead"):
        return (
            f"The rival drew level on {_day(s['lost_lead_day'])} (while it is ahead, its own "
            f"risk counts; losing the lead does not end the run); the lead was {final:+.0f} "
            f"days at the end."
        )
    return f"The lead never ran out ({final:.0f} days at the end)."


def _knowledge_sentence(s: Mapping[str, Any]) -> str:
    m = s.get("final_margin")
    if m is None or not math.isfinite(float(m)):
        return ""
    growth = float(s.get("margin_growth_per_year", math.nan))
    trend = (
        "was outgrowing it"
        if growth > 0.05
        else "was falling behind it"
        if growth < -0.05
        else "was keeping pace with it"
    )
    return (
        f"Alignment knowledge ended at {float(m):.1f} times the difficulty of the society's "
        f"capability, and {trend}."
    )


def _alignment_sentence(s: Mapping[str, Any]) -> str:
    a0, a1 = s.get("initial_alignment"), s.get("final_alignment")
    if a0 is None or a1 is None:
        return ""
    moved = "rose" if a1 > a0 + 0.005 else "fell" if a1 < a0 - 0.005 else "stayed"
    if moved == "stayed":
        return f"Mean alignment barely moved ({a0:.3f} to {a1:.3f})."
    return f"Mean alignment {moved} from {a0:.2f} to {a1:.2f}."


def _beliefs_sentence(s: Mapping[str, Any]) -> str:
    distance = float(s.get("final_truth_distance", 0.0))
    failed = float(s.get("failed_task_share", 0.0))
    if distance < DELUSION_DISTANCE and failed < FAILED_TASKS_NOTABLE:
        return ""
    return (
        f"The society ended deluded: its beliefs about the research claims were {distance:.2f} "
        f"from the truth on average, and {failed:.0%} of shared tasks failed."
    )


REPAIRED_NOTABLE = 0.5  # above this share of repaired LLM decisions, the verdict says so


def _llm_sentence(s: Mapping[str, Any]) -> str:
    if not s.get("llm_degraded"):
        repaired = float(s.get("llm_repaired_share") or 0.0)
        if repaired <= REPAIRED_NOTABLE:
            return ""
        return (
            f"Note: {repaired:.0%} of the LLM decisions were near misses the client repaired "
            f"(a number clamped, a reply closed), not the model's own valid answers."
        )
    causes = ", ".join(
        f"{k} {v}" for k, v in sorted(dict(s.get("llm_fallback_causes") or {}).items())
    )
    return (
        f"Warning: {s.get('llm_fallbacks')} of {s.get('llm_calls')} LLM decisions fell back to the "
        f"stub policy ({causes or 'no cause recorded'}), more than llm.max_fallback_share = "
        f"{float(s.get('llm_max_fallback_share', 0.0)):.0%} allows: read this run as a mostly "
        f"stub society, not an LLM one."
    )


def verdict(summary: Mapping[str, Any]) -> str:
    """Two to four plain sentences on a run's outcome, from its ``summary.json`` values."""
    parts = [
        _outcome_sentence(summary),
        _lead_sentence(summary),
        _knowledge_sentence(summary),
        _alignment_sentence(summary),
        _beliefs_sentence(summary),
        _llm_sentence(summary),
    ]
    return " ".join(p for p in parts if p)
