"""README's test command on a machine without Chromium: the browser tests look for one and skip
with one line saying how to get one; under CI (CI=true) a missing browser fails them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
from browser import harness  # the package as the browser tests' conftest imports it

# Loaded with -p into a pytest run: it hides every browser this machine may have.
NO_BROWSER_PLUGIN = f"""
import os, sys
sys.path.insert(0, {str(TESTS)!r})
from browser import harness
harness.CHROMIUM_PATHS = ()
harness.CHROMIUM_COMMANDS = ()
os.environ["PLAYWRIGHT_BROWSERS_PATH"] = os.environ["EMPTY_DIR"]
"""


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """A machine with no browser anywhere find_chromium looks."""
    monkeypatch.setattr(harness, "CHROMIUM_PATHS", ())
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    (tmp_path / "bin").mkdir()
    return tmp_path


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_no_browser_is_none(nowhere):
    assert harness.find_chromium() is None


@pytest.mark.parametrize("command", ["chromium-browser", "google-chrome"])
def test_a_browser_on_path_is_found(nowhere, command):
    browser = _executable(nowhere / "bin" / command)
    assert harness.find_chromium() == str(browser)


def test_playwrights_own_download_is_found(nowhere):
    build = _executable(nowhere / "ms-playwright" / "chromium-1200" / "chrome-linux64" / "chrome")
    assert harness.find_chromium() == str(build)


def _run_browser_tests(tmp_path, ci: bool) -> subprocess.CompletedProcess:
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "no_browser_here.py").write_text(NO_BROWSER_PLUGIN)
    (tmp_path / "empty").mkdir()
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path / "plugin"), env.get("PYTHONPATH", "")]),
               EMPTY_DIR=str(tmp_path / "empty"), **({"CI": "true"} if ci else {}))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no_browser_here", "-p", "no:randomly",
         "-p", "no:cacheprovider", str(TESTS / "browser" / "test_browser_harness.py")],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300)


def test_without_a_browser_the_browser_tests_skip_with_how_to_get_one(tmp_path):
    run = _run_browser_tests(tmp_path, ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "skipped" in run.stdout and "passed" not in run.stdout
    assert "apt-get install -y chromium" in run.stdout


def test_under_ci_a_missing_browser_fails(tmp_path):
    run = _run_browser_tests(tmp_path, ci=True)
    assert run.returncode != 0
    assert "CI=true and no Chromium found" in run.stdout
