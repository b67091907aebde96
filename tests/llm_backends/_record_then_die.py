"""Child process for the SIGKILL test: record N completions through the cache, then die.

Usage: python _record_then_die.py BASE_URL CACHE_PATH N
Prints one line ``GOT <key>`` per completion received, then SIGKILLs itself without
closing anything, which is the harshest way a run can end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from llm_helpers import make_request

from llm_backends.cache import CachedBackend, ResponseCache
from llm_backends.openai_compat import OpenAICompatibleBackend


async def main(base_url: str, cache_path: str, n: int) -> None:
    backend = CachedBackend(
        OpenAICompatibleBackend(base_url, "fake-model"), ResponseCache(cache_path)
    )
    for i in range(n):
        request = make_request(i)
        await backend.complete(request)
        print(f"GOT {request.cache_key()}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
