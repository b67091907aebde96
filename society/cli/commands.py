"""The ``society`` subcommands, in the order ``--help`` lists them.

A command module has ``NAME``, ``HELP``, ``EXAMPLES`` (the end of its ``--help``),
``add_arguments(parser)`` and
``main(args, out, err) -> exit code``; add it to :data:`COMMANDS` to make it available.
"""

from __future__ import annotations

from types import ModuleType

from society.cli import (
    analyze,
    app,
    ask,
    calibrate,
    check,
    compare,
    fields,
    fork,
    llm,
    mechanisms,
    plot,
    report,
    run,
    scenarios,
    sweep,
    sweep_summary,
    validate,
)

COMMANDS: list[ModuleType] = [
    run,
    check,
    scenarios,
    fields,
    ask,
    sweep,
    sweep_summary,
    analyze,
    validate,
    llm,
    mechanisms,
    plot,
    report,
    compare,
    fork,
    app,
    calibrate,
]
