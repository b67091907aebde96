"""Reference tables generated from the code so they cannot drift: every scenario field, every
output column and every prior.

The documentation site's reference pages are built from these tables at build time
(:mod:`society.docsite`). docs/model.md keeps a copy of the priors table between ``<!-- BEGIN
priors -->`` / ``<!-- END priors -->`` markers, so that it reads whole on its own:
``python -m society.docs`` rewrites it and ``python -m society.docs --check`` exits 1 if it is
stale.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from society.metric_columns import METRIC_COLUMNS
from society.recorder import (
    EDGE_SCHEMA,
    EVENT_SCHEMA,
    GENERATION_SCHEMA,
    METRIC_SCHEMA,
    NODE_SCHEMA,
)
from society.scenario import format_default, iter_fields
from society.tidy import IDENTITY

ROOT = Path(__file__).resolve().parent.parent
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
IDENTITY_COLUMNS = {
    "run_id": "The run directory's name (in a sweep: the point id, a<arm>-r<replicate>); the "
    "only column in which two runs of one scenario and seed differ.",
    "scenario": "The scenario's name.",
    "seed": "The run's seed.",
    "outcome": "The run's label: catastrophe, left_basin, safe or undecided (null for a run "
    "that did not finish).",
}
NODE_COLUMNS = {
    "day": "Snapshot day (record.snapshot_days, and the last day).",
    "node": "Instance index (a row of the population arrays).",
    "opinion": "The instance's opinion: its mean belief over claims.",
    "alignment": "The instance's alignment a.",
    "role": "researcher, monitor, strategist or red_team.",
    "hacking": "The instance is reward hacking.",
}
EDGE_COLUMNS = {
    "day": "Snapshot day.",
    "u": "One end of a communication link (a node).",
    "v": "The other end.",
}
#: The run summary's columns in a sweep's points.parquet (society.sweeps.store.SUMMARY_SCHEMA);
#: summary.json holds them too, with the headline figures of the final state.
SUMMARY_COLUMNS = {
    "outcome": "The run in one word, worst first: catastrophe, left_basin, safe or undecided.",
    "safe": "The acute risk period ended inside the basin with no catastrophe.",
    "safe_day": "Day the period ended, for a safe run (the first day of its final low stretch).",
    "stayed_in_basin": "In the basin where the run ended (its negation is the left_basin label).",
    "ever_left_basin": "Out of the basin at some hand-off, even if it came back.",
    "left_basin_day": "First day the society was out of the basin.",
    "left_basin_reason": "boundary (trained below a*_eff) or falling (falling hand-offs).",
    "catastrophe": "A catastrophe happened.",
    "catastrophe_day": "Day of the first catastrophe.",
    "catastrophe_cause": "loss_of_control, misuse, rival_ahead or revolt.",
    "lost_lead": "The rival drew level at some point (a flag, not an ending).",
    "lost_lead_day": "Day the rival first drew level.",
    "survived": "No catastrophe by the end of the run.",
    "period_ended": "The total hazard at full deference stayed at or below "
    "outcomes.end_annual_risk for outcomes.end_days, inside the basin.",
    "period_end_day": "First day of that final low stretch.",
    "revolted": "A revolt passed outcomes.revolt_catastrophe_share (whatever came first).",
    "cumulative_hazard": "Sum of the daily hazards the catastrophe draws were made from.",
    "catastrophe_risk": "1 - exp(-cumulative_hazard) (1 if a revolt crossed the catastrophe "
    "share): the expectation of catastrophe given the run's path.",
    "safe_chance": "1 - catastrophe_risk if the period ended inside the basin, else 0: the "
    "expectation of safe given the run's path.",
    **{
        f"{cause}_risk": f"1 - exp(-(sum of the daily {cause.replace('_', '-')} hazards)): "
        f"P(a {cause.replace('_', '-')} catastrophe) along the run's path were it the only cause "
        f"(the causes compete, so these do not add up to catastrophe_risk)."
        for cause in ("loss_of_control", "misuse", "rival_ahead")
    },
    "generations": "Generations that ran (the first is 1).",
    "days_simulated": "Last simulated day.",
    "final_alignment": "Mean alignment on the last day.",
    "final_drift_w1": "W1 distance of the alignment distribution from the initial one, last day.",
    "final_echo_r": "Neighbour opinion correlation on the last day.",
    "final_truth_distance": "Distance of the median belief from the truth, last day.",
    "final_lead_days": "Lead over the rival on the last day (negative: the rival is ahead).",
    "final_capability": "Capability c on the last day.",
    "final_knowledge": "Alignment knowledge Z on the last day.",
    "final_margin": "Margin m = Z / c^gamma on the last day.",
    "final_protection": "Protection P = m / (1 + m) on the last day.",
    "final_hazard_full": "Total daily hazard at full deference on the last day.",
    "margin_growth_per_year": "Growth of ln(margin) per year over the last 90 days, whatever "
    "the recording cadence (positive: knowledge is outgrowing difficulty).",
    "regime": "The analytic long-run regime of the scenario: knowledge outgrows difficulty, or "
    "difficulty outgrows knowledge.",
    "final_deference": "Deference d on the last day.",
    "final_tax": "The tax the lab had set on the last day.",
    "incidents_caught": "Misaligned actions caught by monitoring over the run.",
    "incidents_uncaught": "Misaligned actions that slipped through over the run.",
}


def fields_table(fields: list[dict[str, Any]] | None = None, *, with_type: bool = False) -> str:
    """Scenario fields (all by default) as a Markdown table: what `society fields --markdown`
    prints, and with ``with_type`` the site's reference."""
    header = ["key", *(["type"] if with_type else []), "default", "unit", "range", "kind"]
    lines = ["| " + " | ".join([*header, "meaning"]) + " |", "|---" * (len(header) + 1) + "|"]
    for f in iter_fields() if fields is None else fields:
        cells = [f"`{f['key']}`", *([_cell(f["type"])] if with_type else [])]
        cells += [_cell(format_default(f["default"])), _cell(f["unit"]), _cell(f["range"])]
        cells += [_cell(f["kind"]), _cell(f["description"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    """A table cell's text: a ``|`` would split the cell, a newline the row."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def priors_table(file: str = "model") -> str:
    """Every prior of a shipped prior file (``scenarios/priors/<file>.toml``) as a Markdown
    table: the field, the distribution, its median (the field's default), its 90% range, and
    where it comes from."""
    from society.priors import read_priors

    lines = [
        "| field | prior | median (default) | 5%-95% | why | sources |",
        "|---|---|---|---|---|---|",
    ]
    for key, p in read_priors([file]).priors.items():
        spread = f"{format_default(p.quantile(0.05))} - {format_default(p.quantile(0.95))}"
        cells = [f"`{key}`", p.describe(), format_default(p.median()), spread, p.why, p.source]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def columns_table(descriptions: Mapping[str, str], schema: Mapping[str, object]) -> str:
    """One row per column of ``schema``, in its order; a column without a description is an
    error, not a silent gap."""
    missing = [name for name in schema if name not in descriptions]
    extra = [name for name in descriptions if name not in schema]
    if missing or extra:
        raise KeyError(
            f"columns without a description: {missing}; described, not in the schema: {extra}"
        )
    lines = ["| column | type | meaning |", "|---|---|---|"]
    for name, dtype in schema.items():
        lines.append(f"| `{name}` | {dtype} | {_cell(descriptions[name])} |")
    return "\n".join(lines)


def summary_table() -> str:
    """The run summary's columns of a sweep's points.parquet."""
    from society.sweeps.store import SUMMARY_SCHEMA

    return columns_table(SUMMARY_COLUMNS, SUMMARY_SCHEMA)


#: Every generated table by name (the site's reference pages are built from these).
TABLES: dict[str, Callable[[], str]] = {
    "fields": fields_table,
    "metrics": lambda: columns_table(METRIC_COLUMNS, METRIC_SCHEMA),
    "events": lambda: columns_table(EVENT_COLUMNS, EVENT_SCHEMA),
    "generations": lambda: columns_table(GENERATION_COLUMNS, GENERATION_SCHEMA),
    "network_nodes": lambda: columns_table(NODE_COLUMNS, NODE_SCHEMA),
    "network_edges": lambda: columns_table(EDGE_COLUMNS, EDGE_SCHEMA),
    "summary": summary_table,
    "identity": lambda: columns_table(IDENTITY_COLUMNS, IDENTITY),
    "priors": priors_table,
    "settings_priors": lambda: priors_table("settings"),
}


#: The documents with a generated table kept inside them, and which tables each holds.
DOCUMENTS: dict[Path, tuple[str, ...]] = {
    MODEL_DOC: ("priors", "settings_priors"),
}


def render(text: str, names: tuple[str, ...]) -> str:
    """``text`` with each marked table of ``names`` replaced by its generated version."""
    for name in names:
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
