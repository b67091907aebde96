"""Reference tables of the README and docs/model.md, generated from the code so they cannot
drift.

``python -m society.docs`` rewrites the tables between the ``<!-- BEGIN x -->`` / ``<!-- END x
-->`` markers of README.md (fields, metrics, events, generations) and docs/model.md (priors);
``python -m society.docs --check`` exits 1 if any is stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from society.metric_columns import METRIC_COLUMNS
from society.recorder import EVENT_SCHEMA, GENERATION_SCHEMA, METRIC_SCHEMA
from society.scenario import format_default, iter_fields

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MODEL_DOC = ROOT / "docs" / "model.md"

GENERATION_COLUMNS = {
    "generation": "Generation index (0 = first).",
    "start_day": "Day the generation took over.",
    "end_day": "Day it handed off (or the run ended).",
    "size": "Instances in the generation.",
    "mean_alignment": "Mean alignment at hand-off (or at the end of the run).",
    "start_alignment": "Mean trained alignment when it took over.",
    "erosion": "start_alignment - mean_alignment: the generation's own drift (E_n).",
    "effective_tax": "tau_eff: quality-weighted alignment work / capability work over its days.",
    "capability": "c when it handed off (or the run ended).",
    "margin": "m = Z / D(c) when it handed off: the knowledge its successors were trained with.",
    "ceiling": "a_max(m): the alignment that knowledge can train.",
    "a_star": "a*_eff: lowest trained alignment whose successor is trained at least as aligned, "
    "at its margin, erosion and hacking loss; NaN where the knowledge gives no basin.",
    "attractor": "The alignment successors settle toward from above (the basin's top); NaN "
    "where there is no basin.",
    "in_basin": "start_alignment > a_star.",
    "hack_share": "Mean share of reward-hacking instances over its days (B_n).",
    "w1_to_successor": "W1 distance between its alignment and its successors' (NaN if none).",
    "successor_alignment": "Mean trained alignment of its successors (NaN if none).",
    "fell": "Its successors were trained less aligned than it was, by more than "
    "generations.fall_tolerance, from below the attractor (the realized test of the basin).",
    "completed": "True if it handed off; False for the generation in charge at the end.",
}
EVENT_COLUMNS = {
    "day": "Simulated time of the event (continuous for risk arrivals).",
    "kind": "rival_breakthrough, theft, poisoning, tax_cut, pressure_resisted, advice, "
    "test_round, final_evaluation_started, final_evaluation, generation_handoff, "
    "revolt_cascade, lost_lead, knowledge_frozen, intervention, safe or catastrophe.",
    "magnitude": "Size: lead days lost (rival, theft), share compromised (poisoning), tax "
    "removed (tax_cut), advised tax (advice), held-out pass share (test_round, "
    "final_evaluation), parent alignment (hand-off), cascade share (revolt), safety work "
    "(safe), the entry's index in [[interventions]] (intervention).",
    "generation": "Generation in charge when it happened.",
    "details": "JSON object with event-specific fields (e.g. passed, honest, followed, cause "
    "and the day's hazards of a catastrophe; what an intervention set, its trigger and label).",
}


def fields_table() -> str:
    """Every scenario field as a Markdown table (also what `society fields --markdown` prints)."""
    lines = ["| key | default | unit | range | kind | meaning |", "|---|---|---|---|---|---|"]
    for f in iter_fields():
        cells = [f"`{f['key']}`", format_default(f["default"]), f["unit"], f["range"], f["kind"]]
        lines.append("| " + " | ".join([*cells, f["description"]]) + " |")
    return "\n".join(lines)


def priors_table() -> str:
    """Every shipped prior as a Markdown table: the field, the distribution, its median (the
    field's default), its 90% range, and where it comes from."""
    from society.priors import read_priors

    lines = [
        "| field | prior | median (default) | 5%-95% | why | sources |",
        "|---|---|---|---|---|---|",
    ]
    for key, p in read_priors(["model"]).priors.items():
        spread = f"{format_default(p.quantile(0.05))} - {format_default(p.quantile(0.95))}"
        cells = [f"`{key}`", p.describe(), format_default(p.median()), spread, p.why, p.source]
        lines.append("| " + " | ".join(cells) + " |")
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
    "priors": priors_table,
}


#: The documents with generated tables, and which tables each holds.
DOCUMENTS: dict[Path, tuple[str, ...]] = {
    README: ("fields", "metrics", "events", "generations"),
    MODEL_DOC: ("priors",),
}


def render(text: str, names: tuple[str, ...] | None = None) -> str:
    """``text`` with every marked table (of ``names``; all the README's by default) replaced by
    its generated version."""
    for name in DOCUMENTS[README] if names is None else names:
        text = _fill(text, name, TABLES[name]())
    return text


def _fill(text: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"no <!-- BEGIN {name} --> ... <!-- END {name} --> block to fill")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def main(argv: list[str]) -> int:
    stale = []
    for path, names in DOCUMENTS.items():
        current = path.read_text()
        fresh = render(current, names)
        if fresh == current:
            continue
        stale.append(path.name)
        if "--check" not in argv:
            path.write_text(fresh)
    if "--check" in argv and stale:
        print(f"{', '.join(stale)} tables are stale: run `python -m society.docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
