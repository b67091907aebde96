"""The command-line reference, read from the argparse definitions ``society --help`` uses.

Each command module (``society/cli/*``) declares ``HELP``, ``EXAMPLES`` and ``add_arguments``;
the page is built from the parser :func:`society.cli.main.build_parser` assembles from them, so
an option added to a command appears here with its help text, default and choices.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from society.cli.commands import COMMANDS
from society.cli.main import build_parser
from society.docsite.markdown import cell, code, generated_note, table

#: Usage lines wrap at this width, whatever the terminal that builds the site.
USAGE_WIDTH = 88


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-parsers of ``parser`` by name (empty if it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summary(parent: argparse.ArgumentParser, name: str) -> str:
    """The one-line help ``parent --help`` shows for its sub-command ``name``."""
    for action in parent._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def description(name: str, parser: argparse.ArgumentParser) -> str:
    """What a command does: its description, else the help its parent lists it with."""
    if parser.description:
        return parser.description
    *parent, last = name.split()[1:]
    owner = build_parser()
    for step in parent:
        owner = subcommands(owner)[step]
    return _summary(owner, last)


def commands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command and sub-command as ``("society llm check", parser)``, in ``--help`` order."""
    top = subcommands(build_parser())

    def walk(
        name: str, parser: argparse.ArgumentParser
    ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield name, parser
        for child, sub in subcommands(parser).items():
            yield from walk(f"{name} {child}", sub)

    for module in COMMANDS:
        yield from walk(f"society {module.NAME}", top[module.NAME])


def option_names(parser: argparse.ArgumentParser) -> list[str]:
    """What a user types for each documented argument of ``parser``: ``--seed``, ``scenario``."""
    return [_label(a) for a in _documented(parser)]


def _documented(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.help != argparse.SUPPRESS
        and not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def _label(action: argparse.Action) -> str:
    if not action.option_strings:
        return action.metavar if isinstance(action.metavar, str) else action.dest
    return max(action.option_strings, key=len)


def _usage(parser: argparse.ArgumentParser) -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(USAGE_WIDTH)  # argparse's formatter reads the width from here
    try:
        return parser.format_usage().strip()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:  # argparse expands %(default)s and friends the same way
        text = text % {**vars(action), "prog": prog}
    return text


def _default(action: argparse.Action) -> str:
    if not action.option_strings or action.default in (None, [], False, argparse.SUPPRESS):
        return ""
    if isinstance(action, argparse._StoreTrueAction):
        return ""
    return code(action.default)


def _spelling(action: argparse.Action) -> str:
    names = ", ".join(action.option_strings) or _label(action)
    if action.nargs == 0:
        return code(names)
    if action.choices is not None:
        return code(names) + " {" + ", ".join(code(c) for c in action.choices) + "}"
    metavar = action.metavar if isinstance(action.metavar, str) else None
    if action.option_strings:
        return code(f"{names} {metavar or action.dest.upper()}")
    return code(names)


def command_section(name: str, parser: argparse.ArgumentParser) -> str:
    """One command: what it does, its usage, every argument and its examples."""
    depth = "##" if name.count(" ") == 1 else "###"
    parts = [f"{depth} `{name}`", "", cell(description(name, parser)), ""]
    parts += ["```text", _usage(parser), "```", ""]
    rows = [
        [_spelling(a), "required" if a.required else _default(a), cell(_help(a, name))]
        for a in _documented(parser)
    ]
    if rows:
        parts += [table(["argument", "default", "meaning"], rows), ""]
    if parser.epilog:
        parts += ["```text", parser.epilog.strip(), "```", ""]
    return "\n".join(parts)


def cli_page() -> str:
    """The whole command-line reference page."""
    intro = [
        generated_note("society/cli/*.py (the argparse definitions)"),
        "# Command line",
        "",
        "Every `society` command with every option, as `society COMMAND --help` prints them. "
        "Exit codes: 0 done; 1 the machine failed (disk full, read-only, I/O error: resume "
        "once fixed) or, for `validate`, `mechanisms` and `sweep`, a check or a run failed; 2 "
        "bad input, with one paragraph naming the file, key, value and fix; 3 a run finished "
        "but degraded (most LLM calls fell back to the stub policy); 130/143 stopped by "
        "Ctrl-C/SIGTERM after a checkpoint (resume it).",
        "",
        table(
            ["command", "what it does"],
            [[f"[`{n}`](#{n.replace(' ', '-')})", cell(description(n, p))] for n, p in commands()],
        ),
        "",
    ]
    return "\n".join(intro + [command_section(n, p) for n, p in commands()])
