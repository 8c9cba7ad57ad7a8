"""HTTP layer: routes, auth, JSON bodies, fault application. No business rules live here.

Speaks HTTP/1.1 with keep-alive like the real service behind its proxy, so clients that reuse
connections (requests.Session) see dropped connections the way they would in production.

It listens on loopback, where any web page the user opens can reach it, and tests throw hostile
traffic at it, so it defends itself like a server: a silent connection is closed after
CONNECTION_TIMEOUT, at most MAX_HANDLERS connections are served at once (the rest wait in the
listen backlog), a body is only ever framed by one valid Content-Length, and only requests
addressed to a loopback name are answered (a DNS-rebinding page sends its own host name).
"""
from __future__ import annotations

import hmac
import json
import re
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import urlsplit

from .clock import SimClock
from .faults import FaultAction, FaultInjector
from .images import MAX_UPLOAD_BYTES, ImageStore, UploadError
from .multipart import file_field
from .store import SimStore
from .validation import CREATORS, ValidationError, check_fetch, check_fetch_many

MAX_BODY_BYTES = 16 * 1024 * 1024
CONNECTION_TIMEOUT = 30.0   # seconds a connection may stay silent, idle or halfway into a request
MAX_HANDLERS = 64           # connections served at once, each by one thread
LOCAL_HOST_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
_HOST_HEADER = re.compile(r"(?P<name>\[[^\]]*\]|[^:\[\]]+)(?::\d{1,5})?")
HTML_ERROR_PAGE = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                   b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>"
                   b"\r\n</body>\r\n</html>\r\n")


class Response:
    """Status, headers and body of one answer."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json",
                 headers: dict | None = None):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = headers or {}

    @classmethod
    def json(cls, status: int, payload, headers: dict | None = None) -> "Response":
        return cls(status, json.dumps(payload).encode("utf-8"), headers=headers)

    @classmethod
    def errors(cls, messages: list[str], status: int = 400) -> "Response":
        return cls.json(status, {"errors": [{"msg": m} for m in messages]})


class Served(Protocol):
    """The parts of a simulator its HTTP server reads (`app.Simulator` has them); declared here
    so the server does not import the app that starts it."""

    api_key: str
    url: str
    clock: SimClock
    store: SimStore
    images: ImageStore
    injector: FaultInjector


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # the listen backlog: socketserver's default of 5 makes a burst of 20-40 clients (a notebook
    # submitting a permutation, a benchmark) meet refused or reset connections
    request_queue_size = 128

    def __init__(self, address, simulator: Served, verbose: bool = False):
        self.simulator = simulator
        self.verbose = verbose
        self.connection_timeout = CONNECTION_TIMEOUT
        self.host_names = LOCAL_HOST_NAMES | ({address[0].lower()} if address[0] else set())
        self._handler_slots = threading.BoundedSemaphore(MAX_HANDLERS)
        self._stopping = threading.Event()
        super().__init__(address, SimHandler)

    def process_request(self, request, client_address) -> None:
        """Serve the connection in a thread once fewer than MAX_HANDLERS are busy; until then the
        accept loop waits, so 200 half-sent requests hold 64 threads, not 200."""
        while not self._handler_slots.acquire(timeout=0.1):
            if self._stopping.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._handler_slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._handler_slots.release()

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopping.clear()
        super().serve_forever(poll_interval)

    def shutdown(self) -> None:
        self._stopping.set()   # an accept loop waiting for a free handler gives up
        super().shutdown()


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer
    server_version = "apiframe-sim/1.0"

    def log_message(self, format, *args):   # noqa: A002 (stdlib signature)
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def __getattr__(self, name: str):
        """Any other method (PUT, DELETE, PATCH, HEAD, made-up ones): a JSON 405, where
        BaseHTTPRequestHandler would answer an HTML 501."""
        if name.startswith("do_"):
            return lambda: self._method_not_allowed(name[3:])
        raise AttributeError(name)

    def parse_request(self) -> bool:
        """The stdlib's parsing, then what it lets through: HTTP/0.9 (answered without a status
        line or headers), bodies framed by anything but one Content-Length (read as the next
        request otherwise), and host names that are not this machine's (DNS rebinding)."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if len(line.split()) == 2:   # "GET /path": HTTP/0.9, whose headers would never end
            self.command, self.request_version, self.requestline = None, "HTTP/0.9", line
            self.send_error(400, "HTTP/0.9 is not supported; send an HTTP/1.1 request")
            return False
        if not super().parse_request():
            return False
        if self.headers.get("Transfer-Encoding") is not None:
            self.send_error(411, "Transfer-Encoding is not supported; send a Content-Length")
            return False
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if len(lengths) > 1 or any(not (v.isascii() and v.isdigit()) for v in lengths):
            self.send_error(400, "Content-Length must be one whole number of bytes")
            return False
        host = (self.headers.get("Host") or "").strip()
        if not host:
            self.send_error(400, "The Host header is missing")
            return False
        match = _HOST_HEADER.fullmatch(host)
        if not match or match["name"].lower() not in self.server.host_names:
            self.send_error(421, "This server only answers requests addressed to 127.0.0.1 "
                                 "or localhost")
            return False
        return True

    def send_error(self, code, message=None, explain=None):
        """Malformed request lines, oversized headers, bad versions: the same JSON error body
        as everything else (the stdlib would answer an HTML page)."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"   # garbage is answered with a status line too
        text = message or self.responses.get(code, ("Error",))[0]
        self._send(Response.errors([text], code),
                   head_only=getattr(self, "command", None) == "HEAD")

    def _method_not_allowed(self, method: str) -> None:
        if self._read_body() is None:
            return
        response = Response.errors([f"Method {method} is not allowed; the API uses GET and POST"],
                                   405)
        response.headers["Allow"] = "GET, POST"
        self._send(response, head_only=method == "HEAD")

    # --- the pipeline ---------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        sim = self.server.simulator
        path = urlsplit(self.path).path.rstrip("/") or "/"
        body = self._read_body()
        if body is None:
            return
        sim.store.count_request(path)
        try:
            public = method == "GET" and path.startswith(("/images/", "/uploads/", "/videos/"))
            creates = method == "POST" and path in CREATORS
            if not public and not self._known_api_route(method, path):
                return self._send(Response.errors([f"Cannot {method} {path}"], 404))
            if not public and not self._authorized(sim.api_key):
                return self._send(Response.json(401, {}))
            fault = sim.injector.pick(path, creates, api_path=not public)
            if fault and fault.phase == "before":
                if fault.kind == "slow":
                    time.sleep(fault.delay)
                elif not (fault.kind == "malformed" and not creates):
                    return self._apply_fault(fault, None, creates)
            response = self._route(method, path, body)
            if fault and (fault.phase == "after" or fault.kind == "malformed"):
                if fault.kind == "slow":
                    time.sleep(fault.delay)
                else:
                    return self._apply_fault(fault, response, creates)
            self._send(response)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send(Response.json(500, {}))

    def _authorized(self, key: str) -> bool:
        """The raw key (APIFRAME's documented form, which our client sends) or `Bearer <key>`
        (what APIFRAME's own SDKs send; whether the service takes it is not documented)."""
        given = (self.headers.get("Authorization") or "").strip()
        scheme, _, token = given.partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
        return hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8"))

    @staticmethod
    def _known_api_route(method: str, path: str) -> bool:
        if method == "GET":
            return path in ("/account", "/")
        return method == "POST" and (path in CREATORS or path in
                                     ("/fetch", "/fetch-many", "/upload"))

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)   # checked in parse_request
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(Response.errors(["Request body too large"], 413))
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _json_body(self, body: bytes) -> dict:
        """Like express.json(): only parsed when the Content-Type says JSON."""
        if "application/json" not in (self.headers.get("Content-Type") or "").lower():
            return {}
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise ValidationError(["Invalid JSON body"]) from None
        except RecursionError:  # "[[[[..." thousands deep: the parser's stack, not our bug
            raise ValidationError(["Invalid JSON body: nested too deeply"]) from None
        if not isinstance(data, dict):
            raise ValidationError(["Invalid request"])
        return data

    # --- routes ---------------------------------------------------------------------------
    def _route(self, method: str, path: str, body: bytes) -> Response:
        sim = self.server.simulator
        if method == "GET":
            return self._get(path)
        try:
            if path == "/upload":
                return self._upload(body)
            data = self._json_body(body)
            if path == "/fetch":
                task_id = check_fetch(data)
                found = sim.store.snapshot(task_id)
                return Response.json(200, found) if found else Response.errors(["Task not found"])
            if path == "/fetch-many":
                return Response.json(200, {"tasks": sim.store.snapshots(check_fetch_many(data))})
            task = sim.store.create(path, data)
            return Response.json(200, {"task_id": task.task_id})
        except ValidationError as exc:
            return Response.errors(exc.messages)

    def _get(self, path: str) -> Response:
        sim = self.server.simulator
        if path == "/account":
            return Response.json(200, sim.store.account())
        if path == "/":
            return Response.json(200, {"service": "APIFRAME v1 simulator",
                                       "spec": "https://docs.apiframe.ai/api-endpoints"})
        parts = path.strip("/").split("/")
        data, ctype = None, "image/png"
        if parts[0] == "uploads" and len(parts) == 2:
            found = sim.images.upload(parts[1])
            if found:
                data, ctype = found
        elif parts[0] in ("images", "videos") and len(parts) == 3:
            task = sim.store.task(parts[1])
            name, _, ext = parts[2].partition(".")
            if task is not None and task.status_at(sim.clock.now())[0] == "finished":
                if parts[0] == "images" and ext == "png":
                    data = sim.images.task_png(task, name)
                elif parts[0] == "videos" and ext == "gif":
                    data, ctype = sim.images.task_gif(task, name), "image/gif"
        if data is None:
            return Response.errors(["Not found"], 404)
        return Response(200, data, ctype, {"Cache-Control": "public, max-age=86400"})

    def _upload(self, body: bytes) -> Response:
        sim = self.server.simulator
        data = file_field(self.headers.get("Content-Type") or "", body, "image")
        if data is None:
            return Response.errors(["image is required"])
        if len(data) > MAX_UPLOAD_BYTES:
            return Response.errors(["image must not be larger than 2 MB"])
        try:
            name = sim.images.add_upload(data)
        except UploadError as exc:
            return Response.errors([str(exc)])
        return Response.json(200, {"imageURL": f"{sim.url}/uploads/{name}"})

    # --- output ---------------------------------------------------------------------------
    def _apply_fault(self, fault: FaultAction, response: Response | None, creates: bool) -> None:
        if fault.kind == "drop":
            self.close_connection = True
            return
        if fault.kind == "500":
            return self._send(Response.json(500, {}))
        if fault.kind == "429":
            return self._send(Response.json(429, {"errors": [{"msg": "Too many requests"}]},
                                            headers={"Retry-After": str(fault.retry_after)}))
        # malformed
        if fault.malformed_kind in ("html", "html200"):
            status = 502 if fault.malformed_kind == "html" else 200
            return self._send(Response(status, HTML_ERROR_PAGE, "text/html"))
        if fault.malformed_kind == "empty":
            return self._send(Response(200, b""))
        full = response.body if response is not None else b'{"task_id": "00000000-0000-4000'
        return self._send(Response(200, full[: max(1, len(full) // 2)]))

    def setup(self) -> None:
        self.timeout = self.server.connection_timeout   # StreamRequestHandler applies it
        super().setup()
        # small JSON answers: do not let Nagle + delayed ACK add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, response: Response, head_only: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for key, value in response.headers.items():
            self.send_header(key, value)
        body = b"" if head_only else response.body
        self._headers_buffer.append(b"\r\n" + body)   # headers and body in one write
        self.flush_headers()
