"""The playground's server without a browser: settings to the ask's sweep, one-paragraph
errors, only its own files served, export round-trips, identical settings from the cache."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from society.app.jobs import Runner
from society.app.plan import Settings, controls
from society.app.server import make_app
from society.cli.main import build_parser
from society.errors import ScenarioError
from society.scenario import iter_fields
from society.scenario_files import load_scenario


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    r = Runner(workers=1)
    yield r
    r.close()


def call(runner: Runner, steps: Any) -> Any:
    async def go() -> Any:
        async with TestClient(TestServer(make_app(runner))) as client:
            return await steps(client)

    return asyncio.run(go())


def test_controls_come_from_the_schema() -> None:
    fields = {f["key"]: f for f in iter_fields()}
    shown = {c["key"]: c for c in controls()}
    assert {"lab.tax", "lab.lead_days", "strategy.accept_advice", "knowledge.rate"} <= set(shown)
    for key, c in shown.items():
        assert c["unit"] == fields[key]["unit"] and c["range"] == fields[key]["range"]
        assert c["help"] == fields[key]["description"]
    assert shown["lab.tax"]["min"] == 0 and shown["lab.tax"]["max"] == 100
    assert shown["strategy.slowdown_tax"]["max"] is None  # unbounded: a number box, no slider


def test_settings_are_the_asks_sweep_and_command() -> None:
    s = Settings.from_query({"scenario": "baseline", "seeds": "3", "size": "200", "lab.tax": "0.5"})
    sweep = s.sweep()
    assert len(sweep.seeds) == 3
    scenario = load_scenario(sweep.scenario_of(0, 1))
    assert scenario.lab.tax == 0.5 and scenario.population.size == 200
    assert scenario.seed == sweep.seeds[1]
    assert s.command() == "society ask baseline --seeds 3 --size 200 --set lab.tax=0.5"
    assert s.query() == {"scenario": "baseline", "seeds": "3", "size": "200", "lab.tax": "0.5"}
    exported = load_scenario(tomllib.loads(s.export_toml()))
    assert exported == s.resolved()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"scenario": "../../etc/passwd"}, "is not a shipped scenario"),
        ({"scenario": "baseline", "seeds": "0"}, "seeds = '0' is not allowed"),
        ({"scenario": "baseline", "population.size": "5"}, "is not a setting of the playground"),
        ({"scenario": "baseline", "lab.tax": "500"}, "lab.tax = 500 is out of range"),
    ],
)
def test_bad_settings_are_one_paragraph(query: dict[str, str], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        Settings.from_query(query).sweep()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_server_serves_only_its_files_and_answers_errors_in_words(runner: Runner) -> None:
    async def steps(client: TestClient) -> list[Any]:
        out = []
        for path in ("/static/..%2f..%2fscenario.py", "/static/plan.py", "/etc/passwd"):
            out.append((await client.get(path)).status)
        bad = await client.post(
            "/api/run", json={"query": {"scenario": "baseline", "lab.tax": "-1"}}
        )
        out.append((bad.status, (await bad.json())["error"]))
        toml = 'days = 20\n[lab]\ntax = "x"\n'
        opened = await client.post(
            "/api/scenario", json={"query": {"scenario": "uploaded"}, "toml": toml}
        )
        out.append((opened.status, (await opened.json())["error"]))
        page = await client.get("/")
        out.append((page.status, "society playground" in await page.text()))
        return out

    *statuses, bad, opened, page = call(runner, steps)
    assert statuses == [404, 404, 404]
    assert bad[0] == 400 and "lab.tax = -1 is out of range" in bad[1]
    assert opened[0] == 400 and "lab.tax = 'x' has the wrong type" in opened[1]
    assert page == (200, True)


def test_identical_settings_are_served_from_the_cache(runner: Runner) -> None:
    query = {"scenario": "tiny", "seeds": "2", "size": "50", "days": "10"}

    async def steps(client: TestClient) -> Any:
        async def finish() -> dict[str, Any]:
            job = await (await client.post("/api/run", json={"query": query})).json()
            while True:
                data = await (await client.get(f"/api/job/{job['job']}")).json()
                if data["done"] == data["total"]:
                    return data
                await asyncio.sleep(0.05)

        first = await finish()
        simulated = len(runner.cache)
        second = await finish()
        return first, second, simulated, len(runner.cache)

    first, second, before, after = call(runner, steps)
    assert first["runs"] == second["runs"] and before == after
    assert sum(d["count"] for d in first["distribution"]) == 2
    assert first["answer"]["text"].startswith("This scenario makes no claim")


def test_the_app_binds_to_localhost_by_default() -> None:
    args = build_parser().parse_args(["app"])
    assert args.host == "127.0.0.1" and args.port == 8765


def test_a_pinned_reference_gives_paired_differences(runner: Runner) -> None:
    query = {"scenario": "tiny", "seeds": "3", "size": "50", "days": "20"}
    reference = {"query": {**query, "lab.tax": "3.0"}}

    async def steps(client: TestClient) -> Any:
        body = {"query": query, "reference": reference}
        job = await (await client.post("/api/run", json=body)).json()
        while True:
            data = await (await client.get(f"/api/job/{job['job']}")).json()
            if data["done"] == data["total"] and data["reference_done"] == data["total"]:
                return data
            await asyncio.sleep(0.05)

    data = call(runner, steps)
    rows = {d["measure"]: d for d in data["difference"]}
    assert set(rows) >= {"P(safe)", "P(catastrophe)", "final alignment"}
    assert all(d["pairs"] == 3 for d in rows.values())
    assert rows["final alignment"]["mean"] != 0.0  # the tax changed the runs, seed by seed


def test_with_priors_draws_the_assumptions_left_alone() -> None:
    s = Settings.from_query(
        {
            "scenario": "baseline",
            "seeds": "2",
            "size": "100",
            "priors": "1",
            "knowledge.rate": "0.02",
        }
    )
    sweep = s.sweep()
    a, b = (load_scenario(sweep.scenario_of(0, r)) for r in range(2))
    assert a.knowledge.difficulty != b.knowledge.difficulty  # drawn, run by run
    assert a.knowledge.rate == b.knowledge.rate == 0.02  # set on the page: pinned
    assert s.command().endswith("--set knowledge.rate=0.02 --priors scenarios/priors/model.toml")
