"""The data directory: private from the moment it exists, a clear message when it cannot be
used, and a failed start leaves no simulator behind."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from apiframe_magic import runtime
from apiframe_magic.store import DataDirError, HistoryStore
from clirun import one_line_error, run_cli


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_directory_runtime_creates_is_0700(tmp_path, umask_022):
    home = tmp_path / "new" / "deeper" / "home"
    rt = runtime.start(home=home)
    try:
        job = rt.manager.imagine("a pale moon")
        job.wait(timeout=60, images=True)
        assert job.image_paths
    finally:
        rt.close()
    made = [tmp_path / "new", tmp_path / "new" / "deeper"] + \
        [path for path in [home, *home.rglob("*")] if path.is_dir()]
    assert {home / "simulator", home / "images" / "objects"} <= set(made)
    assert any(path.parent.name == "objects" for path in made)   # objects/ab/
    assert {str(path): oct(_mode(path)) for path in made} == \
        {str(path): oct(0o700) for path in made}


def test_a_history_in_new_nested_directories_makes_them_all_private(tmp_path, umask_022):
    with HistoryStore(tmp_path / "a" / "b" / "h.sqlite3"):
        pass
    assert _mode(tmp_path / "a") == _mode(tmp_path / "a" / "b") == 0o700


def test_an_existing_directory_keeps_its_mode(tmp_path, umask_022):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    with HistoryStore(shared / "h.sqlite3"):
        pass
    assert _mode(shared) == 0o755


def _simulator_threads():
    return [t for t in threading.enumerate()
            if t.name in ("apiframe-simulator", "sim-webhooks") and t.is_alive()]


def test_an_unusable_home_names_the_variable_and_stops_the_simulator(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(blocker / "home"))
    before = set(_simulator_threads())
    with pytest.raises(DataDirError) as info:
        runtime.start()
    assert "APIFRAME_MAGIC_HOME" in str(info.value) and "not a directory" in str(info.value)
    for thread in set(_simulator_threads()) - before:
        thread.join(timeout=5)
    assert set(_simulator_threads()) - before == set()


def test_the_cli_says_which_variable_to_set(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for command in (["history"], ["imagine", "a cat", "-o", str(tmp_path / "o")]):
        line = one_line_error(run_cli(*command,
                                      env_extra={"APIFRAME_MAGIC_HOME": str(blocker / "h")}))
        assert "APIFRAME_MAGIC_HOME" in line and str(blocker) in line
