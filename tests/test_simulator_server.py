"""The simulator as a server facing hostile traffic, over real sockets: HTTP/0.9, silent and
half-sent connections, bodies framed to smuggle a second request, upload bombs, foreign Host
headers (DNS rebinding), both forms of the Authorization header, and the standalone key."""
from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from PIL import Image

from apiframe_magic.simulator import Simulator
from apiframe_magic.simulator.images import MAX_UPLOAD_PIXELS
from apiframe_magic.simulator.server import MAX_HANDLERS


@pytest.fixture
def sim():
    with Simulator(speed=1, seed=7) as s:
        yield s


def exchange(sim, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout) as raw:
        raw.sendall(data)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"^HTTP/1\.[01] (\d{3}) ", answer, re.M)]


def handler_threads(sim) -> int:
    """Threads serving a connection of this simulator (not of one an earlier test left)."""
    serving = sim._server.process_request_thread
    return sum(getattr(thread, "_target", None) == serving for thread in threading.enumerate())


def wait_until(condition, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not met before the deadline"
        time.sleep(0.02)


def account_works(sim) -> bool:
    return requests.get(sim.url + "/account", headers={"Authorization": sim.api_key},
                        timeout=10).status_code == 200


# ------------------------------------------------------------------------------ request lines

def test_an_http09_request_line_gets_a_400_and_no_traceback(sim, capfd):
    answer = exchange(sim, b"GET /account\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert statuses(answer) == [400]
    assert "HTTP/0.9" in json.loads(body)["errors"][0]["msg"]
    assert "Traceback" not in capfd.readouterr().err
    assert account_works(sim)


# ------------------------------------------------------------------------------ timeouts, threads

@pytest.mark.parametrize("partial", [
    b"POST /imagine HTTP/1.1\r\nHost: 127.0.0.1\r\n",                        # headers cut off
    b"POST /imagine HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"pro",  # body
    b""])                                                                      # nothing at all
def test_a_silent_connection_is_closed_after_the_timeout(sim, partial):
    sim._server.connection_timeout = 0.3
    with socket.create_connection(("127.0.0.1", sim.port), timeout=20) as raw:
        raw.sendall(partial)
        assert raw.recv(65536) == b""            # closed by the server, no answer
    wait_until(lambda: handler_threads(sim) == 0)


def test_two_hundred_half_sent_requests_hold_a_bounded_number_of_threads(sim):
    clients = []
    try:
        for _ in range(200):   # past the listen backlog the kernel holds connects back
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", sim.port))
            clients.append(client)
        for client in clients:
            try:
                client.send(b"POST /imagine HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            except OSError:
                pass       # still connecting
        wait_until(lambda: handler_threads(sim) >= MAX_HANDLERS)
        most, end = 0, time.monotonic() + 1.0   # the accept loop would go on within this window
        while time.monotonic() < end:
            most = max(most, handler_threads(sim))
            time.sleep(0.01)
        assert most == MAX_HANDLERS
    finally:
        for client in clients:
            client.close()
    assert account_works(sim)                     # served again once the slots free


# ------------------------------------------------------------------------------ body framing

SMUGGLED = b"GET /account HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: sim-key\r\n\r\n"


@pytest.mark.parametrize("framing, status", [
    (b"Transfer-Encoding: chunked\r\n", 411),
    (b"Transfer-Encoding: gzip, chunked\r\n", 411),
    (b"Content-Length: -5\r\n", 400),
    (b"Content-Length: 1e3\r\n", 400)])
def test_a_body_not_framed_by_one_content_length_is_refused_and_the_connection_closed(
        sim, framing, status):
    request = (b"POST /fetch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: sim-key\r\n"
               b"Content-Type: application/json\r\n" + framing + b"\r\n")
    answer = exchange(sim, request + SMUGGLED)
    assert statuses(answer) == [status]           # the smuggled request is never answered
    assert sim.request_counts["/account"] == 0


# ------------------------------------------------------------------------------ uploads

def png_bytes(size, mode="1") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(sim, data: bytes) -> requests.Response:
    return requests.post(sim.url + "/upload", files={"image": ("x.png", data, "image/png")},
                         headers={"Authorization": sim.api_key}, timeout=30)


def test_an_upload_bomb_is_refused_before_anything_is_drawn(sim):
    bomb = png_bytes((6000, MAX_UPLOAD_PIXELS // 6000 + 1))   # a few KB, over the pixel cap
    assert len(bomb) < 200_000
    response = upload(sim, bomb)
    assert response.status_code == 400
    assert "pixels" in response.json()["errors"][0]["msg"]


def test_uploads_are_kept_in_a_bounded_store_oldest_forgotten_first(sim):
    picture = png_bytes((300, 300), "RGB")
    sim.images.upload_bytes = 2 * len(picture)
    urls = [upload(sim, picture).json()["imageURL"] for _ in range(3)]
    assert requests.get(urls[0], timeout=10).status_code == 404
    assert [requests.get(url, timeout=10).status_code for url in urls[1:]] == [200, 200]


# ------------------------------------------------------------------------------ Host header

@pytest.mark.parametrize("host, status", [
    ("127.0.0.1", 200), ("localhost", 200), ("LOCALHOST:{port}", 200), ("127.0.0.1:{port}", 200),
    ("evil.example", 421), ("evil.example:{port}", 421), ("127.0.0.1.evil.example", 421),
    ("[::1]:{port}", 200), ("", 400)])
def test_only_requests_addressed_to_a_loopback_name_are_answered(sim, host, status):
    header = f"Host: {host.format(port=sim.port)}\r\n".encode() if host else b""
    answer = exchange(sim, b"GET /account HTTP/1.0\r\n" + header +
                      b"Authorization: sim-key\r\n\r\n")
    assert statuses(answer) == [status]


def test_a_rebinding_page_cannot_create_tasks(sim):
    response = requests.post(sim.url + "/imagine", json={"prompt": "a fox"},
                             headers={"Authorization": sim.api_key, "Host": "attacker.test"},
                             timeout=10)
    assert response.status_code == 421 and sim.tasks_created == 0


# ------------------------------------------------------------------------------ authorization

@pytest.mark.parametrize("form", ["{key}", "Bearer {key}", "bearer {key}", "Bearer  {key}"])
def test_the_raw_key_and_the_bearer_form_are_both_accepted(sim, form):
    response = requests.post(sim.url + "/imagine", json={"prompt": "a fox"},
                             headers={"Authorization": form.format(key=sim.api_key)}, timeout=10)
    assert response.status_code == 200 and response.json()["task_id"]


@pytest.mark.parametrize("form", ["Bearer", "Bearer wrong", "Basic {key}", "Bearer{key}"])
def test_other_forms_stay_refused(sim, form):
    response = requests.get(sim.url + "/account",
                            headers={"Authorization": form.format(key=sim.api_key)}, timeout=10)
    assert response.status_code == 401 and response.json() == {}


# ------------------------------------------------------------------------------ standalone key

@pytest.mark.parametrize("command", [["-m", "apiframe_magic.simulator"],
                                     ["-m", "apiframe_magic.cli", "simulator"]])
def test_the_standalone_simulator_makes_up_a_random_key_and_prints_it_once(command):
    server = subprocess.Popen([sys.executable, *command, "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)[0]
        key = re.search(r"api key: (\S+)", line)[1]
        assert len(key) >= 20 and line.count(key) == 1
        assert requests.get(url + "/account", headers={"Authorization": "sim-key"},
                            timeout=10).status_code == 401
        assert requests.get(url + "/account", headers={"Authorization": key},
                            timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
