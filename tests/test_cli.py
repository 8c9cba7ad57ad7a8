"""The command line as a new user runs it: no key, embedded simulator, files on disk."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image


def run_cli(*args, env_extra=None, cwd=None, timeout=120):
    env = {**os.environ, "APIFRAME_SIM_SPEED": "100", **(env_extra or {})}
    env.pop("APIFRAME_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "apiframe_magic.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def test_imagine_without_a_key_saves_five_images_of_the_right_shape(tmp_path):
    done = run_cli("imagine", "a sunflower field in the wind --ar 3:2 --sref random",
                   "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "offline simulator" in done.stderr
    assert "100%" in done.stderr
    paths = [Path(line.strip()) for line in done.stdout.splitlines()
             if line.strip().endswith(".png")]
    assert len(paths) == 5
    for path in paths:
        width, height = Image.open(path).size
        assert abs(width / height - 1.5) < 0.02
    assert "sref:" in done.stdout


def test_invalid_prompt_fails_fast_and_costs_nothing(tmp_path):
    done = run_cli("imagine", "a cat --stylise 200", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "--stylize" in done.stderr  # did-you-mean
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_history_fetch_and_account(tmp_path):
    env = {"APIFRAME_MAGIC_HOME": str(tmp_path / "home")}
    assert run_cli("imagine", "a quiet harbour", "--out", str(tmp_path / "o"),
                   env_extra=env).returncode == 0
    history = run_cli("history", env_extra=env)
    assert history.returncode == 0 and "a quiet harbour" in history.stdout
    assert "finished" in history.stdout
    account = run_cli("account", env_extra=env)
    assert account.returncode == 0 and "credits:" in account.stdout
    missing = run_cli("fetch", "00000000-0000-4000-8000-000000000000", env_extra=env)
    assert missing.returncode == 1 and "does not know this task" in missing.stderr


def test_simulator_subcommand_serves_the_api(tmp_path):
    import requests

    env = {**os.environ}
    server = subprocess.Popen([sys.executable, "-m", "apiframe_magic.cli", "simulator",
                               "--port", "0", "--speed", "100", "--api-key", "k-123"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        line = server.stdout.readline()
        url = next(word for word in line.split() if word.startswith("http://127.0.0.1:"))
        answer = requests.post(url + "/imagine", json={"prompt": "a cat"},
                               headers={"Authorization": "k-123"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["task_id"]
        wrong = requests.get(url + "/account", headers={"Authorization": "nope"}, timeout=5)
        assert wrong.status_code == 401 and wrong.json() == {}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_imagine_version_option_makes_version_rules_errors(tmp_path):
    done = run_cli("imagine", "a knight --cref https://example.com/k.png", "--version", "7",
                   "--out", str(tmp_path))
    assert done.returncode == 2
    assert "--cref is not compatible with --version 7" in done.stderr
    assert not any(tmp_path.iterdir())


def test_imagine_assumes_the_current_default_version_and_only_warns(capsys):
    from apiframe_magic.cli import _validated_plan
    from apiframe_magic.prompt import CURRENT_DEFAULT_VERSION

    plan = _validated_plan("a knight --cref https://example.com/k.png", 40)
    assert [str(p) for p in plan.prompts] == ["a knight --cref https://example.com/k.png"]
    assert f"--cref is not compatible with --version {CURRENT_DEFAULT_VERSION}" in (
        capsys.readouterr().err)


def test_imagine_counts_repeat_in_the_job_limit(tmp_path):
    done = run_cli("imagine", "a {red, blue} fox --r 30", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "make 60 jobs; the limit is 40" in done.stderr



def test_a_paid_run_counts_each_repeat_as_a_task(sim, tmp_path):
    from clirun import one_line_error, run_cli as run_paid

    env = {"APIFRAME_MAGIC_HOME": str(tmp_path)}
    line = one_line_error(run_paid("imagine", "a {red, blue} cat --r 3", "--no-wait",
                                   sim=sim, env_extra=env))
    assert "6 tasks for 24 credits" in line
    assert sim.tasks_created == 0
