"""LLM-backed instances end to end: a real HTTP server on 127.0.0.1 speaking the OpenAI API,
driven through the real openai client, with faults, budgets, replay, kills and a secret."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli

import society
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from society.tidy import comparable

#: Connections a run's pre-flight opens to an endpoint that resets every one: its first request
#: (the structured-mode probe) fails, and it gives up without a retry.
MAX_PREFLIGHT_ATTEMPTS = 1

OUTPUTS = ("metrics", "events", "generations", "network_nodes", "network_edges")


def llm_overrides(server: FakeOpenAIServer, **extra: object) -> dict[str, object]:
    return {
        "days": 8,
        "llm.base_url": server.base_url,
        "llm.model": "fake-model",
        "llm.timeout_s": 5.0,
        "tests.every_days": 4,
        # Fault schedules count the pre-flight as one request (the check): pin the mode so
        # auto's probe does not shift them. Negotiation has its own tests.
        "llm.structured": "json_schema",
        **extra,
    }


def test_record_then_replay_is_identical_and_sends_nothing(tmp_path: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig()) as server:
        recorded = society.run("llm_small", overrides=llm_overrides(server), out=tmp_path / "rec")
        served = server.stats()["chat_requests"]
        calls = pl.read_parquet(recorded.path / "llm_calls.parquet")
        assert calls.height > 50 and served >= calls.height - calls["cache_hit"].sum()
        assert set(calls["decision"]) >= {
            "work_allocation",
            "peer_message",
            "behavior_test",
            "honeypot",
        }
        assert calls["archetype_size"].sum() > calls.height  # archetypes: several members per call
        replayed = society.replay(recorded.path, out=tmp_path / "rep")
        assert server.stats()["chat_requests"] == served  # zero network calls
    for name in OUTPUTS:
        a = comparable(pl.read_parquet(recorded.path / f"{name}.parquet"))
        assert a.equals(comparable(pl.read_parquet(replayed.path / f"{name}.parquet"))), name
    again = pl.read_parquet(replayed.path / "llm_calls.parquet")
    assert again["cache_hit"].all()
    assert again.drop("cache_hit", "latency_s").equals(calls.drop("cache_hit", "latency_s"))
    gap = recorded.metrics["test_awareness_gap"].drop_nulls()
    assert gap.len() == recorded.metrics.height  # measured on every recorded day


def test_run_finishes_under_faults_and_records_them(tmp_path: Path) -> None:
    faults = ("500", "ok", "429", "ok", "malformed", "malformed", "ok", "schema_invalid", "ok")
    config = FakeServerConfig(faults=faults, cycle=True, retry_after_s=0.2)
    with FakeOpenAIServer(config) as server:
        result = society.run(
            "llm_small", overrides=llm_overrides(server, **{"days": 4}), out=tmp_path / "faults"
        )
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    assert result.manifest["status"] == "success"
    assert calls["retries"].sum() > 0
    assert calls["fallback"].any() and "invalid_reply" in set(calls["error_kind"].drop_nulls())
    assert not calls.filter(~pl.col("fallback"))["error_kind"].drop_nulls().len()
    share = result.metrics["llm_fallback_share"].drop_nans().drop_nulls()
    assert (share > 0).any()


def test_budget_exhaustion_finishes_on_the_stub_policy_and_says_so(tmp_path: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig()) as server:
        result = society.run(
            "llm_small",
            overrides=llm_overrides(server, **{"llm.max_calls": 25}),
            out=tmp_path / "budget",
        )
        assert server.stats()["chat_requests"] <= 25 + 1  # + the endpoint check
    s = result.summary
    assert s["llm_budget_exhausted"] and s["llm_fallbacks"] > 0
    assert "llm_budget_exhausted" in result.events["kind"].to_list()
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    assert "budget_exhausted" in set(calls["error_kind"].drop_nulls())
    assert result.metrics.height == 9  # the run went on to its last day


class HangUpServer:
    """A TCP port on 127.0.0.1 that accepts each connection and resets it at once, counting
    them: an endpoint that is up but never answers, whose attempts can be counted (a refused
    port cannot count them)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            # SO_LINGER 0: close sends a reset, as a crashed server's kernel does.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def __enter__(self) -> HangUpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def test_dead_endpoint_and_wrong_model_fail_fast_with_exit_2(tmp_path: Path) -> None:
    cli = partial(run_cli, cwd=tmp_path)
    dead = cli("run", "llm_small", "--set", "llm.base_url=http://127.0.0.1:9/v1")
    assert (
        dead.returncode == 2 and "cannot connect" in dead.stderr and "Traceback" not in dead.stderr
    )
    # Fail fast means few attempts, not a short wall time (a shared machine's clock proves
    # nothing): the pre-flight gives up on a dead endpoint without a retry loop.
    with HangUpServer() as hangup:
        reset = cli("run", "llm_small", "--set", f"llm.base_url=http://127.0.0.1:{hangup.port}/v1")
    assert reset.returncode == 2 and "Traceback" not in reset.stderr, reset.stderr
    assert f"127.0.0.1:{hangup.port}" in reset.stderr
    assert hangup.accepted == MAX_PREFLIGHT_ATTEMPTS, hangup.accepted
    with FakeOpenAIServer(FakeServerConfig()) as server:
        wrong = cli(
            "run",
            "llm_small",
            "--set",
            f"llm.base_url={server.base_url}",
            "--set",
            "llm.model=no-such-model",
        )
        ok = cli("llm", "check", "--base-url", server.base_url, "--model", "fake-model")
    assert wrong.returncode == 2 and "no-such-model" in wrong.stderr
    assert ok.returncode == 0 and "structured output honoured" in ok.stdout
    assert not (tmp_path / "runs").exists()


def test_api_key_never_reaches_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = "sk-SENTINEL-7c1e5b0d9f"
    monkeypatch.setenv("SOCIETY_TEST_KEY", sentinel)
    # One request in four fails (the pre-flight's first among them), so the error and retry
    # paths carry the key too; every failure costs a backoff of up to half a second, which at one
    # in two made this test wait about ten seconds.
    faults = ("500", "ok", "ok", "ok")
    with FakeOpenAIServer(
        FakeServerConfig(api_key=sentinel, faults=faults, cycle=True, retry_after_s=0.1)
    ) as server:
        result = society.run(
            "llm_small",
            overrides=llm_overrides(server, **{"days": 3, "llm.api_key_env": "SOCIETY_TEST_KEY"}),
            out=tmp_path / "key",
        )
        served_500 = server.stats()["faults"].get("500", 0)
    assert result.summary["llm_calls"] > 0
    assert served_500 >= 5  # retried failures during the run, not only the pre-flight's
    written = [p for p in result.path.rglob("*") if p.is_file()]
    assert any(p.name == "llm_cache.sqlite" for p in written)
    for path in written:
        assert sentinel.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_a_killed_run_keeps_every_paid_response(tmp_path: Path) -> None:
    with FakeOpenAIServer(FakeServerConfig(latency_s=0.05)) as server:
        code = (
            "import society; society.run('llm_small', out='killed', overrides={"
            f"'days': 30, 'llm.base_url': '{server.base_url}', 'llm.model': 'fake-model', "
            "'llm.concurrency': 4})"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
        deadline = time.time() + 60
        while server.stats()["chat_requests"] < 40 and time.time() < deadline:
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        served = server.stats()["chat_requests"]
    with sqlite3.connect(tmp_path / "killed" / "llm_cache.sqlite") as db:
        cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    # Every reply the client received was cached before use; at most the requests in flight
    # when the process died (concurrency 4) and the pre-flight (auto's two probes and the
    # endpoint check, never cached) were lost.
    assert served >= 40 and cached >= served - 4 - 3


def test_cli_dry_run_sends_nothing_and_replay_reruns_offline(tmp_path: Path) -> None:
    cli = partial(run_cli, cwd=tmp_path)
    with FakeOpenAIServer(FakeServerConfig()) as server:
        url = [
            "--set",
            f"llm.base_url={server.base_url}",
            "--set",
            "llm.model=fake-model",
            "--set",
            "days=5",
        ]
        dry = cli("run", "llm_small", *url, "--dry-run")
        assert dry.returncode == 0 and "calls" in dry.stdout and "fake-model" in dry.stdout
        assert server.stats()["chat_requests"] == 0
        rec = cli("run", "llm_small", *url, "--quiet", "--no-report", "--out", "rec")
        assert rec.returncode == 0, rec.stderr
        served = server.stats()["chat_requests"]
        rep = cli("run", "--replay", "rec", "--quiet", "--no-report", "--out", "rep")
        assert rep.returncode == 0, rep.stderr
        assert rep.stdout.strip() == "rep"
        assert server.stats()["chat_requests"] == served
    for name in OUTPUTS:
        assert comparable(pl.read_parquet(tmp_path / "rec" / f"{name}.parquet")).equals(
            comparable(pl.read_parquet(tmp_path / "rep" / f"{name}.parquet"))
        ), name
    missing = cli("run", "--replay", "nowhere", "--quiet")
    assert missing.returncode == 2 and "has no manifest.json" in missing.stderr
    # The dry run's reply tokens are an upper bound of what the run was sent.
    said = " ".join(dry.stdout.split())
    assert "probed when the run starts (auto)" in said
    bound = int(said.split("at most ~", 1)[1].split()[0].replace(",", ""))
    calls = pl.read_parquet(tmp_path / "rec" / "llm_calls.parquet")
    assert 0 < calls["completion_tokens"].sum() <= bound
