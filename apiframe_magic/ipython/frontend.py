"""Which kind of frontend is running this kernel, from signals that were measured to be reliable.

- A kernel started by a Jupyter server (JupyterLab, Notebook 7, anything on jupyter_server) has
  `JPY_SESSION_NAME` in its environment: a live notebook that renders widgets and background
  updates.
- VS Code starts kernels itself: `VSCODE_PID` in the environment or `__vsc_ipynb_file__` in the
  user namespace.
- A kernel started by nbclient (`jupyter execute`, papermill, nbconvert) has `JPY_PARENT_PID` but
  no `JPY_SESSION_NAME`: nothing renders after the last cell, so the magic must wait in the cell.
- Colab (`google.colab` imported) renders widgets but not updates made from threads.
- Anything that is not a ZMQ kernel (terminal IPython, a test shell) shows text only.

Open comms are no signal: none is open when the first cell runs, in either case.
"""
from __future__ import annotations

import os
import sys

LIVE = "live"          # widgets and background updates render
HEADLESS = "headless"  # nbclient / papermill: only what lands before the cell ends is kept
COLAB = "colab"        # widgets render, updates from threads do not
TERMINAL = "terminal"  # text only


def detect(shell=None, environ=None) -> str:
    """One of LIVE, HEADLESS, COLAB, TERMINAL for the shell running this code."""
    environ = os.environ if environ is None else environ
    if "google.colab" in sys.modules:
        return COLAB
    if shell is None or not _is_kernel(shell):
        return TERMINAL
    if environ.get("JPY_SESSION_NAME") or environ.get("VSCODE_PID"):
        return LIVE
    if "__vsc_ipynb_file__" in getattr(shell, "user_ns", {}):
        return LIVE
    if environ.get("JPY_PARENT_PID"):
        return HEADLESS
    return LIVE  # a kernel with no marker at all: assume a person is looking at it


def _is_kernel(shell) -> bool:
    """A ZMQ kernel shell (ipykernel), without importing ipykernel to find out."""
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def waits_by_default(kind: str) -> bool:
    """Where background updates cannot be seen, the cell waits for its jobs."""
    return kind != LIVE


def shows_widgets(kind: str) -> bool:
    return kind == LIVE
