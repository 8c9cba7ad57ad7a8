"""KeyRing: where the magic's key comes from (login, then the environment, then .env), looked up
again at every call; the key is never in a repr and only its fingerprint is compared."""
from __future__ import annotations

import hashlib

from apiframe_magic.ipython.keys import KeyChoice, KeyRing


def test_login_wins_over_the_environment_and_dotenv(tmp_path, monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "from-env")
    (tmp_path / ".env").write_text("APIFRAME_API_KEY=from-dotenv\n")
    ring = KeyRing()
    ring.login("  typed  ")
    assert ring.current(tmp_path) == KeyChoice("typed", "login")
    ring.logout()
    assert ring.current(tmp_path) == KeyChoice("from-env", "$APIFRAME_API_KEY")


def test_a_blank_login_is_no_login(tmp_path, monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "from-env")
    ring = KeyRing()
    ring.login("   ")
    assert ring.current(tmp_path).source == "$APIFRAME_API_KEY"
    assert repr(ring) == "<KeyRing $APIFRAME_API_KEY>"


def test_the_environment_variable_is_configurable_and_stripped(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", "  spaced\n")
    assert KeyRing("MY_KEY").current(tmp_path) == KeyChoice("spaced", "$MY_KEY")
    monkeypatch.setenv("MY_KEY", "   ")
    assert KeyRing("MY_KEY").current(tmp_path) == KeyChoice(None, "none")


def test_dotenv_beside_the_notebook_then_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("OTHER=1\nAPIFRAME_API_KEY=' quoted-key '\n")
    ring = KeyRing()
    assert ring.current(tmp_path) == KeyChoice("quoted-key", str(tmp_path / ".env"))
    monkeypatch.chdir(tmp_path)
    assert ring.current() == KeyChoice("quoted-key", str(tmp_path / ".env"))


def test_dotenv_without_the_variable_blank_or_unreadable_is_no_key(tmp_path):
    ring = KeyRing()
    (tmp_path / ".env").write_text("OTHER=1\n")
    assert ring.current(tmp_path) == KeyChoice(None, "none")
    (tmp_path / ".env").write_text("APIFRAME_API_KEY=   \n")
    assert ring.current(tmp_path) == KeyChoice(None, "none")
    (tmp_path / ".env").write_bytes(b"APIFRAME_API_KEY=\xff\xfe\n")
    assert ring.current(tmp_path) == KeyChoice(None, "none")
    (tmp_path / ".env").unlink()
    (tmp_path / ".env").mkdir()          # a directory named .env is not a file
    assert ring.current(tmp_path) == KeyChoice(None, "none")


def test_the_key_is_not_in_any_repr(tmp_path):
    ring = KeyRing()
    ring.login("sk-secret-0001")
    assert "sk-secret-0001" not in repr(ring) + repr(ring.current(tmp_path))
    assert repr(ring) == "<KeyRing $APIFRAME_API_KEY + login>"


def test_the_fingerprint_tells_keys_apart_and_is_none_without_a_key():
    expected = hashlib.sha256("sk-ä-1".encode()).hexdigest()[:12]
    assert KeyChoice("sk-ä-1", "login").fingerprint == expected
    assert KeyChoice("sk-2", "login").fingerprint != expected
    assert KeyChoice(None, "none").fingerprint is None
    assert KeyChoice("", "none").fingerprint is None
