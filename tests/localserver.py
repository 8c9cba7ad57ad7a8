"""Test helpers that talk over real HTTP: a throwaway local server, one serving fixed PNG files,
and waiting for a task."""
from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextlib.contextmanager
def local_server(handler_cls, context: ssl.SSLContext | None = None):
    """Serve `handler_cls` on 127.0.0.1 (over TLS with `context`); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    scheme = "https" if context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def serving_pngs(files: dict[str, bytes], hits: Counter | None = None):
    """Serve `files` (path -> PNG bytes) on 127.0.0.1, counting each GET of a path in `hits`;
    yields the base URL."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if hits is not None:
                hits[self.path] += 1
            body = files[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return local_server(Handler)


def finish(client, task_id, timeout=20.0):
    """Poll until the task ends (test helper; the product polls through JobManager)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        task = client.fetch(task_id)
        if task.done:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s")
