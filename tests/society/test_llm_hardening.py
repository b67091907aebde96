"""LLM runs against hostile or unlucky surroundings, end to end: a real HTTP server on
127.0.0.1 through the real clients.

- a server that reflects the API key into its replies gets it redacted before anything is
  cached or written;
- a cache recorded from one endpoint is never served as another's, and a cache path that
  cannot hold a cache is refused before anything starts;
- a cache another process keeps locked loses no paid reply;
- ``llm.structured = "auto"`` is not settled by a probe that met a passing fault.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from society_helpers import run_cli

import society
from llm_backends.cache import ResponseCache
from llm_backends.errors import REDACTED
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig
from society.cli.main import main as cli_main
from society.llm.setup import LLMSetupError
from society.tidy import comparable


def llm_overrides(server: FakeOpenAIServer, **extra: object) -> dict[str, object]:
    return {
        "days": 3,
        "tests.every_days": 2,
        "llm.base_url": server.base_url,
        "llm.model": "fake-model",
        "llm.timeout_s": 5.0,
        "llm.structured": "json_schema",
        **extra,
    }


# -- a reflected key ------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["openai", "aiohttp"])
def test_a_key_the_server_reflects_is_redacted_before_it_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: str
) -> None:
    key = "sk-REFLECTED-4f2a9c"
    monkeypatch.setenv("SOCIETY_REFLECT_KEY", key)
    config = FakeServerConfig(api_key=key, echo_key=True)
    with FakeOpenAIServer(config) as server:
        result = society.run(
            "llm_small",
            overrides=llm_overrides(
                server, **{"llm.api_key_env": "SOCIETY_REFLECT_KEY", "llm.client": client}
            ),
            out=tmp_path / "r",
        )
    cache = result.path / "llm_cache.sqlite"
    with closing(sqlite3.connect(cache)) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM responses")]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    answers = calls["answer"].drop_nulls().to_list()
    # Every reply carried the key in its free text; every stored copy says [REDACTED] instead,
    # and the replies are still the model's valid answers (no fallback for the redaction).
    assert len(texts) > 20 and len(answers) == calls.height
    assert sum(REDACTED in t for t in texts) == len(texts)
    assert sum(REDACTED in a for a in answers) == len(answers)
    assert not calls["fallback"].any()
    for path in result.path.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


# -- a cache recorded from another endpoint -----------------------------------------------


def test_a_cache_recorded_from_one_server_is_never_served_as_anothers(tmp_path: Path) -> None:
    shared = tmp_path / "shared.sqlite"
    with FakeOpenAIServer() as first, FakeOpenAIServer() as second:
        recorded = society.run(
            "llm_small",
            overrides=llm_overrides(first, **{"llm.cache": str(shared)}),
            out=tmp_path / "first",
        )
        paid = first.stats()["chat_requests"]
        assert recorded.manifest["llm"]["cache"] == str(shared)
        with pytest.raises(LLMSetupError) as refused:
            society.run(
                "llm_small",
                overrides=llm_overrides(second, **{"llm.cache": str(shared)}),
                out=tmp_path / "second",
            )
        # Refused before the second server was asked anything or a directory was made.
        assert second.stats()["requests"] == 0
        assert not (tmp_path / "second").exists()
        message = str(refused.value)
        assert f"'{shared}' cannot be used" in message
        assert f"recorded from {first.base_url} (model 'fake-model')" in message
        assert f"this run asks {second.base_url} (model 'fake-model')" in message
        assert refused.value.exit_code == 2
        # The server it was recorded from is still served from it: nothing is paid twice.
        again = society.run(
            "llm_small",
            overrides=llm_overrides(first, **{"llm.cache": str(shared)}),
            out=tmp_path / "again",
        )
        assert first.stats()["chat_requests"] == paid + 1  # the endpoint check alone
        assert pl.read_parquet(again.path / "llm_calls.parquet")["cache_hit"].all()
    # Both servers stopped: the recording replays from the shared cache.
    replayed = society.replay(recorded.path, out=tmp_path / "replayed")
    assert comparable(replayed.metrics).equals(comparable(recorded.metrics))


def test_cli_refuses_a_cache_from_another_endpoint_or_a_path_that_cannot_hold_one(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared.sqlite"
    stub = {"llm.backend": "stub", "days": 2}
    society.run("llm_small", overrides={**stub, "llm.cache": str(shared)}, out=tmp_path / "first")
    (tmp_path / "folder").mkdir()
    (tmp_path / "dangling.sqlite").symlink_to(tmp_path / "nowhere.sqlite")
    cases = {
        shared: "holds replies recorded from the stub backend (model 'local-model'), and this "
        "run asks the stub backend (model 'other')",
        tmp_path / "folder": "cannot be used: it is a directory",
        tmp_path / "dangling.sqlite": "cannot be used: it is a symbolic link to",
    }
    for path, needle in cases.items():
        argv = [
            "run", "llm_small", "--set", 'llm.backend="stub"', "--set", "days=2", "--set",
            f'llm.cache="{path}"', "--set", 'llm.model="other"', "--quiet", "--no-report",
            "--out", str(tmp_path / "refused"),
        ]  # fmt: skip
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(argv) == 2
        assert needle in " ".join(err.getvalue().split()), err.getvalue()
        assert err.getvalue().count("error:") == 1
        assert not (tmp_path / "refused").exists()
    assert not (tmp_path / "nowhere.sqlite").exists()


# -- structured-mode negotiation under faults ----------------------------------------------------


def test_faults_met_by_the_probes_do_not_degrade_the_run(tmp_path: Path) -> None:
    # Both probes of the old negotiation would have met a fault; a malformed reply read as
    # "accepted but not enforced" sank whole runs to prompt mode.
    faults = ("malformed", "500", "malformed", "429")
    with FakeOpenAIServer(FakeServerConfig(probe_faults=faults, retry_after_s=0.05)) as server:
        extra = {"llm.structured": "auto"}
        result = society.run(
            "llm_small", overrides=llm_overrides(server, **extra), out=tmp_path / "r"
        )
        assert server.stats()["probe_requests"] == len(faults) + 1
    llm = result.manifest["llm"]
    assert llm["structured"] == "json_schema"
    assert llm["negotiation"] == (
        "json_schema (json_schema: schema enforced, after 4 inconclusive probes (a reply that "
        "is not JSON, HTTP 500, a reply that is not JSON, HTTP 429))"
    )
    calls = pl.read_parquet(result.path / "llm_calls.parquet")
    assert set(calls["structured"]) == {"json_schema"} and not calls["fallback"].any()
    assert not result.summary["llm_degraded"]


def test_a_negotiation_no_probe_settles_stops_before_anything_is_paid(tmp_path: Path) -> None:
    faults = ("malformed", "500") * 10
    with FakeOpenAIServer(FakeServerConfig(probe_faults=faults)) as server:
        with pytest.raises(LLMSetupError) as refused:
            society.run(
                "llm_small",
                overrides=llm_overrides(server, **{"llm.structured": "auto"}),
                out=tmp_path / "r",
            )
        stats = server.stats()
    assert refused.value.exit_code == 2
    message = str(refused.value)
    assert 'could not settle llm.structured = "auto"' in message
    assert "none of 6 probes of structured mode 'json_schema' was answered cleanly" in message
    assert "nothing was paid for" in message
    # Six probes, then nothing: no check, no decision, no run directory.
    assert stats["chat_requests"] == stats["probe_requests"] == 6
    assert not (tmp_path / "r").exists()


# -- another process holds the cache's lock ---------------------------------------------------

HOLD_LOCK = Path(__file__).resolve().parents[1] / "llm_backends" / "_hold_lock.py"


@pytest.mark.slow
def test_a_run_whose_cache_another_process_keeps_locked_loses_no_paid_reply(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared.sqlite"
    with FakeOpenAIServer() as server:
        sets = llm_overrides(server, **{"llm.cache": str(shared)})
        args = [a for k, v in sets.items() for a in ("--set", f"{k}={_toml(v)}")]
        identity = f"{server.base_url} (model 'fake-model')"
        ResponseCache(shared, endpoint=identity).close()  # the shared cache, empty
        holder = subprocess.Popen(
            [sys.executable, str(HOLD_LOCK), str(shared)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
            locked = run_cli("run", "llm_small", *args, "--quiet", "--out", "locked",
                             "--no-report", cwd=tmp_path)  # fmt: skip
            paid = server.stats()["chat_requests"]
        finally:
            assert holder.stdin is not None
            holder.stdin.close()  # EOF: the holder rolls back and exits
            holder.wait(10)
    # The run finished and said where the replies it paid for wait; none reached the locked
    # cache, and none was lost.
    assert locked.returncode == 0, locked.stderr
    assert "Traceback" not in locked.stderr and "database is locked" not in locked.stderr
    assert "note: another process kept the LLM cache" in " ".join(locked.stderr.split())
    assert _rows(shared) == 0
    [journal] = list(tmp_path.glob("shared.sqlite.pending-*.jsonl"))
    waiting = len(journal.read_text().splitlines())
    calls = pl.read_parquet(tmp_path / "locked" / "llm_calls.parquet")
    assert waiting == calls.filter(~pl.col("cache_hit")).height > 0
    assert paid >= waiting and not calls["fallback"].any()
    # The lock is gone and the server stopped: replay writes them into the cache and replays.
    replayed = society.replay(tmp_path / "locked", out=tmp_path / "replayed")
    assert _rows(shared) == waiting and not journal.exists()
    recorded = pl.read_parquet(tmp_path / "locked" / "metrics.parquet")
    assert comparable(replayed.metrics).equals(comparable(recorded))


def _rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def _toml(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)
