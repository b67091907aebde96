"""LLM decisions of a run: which the model answered, which were repaired, which fell back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from viz._common import note
from viz.style import OKABE_ITO, new_figure, plain, styled, suptitle

OUTCOMES = (
    ("accepted", "the model's own valid answer", OKABE_ITO["bluish_green"]),
    ("repaired", "a near miss the client mended", OKABE_ITO["orange"]),
    ("fell back", "the stub policy decided", OKABE_ITO["vermillion"]),
)


def _flagged(calls: pl.DataFrame) -> pl.DataFrame:
    """``calls`` with ``repaired`` and ``fallback`` as plain booleans (``repaired`` false in
    runs recorded before it existed)."""
    repaired = pl.col("repaired") if "repaired" in calls.columns else pl.lit(False)
    return calls.with_columns(
        repaired.fill_null(False).alias("repaired"), pl.col("fallback").fill_null(False)
    )


def decision_outcomes(calls: pl.DataFrame) -> pl.DataFrame:
    """Per decision kind: calls, accepted / repaired / fell back counts, mean prompt and reply
    tokens and mean latency; one row per kind, most calls first, then an ``all`` row.

    >>> calls = pl.DataFrame({"decision": ["a", "a", "b"], "fallback": [False, True, False],
    ...     "repaired": [False, False, True], "prompt_tokens": [10, 20, 30],
    ...     "completion_tokens": [1, 2, 3], "latency_s": [0.1, 0.2, 0.3]})
    >>> decision_outcomes(calls).select("decision", "calls", "accepted", "fell back").rows()
    [('a', 2, 1, 1), ('b', 1, 0, 0), ('all', 3, 1, 1)]
    """
    flagged = _flagged(calls)
    aggregates = [
        pl.len().alias("calls"),
        (~pl.col("fallback") & ~pl.col("repaired")).sum().alias("accepted"),
        (pl.col("repaired") & ~pl.col("fallback")).sum().alias("repaired"),
        pl.col("fallback").sum().alias("fell back"),
        pl.col("prompt_tokens").mean().alias("prompt tokens"),
        pl.col("completion_tokens").mean().alias("reply tokens"),
        pl.col("latency_s").mean().alias("latency s"),
    ]
    kinds = flagged.group_by("decision").agg(aggregates)
    kinds = kinds.sort(["calls", "decision"], descending=[True, False])
    total = flagged.select(pl.lit("all").alias("decision"), *aggregates)
    return pl.concat([kinds, total], how="vertical_relaxed")


@styled
def llm_calls_figure(calls: pl.DataFrame, manifest: Mapping[str, Any] | None = None) -> Figure:
    """Left: each decision kind's calls, split into accepted, repaired and fell back. Right:
    LLM calls per simulated day and the share of them the model did not answer validly
    (repaired or fell back)."""
    fig = new_figure(11, 4.2)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    mode = (manifest or {}).get("llm", {}) or {}
    suptitle(fig, f"LLM decisions (structured mode {plain(mode.get('structured', '?'))})", manifest)
    if calls.is_empty():
        note(left, "no LLM calls recorded")
        note(right, "no LLM calls recorded")
        return fig
    table = decision_outcomes(calls).filter(pl.col("decision") != "all")
    kinds = table["decision"].to_list()
    y = np.arange(len(kinds))[::-1]
    start = np.zeros(len(kinds))
    for column_name, meaning, color in OUTCOMES:
        counts = table[column_name].to_numpy().astype(float)
        left.barh(y, counts, left=start, color=color, label=f"{column_name}: {meaning}")
        start += counts
    left.set_xlim(0, 1.6 * float(start.max()))  # room for the legend beside the bars
    left.set_yticks(y, kinds)
    left.set_xlabel("calls")
    left.set_title("per decision kind")
    left.legend(loc="lower right", fontsize=8)

    day = (
        _flagged(calls)
        .with_columns(
            pl.col("day").ceil().cast(pl.Int64).alias("day_n"),
            (pl.col("fallback") | pl.col("repaired")).alias("missed"),
        )
        .group_by("day_n")
        .agg(pl.len().alias("calls"), pl.col("missed").mean().alias("missed"))
    )
    day = day.sort("day_n")
    right.bar(day["day_n"], day["calls"], color=OKABE_ITO["sky_blue"], label="calls")
    most = int(day["calls"].to_numpy().max())
    right.set_ylim(0, 1.35 * most)  # room above the bars for the legend
    right.set_xlabel("day")
    right.set_ylabel("calls")
    share = right.twinx()
    missed = 100 * day["missed"]
    share.plot(
        day["day_n"],
        missed,
        color=OKABE_ITO["vermillion"],
        marker="o",
        label="repaired or fell back (%)",
    )
    share.set_ylim(0, 100)
    share.set_ylabel("repaired or fell back (%)")
    right.set_title("per day")
    handles = right.get_legend_handles_labels()
    more = share.get_legend_handles_labels()
    right.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    return fig
