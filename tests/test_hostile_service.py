"""A hostile service echoes the key and sends escape sequences in every field it answers: no
output of the CLI or the magic, and no stored value, holds the key in clear or a control
character (window title, clear screen, OSC 52 clipboard write) that would act on a terminal."""
from __future__ import annotations

import io
import json
import re
from http.server import BaseHTTPRequestHandler

import pytest
from PIL import Image

from clirun import run_cli
from localserver import local_server

KEY = "hostileKEY-0123456789abcdef"
TITLE, CLIPBOARD, CLEAR = "\x1b]0;pwned\x07", "\x1b]52;c;aGVsbG8=\x07", "\x1b[2J\x9b3J"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class Hostile(BaseHTTPRequestHandler):
    """Answers like APIFRAME, with the key and escape sequences in every text."""

    polls = 0

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes, ctype="application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/img/"):
            return self._answer(200, png(), "image/png")
        self._answer(200, json.dumps({"email": f"{KEY}{TITLE}", "credits": 10, "plan": CLEAR,
                                      "total_images": 1}).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/imagine" and "refuse" in body.get("prompt", ""):
            return self._answer(400, json.dumps(
                {"errors": [{"msg": f"bad key {KEY} {CLEAR}{TITLE}"}]}).encode())
        if self.path == "/imagine":
            return self._answer(200, b'{"task_id": "evil-1"}')
        Hostile.polls += 1   # the first poll finds it running, with a status of its own
        status = f"processing{TITLE}" if Hostile.polls == 1 else "finished"
        task = {"task_id": "evil-1", "task_type": "imagine", "status": status,
                "percentage": "100", "sref": f"{KEY}{CLIPBOARD}", "seed": f"{KEY}{TITLE}",
                "original_image_url": f"{base}/img/grid.png?k={KEY}",
                "image_urls": [f"{base}/img/{n}.png?k={KEY}" for n in range(1, 5)]}
        if self.path == "/fetch-many":
            return self._answer(200, json.dumps({"tasks": [task]}).encode())
        self._answer(200, json.dumps(task).encode())


@pytest.fixture
def hostile():
    Hostile.polls = 0
    with local_server(Hostile) as url:
        yield url


def assert_clean(text: str, own_redraw: bool = False) -> None:
    """No key; no control character but line feed and tab (and the carriage return of the
    magic's own progress line, with `own_redraw`)."""
    assert KEY not in text
    control = (r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]" if own_redraw
               else r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
    assert not re.search(control, text), repr(text)


def cli(hostile, *args, **kwargs):
    return run_cli(*args, env_extra={"APIFRAME_API_KEY": KEY, "APIFRAME_BASE_URL": hostile},
                   **kwargs)


def test_cli_fetch_shows_the_service_text_redacted_and_neutralised(hostile):
    done = cli(hostile, "fetch", "evil-1")
    assert done.returncode == 0, done.stderr
    assert "[redacted]" in done.stdout and "\\u001b]52;c;" in done.stdout
    assert_clean(done.stdout + done.stderr)


def test_cli_error_line_and_account(hostile):
    refused = cli(hostile, "imagine", "refuse this fox", "--yes")
    assert refused.returncode != 0 and "bad key [redacted]" in refused.stderr
    account = cli(hostile, "account")
    assert account.returncode == 0 and "\\u001b[2J" in account.stdout
    assert_clean(refused.stdout + refused.stderr + account.stdout + account.stderr)


def test_cli_imagine_and_history_show_nothing_of_the_key(hostile, tmp_path):
    done = cli(hostile, "imagine", "a red fox", "--yes", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "sref: [redacted]" in done.stdout
    history = cli(hostile, "history")
    assert "evil-1" in history.stdout
    assert_clean(done.stdout + done.stderr + history.stdout + history.stderr)


def test_the_magic_caption_history_and_styles_show_nothing_of_the_key(ip, hostile,
                                                                      monkeypatch, capsys):
    monkeypatch.setenv("APIFRAME_API_KEY", KEY)
    monkeypatch.setenv("APIFRAME_BASE_URL", hostile)
    ip.run_line_magic("config", "Imagine.display = 'text'")
    ip.run_cell_magic("imagine", "--wait", "a red fox --sref random")
    ip.run_line_magic("imagine", "history")
    ip.run_line_magic("imagine", "styles")
    shown = capsys.readouterr()
    outputs = json.dumps([o["data"] for o in ip.display_pub.outputs()], ensure_ascii=False)
    assert "evil-1" in shown.out and "processing\\u001b]0;pwned" in shown.out
    assert "sref [redacted]\\u001b]52;c;" in shown.out
    assert_clean(shown.out + shown.err, own_redraw=True)
    assert KEY not in outputs and "\\u001b" not in outputs


def test_config_does_not_show_a_password_in_the_base_url(ip, monkeypatch, capsys):
    monkeypatch.setenv("APIFRAME_BASE_URL", "https://alice:hunter2-secret@api.example.test")
    ip.run_line_magic("imagine", "config")
    out = capsys.readouterr().out
    assert "alice:[redacted]@api.example.test" in out and "hunter2-secret" not in out


class HostileIds(Hostile):
    """Task ids with an escape sequence, and tasks that never end (so they stay in flight)."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        task_id = f"evil-2{TITLE}"
        body = ({"task_id": task_id} if self.path == "/imagine" else
                {"tasks": [{"task_id": task_id, "status": f"processing{CLEAR}",
                            "percentage": "10"}]} if self.path == "/fetch-many" else
                {"task_id": task_id, "status": f"processing{CLEAR}", "percentage": "10"})
        self._answer(200, json.dumps(body).encode())


def test_the_magic_lists_jobs_in_flight_with_their_ids_neutralised(ip, monkeypatch, capsys):
    with local_server(HostileIds) as url:
        monkeypatch.setenv("APIFRAME_API_KEY", KEY)
        monkeypatch.setenv("APIFRAME_BASE_URL", url)
        ip.run_line_magic("config", "Imagine.display = 'text'")
        ip.run_cell_magic("imagine", "--no-wait", "a red fox")
        ip.run_line_magic("imagine", "jobs")
        shown = capsys.readouterr()
        ip.extension_manager.unload_extension("apiframe_magic")   # stop polling the server
        ip.extension_manager.load_extension("apiframe_magic")
    assert "evil-2\\u001b]0;pwned\\u0007  " in shown.out, shown.out
    assert_clean(shown.out + shown.err)
