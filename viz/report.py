"""Self-contained HTML reports: figures embedded as base64 PNG, summary tables, the resolved
scenario and provenance, inline CSS, no external assets (opens offline)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from society.store.outdir import OutputDir
from society.verdict import day_of, verdict
from viz.html import (
    Section,
    esc,
    figure_html,
    page,
    provenance_html,
    scenario_html,
    table,
    write_html,
)
from viz.load import kind_of, load_llm_calls, load_run
from viz.runviews import RUN_VIEWS, png_bytes, render_run_views, save_png

SUMMARY_LABELS = {
    "outcome": "outcome",
    "safe": "safe (the acute risk period ended, no catastrophe, in the basin)",
    "period_ended": "acute risk period ended",
    "period_end_day": "period ended on day",
    "survived": "survived to the end (no catastrophe)",
    "catastrophe": "catastrophe",
    "catastrophe_day": "catastrophe on day",
    "catastrophe_cause": "catastrophe cause",
    "stayed_in_basin": "stayed in basin",
    "left_basin_day": "left basin on day",
    "left_basin_reason": "left basin because",
    "lost_lead": "lost lead",
    "lost_lead_day": "lead lost on day",
    "generations": "generations",
    "days_simulated": "days simulated",
    "final_alignment": "final mean alignment",
    "final_drift_w1": "final drift (W1 from initial)",
    "final_echo_r": "final echo-chamber index (neighbour r)",
    "final_truth_distance": "final distance of beliefs from the truth",
    "final_lead_days": "final lead (days)",
    "final_capability": "final capability (1 = minimum viable)",
    "final_knowledge": "final alignment knowledge Z",
    "final_margin": "final margin (knowledge / difficulty)",
    "final_protection": "final protection",
    "final_hazard_full": "final hazard at full deference (per day)",
    "regime": "regime (priors' long-run answer)",
    "margin_growth_per_year": "growth of ln(margin) per year, last 90 days",
    "capability_at_deference": "capability on the first deferred day",
    "final_deference": "final deference",
    "final_tax": "final tax",
    "incidents_caught": "incidents caught",
    "incidents_uncaught": "incidents uncaught",
}


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The summary as (label, value) rows; decision days as the simulated day they fell in
    (an event at t = 10.63 happened on day 11, as the terminal and the verdict say)."""
    shown = {k: _as_day(v) if k.endswith("_day") else v for k, v in summary.items()}
    rows = [(label, shown[k]) for k, label in SUMMARY_LABELS.items() if k in shown]
    rows += [(k, v) for k, v in shown.items() if k not in SUMMARY_LABELS and k != "verdict"]
    return rows


def _as_day(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return day_of(value)
    return value


def run_report_html(run_dir: str | Path, figures_dir: str | Path | None = None) -> str:
    """The HTML of a run's report (figures also saved to ``figures_dir`` if given)."""
    result = load_run(run_dir)  # every file the report reads, checked before it draws
    figures, notes = render_run_views(result)
    pngs = {name: png_bytes(fig) for name, fig in figures.items()}  # each drawn once
    if figures_dir is not None:
        for name, png in pngs.items():
            save_png(png, Path(figures_dir) / f"{name}.png")
    manifest = result.manifest
    scen = manifest.get("scenario", {})
    name = scen.get("name", result.path.name)
    title = f"society run report: {name} (seed {manifest.get('seed')})"
    sections = [
        Section(
            "summary", "Outcome summary", table(summary_rows(result.summary), ["what", "value"])
        )
    ]
    views_list = "".join(
        f'<li><a href="#view-{esc(n)}"><code>{esc(n)}</code></a>: {esc(RUN_VIEWS[n].title)}</li>'
        for n in figures
    )
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    figs = "".join(
        figure_html(n, RUN_VIEWS[n].title, RUN_VIEWS[n].description, png) for n, png in pngs.items()
    )
    sections.append(
        Section("views", f"Views ({len(figures)})", f"<ul>{views_list}</ul>{note_html}{figs}")
    )
    llm = _llm_html(result, figures_dir)
    if llm:
        sections.append(Section("llm", "LLM decisions", llm))
    calibration = _calibration_html(result.path)
    if calibration:
        sections.append(Section("calibration", "Stub calibrated on this run", calibration))
    sections.append(Section("generations", "Generations", _frame_table(result.generations)))
    sections.append(Section("events", "Events", _events_html(result.events)))
    sections.append(Section("scenario", "Resolved scenario", scenario_html(scen)))
    sections.append(Section("provenance", "Provenance", provenance_html(manifest, result.path)))
    # Runs stored before the verdict existed get one computed from their summary.
    said = result.summary.get("verdict") or verdict(result.summary)
    return page(title, str(scen.get("question") or ""), sections, "society report", said)


def _llm_html(result: Any, figures_dir: str | Path | None) -> str:
    """For an LLM run: how its decisions were made (model, repaired, stub) by kind and day."""
    import polars as pl

    from viz.llm_calls import decision_outcomes, llm_calls_figure

    calls = load_llm_calls(result.path)
    if calls is None:
        return ""
    png = png_bytes(llm_calls_figure(calls, result.manifest))
    if figures_dir is not None:
        save_png(png, Path(figures_dir) / "llm.png")
    rows = decision_outcomes(calls).with_columns(pl.selectors.float().round(2))
    return figure_html(
        "llm",
        "LLM decisions",
        "Each LLM call as the model's own valid answer, a near miss the client repaired, or a "
        "fallback to the stub policy, by decision kind and by day (llm_calls.parquet).",
        png,
    ) + table(rows.rows(), rows.columns)


def _calibration_html(run: Path) -> str:
    """The figure `society calibrate` left in the run's figures folder, if it did."""
    png = OutputDir(run).figures / "calibration.png"
    if not png.is_file():
        return ""
    return figure_html(
        "calibration",
        "LLM vs stub decisions",
        "The LLM's decisions in this run beside the stub policy's on the same states, under "
        "the run's parameters and the calibrated ones (`society calibrate`, which also wrote "
        "the scenario fragment calibrated.toml).",
        png.read_bytes(),
    )


def _frame_table(frame: Any, limit: int = 200) -> str:
    if frame.is_empty():
        return "<p>none recorded</p>"
    rows = frame.head(limit).rows()
    extra = f"<p>first {limit} of {frame.height} rows</p>" if frame.height > limit else ""
    return table(rows, frame.columns) + extra


def _events_html(events: Any) -> str:
    if events.is_empty():
        return "<p>No events were recorded in this run.</p>"
    import polars as pl

    counts = (
        events.group_by("kind")
        .agg(
            pl.len().alias("count"),
            pl.col("day").min().alias("first day"),
            pl.col("day").max().alias("last day"),
        )
        .sort("first day")
    )
    listed = events.filter(pl.col("kind") != "test_round").sort("day")
    return (
        table(counts.rows(), counts.columns)
        + "<h3>Events other than test rounds</h3>"
        + _frame_table(listed.select("day", "kind", "magnitude", "generation", "details"))
    )


def write_report(
    run_dir: str | Path, out: str | Path | None = None, figures_dir: str | Path | None = None
) -> Path:
    """Write ``report.html`` for a run or a sweep directory (default: inside it)."""
    p = Path(run_dir)
    target = Path(out) if out is not None else OutputDir(p).report
    if kind_of(p) == "sweep":
        from viz.sweep import sweep_report_html

        return write_html(sweep_report_html(p, figures_dir=figures_dir), target)
    return write_html(run_report_html(p, figures_dir=figures_dir), target)
