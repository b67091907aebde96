"""Concurrency limits, retries with backoff, per-request timeouts and budgets."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, replace

from .errors import RETRYABLE_KINDS, TIMEOUT, BackendError, BudgetExhausted
from .protocol import Backend
from .types import Completion, CompletionRequest

__all__ = ["Budget", "ResilientBackend", "backoff_delay"]


@dataclass
class Budget:
    """Spending limits for one run.

    Parameters
    ----------
    max_calls : int or None
        Maximum number of attempts sent to the endpoint (retries count).
    max_tokens : int or None
        Maximum prompt + completion tokens. Checked before each call, charged after it, so
        the last call may overshoot by one reply.

    Examples
    --------
    >>> b = Budget(max_calls=1)
    >>> b.reserve()
    >>> b.reserve()
    Traceback (most recent call last):
    ...
    llm_backends.errors.BudgetExhausted: [budget_exhausted] call budget exhausted (1/1 calls)
    """

    max_calls: int | None = None
    max_tokens: int | None = None
    calls: int = 0
    tokens: int = 0

    def reserve(self) -> None:
        """Account for one attempt or raise :class:`BudgetExhausted` (no network)."""
        if self.max_calls is not None and self.calls >= self.max_calls:
            raise BudgetExhausted(f"call budget exhausted ({self.calls}/{self.max_calls} calls)")
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            raise BudgetExhausted(
                f"token budget exhausted ({self.tokens}/{self.max_tokens} tokens)"
            )
        self.calls += 1

    def charge(self, completion: Completion) -> None:
        """Add the tokens of a completed call."""
        self.tokens += completion.total_tokens


def backoff_delay(
    attempt: int,
    rng: random.Random,
    base_delay: float,
    max_delay: float,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based).

    Exponential backoff with full jitter (uniform in ``[0, min(max_delay, base*2**attempt)]``),
    but never less than the server's ``Retry-After``.

    >>> rng = random.Random(0)
    >>> 0 <= backoff_delay(3, rng, 0.1, 1.0) <= 0.8
    True
    >>> backoff_delay(0, rng, 0.1, 1.0, retry_after=2.0)
    2.0
    """
    jitter = rng.uniform(0.0, min(max_delay, base_delay * (2**attempt)))
    return max(jitter, retry_after or 0.0)


class ResilientBackend:
    """Wrap ``inner`` with a concurrency limit, retries, timeouts and a budget.

    Parameters
    ----------
    inner : Backend
    concurrency : int
        Maximum requests in flight (an :class:`asyncio.Semaphore`; released while backing
        off so waiting retries do not starve fresh requests).
    max_retries : int
        Extra attempts for retryable kinds (rate_limited, server_error, timeout, connection).
    base_delay, max_delay : float
        Backoff parameters, see :func:`backoff_delay`.
    max_retry_after : float
        A ``Retry-After`` longer than this is not waited for: the error surfaces instead.
    timeout_s : float or None
        Per-attempt timeout enforced with :func:`asyncio.wait_for`.
    budget : Budget or None
    seed : int
        Seed of the jitter generator, so a run's backoff sequence is reproducible.

    Notes
    -----
    On success the returned completion's ``retries`` is the number of extra attempts. When
    retries run out, the last :class:`BackendError` is raised with ``retries`` set.
    """

    def __init__(
        self,
        inner: Backend,
        *,
        concurrency: int = 64,
        max_retries: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_retry_after: float = 120.0,
        timeout_s: float | None = 120.0,
        budget: Budget | None = None,
        seed: int = 0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.inner = inner
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.timeout_s = timeout_s
        self.budget = budget
        self._rng = random.Random(seed)
        self._semaphore: asyncio.Semaphore | None = None

    def _sem(self) -> asyncio.Semaphore:
        # Created lazily so the backend can be built outside the event loop that uses it.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        return self._semaphore

    async def _attempt(self, request: CompletionRequest) -> Completion:
        async with self._sem():
            if self.budget is not None:
                self.budget.reserve()
            try:
                if self.timeout_s is None:
                    completion = await self.inner.complete(request)
                else:
                    completion = await asyncio.wait_for(
                        self.inner.complete(request), self.timeout_s
                    )
            except TimeoutError:
                raise BackendError(
                    TIMEOUT, f"no reply within {self.timeout_s:g} s (decision {request.decision!r})"
                ) from None
            if self.budget is not None:
                self.budget.charge(completion)
            return completion

    async def complete(self, request: CompletionRequest) -> Completion:
        attempt = 0
        while True:
            try:
                completion = await self._attempt(request)
            except BudgetExhausted as exc:
                exc.retries = attempt
                raise
            except BackendError as exc:
                exc.retries = attempt
                if exc.kind not in RETRYABLE_KINDS or attempt >= self.max_retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                    raise
                delay = backoff_delay(
                    attempt, self._rng, self.base_delay, self.max_delay, exc.retry_after
                )
                attempt += 1
                await asyncio.sleep(delay)
                continue
            return replace(completion, retries=completion.retries + attempt)

    async def aclose(self) -> None:
        await self.inner.aclose()
