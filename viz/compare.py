"""What-if comparisons of runs: drift curves overlaid, scenario differences, outcome table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from society.errors import SocietyError
from society.store.outdir import OutputDir
from viz._common import column, day_axis
from viz.html import (
    Section,
    esc,
    figures_section,
    flatten,
    page,
    provenance_html,
    table,
    write_html,
)
from viz.load import load_run
from viz.report import summary_rows
from viz.runviews import png_bytes, save_figure, save_png
from viz.style import CYCLE, new_figure, plain, styled

if TYPE_CHECKING:
    from society.api import RunResult

COMPARE_VIEWS = {
    "compare": (
        "Drift compared",
        "Mean alignment (band: 5-95% of instances), drift from the initial distribution "
        "and lead over the rival for each run, overlaid.",
    ),
}
IGNORED_KEYS = ("name", "question")


def run_labels(runs: Sequence[RunResult]) -> list[str]:
    """Short unique labels: scenario name and seed, or the directory name if those repeat."""
    labels = [
        plain(f"{r.manifest.get('scenario_name', r.path.name)} s{r.manifest.get('seed')}")
        for r in runs
    ]
    if len(set(labels)) < len(labels):
        labels = [plain(r.path.name) for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{i + 1}: {lab}" for i, lab in enumerate(labels)]
    return labels


def scenario_differences(runs: Sequence[RunResult]) -> list[tuple[Any, ...]]:
    """``(key, value in run 1, value in run 2, ...)`` for every scenario field that differs."""
    flat = [flatten(r.manifest.get("scenario", {})) for r in runs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for k in keys:
        vals = [f.get(k) for f in flat]
        if any(v != vals[0] for v in vals[1:]):
            rows.append((k, *vals))
    return rows


def outcome_rows(runs: Sequence[RunResult]) -> list[tuple[Any, ...]]:
    """Outcome summary side by side, with the difference of the last run minus the first."""
    per = [dict(summary_rows(r.summary)) for r in runs]
    keys = list(dict.fromkeys(k for p in per for k in p))
    rows = []
    for k in keys:
        vals = [p.get(k) for p in per]
        first, last = vals[0], vals[-1]
        diff: Any = "-"
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (first, last)):
            diff = last - first  # type: ignore[operator]
        elif first != last:
            diff = "differs"
        rows.append((k, *vals, diff))
    return rows


@styled
def compare_figure(runs: Sequence[RunResult], labels: Sequence[str] | None = None) -> Figure:
    """Mean alignment, drift W1 from initial, and lead, one colour per run."""
    labels = list(labels or run_labels(runs))
    fig = new_figure(10, 7.6)
    top, mid, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[3, 2, 2])
    fig.suptitle("Compared runs: " + " vs ".join(labels))
    last_days = None
    for i, (r, label) in enumerate(zip(runs, labels, strict=True)):
        colour = CYCLE[i % len(CYCLE)]
        m = r.metrics.sort("day") if not r.metrics.is_empty() else r.metrics
        if m.is_empty():
            continue
        days = column(m, "day")
        last_days = days if last_days is None else np.union1d(last_days, days)
        top.fill_between(
            days,
            column(m, "alignment_p05"),
            column(m, "alignment_p95"),
            color=colour,
            alpha=0.15,
            lw=0,
        )
        top.plot(days, column(m, "alignment_mean"), color=colour, label=label)
        mid.plot(days, column(m, "drift_w1_initial"), color=colour, label=label)
        bottom.plot(days, column(m, "lead_days"), color=colour, label=label)
    top.set_ylabel("mean alignment a (0-1)")
    top.set_title("alignment (band: 5-95% of instances)")
    top.legend(loc="best", fontsize=8)
    mid.set_ylabel("W1 from initial (alignment)")
    mid.set_title("drift")
    bottom.axhline(0, color="0.4", lw=0.8, ls="--")
    bottom.set_ylabel("lead (days)")
    bottom.set_title("lead over nearest rival")
    if last_days is not None:
        day_axis(bottom, last_days)
    else:
        bottom.set_xlabel("simulated day (d)")
    return fig


def write_compare(run_dirs: Sequence[str | Path], out_dir: str | Path, fmt: str = "png") -> Path:
    """Write ``compare.<fmt>`` and a self-contained ``report.html`` comparing the runs to
    ``out_dir``; returns the report's path."""
    if len(run_dirs) < 2:
        raise SocietyError("compare needs at least two run directories.")
    runs = [load_run(d) for d in run_dirs]
    labels = run_labels(runs)
    fig = compare_figure(runs, labels)
    out = Path(out_dir)
    report = OutputDir(out).report  # named like a run's or a sweep's report
    png = png_bytes(fig)  # drawn once for the report, and for the file when it is a PNG
    if fmt == "png":
        save_png(png, out / "compare.png")
    else:
        save_figure(fig, out / f"compare.{fmt}", fmt)
    diffs = scenario_differences(runs)
    diff_html = (
        table(diffs, ["scenario field", *labels])
        if diffs
        else "<p>The runs' scenarios are identical (only the seed or nothing differs).</p>"
    )
    outcomes = table(outcome_rows(runs), ["outcome", *labels, f"{labels[-1]} - {labels[0]}"])
    prov = "".join(
        f"<h3>{esc(lab)}</h3>{provenance_html(r.manifest, r.path)}"
        for r, lab in zip(runs, labels, strict=True)
    )
    sections = [
        Section("differences", "Scenario differences", diff_html),
        Section("outcomes", "Outcomes", outcomes),
        Section("views", "Views (1)", figures_section({"compare": png}, COMPARE_VIEWS)),
        Section("provenance", "Provenance", prov),
    ]
    question = "What changes between " + " and ".join(labels) + "?"
    write_html(
        page("society compare: " + " vs ".join(labels), question, sections, "society compare"),
        report,
    )
    frame = pl.DataFrame({"run": labels, "path": [str(r.path) for r in runs]})
    frame.write_csv(out / "runs.csv")
    return report
