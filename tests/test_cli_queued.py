"""The CLI never says "submitted" for a job that is not, names the jobs it never sent (at exit and
after Ctrl-C), and offline `resume`/`fetch` work in a later process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from test_cli import run_cli


def _home(tmp_path):
    return {"APIFRAME_MAGIC_HOME": str(tmp_path / "home")}


def test_no_wait_reports_unsent_jobs_and_resume_sends_them_only_when_asked(tmp_path):
    env = _home(tmp_path)
    done = run_cli("imagine", "a {red, green, blue} {cat, dog} in snow", "--no-wait",
                   "--max-in-flight", "2", env_extra=env)
    submitted = [line for line in done.stderr.splitlines() if line.startswith("submitted ")]
    assert len(submitted) == 2
    assert "never sent: 4 job(s)" in done.stderr and "--send-queued" in done.stderr
    assert done.returncode == 1
    task_id = submitted[0].split()[1].rstrip(":")

    fetched = run_cli("fetch", task_id, env_extra=env)  # a later process, offline
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith(task_id)

    listed = run_cli("resume", "-o", str(tmp_path / "out"), env_extra=env)
    assert listed.returncode == 0, listed.stderr
    assert "4 job(s) were asked for and never sent" in listed.stderr
    assert "resuming 2 task(s)" in listed.stderr and "sending" not in listed.stderr
    assert "queued" in run_cli("history", env_extra=env).stdout

    sent = run_cli("resume", "--send-queued", "-o", str(tmp_path / "out"), env_extra=env)
    assert sent.returncode == 0, sent.stderr
    assert "sending 4 queued job(s)" in sent.stderr
    assert sum(line.startswith("submitted ") for line in sent.stderr.splitlines()) == 4
    history = run_cli("history", env_extra=env).stdout.splitlines()
    assert len(history) == 6 and all(" finished " in line for line in history)
    assert len(list((tmp_path / "out").glob("*.png"))) == 30


def test_ctrl_c_names_the_jobs_that_were_never_sent(tmp_path):
    env = {**os.environ, "APIFRAME_SIM_SPEED": "1", **_home(tmp_path)}
    env.pop("APIFRAME_API_KEY", None)
    run = subprocess.Popen([sys.executable, "-m", "apiframe_magic.cli", "imagine",
                            "a {red, green, blue} kite", "--max-in-flight", "1"],
                           env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for line in run.stderr:
            if line.startswith("submitted "):
                break
        run.send_signal(signal.SIGINT)
        _, rest = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130
    assert "interrupted" in rest and "never sent: 2 job(s)" in rest
    assert "a green kite" in rest and "a blue kite" in rest
    history = run_cli("history", env_extra=_home(tmp_path)).stdout
    assert history.count(" queued ") == 2 and history.count(" active ") == 1
