"""Arguments shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class FragmentPath(str):
    """A ``--set-file`` argument kept in order among the ``--set`` ones (read when the command
    runs, not while arguments are parsed)."""


class SetFile(argparse.Action):
    """``--set-file FRAGMENT.toml``: every field of a TOML fragment (e.g. the one `society
    calibrate` writes) as a ``--set KEY=VALUE``, in place; a later --set wins."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest, None) or [])
        items.append(FragmentPath(str(values)))
        setattr(namespace, self.dest, items)


def expand_overrides(items: Sequence[str]) -> list[str]:
    """``--set`` and ``--set-file`` arguments as ``KEY=VALUE`` strings, in command-line order
    (a fragment that cannot be read raises :class:`~society.errors.ScenarioError`)."""
    from society.scenario_files import fragment_overrides

    out: list[str] = []
    for item in items:
        if isinstance(item, FragmentPath):
            out.extend(fragment_overrides(str(item)))
        else:
            out.append(item)
    return out


def add_set_options(
    p: argparse.ArgumentParser, set_help: str, file_help: str | None = None
) -> None:
    """Repeatable ``--set KEY=VALUE`` and, given ``file_help``, ``--set-file FRAGMENT.toml``,
    both collected in order into ``args.overrides`` (later ones win)."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=set_help,
    )
    if file_help is not None:
        p.add_argument(
            "--set-file",
            dest="overrides",
            action=SetFile,
            metavar="FRAGMENT.toml",
            help=file_help,
        )


def add_priors_option(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--priors FILE [FILE ...]`` (extendable) into ``args.priors``: prior files in the schema
    of scenarios/priors/*.toml, or a shipped name such as ``model``."""
    p.add_argument(
        "--priors", action="extend", nargs="+", default=[], metavar="FILE", help=help_text
    )


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    """``--seed``, repeatable ``--set KEY=VALUE`` and ``--set-file FRAGMENT.toml``, validated
    like the scenario file."""
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    add_set_options(
        p,
        set_help="override a field by dotted key, e.g. --set lab.tax=0.25 (repeatable)",
        file_help="apply every field of a TOML fragment as --set (e.g. the calibrated.toml of "
        "`society calibrate`); repeatable, later --set and --set-file win",
    )
