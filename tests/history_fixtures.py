"""Fixtures for tests that need a real history: a HistoryStore filled through the real
JobManager talking to the simulator (import the fixtures by name into a test module)."""
from __future__ import annotations

import pytest

from apiframe_magic.images import ImageCache
from apiframe_magic.jobs import JobManager, PollingPolicy
from apiframe_magic.store import HistoryStore

FAST = PollingPolicy().scaled(100)  # the `sim` fixture runs at 100x


@pytest.fixture
def store(tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


@pytest.fixture
def images(tmp_path):
    with ImageCache(tmp_path / "images") as cache:
        yield cache


@pytest.fixture
def manager(client, store, images):
    with JobManager(client, store=store, images=images, policy=FAST) as jobs:
        yield jobs


def finish(*jobs):
    """Wait for every job and its images; returns the jobs."""
    for job in jobs:
        job.wait(timeout=30, images=True)
    return jobs
