"""A Jupyter server and a Chromium page on it, for end-to-end tests of the widget UI.

The recipe, its measurements and its pitfalls: ../shared/design/browser-testing.md. One server
(JupyterLab 4, which also serves Notebook 7 at /notebooks/) on 127.0.0.1 with its own config,
data, runtime, settings and workspace directories; kernels inherit an environment without an API
key, so the magic runs on its embedded simulator.
"""
from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
# Where a Chromium may be, in order: Debian's, other distributions' and Google's names on PATH,
# then the browsers Playwright downloads (`python -m playwright install chromium`).
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHROMIUM_COMMANDS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PLAYWRIGHT_BUILDS = ("chromium-*/chrome-linux*/chrome",
                     "chromium_headless_shell-*/chrome-linux*/headless_shell")
HOW_TO_GET_A_BROWSER = ("no Chromium found (looked for chromium, chromium-browser, google-chrome "
                        "and Playwright's download): `apt-get install -y chromium` or "
                        "`python -m playwright install chromium` runs the browser tests")
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]
UIS = ("lab", "nb7")
LOCAL_URLS = ("http://127.0.0.1", "data:", "blob:", "about:")
SIM_SPEED = 40

# Records every data-status change of the notebook's kernel indicator: Lab shows "idle" before
# the kernel even exists, so "ready" means idle after some other state (recipe, pitfall 3).
STATUS_RECORDER = """
window.__kstat = [];
new MutationObserver(() => {
  const e = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const v = e ? e.getAttribute('data-status') : null;
  const l = window.__kstat;
  if (v && (!l.length || l[l.length - 1] !== v)) l.push(v);
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['data-status']});
"""
# Records what the page's kernel websockets carry, so a page whose indicator stays busy while the
# server says idle can say why: execute requests sent without an idle status received for them,
# sockets closed and opened again, and the last status messages (jupyter_server's v1 binary frames,
# or the older JSON text frames).
SOCKET_RECORDER = """
window.__ws = {sent: {}, idle: {}, events: [], frames: 0, last: []};
(() => {
  const Native = window.WebSocket, text = new TextDecoder(), rec = window.__ws;
  const now = () => Math.round(performance.now());
  const parse = data => {
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      return {channel: m.channel, header: m.header, parent: m.parent_header, content: m.content};
    }
    const buffer = ArrayBuffer.isView(data) ? data.buffer : data, view = new DataView(buffer);
    const count = Number(view.getBigUint64(0, true)), at = [];
    for (let i = 1; i <= count; i++) at.push(Number(view.getBigUint64(8 * i, true)));
    const part = i => text.decode(new Uint8Array(buffer, at[i], at[i + 1] - at[i]));
    const m = {channel: part(0), header: JSON.parse(part(1))};
    if (['status', 'execute_request', 'execute_input'].includes(m.header.msg_type)) {
      m.parent = JSON.parse(part(2));
      m.content = JSON.parse(part(4));
    }
    return m;
  };
  const note = (m, way) => {
    const type = m.header.msg_type, id = m.header.msg_id;
    if (type === 'execute_request' && way === 'sent') {
      rec.sent[id] = {code: String(m.content.code).slice(0, 40), at: now()};
    } else if (type === 'status') {
      const parent = m.parent || {}, pid = parent.msg_id;
      if (m.content.execution_state === 'idle' && pid) rec.idle[pid] = now();
      rec.last.push([now(), m.content.execution_state, parent.msg_type, (pid || '').slice(0, 8)]);
      if (rec.last.length > 12) rec.last.shift();
    }
  };
  class RecordedSocket extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes('/channels')) return;
      rec.events.push(['opening', now()]);
      this.addEventListener('open', () => rec.events.push(['open', now()]));
      this.addEventListener('close', e => rec.events.push(['closed', e.code, now()]));
      this.addEventListener('message', e => {
        rec.frames += 1;
        try { note(parse(e.data), 'received'); } catch (err) { rec.events.push(['unreadable', now()]); }
      });
      this.__recorded = true;
    }
    send(data) {
      if (this.__recorded) {
        try { note(parse(data), 'sent'); } catch (err) { rec.events.push(['unreadable', now()]); }
      }
      return super.send(data);
    }
  }
  window.WebSocket = RecordedSocket;
})();
"""
KERNEL_READY = """() => {
  const l = window.__kstat || [];
  const e = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return l.some(s => s !== 'idle') && e && e.getAttribute('data-status') === 'idle';
}"""
KERNEL_IDLE = """() => {
  const e = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return e && e.getAttribute('data-status') === 'idle';
}"""

# What a page feels like: every long task (over 50 ms) the browser reports, and the time from a
# key press in a cell's editor to the next frame drawn (median of 10, in milliseconds).
LONG_TASKS = """
window.__amjLong = [];
new PerformanceObserver(list => list.getEntries().forEach(e => window.__amjLong.push(e.duration)))
  .observe({type: 'longtask', buffered: true});
"""
KEY_TO_FRAME = """async editor => {
  const times = [];
  for (let i = 0; i < 10; i++) {
    const start = performance.now();
    editor.dispatchEvent(new KeyboardEvent('keydown', {key: 'a', bubbles: true}));
    await new Promise(r => requestAnimationFrame(() => r()));
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[5];
}"""


def find_chromium() -> str | None:
    """The first Chromium found (see CHROMIUM_PATHS), or None."""
    import glob
    import shutil

    for path in CHROMIUM_PATHS:
        if os.access(path, os.X_OK):
            return path
    for command in CHROMIUM_COMMANDS:
        found = shutil.which(command)
        if found:
            return found
    downloads = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or \
        str(Path.home() / ".cache" / "ms-playwright")
    for pattern in PLAYWRIGHT_BUILDS:
        builds = sorted(glob.glob(os.path.join(downloads, pattern)), reverse=True)
        executable = next((build for build in builds if os.access(build, os.X_OK)), None)
        if executable:
            return executable
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """`jupyter lab` on a free port of 127.0.0.1, everything it writes under `base`."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.root = self.base / "notebooks"
        self.home = self.base / "apiframe-home"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "jupyter.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        dirs = {name: self.base / sub for name, sub in (
            ("JUPYTER_CONFIG_DIR", "jcfg"), ("JUPYTER_DATA_DIR", "jdata"),
            ("JUPYTER_RUNTIME_DIR", "jruntime"), ("IPYTHONDIR", "ipython"),
            ("JUPYTERLAB_WORKSPACES_DIR", "jworkspaces"), ("JUPYTERLAB_SETTINGS_DIR", "jsettings"))}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("APIFRAME_", "JUPYTER", "JPY_")) and k != "IPYTHONDIR"}
        env.update({k: str(v) for k, v in dirs.items()})
        # Kernels import this checkout, whichever copy the environment has installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["APIFRAME_MAGIC_HOME"] = str(self.home)
        env["APIFRAME_SIM_SPEED"] = str(SIM_SPEED)
        return env

    def _write_settings(self, env: dict) -> None:
        settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
        quiet = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        quiet.parent.mkdir(parents=True, exist_ok=True)
        quiet.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False,
                                     "doNotDisturbMode": True}))
        # No autosave: a test decides when the notebook is written (recipe, pitfall 7).
        docs = settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(json.dumps({"autosave": False}))
        # Notebook 7 folds a tall output into a scrolled box; unfolded, a screenshot shows it all.
        scroll = settings / "@jupyter-notebook" / "notebook-extension" / \
            "scroll-output.jupyterlab-settings"
        scroll.parent.mkdir(parents=True, exist_ok=True)
        scroll.write_text(json.dumps({"autoScrollOutputs": False}))

    def start(self, timeout: float = 60) -> "JupyterServer":
        self.root.mkdir(parents=True, exist_ok=True)
        env = self.environment()
        self._write_settings(env)
        cmd = [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser",
               "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
               "--ServerApp.token=", "--ServerApp.password=",
               "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root}"]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(cmd, env=env, cwd=self.root, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n"
                                   + self.log_tail())
            try:
                self.api("/api/status")
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("jupyter lab did not answer on /api/status:\n"
                                       + self.log_tail()) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.shutdown_sessions()
            except OSError:
                pass
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
            return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Every kernel stopped, so the next page starts clean (no old widget models)."""
        for session in self.api("/api/sessions"):
            self.api(f"/api/sessions/{session['id']}", "DELETE")
        for kernel in self.api("/api/kernels"):
            self.api(f"/api/kernels/{kernel['id']}", "DELETE")

    # ------------------------------------------------------------------ notebooks on disk

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """A notebook of code cells in the server's root."""
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def read_notebook(self, name: str):
        return nbformat.read(self.root / name, as_version=4)


class NotebookPage:
    """One notebook open in JupyterLab ("lab") or Notebook 7 ("nb7") in its own browser context."""

    def __init__(self, browser, server: JupyterServer, name: str, ui: str,
                 init_scripts: tuple[str, ...] = ()):
        assert ui in UIS, ui
        self.server, self.name, self.ui = server, name, ui
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.closed = False
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.console_errors: list[str] = []   # what Lab logs when a message handler fails
        self.page.on("console", lambda m: self.console_errors.append(m.text[:200])
                     if m.type == "error" else None)
        # Nothing on the page may reach past this machine (no CDN, no remote widget code).
        self.external_requests: list[str] = []
        self.page.on("request", lambda r: None if r.url.startswith(LOCAL_URLS)
                     else self.external_requests.append(r.url))
        for script in (STATUS_RECORDER, SOCKET_RECORDER, *init_scripts):
            self.page.add_init_script(script)

    @property
    def url(self) -> str:
        path = f"/lab/tree/{self.name}?reset" if self.ui == "lab" else f"/notebooks/{self.name}"
        return self.server.url + path

    def open(self, timeout: float = 90_000) -> "NotebookPage":
        """Load the notebook and wait until its kernel has started and is idle."""
        self.page.goto(self.url)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout)
        self.page.wait_for_function(KERNEL_READY, timeout=timeout)
        return self

    @property
    def panel(self):
        return self.page.locator(".jp-NotebookPanel").first

    def cell(self, index: int):
        return self.panel.locator(".jp-Cell").nth(index)

    def outputs(self, index: int):
        """The output area of code cell `index`."""
        return self.cell(index).locator(".jp-OutputArea")

    def menu(self, top: str, command: str) -> None:
        """Click a main-menu entry by its command id (same menus in Lab and Notebook 7)."""
        self.page.locator(".lm-MenuBar-item", has_text=top).first.click()
        self.page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()

    def run_all(self) -> None:
        self.menu("Run", "runmenu:run-all")

    def kernel_status(self) -> str | None:
        return self.page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute(
            "data-status")

    def wait_idle(self, timeout: float = 120_000) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(KERNEL_IDLE, timeout=timeout)
        except PlaywrightTimeout:
            raise AssertionError(f"the page's kernel indicator stayed busy for {timeout} ms; "
                                 f"{self.diagnosis()}") from None

    def diagnosis(self) -> str:
        """Whether the kernel or the page is behind: what each says, and what the sockets carried."""
        kernels = [(k.get("execution_state"), k.get("last_activity"))
                   for k in self.server.api("/api/kernels")]
        seen = self.page.evaluate("window.__kstat")
        return (f"the server says the kernels are {kernels} (now {time.strftime('%H:%M:%S')}); "
                f"the page's indicator went {seen[-6:]}; {self.socket_report()}")

    def requests(self) -> tuple[int, list[str]]:
        """How many execute requests the page sent, and the code of those whose idle status
        never reached it."""
        rec = self.page.evaluate("window.__ws")
        return len(rec["sent"]), [request["code"] for msg_id, request in rec["sent"].items()
                                  if msg_id not in rec["idle"]]

    def socket_report(self) -> str:
        """What the page's kernel sockets carried: requests still waiting for their idle status."""
        rec = self.page.evaluate("window.__ws")
        sent, waiting = self.requests()
        return (f"{sent} execute requests sent, {len(waiting)} without an idle "
                f"status received: {waiting[:5]}; {rec['frames']} frames received; socket "
                f"events {rec['events'][-6:]}; last statuses {rec['last'][-6:]}; console "
                f"errors {self.console_errors[-3:]}")

    def save(self, timeout: float = 30) -> None:
        """File > Save, then wait until the file on disk has outputs."""
        before = (self.server.root / self.name).stat().st_mtime_ns
        self.menu("File", "docmanager:save")
        deadline = time.monotonic() + timeout
        while (self.server.root / self.name).stat().st_mtime_ns == before:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} was not saved within {timeout} s")
            time.sleep(0.2)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.context.close()


def pixel_at_center(png: bytes) -> tuple:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def is_blank(picture: bytes) -> bool:
    """True for an image (PNG, JPEG) of (almost) one colour: nothing was drawn yet."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(picture)).convert("L")
    return max(ImageStat.Stat(image).stddev) < 2.0


def save_screenshot(locator, path: Path, max_bytes: int = 200_000) -> Path:
    """A PNG of one element for docs/screenshots, shrunk until it is under `max_bytes`.

    The notebook scrolls inside its own panel, so an element taller than the window would be cut
    off: the window grows to fit it for the shot, then gets its size back.
    """
    from PIL import Image

    page = locator.page
    size = page.viewport_size
    height = locator.evaluate("e => e.getBoundingClientRect().height")
    try:
        if height + 250 > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": int(height) + 250})
        locator.scroll_into_view_if_needed()
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        png = locator.screenshot()
    finally:
        page.set_viewport_size(size)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        buffer = io.BytesIO()
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            buffer, format="PNG", optimize=True)
        if buffer.tell() <= max_bytes or image.width < 300:
            break
        image = image.resize((int(image.width * 0.8), int(image.height * 0.8)),
                             Image.Resampling.LANCZOS)
    path.write_bytes(buffer.getvalue())
    return path
