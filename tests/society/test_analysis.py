"""society analyze: Sobol, Morris, PRIM and the frontier on stored sweeps, and bad input.

Most sweeps here are synthetic sweep directories (a manifest and points.parquet laid out as
`society sweep` writes them) whose outcome is a known function of the swept values, so the
numbers can be checked; one real sweep runs end to end through the command line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.image import imread

from society.analysis.data import AnalysisError, load
from society.analysis.frontier import crossing, frontier, isotonic
from society.analysis.morris import morris_effects
from society.analysis.prim import prim
from society.analysis.run import Options, analyze
from society.analysis.sobol import sobol_indices
from society.cli import main as cli_main
from society.store.provenance import vector_maths
from society.sweeps.design import Design
from society.sweeps.summary import wilson

WORKTREE = Path(__file__).resolve().parents[2]
TINY = (WORKTREE / "scenarios" / "tiny.toml").as_posix()


def assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 10_000, path
    pixels = imread(path)[..., :3]
    assert float(pixels.std()) > 0.02, f"{path} is (nearly) one colour"


def write_sweep(
    root: Path,
    arms: list[dict[str, float]],
    outcome: Callable[[dict[str, float], int], dict[str, object]],
    *,
    replicates: int = 1,
    design: Design | None = None,
    grid: dict[str, list[float]] | None = None,
) -> Path:
    """A sweep directory as `society sweep` writes it: manifest.json and points.parquet, one
    row per (arm, replicate) with the swept values and ``outcome(arm values, replicate)``."""
    root.mkdir(parents=True)
    keys = list(arms[0])
    record = design.record(design.unit(), {}) if design is not None else None
    manifest = {
        "kind": "sweep",
        "status": "complete",
        "sweep": {
            "name": root.name,
            "keys": keys,
            "replicates": replicates,
            "design": record,
            "spec": {"grid": grid, "sample": None},
        },
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    rows = [
        {
            "point_id": f"a{k:06d}-r{r:05d}",
            "arm": k,
            "replicate": r,
            "seed": r,
            **arm,
            "status": "success",
            "error": None,
            **outcome(arm, r),
        }
        for k, arm in enumerate(arms)
        for r in range(replicates)
    ]
    pl.DataFrame(rows).write_parquet(root / "points.parquet")
    return root


def ishigami(x: dict[str, float]) -> float:
    u = [(x[k] - 0.5) * 2 * math.pi for k in ("x1", "x2", "x3")]
    return math.sin(u[0]) + 7 * math.sin(u[1]) ** 2 + 0.1 * u[2] ** 4 * math.sin(u[0])


def unit_arms(design: Design) -> list[dict[str, float]]:
    return [dict(zip(design.keys, map(float, row), strict=True)) for row in design.unit()]


# --- Sobol -----------------------------------------------------------------------------------


def test_sobol_of_a_sweep_is_the_estimator_on_its_per_arm_means(tmp_path: Path) -> None:
    design = Design("saltelli", 256, ("x1", "x2", "x3"), seed=2)
    arms = unit_arms(design)
    noise = np.random.default_rng(0).normal(0, 0.2, size=(len(arms), 2))

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        k = arms.index(x)
        return {"final_alignment": ishigami(x) + noise[k, r], "safe": ishigami(x) > 3.5}

    root = write_sweep(tmp_path / "s", arms, outcome, replicates=2, design=design)
    result = analyze(root, "sobol", "final_alignment")
    # The analysis is SALib's estimator on the mean of each arm's two replicates.
    means = np.array([ishigami(x) for x in arms]) + noise.mean(axis=1)
    direct = sobol_indices(design, means)
    # (Equal to the last bits: polars and numpy sum the two replicates in another order.)
    table = result.table.drop("target")
    assert table.select("parameter", "index").equals(direct.select("parameter", "index"))
    numbers = ["value", "conf", "lo", "hi"]
    assert np.allclose(table.select(numbers).to_numpy(), direct.select(numbers).to_numpy())
    total = dict(result.table.filter(pl.col("index") == "ST").select("parameter", "value").rows())
    assert total["x1"] > total["x2"] > total["x3"] > 0.1  # Ishigami: 0.56, 0.44, 0.24
    assert "per-arm mean" in result.heading and "2 replicates" in result.heading
    stored = pl.read_parquet(root / "analysis" / "sobol-final_alignment.parquet")
    assert stored.columns == ["parameter", "index", "other", "value", "conf", "lo", "hi", "target"]
    assert stored.height == 6 and set(stored["target"]) == {"final_alignment"}
    assert (stored["lo"] < stored["value"]).all() and (stored["value"] < stored["hi"]).all()
    assert_png(root / "analysis" / "sobol-final_alignment.png")
    record = json.loads((root / "analysis" / "sobol-final_alignment.json").read_text())
    assert record["words"][0].startswith("x1 matters most for final_alignment")
    # A flag target is analysed as P(target) at each arm.
    flag = analyze(root, "sobol", "safe", figure=False)
    assert flag.target.label == "P(safe)" and "share over its 2 replicates" in flag.heading


def test_indices_repeat_exactly_for_a_seed_zero_included() -> None:
    design = Design("saltelli", 32, ("x1", "x2", "x3"), seed=0)
    y = np.array([ishigami(x) for x in unit_arms(design)])
    for seed in (0, 7):
        assert sobol_indices(design, y, seed=seed).equals(sobol_indices(design, y, seed=seed))
    assert not sobol_indices(design, y, seed=0).equals(sobol_indices(design, y, seed=1))


def test_second_order_indices_come_with_a_second_order_design(tmp_path: Path) -> None:
    design = Design("saltelli", 64, ("x1", "x2", "x3"), seed=2, second_order=True)
    arms = unit_arms(design)
    root = write_sweep(
        tmp_path / "s", arms, lambda x, r: {"final_alignment": ishigami(x)}, design=design
    )
    table = analyze(root, "sobol", "final_alignment").table
    pairs = table.filter(pl.col("index") == "S2")
    assert pairs.select("parameter", "other").rows() == [("x1", "x2"), ("x1", "x3"), ("x2", "x3")]
    # Ishigami's only interaction is x1 x x3 (S13 = 0.244).
    s2 = dict(zip(pairs["other"] + pairs["parameter"], pairs["value"], strict=True))
    assert s2["x3x1"] > max(abs(s2["x2x1"]), abs(s2["x3x2"]))


# --- Morris ----------------------------------------------------------------------------------


def test_morris_ranks_keys_by_their_effect(tmp_path: Path) -> None:
    design = Design("morris", 30, ("a", "b", "c"), seed=1, levels=4)
    arms = unit_arms(design)

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        return {"final_alignment": 2.0 * x["a"] + x["b"] * x["c"], "safe": x["a"] > 0.5}

    root = write_sweep(tmp_path / "m", arms, outcome, design=design)
    result = analyze(root, "morris", "final_alignment")
    effects = {r["parameter"]: r for r in result.table.iter_rows(named=True)}
    # a is linear (effect 2 everywhere: sigma 0); b and c interact (sigma > 0).
    assert effects["a"]["mu_star"] == pytest.approx(2.0) and effects["a"]["sigma"] < 1e-9
    assert 0 < effects["b"]["mu_star"] < 1 and effects["b"]["sigma"] > 0.05
    direct = morris_effects(design, design.unit(), result_y(root, "final_alignment"))
    assert result.table.drop("target").equals(direct)
    assert result.words[0].startswith("a moves it most: across its whole prior it raises")
    assert_png(root / "analysis" / "morris-final_alignment.png")


# --- One at a time ---------------------------------------------------------------------------


def test_oat_gives_each_keys_paired_change_from_the_medians(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    design = Design("oat", 1, ("a", "b", "c"), seed=0)
    arms = unit_arms(design)  # a, b, c at 0.5; then each alone at 0.05 and 0.95
    noise = np.random.default_rng(3).normal(0, 0.01, size=8)  # the replicate's seed, all arms

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        # a moves the target a lot, b a little, c not at all; the safe flag follows a.
        y = 3.0 * x["a"] + 0.1 * x["b"] + noise[r]
        return {"final_alignment": y, "safe": x["a"] > 0.9}

    root = write_sweep(tmp_path / "o", arms, outcome, replicates=8, design=design)
    result = analyze(root, "oat", "final_alignment")
    table = {r["parameter"]: r for r in result.table.iter_rows(named=True)}
    assert list(table) == ["a", "b", "c"]  # largest effect first
    # The change is paired by replicate: the noise cancels, so it is exact and its interval 0.
    assert table["a"]["low_diff"] == pytest.approx(3.0 * (0.05 - 0.5))
    assert table["a"]["high_diff"] == pytest.approx(3.0 * (0.95 - 0.5))
    assert table["b"]["high_diff"] == pytest.approx(0.1 * 0.45)
    assert table["b"]["high_diff_hi"] - table["b"]["high_diff_lo"] < 1e-9
    assert table["a"]["moves"] and table["b"]["moves"] and not table["c"]["moves"]
    assert (table["a"]["low_value"], table["a"]["high_value"]) == (0.05, 0.95)
    assert table["c"]["pairs"] == 8 and table["a"]["reference"] == pytest.approx(1.55, abs=0.02)
    assert result.words[0].startswith("At the medians final_alignment is 1.5")
    assert "2 of 3 assumptions move it on their own" in result.words[0]
    assert result.words[-1].startswith("The other 1 move it by at most 0 at either end")
    assert_png(root / "analysis" / "oat-final_alignment.png")
    # A yes/no target: P(safe) moves only with a at its 95% quantile, by 1 in every pair.
    flag = analyze(root, "oat", "safe", figure=False).table
    assert flag.filter(pl.col("moves"))["parameter"].to_list() == ["a"]
    assert flag.row(0, named=True)["high_diff"] == 1.0
    # From the command line: the printed table, largest first, the stored files named.
    assert cli_main(["analyze", str(root), "--method", "oat", "--target", "final_alignment"]) == 0
    out = capsys.readouterr().out
    assert out.index("\n  a ") < out.index("\n  b ") < out.index("\n  c ")
    assert "+1.35 [+1.35, +1.35]" in out


def result_y(root: Path, target: str) -> np.ndarray:
    data = load(root)
    return data.arm_values(data.target(target))["y"].to_numpy()


# --- PRIM ------------------------------------------------------------------------------------


def test_prim_finds_the_region_of_catastrophe_in_a_sampled_sweep(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    arms = [
        {"values.reflection_drift": float(d), "lab.lead_days": float(lead), "lab.tax": float(t)}
        for d, lead, t in zip(
            rng.uniform(0, 1e-4, 400), rng.uniform(0, 180, 400), rng.uniform(0, 2, 400), strict=True
        )
    ]

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        hit = x["values.reflection_drift"] > 4e-5 and x["lab.lead_days"] < 60
        return {"catastrophe": hit, "final_alignment": 1 - 5000 * x["values.reflection_drift"]}

    root = write_sweep(tmp_path / "p", arms, outcome, replicates=2)
    result = analyze(root, "prim", "catastrophe")
    box = {r["parameter"]: r for r in result.extra["box"].iter_rows(named=True)}
    assert set(box) == {"values.reflection_drift", "lab.lead_days"}  # tax is left free
    assert box["values.reflection_drift"]["low"] == pytest.approx(4e-5, abs=5e-6)
    assert box["lab.lead_days"]["high"] == pytest.approx(60, abs=8)
    assert result.words[0].startswith("P(catastrophe) when values.reflection_drift >= 4")
    chosen = result.table.filter(pl.col("stage") == "simplified").row(0, named=True)
    assert chosen["coverage"] >= 0.9 and chosen["density"] >= 0.9
    assert result.table.filter(pl.col("stage") == "peel")["coverage"].is_sorted(descending=True)
    assert_png(root / "analysis" / "prim-catastrophe.png")
    # A numeric target becomes yes/no with --threshold (here: final_alignment < 0.8).
    low = analyze(root, "prim", "final_alignment", Options(threshold=0.8, below=True), figure=False)
    assert low.name == "prim-final_alignment-lt-0.8"
    assert low.extra["box"]["parameter"].to_list() == ["values.reflection_drift"]
    assert low.extra["box"]["low"][0] == pytest.approx(4e-5, abs=3e-6)


def test_prim_on_categories_and_its_choice_of_box() -> None:
    rng = np.random.default_rng(0)
    kinds = rng.choice(["random", "small_world", "scale_free"], size=600)
    x = {"kind": kinds, "a": rng.random(600)}
    y = ((kinds == "random") & (x["a"] > 0.5)).astype(float)
    result = prim(x, y)
    limits = result.limits(result.chosen.box)
    assert limits["kind"] == "kind in {random}" and set(limits) == {"kind", "a"}
    # Peels of 5% of the box land within a few points of the edge at a = 0.5.
    assert result.chosen.box.low["a"] == pytest.approx(0.5, abs=0.03)
    assert result.chosen.coverage == 1.0 and result.chosen.density >= 0.95
    with pytest.raises(ValueError, match="at least one case"):
        prim(x, np.zeros(600))


# --- frontier --------------------------------------------------------------------------------


def test_isotonic_fit_and_crossing() -> None:
    fit = isotonic(np.array([0.2, 0.6, 0.4, 0.9, 0.8]), np.array([1.0, 1.0, 3.0, 1.0, 1.0]))
    assert fit.tolist() == pytest.approx([0.2, 0.45, 0.45, 0.85, 0.85])
    assert crossing(np.array([30.0, 60.0, 90.0]), np.array([0.0, 0.5, 1.0]), 0.9) == 84.0
    assert crossing(np.array([30.0, 60.0]), np.array([0.95, 1.0]), 0.9) == 30.0
    assert math.isnan(crossing(np.array([30.0, 60.0]), np.array([0.1, 0.2]), 0.9))


def test_frontier_interval_inverts_the_wilson_bounds() -> None:
    # Tax 0.5: 0/40, 20/40, 40/40 along the lead. Tax 1: 0/40, 1/40, 10/40 (never reaches 0.9).
    arms = pl.DataFrame(
        {
            "lab.tax": [0.5, 0.5, 0.5, 1.0, 1.0, 1.0],
            "lab.lead_days": [30.0, 60.0, 90.0, 30.0, 60.0, 90.0],
            "runs": [40] * 6,
            "k": [0.0, 20.0, 40.0, 0.0, 1.0, 10.0],
        }
    )
    result = frontier(arms, "lab.tax", "lab.lead_days", 0.9)
    half, full = result.table.rows(named=True)
    assert half["estimate"] == pytest.approx(84.0)  # 60 + (0.9 - 0.5) / 0.5 * 30
    # Wilson at 20/40: upper 0.65 < 0.9 rules 60 out; at 40/40: lower 0.912 >= 0.9 establishes 90.
    assert wilson(20, 40)[1] < 0.9 <= wilson(40, 40)[0]
    assert (half["lo"], half["hi"], half["status"]) == (60.0, 90.0, "reached")
    assert math.isnan(full["estimate"]) and full["status"] == "not reached"
    assert full["lo"] == 90.0 and math.isnan(full["hi"])
    assert result.direction == "increasing"
    cells = result.cells.filter(pl.col("by_value") == 1.0)
    assert cells["fitted"].to_list() == pytest.approx([0.0, 0.025, 0.25])
    # Ten runs per arm cannot establish P >= 0.9 (10/10 has a Wilson lower bound of 0.72).
    few = frontier(
        arms.with_columns(pl.col("runs") // 4, pl.col("k") / 4), "lab.tax", "lab.lead_days", 0.9
    )
    assert math.isnan(few.table["hi"][0]) and few.table["lo"][0] == 60.0


def test_frontier_of_a_grid_sweep_with_its_figure(tmp_path: Path) -> None:
    leads, taxes = [30.0, 60.0, 90.0, 120.0, 180.0], [0.25, 0.5, 1.0]
    arms = [{"lab.lead_days": lead, "lab.tax": tax} for lead in leads for tax in taxes]
    rng = np.random.default_rng(1)

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        # P(safe) rises with the lead and needs more lead at a higher tax.
        p = 1 / (1 + math.exp(-(x["lab.lead_days"] - 60 * (1 + x["lab.tax"])) / 10))
        return {"safe": bool(rng.random() < p), "stayed_in_basin": True}

    grid = {"lab.lead_days": leads, "lab.tax": taxes}
    root = write_sweep(tmp_path / "g", arms, outcome, replicates=30, grid=grid)
    result = analyze(root, "frontier", "safe", Options(p=0.8))
    assert (result.details["by"], result.details["along"]) == ("lab.tax", "lab.lead_days")
    rows = {r["by_value"]: r for r in result.table.iter_rows(named=True)}
    for tax, row in rows.items():
        truth = 60 * (1 + tax) + 10 * math.log(0.8 / 0.2)  # where P = 0.8
        assert row["status"] == "reached"
        assert row["lo"] < truth <= row["hi"] + 1e-9, (tax, row)
    assert rows[0.25]["estimate"] < rows[0.5]["estimate"] < rows[1.0]["estimate"]
    assert result.words[0].startswith("At lab.tax = 0.25: P(safe) >= 0.8 needs lab.lead_days >=")
    cells = pl.read_parquet(root / "analysis" / "frontier-safe-p0.8-cells.parquet")
    assert cells.height == 15 and (cells["wilson_lo"] <= cells["p_hat"]).all()
    assert_png(root / "analysis" / "frontier-safe-p0.8.png")


def test_frontier_reads_grid_keys_stored_without_dots(tmp_path: Path) -> None:
    # `society sweep` stores lab.tax as lab__tax (society.tidy.column_name): the frontier and
    # its figure find the grid keys under that name (a KeyError-like exit before).
    leads, taxes = [30.0, 90.0, 180.0], [0.25, 1.0]
    arms = [{"lab.lead_days": lead, "lab.tax": tax} for lead in leads for tax in taxes]

    def outcome(x: dict[str, float], r: int) -> dict[str, object]:
        del r
        return {"safe": x["lab.lead_days"] >= 60 * (1 + x["lab.tax"]), "stayed_in_basin": True}

    grid = {"lab.lead_days": leads, "lab.tax": taxes}
    root = write_sweep(tmp_path / "g", arms, outcome, replicates=4, grid=grid)
    points = pl.read_parquet(root / "points.parquet")
    renamed = {"lab.lead_days": "lab__lead_days", "lab.tax": "lab__tax"}
    points.rename(renamed).write_parquet(root / "points.parquet")
    result = analyze(root, "frontier", "safe", Options(p=0.5))
    assert (result.details["by"], result.details["along"]) == ("lab.tax", "lab.lead_days")
    rows = {r["by_value"]: r for r in result.table.iter_rows(named=True)}
    assert rows[0.25]["status"] == rows[1.0]["status"] == "reached"
    assert 30 < rows[0.25]["estimate"] <= 90 < rows[1.0]["estimate"] <= 180
    assert_png(root / "analysis" / "frontier-safe-p0.5.png")


# --- targets and bad input -------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    arms = [{"lab.lead_days": lead, "lab.tax": tax} for lead in (30.0, 90.0) for tax in (0.0, 1.0)]
    return write_sweep(
        tmp_path_factory.mktemp("g") / "grid",
        arms,
        lambda x, r: {"safe": x["lab.lead_days"] > 60, "survived": True, "final_alignment": 0.9},
        replicates=3,
        grid={"lab.lead_days": [30.0, 90.0], "lab.tax": [0.0, 1.0]},
    )


def test_targets_come_from_the_recorded_columns(grid_sweep: Path) -> None:
    data = load(grid_sweep)
    # `survived` (model v3) is a target as soon as the points record it.
    assert data.targets() == ["safe", "survived", "final_alignment"]
    # Swept values under names without dots are inputs, not targets, and are found.
    tidy = data.points.with_columns(lab__tax=pl.col("lab.tax")).drop("lab.tax")
    data.points = tidy
    assert data.targets() == ["safe", "survived", "final_alignment"]
    assert "lab.tax" in data.arm_values(data.target("safe")).columns
    assert data.target("final_alignment").label == "final_alignment"
    assert data.target("final_alignment", 0.5).label == "P(final_alignment >= 0.5)"


@pytest.fixture(scope="module")
def lhs_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    design = Design("lhs", 12, ("lab.tax",), seed=0)
    return write_sweep(
        tmp_path_factory.mktemp("l") / "lhs",
        unit_arms(design),
        lambda x, r: {"catastrophe": x["lab.tax"] > 0.5, "final_alignment": x["lab.tax"]},
        design=design,
    )


@pytest.fixture(scope="module")
def saltelli_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    design = Design("saltelli", 4, ("lab.tax", "lab.lead_days"), seed=0)
    return write_sweep(
        tmp_path_factory.mktemp("s") / "saltelli",
        unit_arms(design),
        lambda x, r: {"safe": False, "final_alignment": x["lab.tax"]},
        design=design,
    )


BAD: dict[str, tuple[str, list[str], list[str]]] = {
    # case -> (sweep fixture, arguments, phrases of the message)
    "target not recorded": (
        "grid_sweep",
        ["--method", "frontier", "--target", "saf"],
        ["--target saf", "records no such per-run column", "Did you mean 'safe'?", "survived"],
    ),
    "sobol on a grid sweep": (
        "grid_sweep",
        ["--method", "sobol"],
        ["this is a grid sweep ([grid] lab.lead_days, lab.tax)", 'method = "saltelli"'],
    ),
    "sobol on a latin hypercube": (
        "lhs_sweep",
        ["--method", "sobol", "--target", "final_alignment"],
        ['a [sample] method = "lhs" sweep', "need a Saltelli design"],
    ),
    "morris on a saltelli sweep": (
        "saltelli_sweep",
        ["--method", "morris", "--target", "final_alignment"],
        ['[sample] method = "saltelli" sweep', "need a Morris design"],
    ),
    "oat on a saltelli sweep": (
        "saltelli_sweep",
        ["--method", "oat", "--target", "final_alignment"],
        ['[sample] method = "saltelli" sweep', "one-at-a-time effects need an oat design"],
    ),
    "too few points for prim": (
        "lhs_sweep",
        ["--method", "prim", "--target", "catastrophe"],
        ["12 arms with a finished value are too few points for PRIM", "at least 20"],
    ),
    "prim on a number": (
        "lhs_sweep",
        ["--method", "prim", "--target", "final_alignment"],
        ["PRIM finds where a yes/no outcome concentrates", "--threshold X"],
    ),
    "frontier without two grid keys": (
        "saltelli_sweep",
        ["--method", "frontier"],
        ["the frontier needs a [grid] of exactly two numeric keys", "(sampled, not a grid)"],
    ),
    "frontier along a key not swept": (
        "grid_sweep",
        ["--method", "frontier", "--along", "rival.tax"],
        ["--along rival.tax: not a key of this sweep's grid (lab.lead_days, lab.tax)"],
    ),
    "a threshold on a yes/no target": (
        "grid_sweep",
        ["--method", "frontier", "--threshold", "0.5"],
        ["--target safe is already a yes/no outcome"],
    ),
    "sobol of a constant": (
        "saltelli_sweep",
        ["--method", "sobol", "--target", "safe"],
        ["the target is 0 at every arm of the design", "no variance to apportion"],
    ),
    "p outside 0-1": ("grid_sweep", ["--method", "frontier", "--p", "1.5"], ["--p 1.5"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_analysis_input_exits_2_with_one_paragraph(
    case: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture, args, phrases = BAD[case]
    root: Path = request.getfixturevalue(fixture)
    before = sorted(p.name for p in root.iterdir())
    assert cli_main(["analyze", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 1
    message = " ".join(err.split())
    for phrase in phrases:
        assert phrase in message, message
    assert sorted(p.name for p in root.iterdir()) == before  # nothing written


def test_a_run_directory_or_an_unfinished_sweep_is_refused(
    tiny_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["analyze", str(tiny_run.path), "--method", "prim"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "is a run directory (from `society run`), not a sweep" in message
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "manifest.json").write_text('{"kind": "sweep", "status": "interrupted"}')
    assert cli_main(["analyze", str(unfinished), "--method", "prim"]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "points.parquet is missing (the sweep's status is 'interrupted'" in message
    assert f"society sweep --resume {unfinished}" in message
    assert cli_main(["analyze", str(tmp_path / "nowhere"), "--method", "prim"]) == 2
    assert "is not a directory" in capsys.readouterr().err
    with pytest.raises(AnalysisError, match="holds no sweep manifest.json"):
        load(tmp_path)


def test_a_failed_arm_stops_sobol_but_not_prim(tmp_path: Path) -> None:
    design = Design("saltelli", 8, ("x1", "x2"), seed=0)
    root = write_sweep(
        tmp_path / "f", unit_arms(design), lambda x, r: {"final_alignment": x["x1"]}, design=design
    )
    points = pl.read_parquet(root / "points.parquet")
    points.with_columns(
        status=pl.when(pl.col("arm") == 3).then(pl.lit("error")).otherwise(pl.col("status"))
    ).write_parquet(root / "points.parquet")
    with pytest.raises(
        AnalysisError, match=r"1 arm\(s\) of the Saltelli design have no finished run"
    ):
        analyze(root, "sobol", "final_alignment")


# --- a real sweep, end to end ----------------------------------------------------------------


def test_saltelli_sweep_then_analyze_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_file = tmp_path / "sens.toml"
    sweep_file.write_text(
        f'scenario = "{TINY}"\nreplicates = 1\nseed = 2\n[set]\ndays = 5\n'
        '"population.size" = 50\n[sample]\nmethod = "saltelli"\nn = 8\n'
        'ranges = { "values.reflection_drift" = [0.0, 0.01], "lab.tax" = [0.0, 2.0] }\n'
    )
    out = tmp_path / "sweep"
    sweep = ["sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet"]
    assert cli_main([*sweep, "--no-report"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep"]["design"]["size"] == "N (D + 2) = 8 x 4 = 32 arms"
    assert "SALib" in manifest["versions"]
    assert manifest["platform"]["numpy_simd"] == vector_maths()
    capsys.readouterr()
    code = cli_main(["analyze", str(out), "--method", "sobol", "--target", "final_alignment"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    lines = printed.out.splitlines()
    assert lines[-1] == str(out / "analysis" / "sobol-final_alignment.parquet")
    table = pl.read_parquet(lines[-1])
    record = json.loads((out / "analysis" / "sobol-final_alignment.json").read_text())
    assert record["platform"]["numpy_simd"] == vector_maths()
    total = dict(table.filter(pl.col("index") == "ST").select("parameter", "value").rows())
    # Over 5 days the reflection drift moves the final alignment; the tax does not.
    assert total["values.reflection_drift"] > 0.8 and abs(total["lab.tax"]) < 0.05
    assert "values.reflection_drift matters most for final_alignment" in " ".join(
        printed.out.split()
    )
    assert not (out / "report.html").exists()  # analyze rewrites a report, never starts one
    assert cli_main(["report", str(out)]) == 0
    report = (out / "report.html").read_text()
    assert "Which assumptions matter (society analyze)" in report
    assert 'id="analysis-sobol-final_alignment"' in report


def test_a_full_disk_while_writing_is_one_paragraph_and_keeps_the_sweep(
    grid_sweep: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import society.analysis.run as run_module

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    before = (grid_sweep / "points.parquet").read_bytes()
    monkeypatch.setattr(run_module, "write_parquet", full)
    # Not the user's input: exit 1, as every storage failure (society.errors.StorageError).
    assert cli_main(["analyze", str(grid_sweep), "--method", "frontier", "--no-report"]) == 1
    message = " ".join(capsys.readouterr().err.split())
    assert "No space left on device" in message and "the sweep's own files are untouched" in message
    assert "Traceback" not in message
    assert (grid_sweep / "points.parquet").read_bytes() == before


def ask_lost_lead_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], priors: str, *sets: str
) -> tuple[Path, str]:
    """``society ask tiny`` (40 runs of 30 instances) claiming P(lost_lead) >= 0.5, each run
    drawing the ``[priors."..."]`` tables given; its directory and its output on one line."""
    path = tmp_path / "priors.toml"
    path.write_text('title = "t"\n' + priors)
    out = tmp_path / "ask"
    argv = ["ask", "tiny", "--priors", str(path), "--seeds", "40", "--size", "30", "--out"]
    claim = ["claim.outcome=lost_lead", "claim.p=0.5", *sets]
    assert cli_main([*argv, str(out), *(a for c in claim for a in ("--set", c))]) == 0
    return out, " ".join(capsys.readouterr().out.split())


def test_prim_over_an_asks_prior_draws_finds_the_assumption_that_decided_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An ask over a prior file: each run draws its own lead and hazard scale. Whether the
    # rival passes within the 60 days is decided by the lead alone, so PRIM over the runs
    # (each its own point of the assumptions) bounds the lead and leaves the hazard free.
    out, said = ask_lost_lead_over(
        tmp_path,
        capsys,
        '[priors."lab.lead_days"]\ndist = "uniform"\nlow = 0\nhigh = 120\nwhy = "w"\n'
        '[priors."hazards.loss_of_control"]\ndist = "loguniform"\nlow = 1e-4\nhigh = 1e-3\n'
        'why = "w"\n',
    )
    # The ask says how to find what decided it.
    assert f"`society analyze {out} --method prim --target lost_lead` finds which drawn" in said
    decided = said.split("Decided by (PRIM over each run's own draw, in ")[1]
    assert decided.startswith(f"{out}/analysis): P(lost_lead) when lab.lead_days <= ")
    assert (out / "analysis" / "prim-lost_lead.png").is_file()
    result = analyze(out, "prim", "lost_lead", figure=False)
    box = {r["parameter"]: r for r in result.extra["box"].iter_rows(named=True)}
    assert set(box) == {"lab.lead_days"} and box["lab.lead_days"]["high"] < 120
    runs = pl.read_parquet(out / "points.parquet")
    inside = runs.filter(pl.col("lab__lead_days") <= box["lab.lead_days"]["high"])
    chosen = result.table.filter(pl.col("stage") == "simplified").row(0, named=True)
    assert chosen["arms"] == inside.height  # its points are runs
    assert chosen["density"] == pytest.approx(inside["lost_lead"].mean())
    assert chosen["density"] >= 0.8 > runs["lost_lead"].mean()
    assert "over 2 swept and prior-drawn keys and 40 runs" in result.heading
    assert "The box holds" in result.words[1] and "of the runs" in result.words[1]


def test_an_ask_whose_draws_decide_nothing_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Draws of an assumption that cannot move the event (the size of value noise, against
    # whether the rival passes): PRIM keeps no limit, and the ask says no region stands out
    # rather than printing an empty box.
    out, said = ask_lost_lead_over(
        tmp_path,
        capsys,
        '[priors."population.openness_sd"]\ndist = "uniform"\nlow = 0.02\nhigh = 0.08\nwhy = "w"\n',
        "lab.lead_days=65",
    )
    runs = pl.read_parquet(out / "points.parquet")
    assert 0 < runs["lost_lead"].sum() < runs.height  # an event PRIM can look for
    assert "no region of the drawn assumptions stands out" in said
