"""Argument edges: every bad value is a one-line error with exit code 2 (a typed error from
Python), nothing is started or sent; paid runs above a threshold ask first, saying the credits."""
from __future__ import annotations

import json
import math
import os
import pty
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from apiframe_magic import ApiframeClient, runtime
from apiframe_magic.cli import build_parser
from apiframe_magic.errors import InvalidArgumentError, InvalidResponseError
from apiframe_magic.simulator import Simulator
from clirun import ROOT, one_line_error, run_cli
from localserver import local_server


@pytest.mark.parametrize("argv, env, words", [
    (["history", "-n", "-5"], {}, "-n/--limit: must be >= 1, got -5"),
    (["history", "-n", "0"], {}, "must be >= 1"),
    (["history", "-n", "many"], {}, "expected a whole number"),
    (["imagine", "a cat", "--max-jobs", "-1"], {}, "--max-jobs: must be >= 1"),
    (["imagine", "a cat", "--confirm-above", "-2"], {}, "--confirm-above: must be >= 0"),
    (["--sim-speed", "-1", "history"], {}, "--sim-speed: must be a finite number > 0"),
    (["--sim-speed", "nan", "history"], {}, "--sim-speed: must be a finite number > 0"),
    (["--sim-speed", "inf", "history"], {}, "--sim-speed: must be a finite number > 0"),
    (["--sim-speed", "0", "history"], {}, "--sim-speed: must be a finite number > 0"),
    (["simulator", "--port", "70000"], {}, "--port: must be from 0 to 65535, got 70000"),
    (["simulator", "--port", "-1"], {}, "--port: must be from 0 to 65535"),
    (["simulator", "--speed", "-3"], {}, "--speed: must be a finite number > 0"),
    (["history"], {"APIFRAME_SIM_SPEED": "-3"}, "APIFRAME_SIM_SPEED must be a finite number"),
    (["history"], {"APIFRAME_SIM_SPEED": "inf"}, "APIFRAME_SIM_SPEED must be a finite number"),
    (["history"], {"APIFRAME_SIM_SPEED": "fast"}, "APIFRAME_SIM_SPEED must be a finite number"),
    (["imagine", "a cat"], {"APIFRAME_CONFIRM_ABOVE": "-1"}, "APIFRAME_CONFIRM_ABOVE"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, env, words, tmp_path):
    line = one_line_error(run_cli(*argv, env_extra={"APIFRAME_MAGIC_HOME": str(tmp_path), **env}))
    assert words in line
    assert not (tmp_path / "simulator").exists()   # nothing was started


# The simulator's options, written out here: both entry points must take exactly these.
SIMULATOR_OPTIONS = ["--api-key", "--concurrency", "--credits", "--port", "--seed", "--speed",
                     "--verbose"]
SIMULATOR_ENTRY_POINTS = [("apiframe_magic.simulator",), ("apiframe_magic.cli", "simulator")]


def _run_module(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", *argv], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("entry", SIMULATOR_ENTRY_POINTS)
def test_both_simulator_entry_points_take_the_same_options(entry):
    usage = _run_module(*entry, "--help").stdout.split("options:")[0]
    assert sorted(set(re.findall(r"\[(--[a-z-]+)", usage))) == SIMULATOR_OPTIONS


@pytest.mark.parametrize("entry", SIMULATOR_ENTRY_POINTS)
@pytest.mark.parametrize("argv, words", [
    (["--concurrency", "0"], "--concurrency: must be >= 1, got 0"),
    (["--credits", "-5"], "--credits: must be >= 0, got -5"),
    (["--port", "70000"], "--port: must be from 0 to 65535, got 70000"),
    (["--speed", "nan"], "--speed: must be a finite number > 0"),
])
def test_both_simulator_entry_points_refuse_a_bad_option_alike(entry, argv, words):
    assert words in one_line_error(_run_module(*entry, *argv))


@pytest.mark.parametrize("url, words", [
    ("{sim}/?token=1", "has a query"),
    ("{sim}#frag", "has a fragment"),
    ("http://user:pw@127.0.0.1:1", "a user name or password"),
    ("http://127.0.0.1:99999", "a port that is not a number from 0 to 65535"),
    ("ftp://127.0.0.1", "must start with http:// or https://"),
])
def test_a_base_url_that_cannot_be_an_api_root_is_refused(sim, url, words):
    url = url.format(sim=sim.url)
    line = one_line_error(run_cli("account", env_extra={"APIFRAME_API_KEY": sim.api_key,
                                                        "APIFRAME_BASE_URL": url}))
    assert words in line and "pw" not in line
    with pytest.raises(InvalidArgumentError, match=words.split()[-1]):
        ApiframeClient(sim.api_key, base_url=url)
    assert sim.request_counts == {}


def test_python_callers_get_typed_errors_and_no_simulator_is_left_running(tmp_path):
    for speed in (-1, 0, math.nan, math.inf):
        with pytest.raises(ValueError, match="finite number > 0"):
            Simulator(speed=speed)
        with pytest.raises(InvalidArgumentError, match="sim_speed must be a finite number"):
            runtime.start(sim_speed=speed, home=tmp_path)
    for port in (-1, 65536, 1e3):
        with pytest.raises(ValueError, match="port must be a whole number from 0 to 65535"):
            Simulator(port=port)
    assert not any(t.name == "apiframe-simulator" and t.is_alive()
                   for t in threading.enumerate())


# ------------------------------------------------------------------------------ /account shape

class _Account(BaseHTTPRequestHandler):
    body = b"{}"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def account_server():
    with local_server(_Account) as url:
        yield url


@pytest.mark.parametrize("body", [[], {}, {"credits": "lots"}, {"credits": True},
                                  {"credits": 1.5}, {"credits": None},
                                  {"credits": 5, "total_images": "many"}, "12000"])
def test_an_account_answer_of_the_wrong_shape_is_an_error_not_a_blank(account_server, body):
    _Account.body = json.dumps(body).encode()
    with ApiframeClient("acct-key-0123", base_url=account_server) as client:
        with pytest.raises(InvalidResponseError, match="/account"):
            client.account()
    line = one_line_error(run_cli("account", env_extra={"APIFRAME_API_KEY": "acct-key-0123",
                                                        "APIFRAME_BASE_URL": account_server}), 1)
    assert "/account" in line


def test_a_well_formed_account_answer_still_reads(account_server):
    _Account.body = json.dumps({"email": "a@b.c", "credits": "12000", "total_images": 695,
                                "plan": "starter"}).encode()
    with ApiframeClient("acct-key-0123", base_url=account_server) as client:
        assert client.account().credits == 12000


# ------------------------------------------------------------------------------ confirmation

FIVE = "a {red,green,blue,pink,gold} cat"


def test_a_large_paid_run_without_yes_sends_nothing_and_says_the_credits(sim, tmp_path):
    env = {"APIFRAME_MAGIC_HOME": str(tmp_path)}
    line = one_line_error(run_cli("imagine", FIVE, "--no-wait", sim=sim, env_extra=env))
    assert "5 tasks for 20 credits" in line and "--yes" in line
    line = one_line_error(run_cli("imagine", "a {red,green,blue} cat", "--no-wait",
                                  "--confirm-above", "2", sim=sim, env_extra=env))
    assert "3 tasks for 12 credits" in line
    assert sim.tasks_created == 0 and sim.request_counts == {}


def test_yes_or_a_higher_threshold_lets_it_through(sim, tmp_path):
    env = {"APIFRAME_MAGIC_HOME": str(tmp_path)}
    assert run_cli("imagine", FIVE, "--no-wait", "--yes", sim=sim,
                   env_extra=env).returncode == 0
    assert sim.tasks_created == 5
    assert run_cli("imagine", FIVE, "--no-wait", sim=sim,
                   env_extra={**env, "APIFRAME_CONFIRM_ABOVE": "5"}).returncode == 0
    assert sim.tasks_created == 10


def test_offline_runs_cost_nothing_and_never_ask(tmp_path):
    done = run_cli("imagine", FIVE, "--no-wait", env_extra={"APIFRAME_MAGIC_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "tasks for" not in done.stderr and "--yes" not in done.stderr


@pytest.mark.parametrize("answer, created", [("y", 5), ("n", 0), ("", 0)])
def test_on_a_terminal_the_question_is_asked(sim, tmp_path, answer, created):
    controller, terminal = pty.openpty()
    env = {**os.environ, "APIFRAME_MAGIC_HOME": str(tmp_path), "APIFRAME_API_KEY": sim.api_key,
           "APIFRAME_BASE_URL": sim.url, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "apiframe_magic.cli", "imagine", FIVE,
                                "--no-wait"], stdin=terminal, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, text=True)
    os.close(terminal)
    os.write(controller, (answer + "\n").encode())
    stdout, stderr = process.communicate(timeout=60)
    os.close(controller)
    assert "Submit 5 tasks for 20 credits on your APIFRAME account? [y/N]" in stderr
    assert sim.tasks_created == created
    assert process.returncode == (0 if created else 2)


# ------------------------------------------------------------------------------ help

def test_every_option_and_argument_has_help_text():
    parser = build_parser()
    parsers = [parser] + [choice for action in parser._actions
                          if isinstance(action, type(parser._subparsers._group_actions[0]))
                          for choice in action.choices.values()]
    missing = [f"{p.prog} {action.dest}" for p in parsers for action in p._actions
               if action.dest not in ("help", "command") and not action.help]
    assert missing == []
    assert len(parsers) == 10  # the program and its 9 commands
