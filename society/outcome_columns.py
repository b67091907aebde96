"""The outcome columns a sweep keeps per run (points.parquet) and the flags derived from them.

A leaf module: the sweep store, the sweep summary, claims and the analysis all read these
names, so they live below all of them (and below the model) rather than in any one.
"""

from __future__ import annotations

import polars as pl

#: Causes of a catastrophe drawn from the daily hazards (society.mechanisms.hazards).
HAZARD_CAUSES = ("loss_of_control", "misuse", "rival_ahead")
#: Every catastrophe cause: the hazards', and a revolt over the catastrophe share.
CAUSES = (*HAZARD_CAUSES, "revolt")

#: Columns of points.parquet taken from a run's summary, with their types (fixed, so that an
#: all-null column, e.g. catastrophe_day when nothing went wrong, has the same type everywhere).
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "outcome": pl.String(),
    "safe": pl.Boolean(),
    "safe_day": pl.Float64(),
    "stayed_in_basin": pl.Boolean(),
    "ever_left_basin": pl.Boolean(),
    "left_basin_day": pl.Float64(),
    "left_basin_reason": pl.String(),
    "catastrophe": pl.Boolean(),
    "catastrophe_day": pl.Float64(),
    "catastrophe_cause": pl.String(),
    "revolted": pl.Boolean(),
    "lost_lead": pl.Boolean(),
    "lost_lead_day": pl.Float64(),
    "survived": pl.Boolean(),
    "period_ended": pl.Boolean(),
    "period_end_day": pl.Float64(),
    "cumulative_hazard": pl.Float64(),
    "catastrophe_risk": pl.Float64(),
    "safe_chance": pl.Float64(),
    **{f"{cause}_risk": pl.Float64() for cause in HAZARD_CAUSES},
    "generations": pl.Int64(),
    "days_simulated": pl.Int64(),
    "final_alignment": pl.Float64(),
    "final_drift_w1": pl.Float64(),
    "final_echo_r": pl.Float64(),
    "final_truth_distance": pl.Float64(),
    "final_lead_days": pl.Float64(),
    "final_capability": pl.Float64(),
    "final_knowledge": pl.Float64(),
    "final_margin": pl.Float64(),
    "final_protection": pl.Float64(),
    "final_hazard_full": pl.Float64(),
    "margin_growth_per_year": pl.Float64(),
    "regime": pl.String(),
    "final_deference": pl.Float64(),
    "final_tax": pl.Float64(),
    "incidents_caught": pl.Int64(),
    "incidents_uncaught": pl.Int64(),
}

#: Flags derived from the columns of points.parquet (an outcome a claim may name too).
DERIVED_FLAGS = ("left_basin", *(f"cause_{c}" for c in CAUSES))


def outcome_flags(points: pl.DataFrame) -> pl.DataFrame:
    """``points`` with the derived flags of :data:`DERIVED_FLAGS`."""
    cause = pl.col("catastrophe_cause").fill_null("")
    return points.with_columns(
        pl.col("safe").fill_null(False),
        left_basin=~pl.col("stayed_in_basin"),
        **{f"cause_{c}": cause == c for c in CAUSES},
    )
