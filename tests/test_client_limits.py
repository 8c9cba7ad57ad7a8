"""The client against a hostile local server over real HTTP: a total deadline per call, a cap on
the answer's size, the User-Agent, and results cut to what Midjourney returns."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler

import pytest

import apiframe_magic
from apiframe_magic import ApiframeClient
from apiframe_magic.errors import ApiTimeoutError, InvalidResponseError
from apiframe_magic.images import ImageCache
from apiframe_magic.models import Task

from localserver import local_server

STOP = threading.Event()  # set at the end of each test: the trickling handlers end


@pytest.fixture(autouse=True)
def _stop_trickles():
    STOP.clear()
    yield
    STOP.set()


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_agents: list[tuple[str, str]] = []    # (path, User-Agent) of every request

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.answer()

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.answer()

    def answer(self):
        route = self.path.split("?")[0]
        Hostile.seen_agents.append((route, self.headers.get("User-Agent", "")))
        if route in ("/account", "/imagine", "/trickle.png"):  # headers, one byte at a time
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not STOP.wait(0.2):
                self.wfile.write(b"a")
                self.wfile.flush()
            return
        if route == "/fetch":
            task = {"task_id": "t1", "status": "finished", "original_image_url": self.url(0),
                    "image_urls": [self.url(i) for i in range(1, 301)],
                    "video_urls": [self.url(i) for i in range(300, 400)]}
            return self.send_json(json.dumps(task).encode())
        if route == "/fetch-many":  # valid JSON, 40 MB of it, length not declared
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b'{"tasks": [], "padding": "')
                for _ in range(640):
                    self.wfile.write(b"a" * 65536)
                self.wfile.write(b'"}')
            except OSError:
                pass  # the client hung up, as it should
            return
        self.send_json(b"{}", 404)

    def url(self, index):
        return f"http://127.0.0.1:{self.server.server_address[1]}/images/{index}.png"

    def send_json(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def outcome_within(call, seconds=30.0):
    """What `call` raised or returned, waiting `seconds` at most (generous: the deadline is 1 s)."""
    box = {}

    def run():
        try:
            box["result"] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"the call was still running after {seconds} s"
    return box


@pytest.fixture
def hostile():
    with local_server(Hostile) as url:
        yield url


def test_a_server_trickling_its_answer_cannot_hold_a_read_beyond_the_deadline(hostile):
    client = ApiframeClient("sk-x", base_url=hostile, timeout=(2, 2), deadline=1.0, backoff=0.01)
    box = outcome_within(client.account)
    assert isinstance(box.get("error"), ApiTimeoutError)
    assert "within the 1 s limit for a call" in str(box["error"])


def test_a_trickled_submit_ends_at_the_deadline_as_maybe_created(hostile):
    client = ApiframeClient("sk-x", base_url=hostile, timeout=(2, 2), deadline=1.0)
    box = outcome_within(lambda: client.imagine("a fox"))
    assert isinstance(box.get("error"), ApiTimeoutError) and box["error"].maybe_created


def test_an_image_host_trickling_its_answer_is_bounded_too(hostile, tmp_path, monkeypatch):
    monkeypatch.setattr("apiframe_magic.images.DOWNLOAD_DEADLINE", 1.0)
    with ImageCache(tmp_path / "c", timeout=(2, 2)) as cache:
        box = outcome_within(lambda: cache.get(hostile + "/trickle.png"))
    assert "did not arrive whole within 1 s" in str(box.get("error"))


def test_an_endless_answer_is_cut_at_the_cap(hostile):
    client = ApiframeClient("sk-x", base_url=hostile, backoff=0.01)
    with pytest.raises(InvalidResponseError, match="larger than 4 MiB.*reading stopped"):
        client.fetch_many(["a", "b"])


def test_requests_say_who_sends_them(hostile, tmp_path):
    Hostile.seen_agents.clear()
    ApiframeClient("sk-x", base_url=hostile).fetch("t1")
    with ImageCache(tmp_path / "c") as cache:
        with pytest.raises(Exception):
            cache.get(hostile + "/missing.png")
    expected = f"apiframe-magic/{apiframe_magic.__version__} python-requests/"
    assert {route for route, _ in Hostile.seen_agents} == {"/fetch", "/missing.png"}
    assert all(agent.startswith(expected) for _, agent in Hostile.seen_agents)


def test_a_result_is_cut_to_what_midjourney_returns(hostile):
    task = ApiframeClient("sk-x", base_url=hostile).fetch("t1")
    assert len(task.all_image_urls) == 5 and len(task.video_urls) == 4
    webhook = Task.from_dict({"task_id": "t", "status": "finished",
                              "image_urls": [f"https://cdn.example/{i}.png" for i in range(50)]})
    assert len(webhook.image_urls) == 4
