"""``society app``: the what-if playground in the browser (docs/playground.md)."""

from __future__ import annotations

import argparse

from rich.console import Console

NAME = "app"
HELP = "start the what-if playground: a local web app to set levers, run seeds and compare"
EXAMPLES = """\
examples:
  society app
  society app --port 8800 --workers 2
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port", type=int, default=8765, help="port to listen on (default: 8765; 0: any free one)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only; the app runs "
        "simulations for whoever can reach it)",
    )
    p.add_argument("--workers", type=int, help="worker processes for runs (default: up to 2)")


def main(args: argparse.Namespace, out: Console, err: Console) -> int:
    from society.app.server import serve
    from society.errors import SocietyError

    if not 0 <= args.port <= 65535:
        raise SocietyError(f"--port {args.port}: give a port in [0, 65535] (0: any free one).")
    if args.workers is not None and args.workers < 1:
        raise SocietyError(f"--workers {args.workers}: give at least 1.")

    def ready(url: str) -> None:
        print(f"society app: open {url}  (Ctrl-C stops it)", flush=True)

    try:
        serve(args.host, args.port, on_ready=ready, workers=args.workers)
    except OSError as e:
        raise SocietyError(
            f"cannot listen on {args.host}:{args.port} ({e.strerror}); give another --port, or "
            f"stop what uses it."
        ) from None
    except KeyboardInterrupt:
        pass
    return 0
