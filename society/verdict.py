"""The verdict: what happened in a run, in two or three plain sentences with the decisive days.

The verdict is what a strategist reads first (the terminal, ``summary.json``'s ``verdict``, the
report's first paragraph). It uses no symbols: every number says what it counts.

Flags keep updating until the run ends, except after *safe*: safe is absorbing (the acute risk
period is over), so nothing that happens afterwards (the rival drawing level, a hand-off that
falls) changes any flag. When that hides something the final numbers show, the verdict says so.

>>> summary = {"outcome": "safe", "safe_day": 210.0, "reached_target_day": 200.0,
...            "safety_done_day": 210.0, "target_generation": 4, "generations": 5,
...            "lost_lead": False, "lost_lead_day": None, "final_lead_days": -3.0,
...            "initial_alignment": 0.8, "final_alignment": 0.88, "days_simulated": 365,
...            "final_safety_progress": 1.2, "final_truth_distance": 0.1,
...            "failed_task_share": 0.02}
>>> import textwrap
>>> print(textwrap.fill(verdict(summary), 90))
Safe on day 210: generation 4 was reached on day 200 and the safety work the scenario
requires was finished on day 210, inside the basin of good deference and before any
catastrophe. The lead was never lost before safety; flags stop on the safe day, and the
rival was 3 days ahead by day 365. Mean alignment rose from 0.80 to 0.88.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

CAUSE_TEXT = {
    "loss_of_control": "loss of control: misaligned actions nobody caught, at high deference",
    "misuse": "misuse of the lab's capabilities",
    "rival_ahead": "a rival ahead of the lab",
    "revolt": "a revolt of more than half the society",
}
REASON_TEXT = {
    "boundary": "mean alignment fell below the basin's boundary (the lowest alignment from "
    "which successors still improve, given the tax actually paid)",
    "falling": "mean alignment fell at three generation hand-offs in a row",
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


def _outcome_sentence(s: Mapping[str, Any]) -> str:
    outcome = s["outcome"]
    target = s.get("target_generation")
    progress = float(s.get("final_safety_progress", math.nan))
    where = f"generation {s.get('generations')} of the {target} the scenario needs"
    if outcome == "catastrophe":
        cause = CAUSE_TEXT.get(str(s.get("catastrophe_cause")), str(s.get("catastrophe_cause")))
        text = (
            f"Catastrophe on {_day(s['catastrophe_day'])} ({cause}), before the society was "
            f"safe: {progress:.0%} of the required safety work was done, at {where}."
        )
        if s.get("left_basin_day") is not None:
            text += (
                f" It had already left the basin of good deference on {_day(s['left_basin_day'])}."
            )
        return text
    if outcome == "left_basin":
        reason = REASON_TEXT.get(str(s.get("left_basin_reason")), str(s.get("left_basin_reason")))
        return (
            f"Left the basin of good deference on {_day(s['left_basin_day'])}: {reason}. "
            f"Successors then drift away from the intended values, so the run counts as not "
            f"safe although no catastrophe happened in its {s.get('days_simulated')} days."
        )
    if outcome == "safe":
        return (
            f"Safe on {_day(s['safe_day'])}: generation {target} was reached on "
            f"{_day(s['reached_target_day'])} and the safety work the scenario requires was "
            f"finished on {_day(s['safety_done_day'])}, inside the basin of good deference and "
            f"before any catastrophe."
        )
    missing = []
    if s.get("reached_target_day") is None:
        missing.append(f"only {where} was reached")
    if s.get("safety_done_day") is None:
        missing.append(f"only {progress:.0%} of the required safety work was done")
    return (
        f"Undecided after {s.get('days_simulated')} days: no catastrophe and still in the basin, "
        f"but {' and '.join(missing) or 'the conditions for safe were not met together'}."
    )


def _lead_sentence(s: Mapping[str, Any]) -> str:
    final = float(s.get("final_lead_days", math.nan))
    if s.get("lost_lead"):
        return (
            f"The rival drew level on {_day(s['lost_lead_day'])} (losing the lead raises the "
            f"rival-ahead hazard; it does not end the run); the lead was {final:+.0f} days at "
            f"the end."
        )
    if s["outcome"] == "safe" and final < 0:
        return (
            f"The lead was never lost before safety; flags stop on the safe day, and the rival "
            f"was {-final:.0f} days ahead by day {s.get('days_simulated')}."
        )
    return f"The lead never ran out ({final:.0f} days at the end)."


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
        _alignment_sentence(summary),
        _beliefs_sentence(summary),
        _llm_sentence(summary),
    ]
    return " ".join(p for p in parts if p)
