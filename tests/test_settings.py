"""The settings leaf: each environment setting has one name, one default and one check, shared
by the CLI, the runtime and the magic; it loads nothing heavy; one test of "is this a link"."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import apiframe_magic
from apiframe_magic import runtime, settings
from apiframe_magic.errors import InvalidArgumentError

PACKAGE = Path(apiframe_magic.__file__).parent


def test_importing_settings_loads_nothing_heavy():
    code = ("import sys, apiframe_magic.settings; "
            "print(sorted(m for m in ('requests', 'PIL', 'ipywidgets', 'IPython', "
            "'apiframe_magic.jobs', 'apiframe_magic.client') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)}, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("value, is_link", [
    ("https://cdn.example.com/a.png", True), ("http://127.0.0.1:8787/images/x.png", True),
    ("HTTPS://EXAMPLE.COM/A.PNG", True), ("https://", False), ("ftp://example.com/a.png", False),
    ("javascript:alert(1)", False), ("https://exa mple.com/a.png", False),
    ("photo.png", False), ("", False), (None, False), (42, False),
    ("https://[::1", False),
])
def test_one_test_of_a_link(value, is_link):
    assert settings.is_http_url(value) is is_link


def test_no_module_tests_for_a_link_by_its_own_rule():
    """Every "is this an http(s) URL" question goes to settings.is_http_url: no other module
    asks `startswith("http...")`, compares a scheme to "http" or has an `https?://` regex."""
    own = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "settings.py":
            continue
        tree = ast.parse(path.read_text())
        # a table keyed by scheme (urllib3's pool classes) names schemes, it tests no link
        keys = {id(key) for node in ast.walk(tree) if isinstance(node, ast.Dict)
                for key in node.keys}
        for node in ast.walk(tree):
            if id(node) in keys:
                continue
            asks = (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "startswith"
                    and "'http" in ast.dump(node))
            asks |= isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                "https?://" in node.value or node.value in ("http", "https"))
            if asks:
                own.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert own == []


@pytest.mark.parametrize("value", ["-3", "0", "inf", "nan", "fast", "1e999"])
def test_a_bad_simulator_speed_in_the_environment_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("APIFRAME_SIM_SPEED", value)
    with pytest.raises(InvalidArgumentError, match="APIFRAME_SIM_SPEED must be a finite number"):
        settings.sim_speed()


def test_the_magic_and_the_runtime_read_the_simulator_speed_alike(monkeypatch, tmp_path):
    from IPython.core.error import UsageError
    from magic_shell import magics_of, make_shell

    monkeypatch.setenv("APIFRAME_SIM_SPEED", "25")
    assert settings.sim_speed() == 25.0
    monkeypatch.setenv("APIFRAME_SIM_SPEED", "fast")
    with pytest.raises(InvalidArgumentError, match="APIFRAME_SIM_SPEED"):
        runtime.start(home=tmp_path)
    shell = make_shell()                     # the magic's default comes from the same rule
    try:
        magics_of(shell)._trait_values.pop("sim_speed", None)    # no configured value
        with pytest.raises(UsageError, match="^APIFRAME_SIM_SPEED must be a finite number"):
            shell.run_cell_magic("imagine", "--no-wait", "a fox")
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


def test_defaults_when_nothing_is_set(monkeypatch, tmp_path):
    for name in ("APIFRAME_BASE_URL", "APIFRAME_SIM_SPEED", "APIFRAME_CONFIRM_ABOVE",
                 "APIFRAME_MAGIC_WAIT", "APIFRAME_MAGIC_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings.base_url() == "https://api.apiframe.pro"
    assert settings.sim_speed() == 10.0
    assert settings.confirm_above() == 4
    assert settings.forced_wait() is None
    assert settings.data_dir() == tmp_path / ".apiframe_magic"


@pytest.mark.parametrize("value, forced", [("1", True), ("always", True), ("yes", True),
                                           ("0", False), ("never", False), ("No", False)])
def test_the_wait_variable(monkeypatch, value, forced):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", value)
    assert settings.forced_wait() is forced


def test_a_bad_wait_or_confirmation_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_WAIT", "sometimes")
    with pytest.raises(InvalidArgumentError, match="APIFRAME_MAGIC_WAIT must be one of"):
        settings.forced_wait()
    monkeypatch.setenv("APIFRAME_CONFIRM_ABOVE", "-1")
    with pytest.raises(InvalidArgumentError, match="APIFRAME_CONFIRM_ABOVE must be a whole"):
        settings.confirm_above()


@pytest.mark.parametrize("url, words", [
    ("https://api.example.com/?token=1", "has a query"),
    ("https://api.example.com/#x", "has a fragment"),
    ("http://user:pw@api.example.com", "a user name or password"),
    ("ftp://api.example.com", "must start with http:// or https://"),
])
def test_one_base_url_check_for_the_client_and_the_magic(ip, url, words, caplog):
    from apiframe_magic import ApiframeClient
    from magic_shell import magics_of

    with pytest.raises(InvalidArgumentError, match=words):
        settings.check_base_url(url)
    with pytest.raises(InvalidArgumentError, match=words):
        ApiframeClient("a-key-1234567890", base_url=url)
    before = magics_of(ip).base_url
    ip.run_cell(f"%config Imagine.base_url = {url!r}")
    assert magics_of(ip).base_url == before and words in caplog.text


def test_a_base_url_loses_its_trailing_slash():
    assert settings.check_base_url(" https://api.example.com/v1/ ") == "https://api.example.com/v1"
