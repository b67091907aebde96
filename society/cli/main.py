"""The ``society`` command line.

User errors (bad scenario, bad arguments, unwritable output) print one paragraph and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from society.cli.commands import COMMANDS
from society.errors import SocietyError

EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="society",
        description="Simulate AI societies for long-horizon deference.",
        epilog="examples:\n  society run baseline\n"
        "  society sweep scenarios/sweeps/lead_vs_tax.toml\n"
        "  society COMMAND --help     (each command's options and examples)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.HELP,
            epilog=command.EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(p)
        p.set_defaults(handler=command.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        code: int = args.handler(args, out, err)
    except SocietyError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
        return e.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
