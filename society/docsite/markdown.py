"""Markdown building blocks shared by the generated pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(text: object) -> str:
    """``text`` made safe for one table cell: a ``|`` would end the cell, a ``<`` could open an
    HTML tag (``<UTC time>``), and a newline would end the row.

    >>> cell("P(a | b) at <UTC time>")
    'P(a \\\\| b) at &lt;UTC time&gt;'
    """
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def code(text: object) -> str:
    """``text`` as inline code inside a table cell (a pipe inside backticks still splits a
    Markdown table row, so it is escaped too).

    >>> code("a|b")
    '`a\\\\|b`'
    """
    return "`" + str(text).replace("|", "\\|") + "`"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells are written as given (escape them with :func:`cell`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def generated_note(source: str) -> str:
    """The line that tells a reader (and an editor) where a generated page comes from."""
    return (
        f"<!-- Generated from {source} by society.docsite at build time: edit the code, "
        "not this page. -->\n"
    )
