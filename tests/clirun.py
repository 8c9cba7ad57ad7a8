"""Run `apiframe-magic` in a subprocess, optionally "online" against a test's own simulator
(APIFRAME_API_KEY and APIFRAME_BASE_URL set), so a test can count what reached the service."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # this checkout's package, whatever the cwd


def run_cli(*args, sim=None, env_extra=None, stdin=subprocess.DEVNULL, timeout=120, cwd=None):
    env = {**os.environ, "APIFRAME_SIM_SPEED": "100", **(env_extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if sim is not None:
        env.update(APIFRAME_API_KEY=sim.api_key, APIFRAME_BASE_URL=sim.url)
    elif "APIFRAME_API_KEY" not in (env_extra or {}):
        env.pop("APIFRAME_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "apiframe_magic.cli", *map(str, args)],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          stdin=stdin)


def one_line_error(done, code: int = 2) -> str:
    """Assert the run failed with `code` and a single-line message, no traceback; return it."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines()
             if line.strip() and "offline simulator" not in line]
    assert len(lines) == 1, done.stderr
    return lines[0]
