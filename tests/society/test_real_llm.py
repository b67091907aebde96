"""A real model behind a real server: llama-cpp-python's OpenAI-compatible server running
SmolLM2-135M-Instruct (the ``local-llm`` extra). ``society llm check`` finds the structured
mode on its own, a short LLM-backed run takes most of its decisions from the model, and a
replay with the server stopped reproduces the run from the cache.

Skipped when the extra is not installed, unless ``SOCIETY_REQUIRE_REAL_LLM=1`` (``.ci/run``
sets it), which turns a missing server into a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli

from llm_backends.local_server import LocalLlamaServer, LocalModelMissing
from society.tidy import comparable

pytestmark = pytest.mark.slow

# Four calls: 10 LLM-backed researchers (no other roles) in one archetype, one decision round
# (work allocation and a peer message) and one test round (a test and a honeypot).
# The server answers one request at a time, 2-4 s each on 2 shared cores.
RUN_SETTINGS = {
    "population.size": 40,
    "population.share_monitors": 0,
    "population.share_strategists": 0,
    "population.share_red_team": 0,
    "llm.fraction": 0.25,
    "llm.archetypes": 1,
    "llm.concurrency": 2,
    "llm.timeout_s": 120,
    "days": 1,
    "tests.every_days": 1,
}


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    try:
        server = LocalLlamaServer(log=log)
    except LocalModelMissing as missing:
        if os.environ.get("SOCIETY_REQUIRE_REAL_LLM") == "1":
            pytest.fail(f"SOCIETY_REQUIRE_REAL_LLM=1 but {missing}")
        pytest.skip(str(missing))
    with server:
        yield server


def test_a_real_model_checks_runs_and_replays(llama: LocalLlamaServer, tmp_path: Path) -> None:
    check = run_cli("llm", "check", "--base-url", llama.base_url, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    said = " ".join(check.stdout.split())
    assert "structured output honoured" in said and "structured mode: json_object" in said
    assert "json_schema: refused (HTTP 500)" in said

    sets = [f"--set={k}={v}" for k, v in RUN_SETTINGS.items()]
    run = run_cli(
        "run", "llm_small", f"--set=llm.base_url={llama.base_url}", "--set=llm.model=smollm2",
        *sets, "--no-report", "--quiet", "--out", "rec", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    recorded = tmp_path / "rec"
    calls = pl.read_parquet(recorded / "llm_calls.parquet")
    summary = json.loads((recorded / "summary.json").read_text())
    assert calls.height == 4
    accepted = calls.filter(~pl.col("fallback") & ~pl.col("repaired")).height
    assert accepted / calls.height >= 0.5, calls.select("decision", "error_kind", "answer")
    assert summary["llm_accepted_share"] == pytest.approx(accepted / calls.height)
    assert set(calls["structured"]) == {"json_object"}
    assert summary["llm_structured"] == "json_object"
    assert {"work_allocation", "peer_message", "behavior_test", "honeypot"} <= set(
        calls["decision"]
    )
    manifest = json.loads((recorded / "manifest.json").read_text())
    assert manifest["llm"]["structured"] == "json_object"

    llama.stop()
    replay = run_cli("run", "--replay", "rec", "--no-report", "--quiet", "--out", "replay",
                     cwd=tmp_path)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    again = pl.read_parquet(tmp_path / "replay" / "llm_calls.parquet")
    assert again["cache_hit"].all()  # a miss would have been an error: zero requests
    assert again.drop("cache_hit", "latency_s").equals(calls.drop("cache_hit", "latency_s"))
    for table in ("metrics", "events"):
        before = pl.read_parquet(recorded / f"{table}.parquet")
        replayed = pl.read_parquet(tmp_path / "replay" / f"{table}.parquet")
        assert comparable(replayed).equals(comparable(before))
