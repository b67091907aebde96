"""Arguments shared by several commands."""

from __future__ import annotations

import argparse


def add_scenario_options(p: argparse.ArgumentParser) -> None:
    """``--seed`` and repeatable ``--set KEY=VALUE``, validated like the scenario file."""
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field by dotted key, e.g. --set lab.tax=0.25 (repeatable)",
    )
