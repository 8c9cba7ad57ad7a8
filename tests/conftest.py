"""Shared fixtures: a private data directory for every test, and simulators on 127.0.0.1."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """No test touches the real home directory or a real key."""
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("APIFRAME_API_KEY", raising=False)
    monkeypatch.delenv("APIFRAME_BASE_URL", raising=False)


@pytest.fixture
def sim():
    """A fast simulator (100x: an imagine takes well under a second)."""
    from apiframe_magic.simulator import Simulator

    with Simulator(speed=100) as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    from apiframe_magic import ApiframeClient

    with ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01) as c:
        yield c


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
    shutdown (ipywidgets' __del__ then fails on its cleared module globals)."""
    import sys

    if "ipywidgets" in sys.modules:
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
