"""A real OpenAI-compatible HTTP server for tests and benchmarks.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` over HTTP on 127.0.0.1,
answers with deterministic JSON generated from the request's ``json_schema``, reports usage
tokens, and injects faults on a deterministic schedule. It counts every request so tests can
assert that replay made zero network calls.

Start it from a test::

    from llm_backends.fake_server import FakeOpenAIServer, FakeServerConfig

    with FakeOpenAIServer(FakeServerConfig(faults=("500", "ok"))) as server:
        backend = OpenAICompatibleBackend(server.base_url, "fake-model", api_key_env="X")
        ...
        assert server.stats()["chat_requests"] == 2

``FakeOpenAIServer(..., process=True)`` runs it in a child process instead of a thread
(needed by benchmarks so the server does not share the client's GIL). Either way it binds a
random free port on 127.0.0.1 and stops by itself: with the ``with`` block, when the parent
process dies (the child watches its stdin), or after ``max_lifetime_s``.

Fault names (entry ``i`` of ``faults`` applies to the ``i``-th chat request; with
``probe_faults``, entry ``i`` of it applies to the ``i``-th structured-mode probe instead, and
probes no longer count in ``faults``' schedule):

``ok``             normal reply
``500``            HTTP 500
``429``            HTTP 429 with ``Retry-After: retry_after_s``
``malformed``      HTTP 200 whose message content is not JSON
``schema_invalid`` HTTP 200 whose content is JSON violating the schema
``hang``           sleep ``hang_s`` before answering normally
``bad_body``       HTTP 200 whose body is not a chat completion
``deep_json``      HTTP 200 chat completion that also carries an array nested ``deep_depth``
                   levels deep (a naive ``json.loads`` raises ``RecursionError``)
``deep_content``   HTTP 200 whose message content is a 5,000-deep JSON array (small body)
``huge_content``   HTTP 200 chat completion whose content is ``huge_bytes`` long, streamed in
                   64 KiB chunks without a ``Content-Length`` (the server counts the bytes it
                   managed to send in ``stats()["streamed_bytes"]``)
``near_miss``      HTTP 200 whose content is a valid reply cut off inside its last string
                   (what ``max_tokens`` does to a rambling model): repairable

Structured output, like real servers, comes in flavours (``formats``): the default honours
``response_format`` ``json_schema`` and ``json_object`` with a ``schema`` beside it;
:meth:`FakeServerConfig.llama_cpp` refuses ``json_schema`` with HTTP 500 as llama.cpp's server
does; ``formats=()`` with ``refuse_formats=False`` ignores ``response_format`` altogether.
Without an enforced schema the reply follows a schema written in the prompt (``prompt`` mode),
as a model reading it would, or is free text.

Independently of the schedule, a wrong bearer token gets 401 (when ``api_key`` is set; the
body echoes the presented key, as some real servers do, so redaction is exercised) and an
unknown model gets 404. With ``echo_key`` every free-text string in a reply is the bearer
token the request presented: a server that reflects the key into its answers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from ._wire import SCHEMA_IN_PROMPT
from .synth import break_instance, seed_from, synthesize

__all__ = ["FAULTS", "FakeOpenAIServer", "FakeServerConfig"]

FAULTS = frozenset(
    {
        "ok",
        "500",
        "429",
        "malformed",
        "schema_invalid",
        "hang",
        "bad_body",
        "deep_json",
        "deep_content",
        "huge_content",
        "near_miss",
    }
)


@dataclass(frozen=True)
class FakeServerConfig:
    """Behaviour of a :class:`FakeOpenAIServer`.

    Parameters
    ----------
    latency_s : float
        Delay before every chat reply (simulates model latency).
    faults : tuple of str
        Fault schedule by chat-request index (see module docstring).
    cycle : bool
        Repeat ``faults`` forever instead of answering ``ok`` past its end.
    retry_after_s : float
        ``Retry-After`` sent with scheduled 429s.
    hang_s : float
        How long a ``hang`` fault stalls.
    api_key : str or None
        Required bearer token; ``None`` accepts anything.
    models : tuple of str
        Known models; others get 404.
    deep_depth : int
        Nesting depth of the ``deep_json`` fault's array.
    huge_bytes : int
        Content length of the ``huge_content`` fault.
    formats : tuple of str
        ``response_format`` types whose schema the server enforces.
    refuse_formats : bool
        Refuse any other ``response_format`` type (except ``text``) with
        ``format_error_status``; when False it is silently ignored.
    format_error_status : int
        Status of that refusal (llama.cpp's server sends 500, OpenAI 400).
    probe_faults : tuple of str
        Fault schedule of the structured-mode probes alone (requests whose schema is
        :data:`~llm_backends.negotiate.PROBE_SCHEMA`'s shape); ``ok`` past its end.
    echo_key : bool
        Put the presented bearer token in every free-text string of a normal reply (keep the
        key shorter than the schema's ``maxLength`` for the reply to stay valid).
    """

    latency_s: float = 0.0
    faults: tuple[str, ...] = ()
    cycle: bool = False
    retry_after_s: float = 1.0
    hang_s: float = 30.0
    api_key: str | None = None
    models: tuple[str, ...] = ("fake-model",)
    deep_depth: int = 200_000
    huge_bytes: int = 10 * 2**20
    formats: tuple[str, ...] = ("json_schema", "json_object")
    refuse_formats: bool = True
    format_error_status: int = 400
    probe_faults: tuple[str, ...] = ()
    echo_key: bool = False

    @classmethod
    def llama_cpp(cls, **kwargs: Any) -> FakeServerConfig:
        """A server that, like llama-cpp-python's, refuses ``json_schema`` (HTTP 500) and
        enforces the schema sent with ``json_object``."""
        return cls(formats=("json_object",), format_error_status=500, **kwargs)

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "formats", tuple(self.formats))
        object.__setattr__(self, "probe_faults", tuple(self.probe_faults))
        unknown = (set(self.faults) | set(self.probe_faults)) - FAULTS
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; use {sorted(FAULTS)}")

    def fault(self, index: int) -> str:
        """The fault scheduled for chat request ``index``."""
        if not self.faults:
            return "ok"
        if self.cycle:
            return self.faults[index % len(self.faults)]
        return self.faults[index] if index < len(self.faults) else "ok"


@dataclass
class _State:
    config: FakeServerConfig
    requests: int = 0
    chat_requests: int = 0
    probe_requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    streamed_bytes: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "chat_requests": self.chat_requests,
            "probe_requests": self.probe_requests,
            "streamed_bytes": self.streamed_bytes,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": dict(sorted(self.faults.items())),
        }


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Any:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _refuse_key(state: _State, request: web.Request) -> Any:
    """A 401 response when a key is required and the request presents another, else None.
    The body echoes the presented key, as real servers do, so redaction can be tested."""
    expected = state.config.api_key
    if expected is None:
        return None
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if presented == expected:
        return None
    state.statuses[401] += 1
    return _error(401, f"Incorrect API key provided: {presented}", "invalid_api_key")


def _completion(index: int, model: str, content: str, prompt_tokens: int) -> dict[str, Any]:
    completion_tokens = max(1, len(content) // 4)
    return {
        "id": f"chatcmpl-fake-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _enforced_schema(fmt: Any, fmt_type: str, formats: tuple[str, ...]) -> Any:
    if fmt_type not in formats or not isinstance(fmt, dict):
        return None
    if fmt_type == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    return fmt.get("schema")


def _schema_in_prompt(messages: Any) -> Any:
    """The schema a ``prompt``-mode request wrote into its messages, if any."""
    marker = SCHEMA_IN_PROMPT
    for message in messages if isinstance(messages, list) else ():
        content = str(message.get("content", "")) if isinstance(message, dict) else ""
        at = content.find(marker)
        if at >= 0:
            with contextlib.suppress(ValueError):
                return json.loads(content[at + len(marker) :].strip().splitlines()[0])
    return None


def _with_text(value: Any, schema: Any, text: str) -> Any:
    """``value`` with every free-text string in it (a string ``schema`` declares without an
    enum) replaced by ``text``."""
    schema = schema if isinstance(schema, dict) else {}
    if isinstance(value, str):
        return text if "enum" not in schema else value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        return {k: _with_text(v, props.get(k), text) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_text(v, schema.get("items"), text) for v in value]
    return value


def _is_probe(body: dict[str, Any]) -> bool:
    """Whether a chat request is a structured-mode probe: its schema (however it is sent)
    has the one property ``probe``."""
    fmt = body.get("response_format")
    schema = None
    if isinstance(fmt, dict):
        named = fmt.get("json_schema")
        schema = (named.get("schema") if isinstance(named, dict) else None) or fmt.get("schema")
    schema = schema or _schema_in_prompt(body.get("messages"))
    return isinstance(schema, dict) and list(schema.get("properties") or {}) == ["probe"]


def _scheduled(schedule: tuple[str, ...], index: int) -> str:
    return schedule[index] if index < len(schedule) else "ok"


def _cut_in_last_string(text: str) -> str:
    """``text`` cut a few characters into its last string value (or short of its end)."""
    end = text.rfind('"')
    start = text.rfind('"', 0, end)
    if start < 0 or end - start < 2:
        return text[: max(1, len(text) - 2)]
    return text[: start + 1 + (end - start - 1) // 2]


def _deep_json_body(index: int, model: str, depth: int) -> bytes:
    # A valid chat completion plus one hostile field; built as bytes because json.dumps would
    # itself recurse.
    envelope = json.dumps(_completion(index, model, '{"share": 0.5}', 1))
    return (envelope[:-1] + ', "padding": ' + "[" * depth + "]" * depth + "}").encode()


async def _stream_huge_content(
    state: _State, request: web.Request, index: int, model: str
) -> web.StreamResponse:
    """A chat completion whose content is ``huge_bytes`` long, sent in 64 KiB chunks with no
    Content-Length, so only a client that reads incrementally can stop early."""
    marker = "HUGE-CONTENT-GOES-HERE"
    head, tail = json.dumps(_completion(index, model, marker, 1)).split(f'"{marker}"')
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        await response.write(head.encode() + b'"')
        state.streamed_bytes += len(head) + 1
        left = state.config.huge_bytes
        while left > 0:
            chunk = b"x" * min(left, 65536)
            await response.write(chunk)
            state.streamed_bytes += len(chunk)
            left -= len(chunk)
        await response.write(b'"' + tail.encode())
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        pass  # the client hung up: exactly what a bounded client does
    return response


def _make_app(state: _State) -> web.Application:
    async def chat(request: web.Request) -> web.StreamResponse:  # noqa: PLR0911 (one per fault)
        state.requests += 1
        cfg = state.config
        if (refused := _refuse_key(state, request)) is not None:
            return refused
        raw = await request.read()
        try:
            body = json.loads(raw)
            model = body["model"]
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            state.statuses[400] += 1
            return _error(400, "request body is not a chat completion request", "bad_request")
        if model not in cfg.models:
            state.statuses[404] += 1
            return _error(404, f"The model `{model}` does not exist", "model_not_found")
        index = state.chat_requests
        state.chat_requests += 1
        if cfg.probe_faults and _is_probe(body):
            fault = _scheduled(cfg.probe_faults, state.probe_requests)
            state.probe_requests += 1
        else:
            fault = cfg.fault(index - state.probe_requests if cfg.probe_faults else index)
        state.faults[fault] += 1
        if fault == "500":
            state.statuses[500] += 1
            return _error(500, "injected server error", "server_error")
        if fault == "429":
            state.statuses[429] += 1
            return _error(
                429, "injected rate limit", "rate_limit_exceeded",
                headers={"Retry-After": f"{cfg.retry_after_s:g}"},
            )  # fmt: skip
        delay = cfg.hang_s if fault == "hang" else cfg.latency_s
        if delay:
            await asyncio.sleep(delay)
        if fault == "bad_body":
            state.statuses[200] += 1
            return web.Response(text="<html>gateway says hello</html>", content_type="text/html")
        if fault == "deep_json":
            state.statuses[200] += 1
            return web.Response(
                body=_deep_json_body(index, model, cfg.deep_depth),
                content_type="application/json",
            )
        if fault == "huge_content":
            state.statuses[200] += 1
            return await _stream_huge_content(state, request, index, model)

        fmt = body.get("response_format") or {}
        fmt_type = fmt.get("type", "text") if isinstance(fmt, dict) else "text"
        if fmt_type not in (*cfg.formats, "text") and cfg.refuse_formats:
            state.statuses[cfg.format_error_status] += 1
            allowed = " or ".join(repr(t) for t in ("text", *cfg.formats))
            return _error(
                cfg.format_error_status,
                f"response_format.type: Input should be {allowed}",
                "invalid_request_error",
            )
        schema = _enforced_schema(fmt, fmt_type, cfg.formats) or _schema_in_prompt(messages)
        # Seed from the request's meaning, not its bytes, so every client serialising the
        # same request gets the same reply.
        identity = [model, messages, schema, body.get("seed"), body.get("temperature")]
        seed = seed_from(json.dumps(identity, sort_keys=True, separators=(",", ":")))
        if fault == "malformed":
            content = "Sure! Here is the JSON you asked for: {share: 0.5,"
        elif fault == "deep_content":
            content = "[" * 5000 + "]" * 5000
        elif fault == "schema_invalid":
            content = json.dumps(break_instance(schema, seed))
        elif fault == "near_miss":
            content = _cut_in_last_string(json.dumps(synthesize(schema, seed)))
        else:
            reply = synthesize(schema, seed)
            if cfg.echo_key:
                presented = request.headers.get("Authorization", "").removeprefix("Bearer ")
                reply = _with_text(reply, schema, presented)
            content = json.dumps(reply)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
        state.statuses[200] += 1
        return web.json_response(_completion(index, model, content, max(1, prompt_chars // 4)))

    async def models(request: web.Request) -> web.StreamResponse:
        state.requests += 1
        cfg = state.config
        if (refused := _refuse_key(state, request)) is not None:
            return refused
        state.statuses[200] += 1
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in cfg.models]
        return web.json_response({"object": "list", "data": data})

    async def stats(_request: web.Request) -> web.StreamResponse:
        return web.json_response(state.snapshot())

    async def reset(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if raw:
            state.config = FakeServerConfig(**json.loads(raw))
        state.requests = state.chat_requests = state.probe_requests = state.streamed_bytes = 0
        state.statuses.clear()
        state.faults.clear()
        return web.json_response(state.snapshot())

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/_fake/stats", stats)
    app.router.add_post("/_fake/reset", reset)
    return app


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _serve(state: _State, sock: socket.socket, stop: asyncio.Event) -> None:
    runner = web.AppRunner(_make_app(state), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    # A deep backlog: benchmarks open hundreds of connections at once, and a SYN dropped
    # from a full queue costs the client a full second.
    site = web.SockSite(runner, sock, backlog=2048)
    await site.start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _config_json(config: FakeServerConfig) -> str:
    return json.dumps(asdict(config))


class FakeOpenAIServer:
    """Run the fake OpenAI server on 127.0.0.1 for the duration of a ``with`` block.

    Parameters
    ----------
    config : FakeServerConfig, optional
    process : bool
        Serve from a child process (own GIL; for benchmarks) instead of a daemon thread.
    max_lifetime_s : float
        Hard stop for a child process, in case nothing else stops it.

    Attributes
    ----------
    port : int
    base_url : str
        ``http://127.0.0.1:<port>/v1``, ready for an OpenAI client.
    """

    def __init__(
        self,
        config: FakeServerConfig | None = None,
        *,
        process: bool = False,
        max_lifetime_s: float = 900.0,
    ) -> None:
        self.config = config or FakeServerConfig()
        self.process = process
        self.max_lifetime_s = max_lifetime_s
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        """Start serving; returns once the port accepts connections."""
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        return self

    def _start_thread(self) -> None:
        sock = _bind()
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            state = _State(self.config)

            async def main() -> None:
                assert self._stop is not None
                task = asyncio.ensure_future(_serve(state, sock, self._stop))
                await asyncio.sleep(0)
                ready.set()
                await task

            try:
                loop.run_until_complete(main())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"fake-openai-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise RuntimeError(f"fake server failed to start: {failure[0]!r}")
        self._wait_ready()

    def _start_process(self) -> None:
        cmd = [
            sys.executable, "-m", "llm_backends.fake_server",
            "--config", _config_json(self.config),
            "--max-lifetime", str(self.max_lifetime_s),
        ]  # fmt: skip
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError(f"fake server process did not start (got {line!r})")
        self.port = int(line.split()[1])
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.stats()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving (idempotent). Hanging requests are cut off."""
        if self._thread is not None and self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5)
            self._thread = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()  # EOF is the child's signal to exit
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def kill(self) -> None:
        """Stop abruptly, like a crashed server: a child process gets SIGKILL (connections
        are cut, the port refuses from then on); a thread server stops as in :meth:`stop`."""
        if self._proc is not None:
            self._proc.kill()
        self.stop()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- admin -------------------------------------------------------------------------
    def _admin(self, path: str, data: bytes | None = None) -> dict[str, Any]:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method="POST" if data else "GET"
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def stats(self) -> dict[str, Any]:
        """Counters: ``requests`` (all API calls), ``chat_requests``, ``statuses``, ``faults``."""
        return self._admin("/_fake/stats")

    def reset(self, config: FakeServerConfig | None = None) -> None:
        """Zero the counters and, if given, switch to ``config`` (schedule restarts)."""
        if config is not None:
            self.config = config
        self._admin("/_fake/reset", _config_json(self.config).encode())


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server (127.0.0.1).")
    parser.add_argument("--config", default="{}", help="FakeServerConfig as JSON")
    parser.add_argument("--max-lifetime", type=float, default=900.0)
    args = parser.parse_args(argv)
    config = FakeServerConfig(**json.loads(args.config))
    sock = _bind()

    def watchdog() -> None:
        # The parent holds our stdin; EOF means it closed it or died. Either way, exit.
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watchdog, daemon=True).start()

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(args.max_lifetime, stop.set)
        task = asyncio.ensure_future(_serve(_State(config), sock, stop))
        await asyncio.sleep(0)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(main())


if __name__ == "__main__":
    _main()
