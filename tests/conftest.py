"""Shared fixtures: a private data directory for every test, and simulators on 127.0.0.1."""
from __future__ import annotations

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
