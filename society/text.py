"""User text made safe to show: on a terminal, in a figure, in a path.

Scenario and sweep names, questions, file names and anything read back from a run directory are
data. A terminal obeys raw escape sequences and NUL, and bidi overrides make text read
differently from what it is, so :func:`visible` removes them before any of it is shown. (Rich
markup and matplotlib's mathtext are escaped where those render: ``society.cli.text`` and
``viz.style``.)
"""

from __future__ import annotations

import unicodedata

__all__ = ["BIDI_CONTROLS", "visible"]

#: Explicit bidi embeddings, overrides and isolates, and the direction marks: they reorder or
#: hide what follows them on the line.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_SPACES = frozenset("\t\n\r\v\f")


def visible(text: object) -> str:
    """``text`` without control characters (C0, DEL, C1: escape sequences, NUL) and bidi
    controls; a tab or line break becomes a space, so words stay apart on one line.

    >>> visible("a\\x1b[31mb\\u202ec\\x00\\nd")
    'a[31mbc d'
    """
    return "".join(
        " " if c in _SPACES else c
        for c in str(text)
        if c in _SPACES or (c not in BIDI_CONTROLS and unicodedata.category(c) != "Cc")
    )
