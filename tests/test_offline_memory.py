"""Offline, across runs: the embedded simulator of `runtime.start()` remembers its tasks, its key
and (when it can) its port, so resume, fetch and recorded image URLs keep working (the kill and
resume case is in test_resume.py)."""
from __future__ import annotations

import socket

from apiframe_magic import runtime


def test_a_new_runtime_resumes_what_an_earlier_one_left_running(tmp_path):
    first = runtime.start(home=tmp_path, sim_speed=100)
    job = first.manager.imagine("left running at close")
    key = first.simulator.api_key
    first.close()
    assert first.store.path.exists()

    second = runtime.start(home=tmp_path, sim_speed=100)
    try:
        assert second.simulator.api_key == key
        assert second.client.fetch(job.task_id).task_id == job.task_id
        [resumed] = second.manager.resume()
        assert resumed.task_id == job.task_id
        assert resumed.wait(timeout=20, images=True).finished
        assert set(resumed.image_paths) == {"grid", "1", "2", "3", "4"}
        assert second.store.get(job.job_id).state == "finished"
        assert second.simulator.tasks_created == 0  # nothing was sent again
    finally:
        second.close()


def test_image_urls_recorded_by_an_earlier_run_resolve_on_another_port(tmp_path):
    first = runtime.start(home=tmp_path, sim_speed=100)
    job = first.manager.imagine("a recorded grid")
    job.wait(timeout=20, images=True)
    old_port, old_url = first.simulator.port, job.result.original_image_url
    first.close()

    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", old_port))  # another program holds last run's port
    squatter.listen()
    try:
        second = runtime.start(home=tmp_path, sim_speed=100)
        try:
            assert second.simulator.port != old_port
            fresh = tmp_path / "fresh-cache"
            cache = runtime.SimulatorImageCache(fresh, second.simulator)
            assert cache.get(old_url).read_bytes() == job.image_paths["grid"].read_bytes()
        finally:
            second.close()
    finally:
        squatter.close()


def test_the_simulator_asks_for_its_last_port_again(tmp_path):
    first = runtime.start(home=tmp_path, sim_speed=100)
    port = first.simulator.port
    first.close()
    second = runtime.start(home=tmp_path, sim_speed=100)
    try:
        assert second.simulator.port == port
    finally:
        second.close()
