"""Offline, across runs: the embedded simulator of `runtime.start()` remembers its tasks, its key
and (when it can) its port, so resume, fetch and recorded image URLs keep working, including after
a process was killed mid-task."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

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


SUBMIT_THEN_HANG = """
import time
from apiframe_magic import runtime
rt = runtime.start(sim_speed=20)
ids = [rt.manager.imagine(f"offline resume me {i}").task_id for i in range(3)]
print(" ".join(ids), flush=True)
time.sleep(60)   # killed here, like a kernel that dies mid-work
"""

RESUME = """
import json
from apiframe_magic import runtime
rt = runtime.start(sim_speed=100)
jobs = rt.manager.resume()
for job in jobs:
    job.wait(timeout=30, images=True)
print(json.dumps({j.task_id: [j.state, sorted(j.image_paths)] for j in jobs}))
rt.close()
"""


def test_offline_kill_after_submit_then_resume_in_a_new_process(tmp_path):
    env = {**os.environ, "APIFRAME_MAGIC_HOME": str(tmp_path / "home")}
    env.pop("APIFRAME_API_KEY", None)
    first = subprocess.Popen([sys.executable, "-c", SUBMIT_THEN_HANG], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        ids = first.stdout.readline().split()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert len(ids) == 3
    second = subprocess.run([sys.executable, "-c", RESUME], env=env, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    resumed = json.loads(second.stdout.strip().splitlines()[-1])
    assert set(resumed) == set(ids)
    for state, images in resumed.values():
        assert state == "finished" and images == ["1", "2", "3", "4", "grid"]
