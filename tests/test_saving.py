"""Paid work can always be saved: the output directory is checked before anything is sent, a
failed save is a message, and `save TASK_ID [DIR]` saves any finished task later."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from apiframe_magic import runtime
from apiframe_magic.images import SaveLocationError, check_writable_dir
from apiframe_magic.saving import SaveTaskError, find_task, save_task
from apiframe_magic.simulator import Simulator
from apiframe_magic.store import HistoryStore
from clirun import ROOT, one_line_error, run_cli


@pytest.fixture
def online_sim():
    """A slow simulator (speed 1) whose clock the test moves: tasks finish when it says."""
    with Simulator(speed=1) as sim:
        yield sim


def finish_all(sim):
    for task_id in sim.task_ids():
        sim.clock.advance(max(0.0, sim.finished_at(task_id) - time.time()) * sim.speed + 0.01)


# ------------------------------------------------------------------------------ the check

def test_check_writable_dir_creates_a_missing_directory(tmp_path):
    assert check_writable_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir() and not any((tmp_path / "a" / "b").iterdir())


def test_check_writable_dir_explains_each_refusal(tmp_path, unwritable_dir):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(SaveLocationError, match="it is a file, not a directory"):
        check_writable_dir(a_file)
    with pytest.raises(SaveLocationError, match="not a directory"):
        check_writable_dir(a_file / "inside")
    refused = r"(permission denied|operation not permitted|read-only file system)"
    with pytest.raises(SaveLocationError, match=rf"Cannot save images into \S+: {refused}\. "
                                                r"Choose a directory you can write to"):
        check_writable_dir(unwritable_dir)


@pytest.mark.parametrize("where", ["file", "under_file", "unwritable"])
def test_imagine_checks_the_output_directory_before_sending(online_sim, tmp_path, where,
                                                            unwritable_dir):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    out = {"file": a_file, "under_file": a_file / "sub", "unwritable": unwritable_dir}[where]
    line = one_line_error(run_cli("imagine", "a red fox", "-o", out, sim=online_sim))
    assert line.startswith("error: Cannot save images into")
    assert online_sim.tasks_created == 0 and online_sim.request_counts == {}


# ------------------------------------------------------------------------------ save later

def _pngs(stdout: str) -> list[Path]:
    return [Path(line.strip()) for line in stdout.splitlines() if line.strip().endswith(".png")]


def test_a_save_that_fails_after_paying_is_a_message_and_save_recovers_it(online_sim, tmp_path):
    """The output directory is replaced by a file while the task runs: the run ends with a
    message naming the save command, and that command then saves from the cache alone."""
    home, out = tmp_path / "home", tmp_path / "out"
    env = {"APIFRAME_MAGIC_HOME": str(home), "APIFRAME_API_KEY": online_sim.api_key,
           "APIFRAME_BASE_URL": online_sim.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "apiframe_magic.cli", "imagine",
                                "a lighthouse at dusk", "-o", str(out)],
                               env={**os.environ, **env}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    deadline = time.time() + 60
    while online_sim.tasks_created == 0:
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.02)
    shutil.rmtree(out)
    out.write_text("someone else's file")
    finish_all(online_sim)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr and "it is a file" in stderr
    task_id = online_sim.task_ids()[0]
    assert f"apiframe-magic save {task_id}" in stderr

    online_sim.stop()  # from here on only the history and the image cache can help
    saved = run_cli("save", task_id[:8], tmp_path / "later",
                    env_extra={"APIFRAME_MAGIC_HOME": str(home),
                               "APIFRAME_API_KEY": online_sim.api_key,
                               "APIFRAME_BASE_URL": online_sim.url})
    assert saved.returncode == 0, saved.stderr
    paths = _pngs(saved.stdout)
    assert [p.name for p in paths] == [f"{task_id}_{name}.png"
                                       for name in ("grid", "1", "2", "3", "4")]
    assert all(p.parent == tmp_path / "later" and Image.open(p).size for p in paths)


def test_save_fetches_and_downloads_a_task_submitted_without_waiting(online_sim, tmp_path):
    env = {"APIFRAME_MAGIC_HOME": str(tmp_path / "home")}
    submitted = run_cli("imagine", "a paper boat --ar 3:2", "--no-wait", sim=online_sim,
                        env_extra=env)
    assert submitted.returncode == 0, submitted.stderr
    [task_id] = online_sim.task_ids()

    early = run_cli("save", task_id, tmp_path / "o", sim=online_sim, env_extra=env)
    assert "is still" in one_line_error(early, 1) and "resume" in early.stderr

    finish_all(online_sim)
    saved = run_cli("save", task_id, tmp_path / "o", sim=online_sim, env_extra=env)
    assert saved.returncode == 0, saved.stderr
    paths = _pngs(saved.stdout)
    assert len(paths) == 5
    width, height = Image.open(paths[0]).size
    assert abs(width / height - 1.5) < 0.02
    history = run_cli("history", sim=online_sim, env_extra=env)
    assert "finished" in history.stdout  # the save taught the history


def test_save_of_an_unknown_id_is_a_message(online_sim, tmp_path):
    env = {"APIFRAME_MAGIC_HOME": str(tmp_path / "home")}
    assert "No task 'nope'" in one_line_error(
        run_cli("save", "nope", tmp_path, sim=online_sim, env_extra=env), 1)


def test_an_ambiguous_prefix_asks_for_more_of_the_id(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        for task_id in ("abc-111", "abc-222"):
            store.mark_submitted(store.record_submitting("imagine", {"prompt": "x"}), task_id)
        with pytest.raises(SaveTaskError, match="matches 2 tasks"):
            find_task(store, "abc")
        assert find_task(store, "abc-2").task_id == "abc-222"


def test_save_task_is_the_function_the_notebook_calls(online_sim, tmp_path):
    rt = runtime.start(online_sim.api_key, base_url=online_sim.url, home=tmp_path / "home")
    try:
        job = rt.manager.imagine("a glass of water")
        finish_all(online_sim)
        job.wait(timeout=60, images=True)
        paths = save_task(rt, job.task_id[:6], tmp_path / "nb")
        assert len(paths) == 5 and all(p.is_file() for p in paths)
        with pytest.raises(SaveLocationError):
            save_task(rt, job.task_id, paths[0])
        with pytest.raises(SaveTaskError, match="No task"):
            save_task(rt, "zzz", tmp_path / "nb")
    finally:
        rt.close()
