"""The simulator at its edges, over real HTTP: redirected webhooks, hostile bodies, odd methods,
bursts of clients, and upscales that enlarge their own variant."""
from __future__ import annotations

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from PIL import Image, ImageChops

from apiframe_magic.simulator import Simulator
from localserver import local_server


@pytest.fixture
def sim():
    with Simulator(speed=1, seed=7) as s:
        yield s


def post(sim, path, body=None, *, data=None):
    headers = {"Authorization": sim.api_key}
    if data is not None:
        headers["Content-Type"] = "application/json"
        return requests.post(sim.url + path, data=data, headers=headers, timeout=10)
    return requests.post(sim.url + path, json=body, headers=headers, timeout=10)


def finish(sim, path, body) -> dict:
    response = post(sim, path, body)
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    sim.clock.advance(max(0.0, sim.finished_at(task_id) - time.time()) * sim.speed + 0.01)
    return post(sim, "/fetch", {"task_id": task_id}).json()


def png(url) -> Image.Image:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content)).convert("RGB")


# ------------------------------------------------------------------------------ webhooks

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirecting_webhook_receiver_is_not_followed(status):
    stolen = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_POST(self):
            stolen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with local_server(Elsewhere) as elsewhere:
        target = elsewhere + "/collect"

        class Redirecting(Elsewhere):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

        with local_server(Redirecting) as receiver, Simulator(speed=1000) as sim:
            post(sim, "/describe", {"image_url": "http://a.example/x.png",
                                    "webhook_secret": "s3cret", "webhook_url": receiver + "/hook"})
            deadline = time.time() + 10
            while sum(e["payload"]["status"] == "finished" for e in sim.webhook_log) < 4:
                assert time.time() < deadline, sim.webhook_log
                time.sleep(0.01)
            log = sim.webhook_log
    assert {entry["status"] for entry in log} == {status}
    assert not any(entry["ok"] for entry in log)
    assert stolen == []


# ------------------------------------------------------------------------------ bodies

@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"prompt": ' + "[" * 50_000 + "]" * 50_000 + "}",
    '{"prompt": "a cat", "x": ' + '{"a": ' * 20_000 + "1" + "}" * 20_000 + "}",
])
def test_deeply_nested_json_is_a_400_not_a_500(sim, body):
    response = post(sim, "/imagine", data=body)
    assert response.status_code == 400, response.text[:200]
    assert "nested too deeply" in response.json()["errors"][0]["msg"]
    assert sim.tasks_created == 0
    assert post(sim, "/fetch", data=body).status_code == 400


@pytest.mark.parametrize("path, extra", [("/imagine", {}), ("/shorten", {})])
def test_a_prompt_over_6000_characters_is_rejected(sim, path, extra):
    for length in (6001, 10 * 2**20):
        response = post(sim, path, {"prompt": "a" * length, **extra})
        assert response.status_code == 400
        assert response.json() == {"errors": [
            {"msg": f"prompt must be at most 6000 characters (got {length})"}]}
    assert post(sim, path, {"prompt": "b" * 6000, **extra}).status_code == 200
    assert sim.tasks_created == 1


def test_a_long_prompt_on_a_child_task_is_rejected_too(sim):
    grid = finish(sim, "/imagine", {"prompt": "a red barn"})
    response = post(sim, "/reroll", {"parent_task_id": grid["task_id"], "prompt": "c" * 7000})
    assert response.status_code == 400 and "at most 6000" in response.text


# ------------------------------------------------------------------------------ methods

@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "FROBNICATE"])
def test_unknown_methods_get_a_json_405(sim, method):
    for path in ("/imagine", "/account", "/nowhere"):
        response = requests.request(method, sim.url + path, data=b'{"prompt": "x"}',
                                    headers={"Authorization": sim.api_key,
                                             "Content-Type": "application/json"}, timeout=10)
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Allow"] == "GET, POST"
        assert method in response.json()["errors"][0]["msg"]
    assert sim.tasks_created == 0


def test_head_gets_a_405_without_a_body_and_the_connection_stays_usable(sim):
    with requests.Session() as session:
        head = session.head(sim.url + "/account", timeout=10)
        assert head.status_code == 405 and head.content == b""
        after = session.get(sim.url + "/account", headers={"Authorization": sim.api_key},
                            timeout=10)
        assert after.status_code == 200 and "credits" in after.json()


@pytest.mark.parametrize("request_line, status", [
    (b"GARBAGE\r\n\r\n", 400), (b"GET /account HTTP/2.0\r\n\r\n", 505),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414)])
def test_a_malformed_request_gets_a_json_error_too(sim, request_line, status):
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as raw:
        raw.sendall(request_line)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["errors"][0]["msg"]


# ------------------------------------------------------------------------------ bursts

def test_forty_clients_arriving_at_once_are_all_queued_and_answered(sim):
    """With the accept loop held (as a busy server holds it), the kernel queues up to the
    listen backlog: 40 clients must all get in, then all get their answer."""
    sim._server.shutdown()                                   # stop accepting, keep listening
    clients = []
    try:
        for _ in range(40):
            client = socket.create_connection(("127.0.0.1", sim.port), timeout=0.5)
            clients.append(client)
        request = (f"GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {sim.api_key}\r\n"
                   "Connection: close\r\n\r\n").encode()
        for client in clients:
            client.sendall(request)
        threading.Thread(target=sim._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        for client in clients:
            client.settimeout(10)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and b'"credits"' in answer
    finally:
        for client in clients:
            client.close()
    assert len(clients) == 40


# ------------------------------------------------------------------------------ upscales

@pytest.mark.parametrize("prompt", ["a sunflower field --ar 3:2", "a starry night over a city",
                                    "a lighthouse on the sea --ar 2:3"])
def test_an_upscale_is_its_grid_quadrant_enlarged(sim, prompt):
    grid = finish(sim, "/imagine", {"prompt": prompt})
    picture = png(grid["original_image_url"])
    half_w, half_h = picture.width // 2, picture.height // 2
    for index in (1, 4):
        upscale = png(finish(sim, "/upscale-1x", {"parent_task_id": grid["task_id"],
                                                  "index": str(index)})["image_url"])
        left, top = ((index - 1) % 2) * half_w, ((index - 1) // 2) * half_h
        quadrant = picture.crop((left, top, left + half_w, top + half_h))
        assert upscale.width > quadrant.width * 1.9
        expected = quadrant.resize(upscale.size, Image.Resampling.LANCZOS)
        difference = ImageChops.difference(upscale, expected).convert("L")
        assert difference.getextrema()[1] <= 2, f"U{index} redraws instead of enlarging"


def test_upscales_of_an_upscale_keep_the_same_pixels(sim):
    grid = finish(sim, "/imagine", {"prompt": "a quiet harbour at dawn"})
    up = finish(sim, "/upscale-1x", {"parent_task_id": grid["task_id"], "index": "2"})
    base = png(up["image_url"])
    for body in ({"type": "2x"}, {"type": "4x"}):
        big = png(finish(sim, "/upscale-highres", {"parent_task_id": up["task_id"],
                                                   **body})["image_url"])
        shrunk = big.resize(base.size, Image.Resampling.LANCZOS)
        difference = ImageChops.difference(shrunk, base).convert("L")
        histogram = difference.histogram()
        assert sum(level * n for level, n in enumerate(histogram)) / sum(histogram) < 2.0
