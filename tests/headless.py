"""Notebooks run headless (nbclient, as `jupyter execute` and papermill run them) in a fresh
kernel whose environment is this test's, not the machine's."""
from __future__ import annotations

from pathlib import Path

import pytest
from nbclient import NotebookClient

# the live-frontend markers, and a key, address or wait policy this machine may have set
NOT_INHERITED = ("JPY_SESSION_NAME", "VSCODE_PID", "APIFRAME_MAGIC_WAIT", "APIFRAME_API_KEY",
                 "APIFRAME_BASE_URL")


def execute(nb, workdir: Path, *, timeout: int = 300, **environ: str):
    """Run `nb` in `workdir` with a private APIFRAME_MAGIC_HOME, none of NOT_INHERITED unless
    `environ` sets it, and `environ`; errors stay in the outputs. Returns `nb`, executed."""
    mp = pytest.MonkeyPatch()
    mp.setenv("APIFRAME_MAGIC_HOME", str(workdir / "home"))
    for name in NOT_INHERITED:
        mp.delenv(name, raising=False)
    for name, value in environ.items():
        mp.setenv(name, value)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        mp.undo()
    return nb
