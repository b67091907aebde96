"""LLM runs across structured modes: auto settles the mode before the run and records it,
replay keeps it, near misses are repaired and counted apart from fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli

import society
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from society.tidy import comparable


def overrides(server: FakeOpenAIServer, **extra: object) -> dict[str, object]:
    return {
        "days": 4,
        "tests.every_days": 2,
        "llm.base_url": server.base_url,
        "llm.model": "fake-model",
        "llm.timeout_s": 5.0,
        **extra,
    }


def test_auto_settles_json_object_on_a_llama_server_and_replay_keeps_it(tmp_path: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig.llama_cpp()) as server:
        recorded = society.run("llm_small", overrides=overrides(server), out=tmp_path / "rec")
        served = server.stats()["chat_requests"]
    manifest = json.loads((recorded.path / "manifest.json").read_text())
    assert manifest["llm"]["structured"] == "json_object"
    assert "json_schema: refused (HTTP 500)" in manifest["llm"]["negotiation"]
    assert manifest["scenario"]["llm"]["structured"] == "json_object"
    calls = pl.read_parquet(recorded.path / "llm_calls.parquet")
    assert calls.height > 20 and set(calls["structured"]) == {"json_object"}
    assert not calls["fallback"].any() and not calls["repaired"].any()
    assert recorded.summary["llm_accepted_share"] == 1.0
    assert recorded.summary["llm_structured"] == "json_object"
    # Two probes and the check, then one request per call the cache did not answer.
    assert served == calls.height - int(calls["cache_hit"].sum()) + 3
    # The server is gone: replay serves every reply, and the manifest's mode, from the cache.
    replayed = society.replay(recorded.path, out=tmp_path / "replay")
    again = pl.read_parquet(replayed.path / "llm_calls.parquet")
    assert again.drop("cache_hit", "latency_s").equals(calls.drop("cache_hit", "latency_s"))
    assert again["cache_hit"].all()
    assert comparable(replayed.metrics).equals(comparable(recorded.metrics))


def test_near_misses_are_repaired_counted_and_replayed(tmp_path: Path) -> None:
    config = FakeServerConfig(faults=("ok", "near_miss", "ok", "schema_invalid"), cycle=True)
    with FakeOpenAIServer(config) as server:
        # Pinned mode: the fault schedule then starts at the check (no probes).
        extra = {"llm.structured": "json_schema", "days": 3}
        result = society.run("llm_small", overrides=overrides(server, **extra), out=tmp_path / "r")
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    s = result.summary
    repaired, fallbacks = int(calls["repaired"].sum()), int(calls["fallback"].sum())
    assert repaired >= 5 and s["llm_repaired"] == repaired
    assert not (calls["repaired"] & calls["fallback"]).any()
    assert s["llm_repaired_share"] == repaired / calls.height
    accepted = calls.height - repaired - fallbacks
    assert s["llm_accepted_share"] == accepted / calls.height  # from counts, exact
    assert s["llm_accepted_share"] + s["llm_repaired_share"] + s["llm_fallback_share"] == (
        pytest.approx(1.0)
    )
    # Repaired answers are used: their state and answer are recorded; fallbacks have none.
    assert calls.filter(pl.col("repaired"))["answer"].null_count() == 0
    assert calls.filter(pl.col("fallback"))["answer"].null_count() == fallbacks
    replayed = society.replay(result.path, out=tmp_path / "replay")
    again = pl.read_parquet(replayed.path / "llm_calls.parquet")
    assert again["repaired"].equals(calls["repaired"])
    assert again["answer"].equals(calls["answer"])


def test_prompt_mode_runs_on_a_server_that_ignores_response_format(tmp_path: Path) -> None:
    ignoring = FakeServerConfig(formats=(), refuse_formats=False)
    with FakeOpenAIServer(ignoring) as server:
        result = society.run(
            "llm_small", overrides=overrides(server, days=2), out=tmp_path / "prompt"
        )
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["llm"]["structured"] == "prompt"
    assert "accepted but not enforced" in manifest["llm"]["negotiation"]
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    assert calls.height > 5 and result.summary["llm_accepted_share"] == 1.0


def test_llm_check_names_the_mode_it_chose(tmp_path: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig.llama_cpp()) as llama:
        auto = run_cli("llm", "check", "--base-url", llama.base_url, "--model", "fake-model",
                       cwd=tmp_path)  # fmt: skip
        forced = run_cli("llm", "check", "--base-url", llama.base_url, "--model", "fake-model",
                         "--structured", "json_schema", cwd=tmp_path)  # fmt: skip
        refusals = llama.stats()["statuses"]["500"]
    with FakeOpenAIServer(FakeServerConfig()) as openai_like:
        plain = run_cli("llm", "check", "--base-url", openai_like.base_url, "--model",
                        "fake-model", cwd=tmp_path)  # fmt: skip
    assert auto.returncode == 0, auto.stderr
    assert "structured output honoured" in auto.stdout
    assert "structured mode: json_object" in " ".join(auto.stdout.split())
    assert plain.returncode == 0 and "structured mode: json_schema" in " ".join(
        plain.stdout.split()
    )
    assert forced.returncode == 2 and "Traceback" not in forced.stderr
    text = " ".join(forced.stderr.split())
    assert "refuses structured mode 'json_schema'" in text and 'llm.structured = "auto"' in text
    assert refusals == 2  # one probe from auto, one refused check: never retried
