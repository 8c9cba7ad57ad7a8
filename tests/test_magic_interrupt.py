"""Ctrl-C while the magic waits for the service: one line saying what was interrupted and what is
known, never a traceback through the HTTP stack, and never the key, in any traceback mode.

The service is a simulator behind a local proxy that holds chosen paths: when a held request
arrives, the proxy interrupts the main thread (a real SIGINT to it, as Ctrl-C in a terminal or a
kernel interrupt does) and never answers, so the interrupt always lands while the call waits.
"""
from __future__ import annotations

import signal
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler

import pytest
from IPython.core.interactiveshell import InteractiveShell

from localserver import local_server
from magic_shell import magics_of, make_shell

KEY = "sk-interrupt-test-0123456789abcdef"


class HoldingProxy:
    """Forwards to the simulator, except paths in `hold`: those interrupt the main thread."""

    def __init__(self, target: str):
        self.target, self.hold, self.held = target, set(), []
        self.release = threading.Event()

    def handler(self):
        proxy, main = self, threading.main_thread().ident

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.forward()

            def do_POST(self):
                self.forward()

            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path in proxy.hold:
                    proxy.held.append(self.path)
                    signal.pthread_kill(main, signal.SIGINT)
                    proxy.release.wait(60)
                    self.close_connection = True
                    return
                request = urllib.request.Request(proxy.target + self.path, data=body or None,
                                                 method=self.command)
                for name in ("Authorization", "Content-Type"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, data, kind = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, data, kind = error.code, error.read(), error.headers
                self.send_response(status)
                self.send_header("Content-Type", kind.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def service(tmp_path, monkeypatch):
    """A shell whose key points it at a simulator behind a HoldingProxy, in Verbose mode."""
    from apiframe_magic.simulator import Simulator

    monkeypatch.chdir(tmp_path)
    with Simulator(speed=100, api_key=KEY) as sim:
        proxy = HoldingProxy(sim.url)
        with local_server(proxy.handler()) as url:
            monkeypatch.setenv("APIFRAME_API_KEY", KEY)
            shell = make_shell(base_url=url)
            shell.run_line_magic("xmode", "Verbose")
            shell.run_line_magic("colors", "nocolor")
            try:
                yield shell, proxy, sim
            finally:
                proxy.release.set()
                shell.extension_manager.unload_extension("apiframe_magic")


def run(shell, code: str, capsys) -> tuple[str, object]:
    """Run a cell as a person would (errors printed, not raised); its whole output and error."""
    capsys.readouterr()
    result = InteractiveShell.run_cell(shell, code)
    captured = capsys.readouterr()
    return captured.out + captured.err, result.error_in_exec


def one_line_interrupt(output: str, error) -> str:
    assert type(error).__name__ == "UsageError", output
    (line,) = [line for line in output.splitlines() if line.startswith("UsageError")]
    assert "Traceback" not in output and KEY not in output
    return line


def test_account_interrupted_is_one_line_without_the_key(service, capsys):
    shell, proxy, _sim = service
    proxy.hold.add("/account")
    output, error = run(shell, "%imagine account", capsys)
    line = one_line_interrupt(output, error)
    assert proxy.held == ["/account"]
    assert "interrupted while asking APIFRAME for the account: nothing was changed" in line


def test_submit_interrupted_is_recorded_uncertain_and_not_sent_again(service, capsys):
    shell, proxy, sim = service
    proxy.hold.add("/imagine")
    output, error = run(shell, "%%imagine --wait\na red fox in the snow", capsys)
    line = one_line_interrupt(output, error)
    assert "interrupted while submitting the prompt: 1 job(s) recorded as uncertain" in line
    assert "never sent again" in line
    store = magics_of(shell).runtime.store
    (record,) = store.list()
    assert record.state == "uncertain"
    proxy.hold.clear()
    shell.run_line_magic("imagine", "resume")
    assert store.get(record.job_id).state == "uncertain" and sim.tasks_created == 0


def test_describe_upload_interrupted_submits_nothing(service, capsys, tmp_path):
    from PIL import Image

    shell, proxy, sim = service
    Image.new("RGB", (64, 64), (10, 120, 40)).save(tmp_path / "a.png")
    proxy.hold.add("/upload")
    output, error = run(shell, "%imagine describe a.png", capsys)
    line = one_line_interrupt(output, error)
    assert "interrupted while uploading a.png: nothing was submitted" in line
    assert magics_of(shell).runtime.store.list() == [] and sim.tasks_created == 0


def test_save_interrupted_says_where_the_images_are(service, capsys, tmp_path):
    shell, proxy, _sim = service
    store = magics_of(shell).current_runtime().store
    job_id = store.record_submitting("imagine", {}, prompt="a fox")
    store.mark_submitted(job_id, "t-running")
    store.mark_timed_out(job_id)  # (a running one is waited for: tests/test_magic_waiting.py)
    proxy.hold.add("/fetch")      # save asks the service whether the task finished meanwhile
    output, error = run(shell, f"%imagine save t-run {tmp_path / 'kept'}", capsys)
    line = one_line_interrupt(output, error)
    assert proxy.held == ["/fetch"]
    assert (f"interrupted while saving t-run: the images copied so far are in {tmp_path / 'kept'}"
            in line)


def test_verbose_traceback_of_an_interrupted_call_never_shows_the_key(service, capsys):
    """From Python (no magic to catch it) Ctrl-C during a call is one line saying what was
    stopped, in Verbose mode too: no frame is printed, so neither urllib3's headers nor the raw
    request bytes of http.client (which hold the key) can reach the output."""
    shell, proxy, _sim = service
    shell.run_line_magic("imagine", "config")        # makes the runtime: the key from the env
    shell.user_ns["rt"] = magics_of(shell).current_runtime()
    proxy.hold.add("/account")
    output, error = run(shell, "rt.client.account()", capsys)
    assert isinstance(error, KeyboardInterrupt)
    assert "interrupted: /account was stopped before its answer arrived" in output
    assert "Traceback" not in output and "urlopen" not in output
    assert KEY not in output
