"""`python -m apiframe_magic.simulator --port 8787 [--speed X] [...]`: serve until Ctrl-C.

The options are `command.add_options`, the same ones `apiframe-magic simulator` takes."""
from __future__ import annotations

from .command import main

if __name__ == "__main__":
    raise SystemExit(main())
