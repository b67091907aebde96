"""User text as Rich prints it: literally, without control characters.

Rich reads ``[/]`` in a scenario name as markup (and raises, after a finished run), so every
user string passes through :func:`for_terminal` before Rich renders it.
"""

from __future__ import annotations

from rich.markup import escape

from society.text import visible

__all__ = ["for_terminal"]


def for_terminal(text: object) -> str:
    """``text`` as Rich prints it literally: :func:`society.text.visible`, markup escaped.

    >>> for_terminal("[/]\\x1b")
    '\\\\[/]'
    """
    return escape(visible(text))
