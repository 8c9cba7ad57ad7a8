"""Test helpers that talk over real HTTP: a throwaway local server, and waiting for a task."""
from __future__ import annotations

import contextlib
import ssl
import threading
import time
from http.server import ThreadingHTTPServer


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


def finish(client, task_id, timeout=20.0):
    """Poll until the task ends (test helper; the product polls through JobManager)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        task = client.fetch(task_id)
        if task.done:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s")
