"""Helpers for tests that fill a real history through the real JobManager talking to the
simulator (the fixtures `store`, `images`, `manager` and `slow_manager` are in conftest.py)."""
from __future__ import annotations

from apiframe_magic.jobs import PollingPolicy

FAST = PollingPolicy().scaled(100)  # the `sim` fixture runs at 100x


def finish(*jobs):
    """Wait for every job and its images; returns the jobs."""
    for job in jobs:
        job.wait(timeout=30, images=True)
    return jobs
