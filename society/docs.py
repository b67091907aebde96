"""Reference tables of the README, generated from the code so they cannot drift.

``python -m society.docs`` rewrites the tables between the ``<!-- BEGIN x -->`` / ``<!-- END x
-->`` markers of README.md; ``python -m society.docs --check`` exits 1 if they are stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from society.observe import METRIC_COLUMNS
from society.recorder import EVENT_SCHEMA, GENERATION_SCHEMA, METRIC_SCHEMA
from society.scenario import format_default, iter_fields

README = Path(__file__).resolve().parent.parent / "README.md"

GENERATION_COLUMNS = {
    "generation": "Generation index (0 = first).",
    "start_day": "Day the generation took over.",
    "end_day": "Day it handed off (or the run ended).",
    "size": "Instances in the generation.",
    "mean_alignment": "Mean alignment at hand-off (or at the end of the run).",
    "start_alignment": "Mean trained alignment when it took over.",
    "erosion": "start_alignment - mean_alignment: the generation's own drift (E_n).",
    "effective_tax": "tau_eff: quality-weighted alignment work / capability work over its days.",
    "a_star": "a*_eff: lowest trained alignment whose successor is trained at least as aligned, "
    "at its effective tax, erosion and hacking loss; NaN where every alignment falls.",
    "in_basin": "start_alignment > a_star.",
    "hack_share": "Mean share of reward-hacking instances over its days (B_n).",
    "w1_to_successor": "W1 distance between its alignment and its successors' (NaN if none).",
    "completed": "True if it handed off; False for the generation in charge at the end.",
}
EVENT_COLUMNS = {
    "day": "Simulated time of the event (continuous for risk arrivals).",
    "kind": "rival_breakthrough, theft, poisoning, tax_cut, pressure_resisted, advice, "
    "test_round, final_evaluation_started, final_evaluation, generation_handoff, "
    "revolt_cascade, lost_lead, safe or catastrophe.",
    "magnitude": "Size: lead days lost (rival, theft), share compromised (poisoning), tax "
    "removed (tax_cut), advised tax (advice), held-out pass share (test_round, "
    "final_evaluation), parent alignment (hand-off), cascade share (revolt), safety work "
    "(safe).",
    "generation": "Generation in charge when it happened.",
    "details": "JSON object with event-specific fields (e.g. passed, honest, followed, cause "
    "and the day's hazards of a catastrophe).",
}


def fields_table() -> str:
    """Every scenario field as a Markdown table (also what `society fields --markdown` prints)."""
    lines = ["| key | default | unit | range | kind | meaning |", "|---|---|---|---|---|---|"]
    for f in iter_fields():
        cells = [f"`{f['key']}`", format_default(f["default"]), f["unit"], f["range"], f["kind"]]
        lines.append("| " + " | ".join([*cells, f["description"]]) + " |")
    return "\n".join(lines)


def _columns_table(descriptions: Mapping[str, str], schema: Mapping[str, object]) -> str:
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for name, text in descriptions.items():
        lines.append(f"| `{name}` | {schema[name]} | {text} |")
    return "\n".join(lines)


TABLES: dict[str, Callable[[], str]] = {
    "fields": fields_table,
    "metrics": lambda: _columns_table(METRIC_COLUMNS, METRIC_SCHEMA),
    "events": lambda: _columns_table(EVENT_COLUMNS, EVENT_SCHEMA),
    "generations": lambda: _columns_table(GENERATION_COLUMNS, GENERATION_SCHEMA),
}


def render(text: str) -> str:
    """``text`` with every marked table replaced by its generated version."""
    for name, make in TABLES.items():
        text = _fill(text, name, make())
    return text


def _fill(text: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- BEGIN {name} --> ... <!-- END {name} --> block")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    current = README.read_text()
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print("README.md tables are stale: run `python -m society.docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
