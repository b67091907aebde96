"""Bounds on what an endpoint may send back: reply size and JSON nesting depth.

An endpoint is untrusted. Unbounded, a 10 MB ``content`` per reply grows the response cache by
10 MB per call, and a 200,000-deep ``[[[...]]]`` body makes ``json.loads`` raise
``RecursionError`` in the middle of a run. Both transports therefore read a body
incrementally, stop as soon as it passes :attr:`ReplyLimits.max_body_bytes`, and measure the
nesting depth with a flat scan before anything recursive (``json.loads``, the SDK's models,
the schema validator) sees it. A reply that breaks a bound is refused as ``invalid_reply``,
so the decision falls back to the stub policy and the cache records a short marker instead of
the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import INVALID_REPLY, BackendError

__all__ = [
    "BODY_FACTOR",
    "DEFAULT_MAX_REPLY_BYTES",
    "ENVELOPE_BYTES",
    "MAX_DEPTH",
    "BodyReader",
    "ReplyLimits",
    "check_content",
    "nesting_depth",
]

DEFAULT_MAX_REPLY_BYTES = 64 * 1024
"""Default largest message content, in UTF-8 bytes (``llm.max_reply_bytes``)."""

BODY_FACTOR = 8
"""The HTTP body may be this many times the content cap: JSON escaping can turn one byte of
content into six (``\\u0001``), and a body carries the content once."""

ENVELOPE_BYTES = 64 * 1024
"""Room in the body for everything around the content (ids, usage, logprobs, error text)."""

MAX_DEPTH = 64
"""Deepest JSON nesting accepted in a body or a reply. A chat completion is about 4 levels
deep and every decision schema at most 3, so 64 refuses only hostile or broken replies while
staying far below the interpreter's recursion limit."""

# A JSON string, escapes included (unrolled so the scan stays linear on long strings), and the
# four bytes that open or close a level once strings are removed.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


def nesting_depth(data: bytes | str, stop_above: int | None = None) -> int:
    """Deepest nesting of arrays and objects in the JSON text ``data``, without parsing it.

    Brackets inside strings do not count. The scan is flat (no recursion) and linear in the
    size of ``data``; it stops early once the depth passes ``stop_above``. Text that is not
    JSON gets a number too (its bracket depth outside anything that looks like a string),
    which is all a bound needs.

    Examples
    --------
    >>> nesting_depth('{"a": [1, {"b": "]]]"}]}')
    3
    >>> nesting_depth("[" * 200_000, stop_above=64)
    65
    >>> nesting_depth("not json")
    0
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        else:
            depth -= 1
    return deepest


@dataclass(frozen=True)
class ReplyLimits:
    """The bounds one transport enforces.

    Parameters
    ----------
    max_reply_bytes : int
        Largest message content, in UTF-8 bytes (``llm.max_reply_bytes``).
    max_depth : int
        Deepest JSON nesting accepted, in the body and in the content.

    Examples
    --------
    >>> ReplyLimits().max_body_bytes
    589824
    """

    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    max_depth: int = MAX_DEPTH

    def __post_init__(self) -> None:
        if self.max_reply_bytes < 1 or self.max_depth < 1:
            raise ValueError("max_reply_bytes and max_depth must be positive")

    @property
    def max_body_bytes(self) -> int:
        """Largest HTTP body read, whatever its status: ``8 x max_reply_bytes + 64 KiB``."""
        return BODY_FACTOR * self.max_reply_bytes + ENVELOPE_BYTES


def _refuse(message: str) -> BackendError:
    return BackendError(INVALID_REPLY, message)


class BodyReader:
    """Collects a response body chunk by chunk and refuses it as soon as it breaks a bound.

    Parameters
    ----------
    limits : ReplyLimits
    where : str
        Names the endpoint (and decision) in error messages, e.g.
        ``"http://127.0.0.1:8000/v1 (decision 'work_allocation')"``.

    Raises
    ------
    BackendError
        kind ``invalid_reply`` from :meth:`expect`, :meth:`feed` or :meth:`finish`.

    Examples
    --------
    >>> reader = BodyReader(ReplyLimits(max_reply_bytes=1024), "demo")
    >>> reader.feed(b'{"ok": ')
    >>> reader.feed(b"true}")
    >>> reader.finish()
    b'{"ok": true}'
    >>> BodyReader(ReplyLimits(), "demo").expect(10**9)
    Traceback (most recent call last):
    ...
    llm_backends.errors.BackendError: [invalid_reply] response body from demo declares \
1000000000 bytes, over the 589824-byte cap (llm.max_reply_bytes = 65536); not read
    """

    def __init__(self, limits: ReplyLimits, where: str) -> None:
        self.limits = limits
        self.where = where
        self.size = 0
        self._chunks: list[bytes] = []

    def _over(self, what: str) -> BackendError:
        return _refuse(
            f"response body from {self.where} {what}, over the {self.limits.max_body_bytes}-byte "
            f"cap (llm.max_reply_bytes = {self.limits.max_reply_bytes}); not read"
        )

    def expect(self, declared: int | None) -> None:
        """Refuse up front when the declared ``Content-Length`` is already over the cap."""
        if declared is not None and declared > self.limits.max_body_bytes:
            raise self._over(f"declares {declared} bytes")

    def feed(self, chunk: bytes) -> None:
        """Add ``chunk``; refuse once the body passes the cap (nothing more is read)."""
        self.size += len(chunk)
        if self.size > self.limits.max_body_bytes:
            raise self._over(f"passed {self.size} bytes")
        self._chunks.append(chunk)

    def finish(self) -> bytes:
        """The whole body, once its nesting depth is known to be within bounds."""
        body = b"".join(self._chunks)
        self._chunks = [body]
        depth = nesting_depth(body, stop_above=self.limits.max_depth)
        if depth > self.limits.max_depth:
            raise _refuse(
                f"response body from {self.where} is nested more than {self.limits.max_depth} "
                "levels deep; not parsed"
            )
        return body


def check_content(text: str, limits: ReplyLimits, where: str) -> None:
    """Refuse a message ``content`` over ``limits.max_reply_bytes`` or nested too deeply.

    Raises
    ------
    BackendError
        kind ``invalid_reply``.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_reply_bytes:
        raise _refuse(
            f"reply from {where} has {size} bytes of content, over llm.max_reply_bytes = "
            f"{limits.max_reply_bytes}; not used"
        )
    if nesting_depth(text, stop_above=limits.max_depth) > limits.max_depth:
        raise _refuse(
            f"reply from {where} is JSON nested more than {limits.max_depth} levels deep; "
            "not parsed"
        )
