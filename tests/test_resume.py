"""Nothing lost: a process killed right after submitting; a new process resumes every task."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

SUBMIT_THEN_HANG = """
import time
from apiframe_magic import runtime
rt = runtime.start()
ids = [rt.manager.imagine(f"resume me {i}").task_id for i in range(3)]
print(" ".join(ids), flush=True)
time.sleep(60)   # killed here, like a kernel that dies mid-work
"""

RESUME = """
import json
from apiframe_magic import runtime
rt = runtime.start()
jobs = rt.manager.resume()
for job in jobs:
    job.wait(timeout=30, images=True)
print(json.dumps({j.task_id: [j.state, sorted(j.image_paths)] for j in jobs}))
rt.close()
"""


def _env(sim, tmp_path):
    return {**os.environ, "APIFRAME_MAGIC_HOME": str(tmp_path / "home"),
            "APIFRAME_API_KEY": sim.api_key, "APIFRAME_BASE_URL": sim.url}


def _kill_after_submit_then_resume(env) -> None:
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
        assert state == "finished"
        assert images == ["1", "2", "3", "4", "grid"]


def test_kill_after_submit_then_resume_in_a_new_process(sim, tmp_path):
    _kill_after_submit_then_resume(_env(sim, tmp_path))
    assert sim.tasks_created == 3  # resuming never resubmits


def test_offline_kill_after_submit_then_resume_in_a_new_process(tmp_path):
    """Without a key: the embedded simulator of the second process remembers the first's tasks,
    which went on (and finished) while no process ran."""
    env = {**os.environ, "APIFRAME_MAGIC_HOME": str(tmp_path / "home"),
           "APIFRAME_SIM_SPEED": "100"}
    env.pop("APIFRAME_API_KEY", None)
    _kill_after_submit_then_resume(env)


def test_resume_has_nothing_to_do_the_second_time(sim, tmp_path):
    env = _env(sim, tmp_path)
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", RESUME], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
