"""The simulator's command line, declared once: `python -m apiframe_magic.simulator` and
`apiframe-magic simulator` both take their options from `add_options` and run `serve`, so the
two entry points accept the same options with the same checks."""
from __future__ import annotations

import argparse
import secrets
import threading

from ..argtypes import OneLineParser, port_number, positive_speed, whole_number
from .app import Simulator

DEFAULT_PORT = 8787
DESCRIPTION = "Offline simulator of APIFRAME's v1 API."


def add_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare the simulator's options on `parser` (a parser or a CLI subcommand)."""
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=f"port on 127.0.0.1, 0 to 65535 (0: any free port; default "
                             f"{DEFAULT_PORT})")
    parser.add_argument("--speed", type=positive_speed, default=1.0, metavar="X",
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--api-key", default=None,
                        help="the key the simulator accepts (default: a random one, printed at "
                             "start)")
    parser.add_argument("--concurrency", type=whole_number(1), default=3, metavar="N",
                        help="tasks running at once; extra ones wait as 'staged' (default 3)")
    parser.add_argument("--credits", type=whole_number(0), default=10_000, metavar="N",
                        help="the starting balance /account reports (default 10000)")
    parser.add_argument("--seed", type=int, default=None, help="reproducible ids and images")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Serve on 127.0.0.1 until Ctrl-C; a port that cannot be had ends with exit code 1."""
    # a fixed public key would let any local process or web page drive a standalone server
    api_key = args.api_key or secrets.token_urlsafe(18)
    sim = Simulator(port=args.port, speed=args.speed, api_key=api_key,
                    concurrency=args.concurrency, credits=args.credits, seed=args.seed,
                    verbose=args.verbose)
    try:
        sim.start()
    except OSError as exc:
        parser.exit(1, f"cannot listen on 127.0.0.1:{args.port}: {exc}\n")
    print(f"APIFRAME v1 simulator at {sim.url}  api key: {sim.api_key}  "
          f"speed: {args.speed:g}x  (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_options(OneLineParser(prog="python -m apiframe_magic.simulator",
                                       description=DESCRIPTION))
    return serve(parser.parse_args(argv), parser)
