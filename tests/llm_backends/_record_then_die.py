"""Child process for the SIGKILL test: record N completions through the cache, then die.

Usage: python _record_then_die.py BASE_URL CACHE_PATH N [LOCK_WAIT_S]
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


async def main(base_url: str, cache_path: str, n: int, lock_wait_s: float) -> None:
    cache = ResponseCache(cache_path, lock_wait_s=lock_wait_s)
    backend = CachedBackend(OpenAICompatibleBackend(base_url, "fake-model"), cache)
    for i in range(n):
        request = make_request(i)
        await backend.complete(request)
        print(f"GOT {cache.key_for(request)}", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), wait))
