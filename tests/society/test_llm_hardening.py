"""LLM runs against hostile or unlucky surroundings, end to end: a real HTTP server on
127.0.0.1 through the real clients.

- a server that reflects the API key into its replies gets it redacted before anything is
  cached or written;
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

import society
from llm_backends.errors import REDACTED
from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig


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
