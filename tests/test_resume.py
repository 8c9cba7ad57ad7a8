"""Nothing lost: a process killed right after submitting; a new process resumes every task."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest


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


# ------------------------------------------------------------------------------ reopening a record


def _manager(client, store, images):
    from apiframe_magic.jobs import JobManager, PollingPolicy

    return JobManager(client, store=store, images=images, policy=PollingPolicy().scaled(100))


def test_reopen_gives_the_tracked_job_itself(client, store, images):
    with _manager(client, store, images) as manager:
        job = manager.imagine("a fox in this kernel")
        assert manager.reopen(store.get(job.job_id)) is job


def test_reopen_rebuilds_an_ended_job_from_disk_with_its_images(client, store, images):
    with _manager(client, store, images) as first:
        ended = first.imagine("a fox from yesterday")
        ended.wait(timeout=30, images=True)
    for path in ended.image_paths.values():
        path.unlink()                                   # the cache lost them: fetched again
    with _manager(client, store, images) as second:
        job = second.reopen(store.get(ended.job_id))
        assert job.state == "finished" and job.ended_event.is_set() and job.images_event.is_set()
        assert job.task_id == ended.task_id and job.prompt == ended.prompt
        assert job.wait(timeout=0.1).original_image_url == ended.result.original_image_url
        assert sorted(job.image_paths) == sorted(ended.image_paths)
        assert all(path.is_file() for path in job.image_paths.values())
        assert second.reopen(store.get(ended.job_id)) is job    # one Job per record


def test_reopen_polls_a_task_still_running_that_no_one_tracks(sim, client, store,
                                                              images):
    with _manager(client, store, images) as first:
        sent = first.imagine("a fox left running")
    assert store.get(sent.job_id).state == "active"     # the kernel went away mid-job
    with _manager(client, store, images) as second:
        job = second.reopen(store.get(sent.job_id))
        assert job.task_id == sent.task_id
        assert job.wait(timeout=30).image_urls
    assert store.get(sent.job_id).state == "finished" and sim.tasks_created == 1


def test_reopen_of_a_job_never_sent_says_how_to_send_it(client, store, images):
    from apiframe_magic.errors import ApiframeError

    job_id = store.record_queued("imagine", {"prompt": "a fox not sent"}, prompt="a fox not sent")
    with _manager(client, store, images) as manager, \
            pytest.raises(ApiframeError, match="is queued and has no result yet: "
                                               "`%imagine resume --send-queued` sends it"):
        manager.reopen(store.get(job_id))
