"""Shared fixtures: a private data directory for every test, simulators on 127.0.0.1 (fast, at
real speed, and nearly stopped, for tests that move the clock), and a real history and JobManager on them."""
from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    """Tests send Ctrl-C (SIGINT). A run started in the background by a non-interactive shell
    (`cmd &`, nohup) inherits SIGINT ignored, and Python keeps it ignored: give it back Python's
    handler, so the tests and the processes they start see Ctrl-C as a terminal sends it."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """No test touches the real home directory or a real key, and no test's IPython shell stays
    "the" shell (`display()` of the next test would go to it)."""
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    monkeypatch.delenv("APIFRAME_BASE_URL", raising=False)
    yield
    shells = sys.modules.get("IPython.core.interactiveshell")
    if shells is not None:
        shells.InteractiveShell.clear_instance()


def _simulator_at(speed: float, name: str, doc: str):
    """A fixture yielding a simulator on 127.0.0.1 running at `speed` times real time."""
    def simulator():
        from apiframe_magic.simulator import Simulator

        with Simulator(speed=speed) as made:
            yield made

    simulator.__doc__ = doc
    return pytest.fixture(name=name)(simulator)


sim = _simulator_at(100, "sim", "A fast simulator (100x: an imagine takes well under a second).")
slow_sim = _simulator_at(1, "slow_sim", "Real time: a task runs for simulated minutes unless the "
                                        "test moves the clock.")
frozen_sim = _simulator_at(0.01, "frozen_sim", "1/100 of real time: an imagine takes over an hour, "
                                               "so no job ends unless the test moves the clock.")


def _client_of(simulator):
    from apiframe_magic import ApiframeClient

    return ApiframeClient(simulator.api_key, base_url=simulator.url, backoff=0.01)


@pytest.fixture
def client(sim):
    with _client_of(sim) as c:
        yield c


@pytest.fixture
def slow_client(slow_sim):
    with _client_of(slow_sim) as c:
        yield c


@pytest.fixture
def frozen_client(frozen_sim):
    with _client_of(frozen_sim) as c:
        yield c


@pytest.fixture
def store(tmp_path):
    """A real history on disk (a module may define its own)."""
    from apiframe_magic.store import HistoryStore

    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


@pytest.fixture
def images(tmp_path):
    from apiframe_magic.images import ImageCache

    with ImageCache(tmp_path / "images") as cache:
        yield cache


@pytest.fixture
def manager(client, store, images):
    """The real JobManager on the fast simulator, polling at its pace."""
    from apiframe_magic.jobs import JobManager
    from history_fixtures import FAST

    with JobManager(client, store=store, images=images, policy=FAST) as jobs:
        yield jobs


@pytest.fixture
def slow_manager(slow_client, store):
    """Polls often (the pace of a 100x simulator) a simulator that runs at 1x."""
    from apiframe_magic.jobs import JobManager
    from history_fixtures import FAST

    with JobManager(slow_client, store=store, policy=FAST, download_images=False) as jobs:
        yield jobs


@pytest.fixture
def ip(tmp_path, monkeypatch):
    """An in-process IPython shell with the extension loaded, working in a temporary directory."""
    from magic_shell import make_shell

    monkeypatch.chdir(tmp_path)
    shell = make_shell()
    yield shell
    shell.extension_manager.unload_extension("apiframe_magic")


def pytest_sessionfinish(session, exitstatus):
    """Close the widgets tests left open, so that none is collected during interpreter
    shutdown (ipywidgets' __del__ then fails on its cleared module globals). A closed view
    empties its live output, which with no shell left would be printed: nobody sees it."""
    if "ipywidgets" in sys.modules:
        with contextlib.redirect_stdout(io.StringIO()):
            sys.modules["ipywidgets"].Widget.close_all()


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory this process cannot create files in, whoever runs the tests."""
    if os.geteuid() != 0:
        path = tmp_path / "locked"
        path.mkdir(mode=0o500)
        yield path
        path.chmod(0o700)
        return
    try:  # root ignores modes; sysfs refuses new files even to root
        tempfile.NamedTemporaryFile(dir="/sys").close()
    except OSError:
        yield Path("/sys")
    else:
        pytest.skip("no directory here refuses writes to root")
