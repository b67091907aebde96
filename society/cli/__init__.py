"""The ``society`` command line: :func:`main` and one module per subcommand."""

from society.cli.main import main

__all__ = ["main"]
