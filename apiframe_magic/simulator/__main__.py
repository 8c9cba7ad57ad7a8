"""`python -m apiframe_magic.simulator --port 8787 [--speed X] [--api-key K]`: serve until Ctrl-C."""
from __future__ import annotations

import argparse
import threading

from .app import DEFAULT_API_KEY, Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apiframe_magic.simulator",
                                     description="Offline simulator of APIFRAME's v1 API.")
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY,
                        help=f"the key to accept (default {DEFAULT_API_KEY!r})")
    parser.add_argument("--concurrency", type=int, default=3,
                        help="tasks running at once; extra ones wait as 'staged'")
    parser.add_argument("--credits", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None, help="reproducible ids and images")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be > 0")

    sim = Simulator(port=args.port, speed=args.speed, api_key=args.api_key,
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


if __name__ == "__main__":
    raise SystemExit(main())
