"""Malformed keys are refused when the client is built; no spelling of a key reaches disk or a
terminal; a client cannot be pickled with its key."""
from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys

import pytest

from apiframe_magic import ApiframeClient
from apiframe_magic.errors import AuthenticationError, BadRequestError
from apiframe_magic.jobs import JobManager
from apiframe_magic.redaction import REDACTED, redact
from apiframe_magic.store import HistoryStore
from localserver import local_server
from secret_spellings import KEY, EchoingProxy, leaks, leaks_in_files, spellings

PASTED = [
    ("sk-LIVE-0123456789\r\nabcdef", "control character (U+000D carriage return)", 19),
    ("sk-LIVE-0123456789\nabcdef", "control character (U+000A line feed)", 19),
    ("sk-LIVE-0123456789…", "non-ASCII character (U+2026 horizontal ellipsis)", 19),
    ("“sk-LIVE-0123456789”", "non-ASCII character (U+201C left double quotation mark)", 1),
    ("sk-LIVE 0123456789", "a space", 8),
    ("sk-LIVE\t0123456789", "whitespace character (U+0009 tab)", 8),
    ("sk-LIVE\x000123456789", "control character (U+0000 nul)", 8),
]


@pytest.mark.parametrize("key, what, position", PASTED)
def test_a_pasted_key_is_refused_when_built_saying_what_and_where(sim, key, what, position):
    with pytest.raises(AuthenticationError) as info:
        ApiframeClient(key, base_url=sim.url)
    text = str(info.value)
    assert what in text and f"at position {position} of {len(key.strip())}" in text
    assert "0123456789" not in text and "sk-LIVE" not in text
    assert sim.request_counts == {}


def test_surrounding_whitespace_is_still_forgiven(sim):
    with ApiframeClient(f"  {sim.api_key}\n", base_url=sim.url) as client:
        assert client.account().credits is not None


def test_a_key_with_a_line_break_in_the_environment_is_a_one_line_cli_error(sim):
    env = {**os.environ, "APIFRAME_API_KEY": "sk-LIVE-0123456789\nX-Injected: 1",
           "APIFRAME_BASE_URL": sim.url}
    done = subprocess.run([sys.executable, "-m", "apiframe_magic.cli", "account"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "position 19" in done.stderr and "0123456789" not in done.stderr + done.stdout
    assert sim.request_counts == {}


# ---------------------------------------------------------------------- escaped spellings

@pytest.fixture
def echoing_proxy():
    with local_server(EchoingProxy) as url:
        yield url


def test_every_spelling_of_the_key_is_redacted_from_the_history(echoing_proxy, tmp_path):
    home = tmp_path / "history"
    home.mkdir()
    with ApiframeClient(KEY, base_url=echoing_proxy) as client:
        store = HistoryStore(home / "h.sqlite3")
        manager = JobManager(client, store=store)
        with pytest.raises(BadRequestError) as info:
            manager.imagine("a cat").wait()
        manager.shutdown(wait=True)
        assert leaks(str(info.value)) == list(spellings(KEY))   # all came through ...
        [record] = store.list()
        assert record.state == "rejected" and REDACTED in record.error
        assert leaks(record.error) == []           # ... but none of them reached the disk:
        assert {p.name for p in home.iterdir()} >= {"h.sqlite3", "h.sqlite3-wal"}
        assert leaks_in_files(home) == []          # not the WAL while the store is open,
        store.close()
    assert leaks_in_files(home) == []              # nor any file once it is closed


def test_every_spelling_of_the_key_is_redacted_from_cli_errors(echoing_proxy):
    env = {**os.environ, "APIFRAME_API_KEY": KEY, "APIFRAME_BASE_URL": echoing_proxy}
    done = subprocess.run([sys.executable, "-m", "apiframe_magic.cli", "fetch", "some-task"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "does not know this task" in done.stderr
    assert REDACTED in done.stderr and leaks(done.stderr + done.stdout) == []


def test_redact_knows_keys_given_to_a_client_not_only_the_environment(sim):
    ApiframeClient("given-not-env-123", base_url=sim.url).close()
    assert redact("header 'given-not-env-123' and given-not-env-123") == \
        f"header '{REDACTED}' and {REDACTED}"


# ---------------------------------------------------------------------- pickling

def test_a_client_cannot_be_pickled_or_copied_with_its_key(client, sim):
    client.account()  # a used client, with live connection pools
    for attempt in (lambda: pickle.dumps(client), lambda: pickle.dumps(client.session),
                    lambda: copy.deepcopy(client)):
        with pytest.raises(TypeError, match="cannot be pickled") as info:
            attempt()
        assert sim.api_key not in str(info.value)
