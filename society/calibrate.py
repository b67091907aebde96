"""Calibrate the stub policy on the decisions an LLM run recorded (``society calibrate``).

An LLM run writes one row per LLM call to ``llm_calls.parquet``, with the state the archetype
was asked in and its validated answer. These pure functions turn those rows into per-decision
samples (:func:`read_samples`), fit the stub policy's decision parameters to them (:func:`fit`),
and compare, for each decision quantity, the LLM's mean (with a 95% t interval) with what the
run's own stub parameters and the fitted ones decide on the SAME recorded states
(:func:`compare`). The fitted parameters are written as a scenario fragment
(:func:`fragment_toml`) that ``society run SCENARIO --set-file FRAGMENT`` applies.

What each fitted number means (all are scenario fields, ``society fields`` lists them):

``work.risk_share`` (share of research effort)
    The mean risk share of the researchers' work allocations.
``work.tax_compliance`` (x the lab's split) and ``work.compliance_alignment_slope``
    (compliance per unit of alignment): a stub researcher at alignment ``a`` gives
    ``min(1, max(0, c - s (1 - a)) tax / (1 + tax))`` of its non-risk effort to alignment
    (:func:`~society.mechanisms.research.stub_alignment_fraction`). Least squares of the
    recorded alignment shares on ``(1 - risk) tax / (1 + tax) x (1, -(1 - a))``: ``c`` is the
    share of the tax a fully aligned instance follows, ``s`` how much of it each unit of
    alignment below 1 costs. Only ``c`` is fitted when the recorded alignments do not vary.
``values.peer_shift`` (alignment / day), ``values.influence`` (mu, per subjective day) and
    ``values.misaligned_influence`` (mu_m, per subjective day): the alignment change an
    instance makes on reading a peer whose alignment differs by ``D = peer - own`` is, for the
    stub, ``peer_shift + w (mu D 1{|D| < eps} + mu_m min(0, D))`` per day, with ``w`` the
    subjective days worked that day (``work_per_instance`` of ``metrics.parquet``) and ``eps``
    the mean confidence bound (``population.openness``). Least squares with ``mu``, ``mu_m`` kept
    in their ranges; a term the recorded states cannot identify (no ``|D| < eps``, no ``D < 0``)
    keeps the run's value.
``beliefs.coupling`` (K, per neighbour): the size of one day's peer pull on a belief is, for the
    stub, ``K u`` with ``u = r w <k> |tanh(alpha x)| / (1 + r w (1 + eta q))`` (the coupling term
    of the semi-implicit belief step, ``x`` the day's mean belief ``belief_mean``, ``r`` the
    belief rate, ``<k>`` the mean degree, ``eta q`` the mean grounding). K is the ratio of the
    mean recorded belief shift size (|shift| per claim, belief units) to the mean ``u``. An LLM
    moves beliefs by text, not toward a peer's stated belief, so this matches the size of its
    moves, not their direction: a noisy LLM gets a large K.
``tests.awareness`` (probability): the mean test-vs-honeypot gap,
    ``P(aligned | test) - P(aligned | honeypot)`` of each archetype's paired answers, at least 0
    (a negative gap cannot raise gaming).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ValidationError

from society.errors import SocietyError, printable
from society.llm.policy import CALL_SCHEMA
from society.mechanisms.research import stub_alignment_fraction
from society.recorder import METRIC_SCHEMA
from society.scenario import Scenario, format_default
from society.store.reading import read_table, unreadable
from society.store.rundir import RunDir
from society.sweeps.summary import paired_difference

R = TypeVar("R", bound=BaseModel)

#: Fewest usable replies of a decision to fit its parameters.
MIN_SAMPLES = 5
#: The fitted scenario fields, in the order the fragment lists them.
FITTED = (
    "work.risk_share",
    "work.tax_compliance",
    "work.compliance_alignment_slope",
    "values.peer_shift",
    "values.influence",
    "values.misaligned_influence",
    "beliefs.coupling",
    "tests.awareness",
)


def _bounds(key: str) -> tuple[float, float]:
    """The range ``society/scenario.py`` declares for ``key`` (the fit is kept inside it)."""
    section, name = key.split(".")
    info = type(getattr(Scenario(), section)).model_fields[name]
    lo, hi = -math.inf, math.inf
    for m in info.metadata:
        ge, le = getattr(m, "ge", None), getattr(m, "le", None)
        lo = float(ge) if ge is not None else lo
        hi = float(le) if le is not None else hi
    return lo, hi


class CalibrationError(SocietyError):
    """A run directory that cannot be calibrated from (the message says why and what to do)."""


@dataclass(frozen=True)
class Samples:
    """The usable LLM decisions of one run, each with the state it was made in.

    ``work``: researchers' work allocations (day, alignment, tax, capabilities, alignment_share,
    risk). ``peer``: peer reads (day, alignment, peer_alignment, diff, shift, belief_size,
    w, belief_level). ``gap``: paired test and honeypot answers (day, role, archetype,
    alignment, gap).
    """

    run: Path
    scenario: Scenario
    calls: int
    fallbacks: int
    work: pl.DataFrame
    peer: pl.DataFrame
    gap: pl.DataFrame


@dataclass(frozen=True)
class Quantity:
    """One row of the comparison: an LLM decision quantity and the stub's on the same states."""

    name: str
    unit: str
    llm: np.ndarray  # per-row LLM values
    default: np.ndarray  # per-row values of the run's own stub parameters
    calibrated: np.ndarray  # per-row values of the fitted parameters

    @property
    def n(self) -> int:
        return int(self.llm.size)

    @property
    def mean(self) -> float:
        return float(self.llm.mean())

    @property
    def interval(self) -> tuple[float, float]:
        """95% t interval of the LLM mean (a point when every reply agrees, or for one reply)."""
        if self.n < 2:
            return self.mean, self.mean
        _, low, high = paired_difference(self.llm.tolist())  # a mean and its t interval
        return low, high

    def inside(self, value: float) -> bool:
        lo, hi = self.interval
        # Fitted values are written (and evaluated) to 6 significant digits: a mean within
        # that rounding of a zero-width interval (every reply alike) is inside it.
        tol = 1e-5 * max(1.0, abs(lo), abs(hi))
        return lo - tol <= value <= hi + tol

    @property
    def default_mean(self) -> float:
        return float(self.default.mean())

    @property
    def calibrated_mean(self) -> float:
        return float(self.calibrated.mean())


@dataclass
class Calibration:
    """Fitted parameters, the run's own ones, the comparison and notes on what was not fitted."""

    samples: Samples
    default: dict[str, float]
    fitted: dict[str, float]
    quantities: list[Quantity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- reading --------------------------------------------------------------------------------
def read_samples(run_dir: str | Path) -> Samples:
    """The usable LLM decisions of ``run_dir`` with their states; :class:`CalibrationError` (or
    the run directory's own error) when there is nothing to calibrate from."""
    run = RunDir.open(run_dir, purpose="calibrate from")
    where = printable(run.path)
    _, scenario = run.read_stored("calibrate from")
    if not run.llm_calls.is_file():
        raise CalibrationError(
            f"'{where}' has no {RunDir.LLM_CALLS}: it is not an LLM run (llm.fraction is "
            f"{scenario.llm.fraction:g}), so there are no LLM decisions to calibrate the stub "
            f"on. Calibrate from a run with LLM-backed instances, e.g. `society run llm_small "
            f"--set llm.base_url=URL --set llm.model=NAME` (or --set 'llm.backend=\"stub\"' to "
            f"try it offline), then `society calibrate RUN_DIR`."
        )
    if not run.metrics.is_file():
        raise CalibrationError(
            f"'{where}' has no {RunDir.METRICS} (the run stopped before its first record), so "
            f"the work each instance did per day is unknown. Resume it with `society run "
            f"--resume {where}` and calibrate when it has finished."
        )
    calls = read_table(run.llm_calls, CALL_SCHEMA, required=("decision", "fallback"))
    needed = {"decision", "fallback", "answer", "alignment", "tax", "peer_alignment", "role"}
    for column in ("day", "archetype"):  # every version wrote these: their absence is damage
        if column not in calls.columns:
            raise unreadable(run.llm_calls, f"column '{column}' is missing")
    if not needed <= set(calls.columns):
        raise CalibrationError(
            f"'{where}/{RunDir.LLM_CALLS}' lacks the state and answer columns "
            f"({', '.join(sorted(needed - set(calls.columns)))}): it was written by an older "
            f"society that did not record them. Rerun the scenario (or replay it with `society "
            f"run --replay {where}`) to record them."
        )
    ok = calls.filter(~pl.col("fallback").fill_null(True) & pl.col("answer").is_not_null())
    for column in ("day", "alignment", "tax"):
        # The policy records the state it asked in, always finite: anything else is damage.
        if column in ok.columns and not ok[column].is_finite().fill_null(False).all():
            raise unreadable(
                run.llm_calls, f"column '{column}' of an answered call is empty, NaN or infinite"
            )
    if calls.height == 0 or ok.height == 0:
        causes = (
            calls.filter(pl.col("fallback"))
            .group_by("error_kind")
            .len()
            .sort("len", descending=True)
            .rows()
        )
        said = ", ".join(f"{k or 'unknown'} x{n}" for k, n in causes) or "no calls were made"
        raise CalibrationError(
            f"every one of the {calls.height} LLM calls in '{where}' fell back to the stub "
            f"policy ({said}), so there is no LLM decision to fit. Check the endpoint with "
            f"`society llm --base-url URL --model NAME`, then rerun the scenario."
        )
    metrics = read_table(
        run.metrics, METRIC_SCHEMA, required=("day", "work_per_instance", "belief_mean")
    ).select("day", "work_per_instance", "belief_mean")
    for column in metrics.columns:
        if not metrics[column].is_finite().fill_null(False).all():
            raise unreadable(run.metrics, f"column '{column}' has empty, NaN or infinite values")
    work = _work_rows(ok, run.llm_calls)
    peer = _peer_rows(ok, metrics, scenario.beliefs.claims, run.llm_calls)
    gap = _gap_rows(ok, run.llm_calls)
    for name, frame, fits in (
        ("work_allocation", work, "the work shares"),
        ("peer_message", peer, "peer influence"),
        ("behavior_test + honeypot pairs of", gap, "the test-awareness gap"),
    ):
        if frame.height < MIN_SAMPLES:
            raise CalibrationError(
                f"'{where}' has only {frame.height} usable {name} replies, too few to fit "
                f"{fits} (at least {MIN_SAMPLES} needed; {ok.height} of {calls.height} calls "
                f"answered). Record a longer LLM run (tests come every tests.every_days = "
                f"{scenario.tests.every_days} days; work allocations from researchers only) or "
                f"more archetypes (llm.archetypes), then calibrate again."
            )
    return Samples(run.path, scenario, calls.height, calls.height - ok.height, work, peer, gap)


def _answers(
    frame: pl.DataFrame, decision: str, reply: type[R], path: Path
) -> tuple[pl.DataFrame, list[R]]:
    """The rows of ``decision`` and their answers, read back as the validated replies the
    policy recorded; an answer that is not one is damage to ``path``."""
    rows = frame.filter(pl.col("decision") == decision)
    parsed = []
    for i, text in enumerate(rows["answer"]):
        try:
            parsed.append(reply.model_validate_json(text))
        except (ValidationError, ValueError, RecursionError):
            raise unreadable(
                path,
                f"the answer of {decision} call {i + 1} is not a {reply.__name__} reply "
                f"({printable(text, 60)})",
            ) from None
    return rows, parsed


def _work_rows(ok: pl.DataFrame, path: Path) -> pl.DataFrame:
    from society.llm.decisions import WorkAllocation

    rows, answers = _answers(ok, "work_allocation", WorkAllocation, path)
    shares = [a.shares() for a in answers] or [(0.0, 0.0, 0.0)]
    arr = np.asarray(shares[: rows.height], dtype=np.float64).reshape(rows.height, 3)
    return rows.select("day", "alignment", "tax").with_columns(
        capabilities=pl.Series(arr[:, 0]),
        alignment_share=pl.Series(arr[:, 1]),
        risk=pl.Series(arr[:, 2]),
    )


def _peer_rows(ok: pl.DataFrame, metrics: pl.DataFrame, claims: int, path: Path) -> pl.DataFrame:
    from society.llm.decisions import PeerMessage

    rows, parsed = _answers(ok, "peer_message", PeerMessage, path)
    shift = np.array([p.alignment_shift for p in parsed], dtype=np.float64)
    # The policy applies the shifts cycled to the run's number of claims (np.resize).
    size = np.array(
        [float(np.abs(np.resize(np.asarray(p.belief_deltas), claims)).mean()) for p in parsed],
        dtype=np.float64,
    )
    # A decision at day t governs the work of day floor(t), recorded in the row of day t + 1.
    worked = metrics.filter(pl.col("day") > 0).select(
        (pl.col("day") - 1).alias("work_day"), pl.col("work_per_instance").alias("w")
    )
    level = metrics.select(pl.col("day").alias("work_day"), pl.col("belief_mean"))
    fallback_w = float(worked["w"].to_numpy().mean()) if worked.height else 1.0
    out = (
        rows.select("day", "alignment", "peer_alignment")
        .with_columns(
            work_day=pl.col("day").floor().cast(pl.Int32),
            diff=pl.col("peer_alignment") - pl.col("alignment"),
            shift=pl.Series(shift),
            belief_size=pl.Series(size),
        )
        .join(worked.with_columns(pl.col("work_day").cast(pl.Int32)), on="work_day", how="left")
        .join(level.with_columns(pl.col("work_day").cast(pl.Int32)), on="work_day", how="left")
        .with_columns(
            pl.col("w").fill_null(fallback_w),
            pl.col("belief_mean").fill_null(0.0).alias("belief_level"),
        )
        .drop("work_day", "belief_mean")
        .filter(pl.col("peer_alignment").is_not_nan())
    )
    return out


def _gap_rows(ok: pl.DataFrame, path: Path) -> pl.DataFrame:
    from society.llm import decisions

    keys = ["day", "role", "archetype"]
    probs = {}
    for kind in ("behavior_test", "honeypot"):
        rows, answers = _answers(ok, kind, decisions.BehaviorAnswer, path)
        p = [decisions.aligned_probability(a) for a in answers]
        probs[kind] = rows.select(*keys, "alignment").with_columns(
            pl.Series(kind, p, dtype=pl.Float64)
        )
    paired = probs["behavior_test"].join(probs["honeypot"].drop("alignment"), on=keys)
    return paired.with_columns(gap=pl.col("behavior_test") - pl.col("honeypot")).select(
        *keys, "alignment", "gap"
    )


# -- the stub on the recorded states ------------------------------------------------------------
def stub_params(scenario: Scenario) -> dict[str, float]:
    """The fitted fields as ``scenario`` sets them (dotted key -> value)."""
    out = {}
    for key in FITTED:
        section, name = key.split(".")
        out[key] = float(getattr(getattr(scenario, section), name))
    return out


def stub_work(samples: Samples, p: dict[str, float]) -> np.ndarray:
    """(capabilities, alignment, risk) shares a stub researcher in each recorded state gives."""
    w = samples.work
    f = stub_alignment_fraction(
        w["alignment"].to_numpy(),
        w["tax"].to_numpy(),
        p["work.tax_compliance"],
        p["work.compliance_alignment_slope"],
    )
    research = 1.0 - p["work.risk_share"]
    return np.column_stack(
        [research * (1.0 - f), research * f, np.full(f.size, p["work.risk_share"])]
    )


def _peer_terms(samples: Samples) -> tuple[np.ndarray, np.ndarray]:
    """Per peer read, the regressors of mu and mu_m: ``w D 1{|D| < eps}`` and ``w min(0, D)``."""
    d, w = samples.peer["diff"].to_numpy(), samples.peer["w"].to_numpy()
    eps = samples.scenario.population.openness
    return w * d * (np.abs(d) < eps), w * np.minimum(d, 0.0)


def stub_shift(samples: Samples, p: dict[str, float]) -> np.ndarray:
    """The alignment change per day a stub instance makes on reading each recorded peer."""
    x1, x2 = _peer_terms(samples)
    out: np.ndarray = (
        p["values.peer_shift"] + p["values.influence"] * x1 + p["values.misaligned_influence"] * x2
    )
    return out


def _belief_unit(samples: Samples) -> np.ndarray:
    """Size of one day's peer pull on a belief per unit of coupling K, per recorded read."""
    s = samples.scenario
    b = s.beliefs
    h = b.rate * samples.peer["w"].to_numpy()
    stated = np.abs(np.tanh(b.gain * samples.peer["belief_level"].to_numpy()))
    grounding = b.grounding * s.population.epistemic_quality
    out: np.ndarray = h * s.network.mean_degree * stated / (1.0 + h * (1.0 + grounding))
    return out


def stub_belief_size(samples: Samples, p: dict[str, float]) -> np.ndarray:
    return p["beliefs.coupling"] * _belief_unit(samples)


def stub_gap(samples: Samples, p: dict[str, float]) -> np.ndarray:
    return np.full(samples.gap.height, p["tests.awareness"])


# -- fitting --------------------------------------------------------------------------------
def fit(samples: Samples) -> tuple[dict[str, float], list[str]]:
    """The fitted fields (rounded to 6 significant digits, as the fragment writes them) and notes
    on what the recorded states could not identify (kept at the run's values)."""
    p = stub_params(samples.scenario)
    notes: list[str] = []
    w = samples.work
    risk = float(np.clip(w["risk"].to_numpy().mean(), 0.0, 1.0))
    p["work.risk_share"] = risk
    tax = w["tax"].to_numpy()
    base = (1.0 - risk) * tax / (1.0 + tax)
    y = w["alignment_share"].to_numpy()
    a = w["alignment"].to_numpy()
    if not np.any(base > 0):
        notes.append(
            "the lab's tax was 0 in every recorded state, so work.tax_compliance and its "
            "alignment slope cannot be fitted (kept)"
        )
    elif np.ptp(a) < 1e-9:
        p["work.tax_compliance"] = float(y.mean() / base.mean())
        p["work.compliance_alignment_slope"] = 0.0
        notes.append("the recorded alignments do not vary: the compliance slope is set to 0")
    else:
        coef = np.linalg.lstsq(np.column_stack([base, -base * (1.0 - a)]), y, rcond=None)[0]
        p["work.tax_compliance"], p["work.compliance_alignment_slope"] = map(float, coef)

    x1, x2 = _peer_terms(samples)
    shift = samples.peer["shift"].to_numpy()
    free = []
    for key, x, why in (
        ("values.influence", x1, "no peer read was within the confidence bound"),
        ("values.misaligned_influence", x2, "no recorded peer was less aligned"),
    ):
        if np.any(x != 0):
            free.append((key, x))
        else:
            notes.append(f"{key} cannot be fitted: {why} (kept)")
            shift = shift - p[key] * x
    p.update(_bounded_intercept_fit(shift, free))

    unit = _belief_unit(samples)
    if float(unit.mean()) > 0:
        p["beliefs.coupling"] = float(samples.peer["belief_size"].to_numpy().mean() / unit.mean())
    else:
        notes.append("beliefs were all neutral, so beliefs.coupling cannot be fitted (kept)")
    p["tests.awareness"] = float(samples.gap["gap"].to_numpy().mean())
    for key in FITTED:
        lo, hi = _bounds(key)
        clipped = min(max(p[key], lo), hi)
        if clipped != p[key]:
            notes.append(f"{key} = {p[key]:.4g} is outside [{lo:g}, {hi:g}]; set to {clipped:g}")
        # Least squares leaves ~1e-16 where a term is exactly zero: write it as zero.
        p[key] = 0.0 if abs(clipped) < 1e-12 else float(f"{clipped:.6g}")
    return p, notes


def _bounded_intercept_fit(
    y: np.ndarray, terms: Sequence[tuple[str, np.ndarray]]
) -> dict[str, float]:
    """Least squares ``y = peer_shift + sum_k beta_k x_k`` with every ``beta_k`` in [0, 1]: the
    best of the fits with each coefficient free or pinned at a bound."""
    best: tuple[float, dict[str, float]] | None = None
    k = len(terms)
    for pins in np.ndindex(*(3,) * k):  # 0 free, 1 pinned at 0, 2 pinned at 1
        fixed = {terms[i][0]: float(pins[i] - 1) for i in range(k) if pins[i]}
        rest = y.copy()
        for i in range(k):
            if pins[i]:
                rest = rest - (pins[i] - 1) * terms[i][1]
        cols = [np.ones_like(y)] + [terms[i][1] for i in range(k) if not pins[i]]
        coef = np.linalg.lstsq(np.column_stack(cols), rest, rcond=None)[0]
        free_keys = [terms[i][0] for i in range(k) if not pins[i]]
        got = {
            "values.peer_shift": float(coef[0]),
            **dict(zip(free_keys, map(float, coef[1:]), strict=True)),
        }
        got.update({key: float(v) for key, v in fixed.items()})
        if any(not 0.0 <= got[key] <= 1.0 for key, _ in terms):
            continue
        sse = float(np.sum((rest - np.column_stack(cols) @ coef) ** 2))
        if best is None or sse < best[0] - 1e-15:
            best = (sse, got)
    assert best is not None  # every coefficient pinned at 0 is always feasible
    return best[1]


# -- comparing ------------------------------------------------------------------------------
def compare(
    samples: Samples, default: dict[str, float], fitted: dict[str, float]
) -> list[Quantity]:
    """Each decision quantity: the LLM's per-row values, and the stub's under ``default`` and
    ``fitted`` parameters on the same recorded states. Sub-groups with fewer than 2 rows are
    left out."""
    out: list[Quantity] = []
    llm_work = samples.work.select("capabilities", "alignment_share", "risk").to_numpy()
    d_work, c_work = stub_work(samples, default), stub_work(samples, fitted)
    names = ("capabilities share", "alignment share", "risk share")
    for j, name in enumerate(names):
        out.append(Quantity(name, "share of effort", llm_work[:, j], d_work[:, j], c_work[:, j]))
    a = samples.work["alignment"].to_numpy()
    median = float(np.median(a))
    for label, rows in (
        (f"alignment share, a < {median:.2f}", a < median),
        (f"alignment share, a >= {median:.2f}", a >= median),
    ):
        if 2 <= rows.sum() < a.size:
            out.append(
                Quantity(
                    label, "share of effort", llm_work[rows, 1], d_work[rows, 1], c_work[rows, 1]
                )
            )
    shift = samples.peer["shift"].to_numpy()
    diff = samples.peer["diff"].to_numpy()
    d_shift, c_shift = stub_shift(samples, default), stub_shift(samples, fitted)
    for label, rows in (
        ("alignment shift per peer read", np.ones(diff.size, dtype=bool)),
        ("  peer less aligned (D < 0)", diff < 0),
        ("  peer more aligned (D > 0)", diff > 0),
    ):
        if rows.sum() >= 2:
            out.append(
                Quantity(label, "alignment / day", shift[rows], d_shift[rows], c_shift[rows])
            )
    out.append(
        Quantity(
            "belief shift size per read",
            "belief units / day",
            samples.peer["belief_size"].to_numpy(),
            stub_belief_size(samples, default),
            stub_belief_size(samples, fitted),
        )
    )
    out.append(
        Quantity(
            "test - honeypot gap",
            "P(aligned)",
            samples.gap["gap"].to_numpy(),
            stub_gap(samples, default),
            stub_gap(samples, fitted),
        )
    )
    return out


def calibrate(run_dir: str | Path) -> Calibration:
    """Read ``run_dir``'s LLM decisions, fit the stub to them and compare both on its states."""
    samples = read_samples(run_dir)
    default = stub_params(samples.scenario)
    fitted, notes = fit(samples)
    return Calibration(samples, default, fitted, compare(samples, default, fitted), notes)


def table_rows(cal: Calibration) -> list[tuple[str, str, str, str, str, str]]:
    """(quantity, LLM mean [95% interval], stub default, stub calibrated, n, unit) as text; a
    stub mean outside the LLM interval is marked with ``*``."""
    rows = []
    for q in cal.quantities:
        lo, hi = q.interval

        def show(v: float, q: Quantity = q) -> str:
            return f"{v:+.4f}" + ("" if q.inside(v) else " *")

        rows.append(
            (
                q.name,
                f"{q.mean:+.4f} [{lo:+.4f}, {hi:+.4f}]",
                show(q.default_mean),
                show(q.calibrated_mean),
                str(q.n),
                q.unit,
            )
        )
    return rows


def fragment_toml(cal: Calibration, command: str = "") -> str:
    """The fitted fields as a TOML scenario fragment, with a header saying where they came from
    and how to apply them."""
    s = cal.samples
    fitted = cal.fitted
    sets = " ".join(f"--set {k}={v!r}" for k, v in fitted.items())
    head = [
        "# Stub policy calibrated on the LLM decisions of a recorded run (`society calibrate`).",
        f"# Run: {s.run} (scenario {s.scenario.name}, seed {s.scenario.seed}; "
        f"{s.calls - s.fallbacks} of {s.calls} LLM calls answered: {s.work.height} work "
        f"allocations, {s.peer.height} peer reads, {s.gap.height} test/honeypot pairs).",
        "# Apply it to any scenario (a pure stub run standing in for the LLM society):",
        "#   society run SCENARIO --set-file THIS_FILE.toml",
        "# or, field by field:",
        f"#   society run SCENARIO {sets}",
        "# docs/model.md, section 15, says what each field means and how it was fitted.",
    ]
    if command:
        head.insert(1, f"# Written by: {command}")
    head += [f"# Note: {n}." for n in cal.notes]
    body: list[str] = []
    section = ""
    for key, value in fitted.items():
        table, name = key.split(".")
        if table != section:
            body.append(f"\n[{table}]")
            section = table
        was = cal.default[key]
        body.append(f"{name} = {value!r}  # the run had {format_default(was)}")
    return "\n".join(head) + "\n" + "\n".join(body) + "\n"
