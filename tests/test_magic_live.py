"""The magic in a kernel seen as a live notebook (a Jupyter server's kernel: `JPY_SESSION_NAME`),
against a slow service (a simulator whose clock the test drives): the cell returns before the
grid exists, and the grid arrives after it; and Ctrl-C while a submit is on the wire.

How the browser test could show the same: in JupyterLab, run an `%%imagine` cell followed by a
cell `print("next")`, with the simulator slowed down; the second cell's output must appear while
the first cell's view still shows its progress bar, before any grid image is in the page."""
from __future__ import annotations

import threading
import time

import pytest
from IPython.core.error import UsageError

from apiframe_magic.ipython import frontend
from apiframe_magic.simulator import Simulator
from interrupts import interrupt_main_when
from magic_shell import ZMQInteractiveShell, magics_of, make_shell

FOX = "a red fox in the snow --ar 3:2"
FOREVER = 10_000          # simulated seconds: far past the end of any job


def wait_until(condition, timeout: float = 60.0) -> bool:
    """Poll `condition` until it holds or `timeout` real seconds pass (a generous deadline)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _shell(service, monkeypatch, tmp_path, **environ):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APIFRAME_API_KEY", service.api_key)
    for name in ("JPY_SESSION_NAME", "JPY_PARENT_PID", "VSCODE_PID", "APIFRAME_MAGIC_WAIT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    shell = make_shell(ZMQInteractiveShell, base_url=service.url)
    return shell


@pytest.fixture
def live(frozen_sim, monkeypatch, tmp_path):
    shell = _shell(frozen_sim, monkeypatch, tmp_path, JPY_SESSION_NAME="quickstart.ipynb")
    yield shell
    shell.extension_manager.unload_extension("apiframe_magic")


def test_a_live_notebook_cell_returns_before_the_grid_and_the_grid_follows(live, frozen_sim):
    assert magics_of(live).presenter.frontend == frontend.LIVE
    # If the cell waited (the rule broken), this deadline lets it end so that the test fails
    # on the assertion below instead of hanging.
    watchdog = threading.Timer(60, frozen_sim.clock.advance, [FOREVER])
    watchdog.start()
    try:
        job = live.run_cell_magic("imagine", "", FOX)          # no --wait / --no-wait
    finally:
        watchdog.cancel()
    assert job.state == "active"                 # returned while the job still runs
    assert live.display_pub.images() == []       # no grid yet: the placeholder twin only
    frozen_sim.clock.advance(FOREVER)
    assert job.wait(60, images=True).finished
    assert wait_until(lambda: len(live.display_pub.images()) == 1)


def test_a_headless_kernel_cell_waits_for_the_grid(monkeypatch, tmp_path):
    with Simulator(speed=100) as service:
        shell = _shell(service, monkeypatch, tmp_path, JPY_PARENT_PID="1")
        try:
            assert magics_of(shell).presenter.frontend == frontend.HEADLESS
            job = shell.run_cell_magic("imagine", "", FOX)
            assert job.state == "finished"
            assert len(shell.display_pub.images()) == 1
        finally:
            shell.extension_manager.unload_extension("apiframe_magic")


def test_ctrl_c_during_the_submit_records_it_uncertain_and_never_sends_it_again(
        live, frozen_sim, capsys):
    """The task is created, then the answer is held back; Ctrl-C arrives while the cell reads
    it. The job must be `uncertain` in the history, and `resume` must not send it again."""
    frozen_sim.fail_next(1, "slow", paths={"/imagine"}, phase="after", delay=60)
    helper = interrupt_main_when(lambda: frozen_sim.tasks_created == 1)
    with pytest.raises(UsageError, match="^interrupted while submitting the prompt: 1 job"):
        live.run_cell_magic("imagine", "", FOX)   # one line, no traceback
    helper.join(10)
    store = magics_of(live).runtime.store
    [record] = store.list()
    assert record.state == "uncertain" and record.task_id is None
    assert "interrupted" in record.error
    live.run_line_magic("imagine", "resume --send-queued")
    assert store.get(record.job_id).state == "uncertain"
    assert frozen_sim.request_counts["/imagine"] == 1 and frozen_sim.tasks_created == 1
