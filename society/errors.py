"""Errors the user can fix. The CLI prints their message as one paragraph and exits 2."""

from __future__ import annotations


class SocietyError(Exception):
    """A problem with the user's input or environment, with a message that says how to fix it.

    Anything else that escapes is a bug in society and is shown with its traceback.
    """

    exit_code = 2


class ScenarioError(SocietyError):
    """A scenario file, override or name that cannot be used."""


class RunDirectoryError(SocietyError):
    """An output directory that cannot be written or would overwrite a previous run."""
