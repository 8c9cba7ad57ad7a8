"""Which frontend runs the kernel, and whether a cell waits for its jobs: only a live frontend
(a Jupyter server's kernel, VS Code) gets a cell that returns at once; nbclient / papermill,
Colab and terminals wait, unless --wait / --no-wait, $APIFRAME_MAGIC_WAIT or Imagine.wait say
otherwise. The magic's own behaviour in a live kernel is in test_magic_live.py."""
from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from apiframe_magic.ipython import frontend
from apiframe_magic.ipython.commands import _should_wait


class ZMQInteractiveShell:
    """Named as ipykernel's shell: what `frontend` looks for, without starting a kernel."""

    def __init__(self, user_ns=None):
        self.user_ns = user_ns or {}


class SubclassOfTheKernelShell(ZMQInteractiveShell):
    pass


def kernel(user_ns=None, cls=ZMQInteractiveShell):
    return cls(user_ns)


@pytest.fixture(autouse=True)
def _no_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.mark.parametrize("environ, expected", [
    ({"JPY_SESSION_NAME": "a.ipynb"}, frontend.LIVE),
    ({"JPY_SESSION_NAME": "a.ipynb", "JPY_PARENT_PID": "1"}, frontend.LIVE),
    ({"VSCODE_PID": "9"}, frontend.LIVE),
    ({"VSCODE_PID": "9", "JPY_PARENT_PID": "1"}, frontend.LIVE),
    ({"JPY_PARENT_PID": "12"}, frontend.HEADLESS),
    ({"JPY_SESSION_NAME": "", "JPY_PARENT_PID": "12"}, frontend.HEADLESS),
    ({}, frontend.LIVE),                     # a kernel with no marker: a person is looking
])
def test_a_kernel_is_told_apart_by_its_environment(environ, expected):
    assert frontend.detect(kernel(), environ) == expected


def test_a_vscode_notebook_is_live_by_its_namespace_marker():
    shell = kernel({"__vsc_ipynb_file__": "/x/a.ipynb"})
    assert frontend.detect(shell, {"JPY_PARENT_PID": "1"}) == frontend.LIVE


def test_a_kernel_without_a_namespace_is_judged_by_its_environment():
    class ZMQInteractiveShell:          # noqa: N801 - the name is what is looked for
        pass

    assert frontend.detect(ZMQInteractiveShell(), {"JPY_PARENT_PID": "1"}) == frontend.HEADLESS


def test_a_subclass_of_the_kernel_shell_is_a_kernel():
    assert frontend.detect(kernel(cls=SubclassOfTheKernelShell), {"JPY_PARENT_PID": "1"}) == \
        frontend.HEADLESS


def test_a_shell_that_is_not_a_kernel_is_a_terminal_whatever_the_environment():
    terminal = InteractiveShell.__new__(InteractiveShell)
    assert frontend.detect(terminal, {"JPY_SESSION_NAME": "a.ipynb"}) == frontend.TERMINAL
    assert frontend.detect(None, {"JPY_SESSION_NAME": "a.ipynb"}) == frontend.TERMINAL


def test_colab_wins_over_everything(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert frontend.detect(kernel(), {"JPY_SESSION_NAME": "a.ipynb"}) == frontend.COLAB
    assert frontend.detect(None, {}) == frontend.COLAB


def test_the_process_environment_is_read_by_default(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("VSCODE_PID", raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    assert frontend.detect(kernel()) == frontend.HEADLESS
    monkeypatch.setenv("JPY_SESSION_NAME", "a.ipynb")
    assert frontend.detect(kernel()) == frontend.LIVE


@pytest.mark.parametrize("kind, waits, widgets", [
    (frontend.LIVE, False, True),
    (frontend.HEADLESS, True, False),
    (frontend.COLAB, True, False),
    (frontend.TERMINAL, True, False),
])
def test_only_a_live_frontend_returns_at_once_and_shows_widgets(kind, waits, widgets):
    assert frontend.waits_by_default(kind) is waits
    assert frontend.shows_widgets(kind) is widgets


# ---------------------------------------------------------------------- the wait policy


def magics(wait="auto", mode="widgets", kind=frontend.LIVE):
    return SimpleNamespace(wait=wait, presenter=SimpleNamespace(mode=mode, frontend=kind))


def args(wait=False, no_wait=False):
    return argparse.Namespace(wait=wait, no_wait=no_wait)


@pytest.fixture(autouse=True)
def _no_forced_wait(monkeypatch):
    monkeypatch.delenv("APIFRAME_MAGIC_WAIT", raising=False)


@pytest.mark.parametrize("kind, mode, expected", [
    (frontend.LIVE, "widgets", False),
    (frontend.LIVE, "static", False),
    (frontend.LIVE, "text", True),           # text output cannot update: wait and print
    (frontend.HEADLESS, "static", True),
    (frontend.COLAB, "widgets", True),
    (frontend.TERMINAL, "text", True),
])
def test_auto_waits_where_updates_cannot_be_seen(kind, mode, expected):
    assert _should_wait(magics(mode=mode, kind=kind), args()) is expected


def test_the_options_win_over_everything(monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", "never")
    assert _should_wait(magics(wait="never"), args(wait=True)) is True
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", "1")
    assert _should_wait(magics(wait="always", kind=frontend.HEADLESS), args(no_wait=True)) is False


@pytest.mark.parametrize("value", ["1", "true", "yes", "always", " Always "])
def test_the_environment_forces_waiting_over_the_configuration(monkeypatch, value):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", value)
    assert _should_wait(magics(wait="never"), args()) is True


@pytest.mark.parametrize("value", ["0", "false", "no", "never", "NO"])
def test_the_environment_forces_not_waiting_over_the_configuration(monkeypatch, value):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", value)
    assert _should_wait(magics(wait="always", mode="text", kind=frontend.TERMINAL), args()) \
        is False


def test_an_unknown_environment_value_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", "sometimes")
    with pytest.raises(UsageError, match="^APIFRAME_MAGIC_WAIT must be one of 1, true, yes, "
                                         "always, 0, false, no, never, got 'sometimes'$"):
        _should_wait(magics(wait="auto", kind=frontend.LIVE), args())


@pytest.mark.parametrize("wait, kind, expected", [
    ("always", frontend.LIVE, True),
    ("never", frontend.HEADLESS, False),
    ("never", frontend.TERMINAL, False),
])
def test_the_configuration_wins_over_the_frontend(wait, kind, expected):
    assert _should_wait(magics(wait=wait, mode="static", kind=kind), args()) is expected
