"""Integrity under faults, end to end: real runs against a real (sometimes hostile, sometimes
dying) OpenAI-compatible server on 127.0.0.1, through the real clients and the CLI.

- errors cross SimPy (and pickle) intact, and a mid-run 401 stops the run with exit 2;
- hostile replies (deep JSON, huge content) become small invalid_reply fallbacks;
- a damaged response cache is a user error naming the file, never a miss or a TypeError;
- an endpoint that dies part way leaves a run that says it is degraded, and why.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import simpy

import society
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from society.api import RunStopped
from society.errors import (
    RunDirectoryError,
    ScenarioError,
    SocietyError,
    Stopped,
    StorageError,
)
from society.llm.errors import LLMRunError
from society.llm.setup import LLMSetupError
from society.model import SocietyModel
from society.store.lock import DirectoryLocked
from society.sweeps.runner import SweepInterrupted
from society.sweeps.spec import SweepError
from society.tidy import comparable

OUTPUTS = ("metrics", "events", "generations", "network_nodes", "network_edges")
SHUTDOWN_NOISE = (
    "Event loop is closed",
    "Task was destroyed",
    "never retrieved",
    "Unclosed",
    "Traceback",
)


def overrides(server: FakeOpenAIServer | None, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {"days": 6, "llm.timeout_s": 5.0, "tests.every_days": 3}
    if server is None:
        base["llm.backend"] = "stub"
    else:
        # Fault schedules count the pre-flight as one request: pin the mode (no auto probe).
        base.update(
            {
                "llm.base_url": server.base_url,
                "llm.model": "fake-model",
                "llm.structured": "json_schema",
            }
        )
    return {**base, **extra}


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``society ARGS`` as a user would, in development mode so that any unclosed
    resource or leaked task is reported on stderr."""
    return subprocess.Popen(
        [sys.executable, "-X", "dev", "-m", "society.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- 1. errors cross SimPy intact ---------------------------------------------------------


def _society_examples() -> list[SocietyError]:
    return [
        SocietyError("bad key 'a\nb'"),
        ScenarioError("population.size = -3 is out of range"),
        RunDirectoryError("'runs/x' is not empty", "extra arg"),
        LLMSetupError("cannot replay: no response cache"),
        LLMRunError("the endpoint rejected the key on day 3", "auth"),
        StorageError("No space left on device (ENOSPC): the run stopped on day 40"),
        Stopped("SIGINT: stopped", 2),
        RunStopped("SIGTERM: stopped after day 31", 15),
        SweepInterrupted("SIGTERM: the sweep stopped", 15),
        SweepError("sweep.toml: [grid] is empty"),
        DirectoryLocked("'runs/x' is being written by PID 42", 42),
    ]


def _classes_in(*modules: str) -> set[type[BaseException]]:
    found = set()
    for name in modules:
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == name:
                found.add(obj)
    return found


def test_the_examples_cover_the_society_and_llm_error_classes() -> None:
    modules = (
        "society.errors",
        "society.llm.errors",
        "society.llm.setup",
        "society.llm.policy",
        "society.api",
        "society.sweeps.runner",
        "society.sweeps.spec",
        "society.store.lock",
    )
    assert _classes_in(*modules) == {type(e) for e in _society_examples()}


@pytest.mark.parametrize("exc", _society_examples(), ids=lambda e: type(e).__name__)
def test_society_errors_cross_simpy_and_pickle_intact(exc: SocietyError) -> None:
    env = simpy.Environment()

    def process(env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1)
        raise exc

    env.process(process(env))
    with pytest.raises(SocietyError) as info:
        env.run()
    for copy in (info.value, pickle.loads(pickle.dumps(exc))):
        assert copy is not exc and type(copy) is type(exc)
        assert (str(copy), copy.args, copy.exit_code, vars(copy)) == (
            str(exc),
            exc.args,
            exc.exit_code,
            vars(exc),
        )
    assert "\n" not in str(exc)
    assert str(exc) == exc.args[0]  # what the user reads is the message, never a tuple


def test_a_401_in_mid_run_stops_it_with_the_reason(tmp_path: Path) -> None:
    key, env_var = "sk-SENTINEL-mid-run-401", "SOCIETY_FAULTS_KEY"
    os.environ[env_var] = key
    try:
        with FakeOpenAIServer(FakeServerConfig(api_key=key)) as server:

            def revoke(model: SocietyModel) -> None:
                if model.day >= 2:
                    server.reset(FakeServerConfig(api_key="sk-rotated-elsewhere"))

            with pytest.raises(LLMRunError) as info:
                society.run(
                    "llm_small",
                    overrides=overrides(server, **{"llm.api_key_env": env_var}),
                    out=tmp_path / "r",
                    on_day=revoke,
                )
    finally:
        del os.environ[env_var]
    err = info.value
    assert err.kind == "auth" and err.exit_code == 2
    # Revoked after day 3 was recorded; the next decision round is on day 4.
    assert "rejected the API key from environment variable SOCIETY_FAULTS_KEY on day 4" in str(err)
    assert key not in str(err)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "error" and "LLMRunError" in manifest["error"]


@pytest.mark.slow
@pytest.mark.parametrize("client", ["aiohttp", "openai"])
def test_cli_401_in_mid_run_exits_2_and_shuts_down_cleanly(tmp_path: Path, client: str) -> None:
    key = "sk-SENTINEL-cli-401"
    config = FakeServerConfig(api_key=key, latency_s=0.05)
    with FakeOpenAIServer(config, process=True) as server:
        proc = cli(
            "run", "llm_small", "--quiet", "--no-report", "--out", "r",
            "--set", f"llm.base_url={server.base_url}", "--set", "llm.model=fake-model",
            "--set", "llm.api_key_env=SOCIETY_FAULTS_KEY", "--set", f"llm.client={client}",
            "--set", "llm.concurrency=64", "--set", "days=30",
            cwd=tmp_path, env={"SOCIETY_FAULTS_KEY": key},
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while server.stats()["chat_requests"] < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.reset(FakeServerConfig(api_key="sk-rotated-elsewhere", latency_s=0.05))
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert "error: the LLM endpoint rejected the API key" in stderr
    assert key not in stderr
    for noise in SHUTDOWN_NOISE:
        assert noise not in stderr, stderr
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "error"


# -- 2. bounded endpoint replies ----------------------------------------------------------


@pytest.mark.parametrize("client", ["openai", "aiohttp"])
def test_a_hostile_endpoint_costs_fallbacks_not_the_run(tmp_path: Path, client: str) -> None:
    huge = 64 * 2**20  # far more than loopback socket buffers hold, so an early stop shows
    hostile = ("huge_content", "deep_json", "deep_content")
    config = FakeServerConfig(faults=("ok", *hostile), cycle=True, huge_bytes=huge)
    with FakeOpenAIServer(config) as server:
        result = society.run(
            "llm_small",
            overrides=overrides(server, **{"days": 4, "llm.client": client}),
            out=tmp_path / "rec",
        )
        stats = server.stats()
        replayed = society.replay(result.path, out=tmp_path / "rep")
        assert server.stats()["chat_requests"] == stats["chat_requests"]
    served = sum(stats["faults"].get(f, 0) for f in hostile)
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    invalid = calls.filter(pl.col("error_kind") == "invalid_reply")
    assert result.manifest["status"] == "success"
    assert served >= 3 and invalid.height >= served
    assert invalid["fallback"].all() and (invalid["retries"] == 0).all()
    assert set(calls["error_kind"].drop_nulls()) == {"invalid_reply"}
    # Each huge reply offered 64 MiB; the client hung up at its cap (the server got a few MiB
    # into socket buffers), and the cache keeps a marker: the whole cache is a few KiB a call.
    assert stats["streamed_bytes"] < stats["faults"]["huge_content"] * huge / 4
    assert (result.path / "llm_cache.sqlite").stat().st_size < 2 * 2**20
    for name in OUTPUTS:
        original = comparable(pl.read_parquet(result.path / f"{name}.parquet"))
        assert original.equals(comparable(pl.read_parquet(replayed.path / f"{name}.parquet"))), name


# -- 3. the cache's rows carry a checksum -------------------------------------------------


def _recorded_run(tmp_path: Path) -> Path:
    """A real short LLM run (stub endpoint), its cache checkpointed into the main file."""
    result = society.run("llm_small", overrides=overrides(None, days=3), out=tmp_path / "rec")
    cache = result.path / "llm_cache.sqlite"
    with closing(sqlite3.connect(cache)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return result.path


def _flip_reply(cache: Path, decision: str = "work_allocation") -> str:
    """Flip one byte inside the stored reply text of a day-0 ``decision``; return its key."""
    with closing(sqlite3.connect(cache)) as db:
        key, text = db.execute(
            "SELECT key, text FROM responses WHERE decision = ? ORDER BY created LIMIT 1",
            (decision,),
        ).fetchone()
    data = bytearray(cache.read_bytes())
    at = data.find(text.encode())
    assert at >= 0
    data[at + len(text) // 2] ^= 0x04
    cache.write_bytes(bytes(data))
    return str(key)


@pytest.mark.slow
def test_replay_of_a_damaged_or_truncated_cache_exits_2_naming_the_file(tmp_path: Path) -> None:
    recorded = _recorded_run(tmp_path)
    cache = recorded / "llm_cache.sqlite"
    intact = cache.read_bytes()
    key = _flip_reply(cache)
    flipped = cli("run", "--replay", str(recorded), "--quiet", "--out", "rep1", cwd=tmp_path)
    _, stderr = flipped.communicate(timeout=120)
    assert flipped.returncode == 2, stderr
    assert f"the LLM response cache '{cache}' is damaged" in stderr
    assert f"the row for key {key} fails its checksum" in stderr
    assert "re-record the run" in stderr and "delete the file" in stderr
    assert "Traceback" not in stderr and "TypeError" not in stderr

    cache.write_bytes(intact[: len(intact) * 2 // 3])  # cut short, as by a full disk
    truncated = cli("run", "--replay", str(recorded), "--quiet", "--out", "rep2", cwd=tmp_path)
    _, stderr = truncated.communicate(timeout=120)
    assert truncated.returncode == 2, stderr
    assert f"'{cache}' is damaged (SQLite" in stderr and "Traceback" not in stderr

    cache.write_bytes(intact)  # the undamaged recording still replays
    ok = society.replay(recorded, out=tmp_path / "rep3")
    assert ok.manifest["status"] == "success"


def test_a_damaged_row_met_in_mid_run_is_an_error_not_a_miss(tmp_path: Path) -> None:
    recorded = _recorded_run(tmp_path)
    cache = recorded / "llm_cache.sqlite"
    key = _flip_reply(cache, decision="behavior_test")  # first asked on day 3, mid-run
    with pytest.raises(LLMRunError) as info:
        # Recording again into the damaged cache: the damaged row must not pass as a miss
        # (which would silently ask the endpoint again and overwrite it).
        society.run(
            "llm_small",
            overrides=overrides(None, days=3, **{"llm.cache": str(cache)}),
            out=tmp_path / "again",
        )
    assert info.value.kind == "cache_corrupt" and info.value.exit_code == 2
    assert f"'{cache}' is damaged (the row for key {key} fails its checksum)" in str(info.value)
    assert "on day 3" in str(info.value)


# -- 4. a dead endpoint in mid-run is not silently a stub run ------------------------------


@pytest.mark.slow
def test_an_endpoint_that_dies_part_way_leaves_a_degraded_run(tmp_path: Path) -> None:
    seen: list[SocietyModel] = []
    calls_before_death: list[int] = []
    with FakeOpenAIServer(FakeServerConfig(), process=True) as server:

        def kill_on_day_2(model: SocietyModel) -> None:
            if not seen:
                seen.append(model)
            if model.day >= 2 and not calls_before_death:
                assert model.llm is not None
                calls_before_death.append(len(model.llm.calls))
                server.kill()

        result = society.run(
            "llm_small",
            overrides=overrides(server, **{"days": 8, "llm.max_retries": 1}),
            out=tmp_path / "dies",
            on_day=kill_on_day_2,
        )
    policy = seen[0].llm
    assert policy is not None
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    before, after = calls.head(calls_before_death[0]), calls.slice(calls_before_death[0])
    fell_back = after.filter(pl.col("fallback"))
    assert before.height > 0 and not before["fallback"].any()
    # After the death only replies already in the cache were LLM decisions; the rest of the
    # run fell back to the stub policy, every time for the same cause.
    assert after.filter(~pl.col("fallback"))["cache_hit"].all()
    assert fell_back.height > before.height
    assert set(fell_back["error_kind"]) == {"connection"}
    assert policy.fallback_causes == {"connection": fell_back.height}
    assert policy.run_fallback_share == pytest.approx(fell_back.height / calls.height)
    assert policy.run_fallback_share > policy.params.max_fallback_share == 0.2
    assert policy.degraded
    assert result.summary["llm_fallbacks"] == fell_back.height
    assert result.summary["llm_degraded"] is True
    assert result.summary["llm_fallback_causes"] == {"connection": fell_back.height}
    assert "Warning:" in result.summary["verdict"] and "connection" in result.summary["verdict"]


def test_a_healthy_run_is_not_degraded_and_the_threshold_is_the_scenarios(tmp_path: Path) -> None:
    seen: list[SocietyModel] = []
    config = FakeServerConfig(faults=("ok", "ok", "ok", "bad_body"), cycle=True)
    with FakeOpenAIServer(config) as server:
        society.run(
            "llm_small",
            overrides=overrides(server, **{"days": 3, "llm.max_fallback_share": 0.5}),
            out=tmp_path / "ok",
            on_day=lambda m: seen.append(m) if not seen else None,
        )
    policy = seen[0].llm
    assert policy is not None
    # A quarter of the replies are not chat completions: they fall back as bad_response,
    # which is under the 0.5 this scenario tolerates.
    share = policy.run_fallback_share
    assert 0 < share < 0.5 and not policy.degraded
    assert set(policy.fallback_causes) == {"bad_response"}
    assert sum(policy.fallback_causes.values()) == round(share * len(policy.calls))


def test_a_degraded_run_exits_3_and_says_so(tmp_path: Path) -> None:
    config = FakeServerConfig(faults=("ok", "ok", "ok", "bad_body"), cycle=True)
    with FakeOpenAIServer(config) as server:
        sets = overrides(server, **{"days": 3, "llm.max_fallback_share": 0.1})
        args = [a for k, v in sets.items() for a in ("--set", f"{k}={_toml(v)}")]
        proc = cli("run", "llm_small", *args, "--no-report", "--out", "d", cwd=tmp_path)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    assert "degraded:" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["llm_degraded"] and "Warning:" in summary["verdict"]


def _toml(value: object) -> str:
    return (
        f'"{value}"'
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
