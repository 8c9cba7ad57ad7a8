"""`await job` in a cell, with and without nest_asyncio applied by the user.

nest_asyncio patches asyncio for the whole process, so the patched case runs in a child process
of its own instead of leaking into every other test.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from magic_shell import make_shell

SCRIPT = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {tests!r})
    if {patched}:
        import nest_asyncio
        nest_asyncio.apply()
    from magic_shell import make_shell
    ip = make_shell()
    ip.run_cell("job = %imagine --no-wait -- a red fox in the snow")
    ip.run_cell("task = await job")
    assert ip.user_ns["task"].finished, ip.user_ns["task"]
    ip.run_cell("group = %imagine --no-wait -- a {{red, blue}} boat")
    ip.run_cell("tasks = await group")
    assert all(t.finished for t in ip.user_ns["tasks"])
    if {patched}:   # code written for nest_asyncio: run_until_complete inside a cell
        ip.run_cell("import asyncio; done = asyncio.get_event_loop().run_until_complete(asyncio.sleep(0, 'ok'))")
        assert ip.user_ns["done"] == "ok"
        job = ip.run_cell_magic("imagine", "--wait", "a green kite")
        assert job.state == "finished"
    ip.extension_manager.unload_extension("apiframe_magic")
    print("OK")
""")


@pytest.mark.parametrize("patched", [False, True], ids=["plain", "nest_asyncio"])
def test_await_job_in_a_cell(patched, tmp_path):
    from pathlib import Path

    script = SCRIPT.format(tests=str(Path(__file__).parent), patched=patched)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("OK")


def test_await_in_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ip = make_shell()
    try:
        ip.run_cell("job = %imagine --no-wait -- a quiet harbour")
        ip.run_cell("result = await job")
        assert ip.user_ns["result"].finished
    finally:
        ip.extension_manager.unload_extension("apiframe_magic")
