"""The site's generated reference pages, by path under ``docs/``: the one source of truth for
``mkdocs build`` (through :mod:`society.docsite.hook`) and for the tests.

Each page is a function of the code alone (the argparse definitions, the scenario schema, the
recorder's and the sweep store's schemas, the shipped priors), so a field, column, prior or
command added to the code is on the site at the next build.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import groupby

from society.docs import TABLES, fields_table
from society.docsite.cli_reference import cli_page
from society.docsite.markdown import cell, code, generated_note, table
from society.scenario import iter_fields

#: Where the site's nav puts the top-level fields that belong to no section.
TOP_LEVEL = "top level"


def section(key: str) -> str:
    """The section a field belongs to: ``lab`` for ``lab.tax``.

    >>> section("lab.tax"), section("days")
    ('lab', 'top level')
    """
    return key.split(".", maxsplit=1)[0] if "." in key else TOP_LEVEL


def fields_page() -> str:
    """Every scenario field, one table per section, in the schema's order."""
    parts = [
        generated_note("society/scenario.py (society.scenario.iter_fields)"),
        "# Scenario fields",
        "",
        "Every model parameter is a field of a scenario file, with its type, default, unit, "
        "range, kind and meaning. A scenario file sets any of them in TOML sections (`[lab]` "
        "`tax = 0.25`); `--set lab.tax=0.25` overrides one from the command line and is "
        "type-checked like the file; a field left out takes its default. Rates are per "
        "simulated day unless the unit says per *subjective* day: an instance works "
        "`population.speed` subjective days per simulated day.",
        "",
        "The kind says what a field is (see [the model](../model.md#2-kinds-of-field)): a "
        "**lever** is what the lab chooses (its default is today's status quo, with its "
        "source); an **uncertain** field is what nobody can measure (its default is the median "
        "of its [prior](priors.md)); a **question** field is what a scenario asks (never "
        "drawn from a prior); a **setting** is resolution, recording or plumbing.",
        "",
    ]
    for name, fields in groupby(iter_fields(), key=lambda f: section(f["key"])):
        parts += [f"## {name}", "", fields_table(list(fields), with_type=True), ""]
    return "\n".join(parts)


def columns_page() -> str:
    """Every column of every table a run or sweep writes."""
    parts = [
        generated_note("society/observe.py, society/recorder.py and society/docs.py"),
        "# Output columns",
        "",
        "The Parquet tables a run writes (`RUN_DIR/*.parquet`), and the per-run table of a "
        "sweep (`SWEEP_DIR/points.parquet`). No column name has a dot: a scenario field used "
        "as a column (a swept or drawn value) is named by its key with each `.` replaced by "
        "`__` (`lab.tax` is `lab__tax`). [Run and sweep directories](outputs.md) says which "
        "file holds what.",
        "",
        "## Identity columns",
        "",
        "`metrics`, `events` and `generations`, and each run's metrics in a sweep, start with "
        "these four columns, so that tables of many runs stack without a join "
        '(`society.scan("runs/*")`).',
        "",
        TABLES["identity"](),
        "",
    ]
    sections = [
        ("metrics", "metrics.parquet", "One row per recorded day (`record.every_days`)."),
        ("events", "events.parquet", "One row per discrete event."),
        ("generations", "generations.parquet", "One row per generation."),
        (
            "network_nodes",
            "network_nodes.parquet",
            "One row per instance at each snapshot day (`record.snapshot_days` and the last).",
        ),
        ("network_edges", "network_edges.parquet", "One row per link at each snapshot day."),
        (
            "summary",
            "points.parquet (sweeps) and summary.json",
            "A sweep's `points.parquet` has one row per run: `point_id`, `arm`, `replicate`, "
            "`seed`, one column per swept or drawn field, `status`, `error`, then these "
            "columns of the run's summary. A run's `summary.json` holds them too, with more "
            "headline figures and `verdict`, the outcome in plain sentences.",
        ),
    ]
    for name, title, intro in sections:
        parts += [f"## `{title}`" if "(" not in title else f"## {title}", "", intro, ""]
        parts += [TABLES[name](), ""]
    return "\n".join(parts)


def priors_page() -> str:
    """Every shipped prior, with its median and 90% range."""
    return "\n".join(
        [
            generated_note("scenarios/priors/model.toml (society.priors)"),
            "# Priors",
            "",
            "Every uncertain field has a prior in `scenarios/priors/model.toml`: a distribution, a "
            "one-line justification and its sources. The field's default is the prior's median; "
            "no default is chosen to make a scenario's answer come out. "
            "[The model, section 14](../model.md#14-priors-where-each-uncertain-number-comes-from) "
            "explains where each comes from. `society ask SCENARIO --priors model` draws from them "
            "(Latin hypercube, one draw per run), so the answer integrates over the assumptions; a "
            'sweep takes `priors = ["model"]` the same way.',
            "",
            TABLES["priors"](),
            "",
            "## Four settings held fixed",
            "",
            "Four settings are assumptions nobody has measured too, but the shipped analyses hold "
            "them at their defaults; `scenarios/priors/settings.toml` gives their priors (each "
            "median is the default). Draw them as well with `--priors model settings`; "
            "[what decides the answers](../explanation/findings.md#four-settings-held-fixed) "
            "says how far each moves the shipped answers.",
            "",
            TABLES["settings_priors"](),
            "",
        ]
    )


def scenarios_page() -> str:
    """Every shipped scenario and sweep with its question, as ``society scenarios`` lists them."""
    from society.cli.scenarios import claim_text, read_doc, sweep_runs
    from society.scenario_files import list_shipped, shipped_dir

    scenario_rows = [
        [f"`{name}`", cell(question), cell(claim_text(path)), code(f"society run {name}")]
        for name, path, question in list_shipped()
    ]
    sweep_rows = []
    for path in sorted((shipped_dir() / "sweeps").glob("*.toml")):
        doc = read_doc(path)
        sweep_rows.append(
            [
                f"`{path.stem}`",
                cell(doc.get("question", "")),
                sweep_runs(doc).replace("?", "sampled: see `--dry-run`"),
                code(f"society sweep scenarios/sweeps/{path.name} --dry-run"),
            ]
        )
    return "\n".join(
        [
            generated_note("scenarios/*.toml and scenarios/sweeps/*.toml"),
            "# Shipped scenarios and sweeps",
            "",
            "What `society scenarios` lists: every scenario in `scenarios/` with the question it "
            "asks and its claim (a claim is answered over many seeds by `society ask NAME`), and "
            "every sweep in `scenarios/sweeps/`. Copy one to start your own "
            "([write a scenario](../how-to/write-a-scenario.md)); each file's comments say what it "
            "assumes and why.",
            "",
            "## Scenarios",
            "",
            table(["name", "question", "claim", "run it"], scenario_rows),
            "",
            "## Sweeps",
            "",
            "Runs are arms x replicates as the file is written; `--set` and `--replicates` scale a "
            "sweep without editing it, and `--dry-run` prints the runs and the wall time on this "
            "machine before anything runs.",
            "",
            table(["name", "question", "runs", "estimate it"], sweep_rows),
            "",
        ]
    )


#: Every generated page by its path under docs/.
PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/scenario-fields.md": fields_page,
    "reference/output-columns.md": columns_page,
    "reference/priors.md": priors_page,
    "reference/scenarios.md": scenarios_page,
}
