"""``society llm check``: one structured request to an endpoint, before a long run needs it."""

from __future__ import annotations

import argparse

from rich.console import Console

from society.cli.text import for_terminal
from society.scenario import LLM

NAME = "llm"
HELP = "check an OpenAI-compatible endpoint (latency, which structured mode it enforces)"
EXAMPLES = """\
examples:
  society llm check
  society llm check --base-url http://127.0.0.1:8011/v1 --model smollm2 --timeout 60
  society llm check --base-url http://127.0.0.1:8011/v1 --structured json_object
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="llm_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="send one structured request and report the result")
    defaults = LLM()
    check.add_argument(
        "--base-url", default=defaults.base_url, help="endpoint (default: %(default)s)"
    )
    check.add_argument("--model", default=defaults.model, help="model name (default: %(default)s)")
    check.add_argument(
        "--api-key-env",
        default=defaults.api_key_env,
        help="variable holding the API key (default: %(default)s)",
    )
    check.add_argument("--client", choices=["openai", "aiohttp"], default="openai")
    check.add_argument(
        "--structured",
        choices=["auto", "json_schema", "json_object", "prompt"],
        default="auto",
        help="how to ask for the schema; auto probes for the strongest mode the endpoint "
        "enforces, as a run does (default: auto)",
    )
    check.add_argument("--timeout", type=float, default=15.0, help="seconds (default: 15)")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.llm.setup import check_endpoint

    p = LLM(
        base_url=args.base_url,
        model=args.model,
        api_key_env=args.api_key_env,
        client=args.client,
        structured=args.structured,
    )
    result = check_endpoint(p, timeout_s=args.timeout)
    honoured = (
        "honoured"
        if result.schema_honoured
        else "NOT honoured (replies will be repaired where they nearly fit, else re-asked "
        "once, then fall back to the stub policy)"
    )
    how = (
        f"chosen by probing: {result.negotiation.partition(' (')[2].rstrip(')')}"
        if result.negotiation
        else "as asked"
    )
    out.print(
        f"endpoint {for_terminal(result.base_url)}, model {for_terminal(result.model)}: "
        f"answered in "
        f"{result.latency_s * 1000:.0f} ms; structured output {honoured}; "
        f"tokens {result.prompt_tokens} in / {result.completion_tokens} out\n"
        f'structured mode: {result.structured} ({how}); runs with llm.structured = "auto" '
        "use it"
    )
    return 0 if result.schema_honoured else 1
