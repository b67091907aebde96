"""The reference suite: the kernels and metrics against published and analytic results.

Each case runs one of the public kernels of :mod:`society.mechanisms.influence`,
:mod:`society.metrics` or :mod:`society.mechanisms.generations` (the code the engine itself
calls), or the sampler and estimators of ``society analyze`` (:mod:`society.sweeps.design`,
:mod:`society.analysis`), and compares one number with a known value. ``society validate
[--quick]`` calls :func:`run_suite`, :func:`print_table` and :func:`write_validation`; the
sources of the reference values are in ``docs/validation.md``.

>>> from society.validation import CASES
>>> len(CASES), "voter_consensus_time" in CASES
(24, True)
"""

from __future__ import annotations

import math
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

from society.mechanisms.generations import basin_boundary, successor_map
from society.mechanisms.influence import (
    deffuant,
    degroot,
    friedkin_johnsen,
    hegselmann_krause,
    holme_newman,
    row_stochastic,
    voter,
)
from society.metrics import (
    bimodality_coefficient,
    cluster_labels,
    largest_community_share,
    opinion_clusters,
    wasserstein1,
)
from society.validation_cases import CASES, CaseFn, CaseResult, _case

SCHEMA: dict[str, Any] = {
    "case": pl.String,
    "model": pl.String,
    "parameters": pl.String,
    "reference": pl.String,
    "measured": pl.Float64,
    "tolerance": pl.String,
    "passed": pl.Boolean,
    "seconds": pl.Float64,
}


def case_rng(name: str, seed: int) -> np.random.Generator:
    """Independent stream for case ``name`` (stable whatever cases run before it)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


# --- linear averaging ------------------------------------------------------------------------


def _connected_graph_with_loops(rng: np.random.Generator) -> nx.Graph:
    g = nx.connected_watts_strogatz_graph(60, 4, 0.3, seed=int(rng.integers(2**31)))
    g.add_edges_from((i, i) for i in g.nodes)
    return g


@_case("degroot_consensus")
def _degroot(quick: bool, rng: np.random.Generator) -> CaseResult:
    g = _connected_graph_with_loops(rng)
    W = row_stochastic(g)
    x0 = rng.uniform(size=60)
    degree = np.array([g.degree(i) - 1 for i in range(60)], dtype=float)  # A_ii = 1 per loop
    target = float(np.sum(degree * x0) / degree.sum())
    x = degroot(W, x0, 3000)
    err = float(np.max(np.abs(x - target)))
    return CaseResult(
        "DeGroot",
        "connected Watts-Strogatz n=60 k=4 p=0.3 with self-loops, W=D^-1 A, 3000 steps",
        f"limit = degree-weighted mean of x0 = {target:.6f} (DeGroot 1974; stationary "
        "distribution of a reversible walk); measured = max |x_T - limit|",
        err,
        "<= 1e-9",
        err <= 1e-9,
    )


@_case("friedkin_johnsen_fixed_point")
def _fj(quick: bool, rng: np.random.Generator) -> CaseResult:
    g = _connected_graph_with_loops(rng)
    W = row_stochastic(g)
    n = W.shape[0]
    lam = rng.uniform(0.2, 0.9, n)
    u = rng.uniform(size=n)
    x = friedkin_johnsen(W, lam, u, u, 500)
    closed = np.linalg.solve(np.eye(n) - lam[:, None] * W.toarray(), (1.0 - lam) * u)
    err = float(np.max(np.abs(x - closed)))
    return CaseResult(
        "Friedkin-Johnsen",
        "same graph, lam ~ U[0.2, 0.9], u ~ U[0,1], x0 = u, 500 steps",
        "x* = (I - Lambda W)^-1 (I - Lambda) u (Friedkin & Johnsen 1990); "
        "measured = max |x_T - x*|",
        err,
        "<= 1e-9",
        err <= 1e-9,
    )


# --- bounded confidence ----------------------------------------------------------------------


def _deffuant_case(eps: float, expected: int) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        seeds = 20 if quick else 60
        counts = []
        for _ in range(seeds):
            x = deffuant(rng.uniform(size=1000), eps, 0.5, 400, rng)
            counts.append(opinion_clusters(x, gap=0.01, min_share=0.05))
        values, freq = np.unique(counts, return_counts=True)
        mode = int(values[np.argmax(freq)])
        tally = dict(zip(values.tolist(), freq.tolist(), strict=True))
        return CaseResult(
            "Deffuant",
            f"N=1000, mu=0.5, eps={eps}, U[0,1] start, complete mixing, 400 rounds, "
            f"{seeds} seeds; cluster counts {tally}",
            f"{expected} major cluster(s) (Deffuant et al. 2000; about floor(1/(2 eps))); "
            "measured = modal count, gap 0.01, major >= 5% of N",
            float(mode),
            "exact",
            mode == expected,
        )

    return run


for _eps, _expected in ((0.5, 1), (0.3, 1), (0.2, 2)):
    _case(f"deffuant_eps{_eps}")(_deffuant_case(_eps, _expected))


def _hk_case(eps: float, consensus: bool) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        seeds = 10 if quick else 50
        hits = 0
        for _ in range(seeds):
            x = hegselmann_krause(rng.uniform(size=10_000), eps, max_steps=1000, tol=1e-12)
            hits += int(cluster_labels(x, gap=0.01).max() == 0)
        share = hits / seeds
        return CaseResult(
            "Hegselmann-Krause",
            f"complete graph, N=10000, eps={eps}, U[0,1] start, {seeds} seeds",
            f"{'consensus' if consensus else 'no consensus'} (Fortunato 2005: threshold "
            "near eps = 0.2); measured = share of runs ending in one cluster (gap 0.01)",
            share,
            "== 1" if consensus else "== 0",
            share == (1.0 if consensus else 0.0),
        )

    return run


_case("hegselmann_krause_eps0.18")(_hk_case(0.18, consensus=False))
_case("hegselmann_krause_eps0.25")(_hk_case(0.25, consensus=True))


# --- voter and coevolving voter --------------------------------------------------------------


def voter_complete_exact(n: int) -> float:
    """Exact mean consensus time (sweeps) of the voter model on K_n from a half-half start.

    From the birth-death chain of the number of ``1`` s:
    ``T = (n-1)/2 (2 H_{n-1} - H_{n/2-1} - H_{n/2})``, which tends to ``(n-1) ln 2``.

    >>> round(voter_complete_exact(200), 3)
    137.44
    """
    h = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n))])
    return float((n - 1) / 2 * (2 * h[n - 1] - h[n // 2 - 1] - h[n // 2]))


@_case("voter_consensus_time")
def _voter(quick: bool, rng: np.random.Generator) -> CaseResult:
    n = 200
    runs = 4000 if quick else 20_000
    states = np.tile(np.repeat([0, 1], n // 2), (runs, 1))
    _, sweeps = voter(None, states, rng, max_sweeps=50 * n)
    mean = float(np.mean(sweeps))
    se = float(np.std(sweeps) / math.sqrt(runs))
    ref = (n - 1) * math.log(2)
    rel = abs(mean - ref) / ref
    return CaseResult(
        "voter",
        f"complete graph without self-loops, N={n}, half-half start, {runs} runs "
        f"(standard error {se:.2f} sweeps, none unfinished: {not np.isnan(sweeps).any()})",
        f"(N-1) ln 2 = {ref:.2f} sweeps (Castellano et al. 2009, RMP 81, 591; Sood & Redner 2005; "
        f"exact finite-N value {voter_complete_exact(n):.2f})",
        mean,
        "within 5%",
        bool(rel <= 0.05),
    )


def _hn_case(phi: float, above: float | None, below: float | None) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        n = 800 if quick else 3200
        seeds = 3 if quick else 5
        shares = []
        for _ in range(seeds):
            graph, opinions = holme_newman(n, 4, 10, phi, rng)
            shares.append(largest_community_share(graph, opinions))
        share = float(np.mean(shares))
        ok = (above is None or share > above) and (below is None or share < below)
        side = f"> {above}" if above is not None else f"< {below}"
        return CaseResult(
            "Holme-Newman",
            f"N={n}{' (quick size)' if quick else ''}, <k>=4, gamma=N/G=10, phi={phi}, "
            f"{seeds} seeds; S/N per seed {[round(s, 4) for s in shares]}",
            f"S/N {side} (Holme & Newman 2006, Fig. 2: giant community below phi_c ~ 0.46, "
            "communities of size ~gamma above); measured = mean largest community share",
            share,
            side,
            ok,
        )

    return run


_case("holme_newman_phi0.05")(_hn_case(0.05, above=0.9, below=None))
_case("holme_newman_phi0.9")(_hn_case(0.9, above=None, below=0.06))


# --- successor map ---------------------------------------------------------------------------

_SUCCESSOR = {"delta": 0.1, "rho_max": 0.8, "tau_half": 0.5}


def _basin_formula_case(tau: float, expected: float) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        a_star = basin_boundary(tau, **_SUCCESSOR)
        value = math.nan if a_star is None else a_star
        return CaseResult(
            "successor map",
            f"delta=0.1, rho_max=0.8, tau_half=0.5, tau={tau}",
            f"a* = delta / rho(tau) = {expected} (docs/model.md, section 8)",
            value,
            "<= 1e-12",
            abs(value - expected) <= 1e-12,
        )

    return run


def empirical_boundary(tau: float, grid: np.ndarray, generations: int = 5000) -> float:
    """Boundary between decay and growth found by iterating ``f`` from every grid point.

    >>> round(empirical_boundary(1.0, np.linspace(0, 1, 101)), 3)
    0.185
    """
    a = grid.copy()
    for _ in range(generations):
        a = successor_map(a, tau, **_SUCCESSOR)
    grows = a > 0.5
    if grows.all() or not grows.any():
        return math.nan
    first = int(np.argmax(grows))
    return float(0.5 * (grid[first - 1] + grid[first]))


def _basin_empirical_case(tau: float) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        step = 0.001 if quick else 0.0001
        grid = np.round(np.arange(0.0, 1.0 + step / 2, step), 12)
        measured = empirical_boundary(tau, grid)
        a_star = basin_boundary(tau, **_SUCCESSOR)
        assert a_star is not None
        return CaseResult(
            "successor map",
            f"delta=0.1, rho_max=0.8, tau_half=0.5, tau={tau}; f iterated 5000 generations "
            f"from a grid of step {step}",
            f"basin_boundary = {a_star} (unstable fixed point of f, docs/model.md section 8)",
            measured,
            f"within one grid step ({step})",
            abs(measured - a_star) <= step,
        )

    return run


for _tau, _a in ((0.25, 0.375), (1.0, 0.1875)):
    _case(f"basin_formula_tau{_tau}")(_basin_formula_case(_tau, _a))
    _case(f"basin_empirical_tau{_tau}")(_basin_empirical_case(_tau))


# --- metrics ---------------------------------------------------------------------------------


@_case("bimodality_uniform")
def _bc_uniform(quick: bool, rng: np.random.Generator) -> CaseResult:
    n = 200_000 if quick else 2_000_000
    bc = bimodality_coefficient(rng.uniform(size=n))
    return CaseResult(
        "metrics",
        f"bimodality_coefficient of {n} U[0,1] draws",
        "5/9 = 0.5556 (SAS Institute 1990; Pfister et al. 2013)",
        bc,
        "+- 0.01",
        abs(bc - 5 / 9) <= 0.01,
    )


@_case("bimodality_normal")
def _bc_normal(quick: bool, rng: np.random.Generator) -> CaseResult:
    n = 200_000 if quick else 2_000_000
    bc = bimodality_coefficient(rng.standard_normal(n))
    return CaseResult(
        "metrics",
        f"bimodality_coefficient of {n} N(0,1) draws",
        "1/3 (skewness 0, excess kurtosis 0; Pfister et al. 2013)",
        bc,
        "+- 0.01",
        abs(bc - 1 / 3) <= 0.01,
    )


@_case("wasserstein_shift")
def _w1(quick: bool, rng: np.random.Generator) -> CaseResult:
    n = 200_000 if quick else 2_000_000
    d = 0.3
    w = wasserstein1(rng.uniform(size=n), rng.uniform(size=n) + d)
    return CaseResult(
        "metrics",
        f"wasserstein1 between {n} draws of U[0,1] and of U[{d},{1 + d}]",
        f"W1 = d = {d} (a shift moves all mass by d; Villani 2009)",
        w,
        "+- 0.01",
        abs(w - d) <= 0.01,
    )


# --- sensitivity analysis and scenario discovery (society analyze) ------------------------------

ISHIGAMI = {"a": 7.0, "b": 0.1}
_KEYS = ("x1", "x2", "x3")


def ishigami_indices(a: float, b: float) -> tuple[list[float], list[float]]:
    """Analytic first-order and total Sobol indices of the Ishigami function
    ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` on ``U[-pi, pi]^3`` (Ishigami & Homma 1990;
    Sobol' & Levitan 1999): the values SALib's documentation quotes.

    >>> s1, st = ishigami_indices(7.0, 0.1)
    >>> [round(v, 4) for v in s1], [round(v, 4) for v in st]
    ([0.3139, 0.4424, 0.0], [0.5576, 0.4424, 0.2437])
    """
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a * a / 8
    v13 = b * b * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return [v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v]


def ishigami_sobol(quick: bool, rng: np.random.Generator) -> pl.DataFrame:
    """Sobol indices of the Ishigami function through the pipeline of ``society analyze``:
    the sweep's Saltelli sampler (:class:`~society.sweeps.design.Design`), its mapping of unit
    points through priors (:meth:`~society.priors.PriorSet.at`, here uniform on
    [-pi, pi]) and the estimator :func:`~society.analysis.sobol.sobol_indices`."""
    from society.analysis.sobol import sobol_indices
    from society.priors import Prior, PriorSet
    from society.sweeps.design import Design

    n = 1024 if quick else 4096
    design = Design("saltelli", n, _KEYS, seed=int(rng.integers(2**31)))
    uniform = {"dist": "uniform", "low": -math.pi, "high": math.pi, "why": "Ishigami"}
    priors = PriorSet({k: Prior.model_validate(uniform) for k in _KEYS})
    points = priors.at(design.unit())
    x = np.array([[p[k] for k in _KEYS] for p in points])
    a, b = ISHIGAMI["a"], ISHIGAMI["b"]
    y = np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
    return sobol_indices(design, y, seed=int(rng.integers(2**31)))


def _ishigami_case(index: str) -> CaseFn:
    def run(quick: bool, rng: np.random.Generator) -> CaseResult:
        table = ishigami_sobol(quick, rng).filter(pl.col("index") == index)
        s1, st = ishigami_indices(**ISHIGAMI)
        reference = s1 if index == "S1" else st
        rows = list(table.iter_rows(named=True))
        inside = [r["lo"] <= ref <= r["hi"] for r, ref in zip(rows, reference, strict=True)]
        error = max(abs(r["value"] - ref) for r, ref in zip(rows, reference, strict=True))
        shown = ", ".join(f"{r['value']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]" for r in rows)
        n = 1024 if quick else 4096
        what = "first-order" if index == "S1" else "total"
        return CaseResult(
            "Sobol (SALib)",
            f"Ishigami a=7, b=0.1 on U[-pi, pi]^3; Saltelli N={n} (N (D+2) = {n * 5} points) "
            f"through the sweep sampler, PriorSet.at and society.analysis.sobol; {index} = "
            f"{shown} (95% bootstrap)",
            f"{what} indices {', '.join(f'{v:.4f}' for v in reference)} (Ishigami & Homma "
            f"1990; analytic, as SALib's docs quote); measured = max |estimate - reference|",
            error,
            "every reference inside its 95% interval",
            all(inside),
        )

    return run


_case("ishigami_sobol_first_order")(_ishigami_case("S1"))
_case("ishigami_sobol_total")(_ishigami_case("ST"))


@_case("prim_known_box")
def _prim_box(quick: bool, rng: np.random.Generator) -> CaseResult:
    from society.analysis.prim import prim

    n = 1000 if quick else 4000
    x = {f"x{i}": rng.random(n) for i in range(1, 5)}
    inside = (x["x1"] >= 0.6) & (x["x2"] <= 0.4)
    # 1% of the labels flipped: a box found in noise-free data proves little (the flips
    # outside the box cap the coverage at about 0.95).
    y = (inside ^ (rng.random(n) < 0.01)).astype(float)
    result = prim(x, y)
    box = result.chosen
    limits = result.limits(box.box)
    found = {
        "x1": box.box.low["x1"],
        "x2": box.box.high["x2"],
    }
    exact = set(limits) == {"x1", "x2"} and (
        abs(found["x1"] - 0.6) <= 0.05 and abs(found["x2"] - 0.4) <= 0.05
    )
    measured = min(box.coverage, box.density)
    return CaseResult(
        "PRIM",
        f"{n} points uniform on [0,1]^4, y = 1 in x1 >= 0.6 and x2 <= 0.4 (mass 0.16), 1% of "
        f"labels flipped; peel 0.05, paste 0.05, minimum mass 0.05; found: "
        f"{result.describe('y')}",
        "the box x1 >= 0.6 and x2 <= 0.4 recovered (its limits within 0.05, x3 and x4 left "
        "free); measured = min(coverage, density) (Friedman & Fisher 1999)",
        measured,
        ">= 0.9 and the box recovered",
        measured >= 0.9 and exact,
    )


# --- ask: the sequential rule keeps its error rate (registered by its own module) ------------

import society.validation_ask  # noqa: E402, F401  (registers its case in CASES)

# --- suite -----------------------------------------------------------------------------------


def run_case(name: str, quick: bool = True, seed: int = 0) -> dict[str, Any]:
    """Run one case and return its row (with its run time in ``seconds``)."""
    start = time.perf_counter()
    result = CASES[name](quick, case_rng(name, seed))
    seconds = time.perf_counter() - start
    return {
        "case": name,
        "model": result.model,
        "parameters": result.parameters,
        "reference": result.reference,
        "measured": float(result.measured),
        "tolerance": result.tolerance,
        "passed": bool(result.passed),
        "seconds": seconds,
    }


def run_suite(quick: bool = True, seed: int = 0) -> pl.DataFrame:
    """Run every reference case; one row per case (see ``SCHEMA``).

    ``quick`` uses smaller samples (and N = 800 for Holme-Newman) so the suite takes well under
    a minute on two cores; the full suite uses the published sizes and more seeds.
    """
    rows = [run_case(name, quick, seed) for name in CASES]
    return pl.DataFrame(rows, schema=SCHEMA)


def write_validation(df: pl.DataFrame, runs_dir: Path) -> Path:
    """Write ``df`` to ``runs_dir/validation-<UTC YYYYmmddTHHMMSSZ>/validation.parquet``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(runs_dir) / f"validation-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "validation.parquet"
    df.write_parquet(path)
    return path


def print_table(df: pl.DataFrame, console: Console) -> None:
    """Print the suite as a rich table, then a one-line summary."""
    table = Table(title="society validation", show_lines=False)
    for col, style in (
        ("case", "bold"),
        ("model", ""),
        ("measured", "cyan"),
        ("tolerance", ""),
        ("reference", "dim"),
        ("passed", ""),
        ("seconds", "dim"),
    ):
        if col == "case":  # a case name is what `pytest -k` and the docs refer to: never cut
            width = max((len(c) for c in df["case"]), default=4)
            table.add_column(col, style=style, no_wrap=True, min_width=width)
        else:
            table.add_column(col, style=style, overflow="fold")
    for row in df.iter_rows(named=True):
        table.add_row(
            row["case"],
            row["model"],
            f"{row['measured']:.6g}",
            row["tolerance"],
            row["reference"],
            "[green]pass[/green]" if row["passed"] else "[red]FAIL[/red]",
            f"{row['seconds']:.2f}",
        )
    console.print(table)
    failed = df.filter(~pl.col("passed")).height
    total = float(df["seconds"].sum()) if df.height else 0.0
    colour = "red" if failed else "green"
    console.print(
        f"[{colour}]{df.height - failed}/{df.height} cases passed[/{colour}] in {total:.1f} s"
    )
