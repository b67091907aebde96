"""``society check SCENARIO``: validate a scenario and print it with defaults filled in."""

from __future__ import annotations

import argparse

from rich.console import Console

from society.cli.options import add_scenario_options

NAME = "check"
HELP = "validate a scenario and print the resolved configuration"
EXAMPLES = """\
examples:
  society check scenarios/rushed.toml
  society check baseline --set lab.tax=0.25 --seed 3
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file or shipped name")
    add_scenario_options(p)


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.cli.options import expand_overrides
    from society.scenario_files import load_scenario, scenario_to_toml

    args.overrides = expand_overrides(args.overrides)

    scenario = load_scenario(args.scenario, seed=args.seed, overrides=args.overrides)
    from society.cli.text import for_terminal

    out.print(
        f"# {for_terminal(args.scenario)}: valid. Resolved configuration (defaults filled in):"
    )
    print(scenario_to_toml(scenario), end="")
    return 0
