"""Wiring: the client, history, image cache and job manager for one process.

With `APIFRAME_API_KEY` set, everything talks to the service at `APIFRAME_BASE_URL` (default
https://api.apiframe.pro). Without a key, an embedded simulator starts on 127.0.0.1 and the history
goes to a separate file, so simulated tasks never mix with paid ones.

The embedded simulator remembers, like the service: its tasks live in
`$APIFRAME_MAGIC_HOME/simulator/tasks.jsonl` next to the offline history, its key in `api_key`
there (one per home, so recorded jobs stay valid), and it asks for the port it had last time. When
that port is taken (another kernel), it takes any free one; image URLs recorded by an earlier run
then name an old port, so the offline image cache reads every simulator image URL (a loopback
host, path `/images/...`) from the simulator running now: images are redrawn identically.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .client import ApiframeClient
from .images import ImageCache
from .jobs import JobManager, PollingPolicy
from .redaction import HiddenKey
from . import settings
from .settings import data_dir
from .store import HistoryStore, ensure_private_dir

OFFLINE_NOTICE = ("No APIFRAME_API_KEY set: using the offline simulator (procedural images, no "
                  "credits). Set APIFRAME_API_KEY to use Midjourney.")


@dataclass
class Runtime:
    client: ApiframeClient
    store: HistoryStore
    images: ImageCache
    manager: JobManager
    simulator: object | None = None

    @property
    def offline(self) -> bool:
        return self.simulator is not None

    def close(self) -> None:
        self.manager.shutdown(wait=True)
        self.client.close()
        self.store.close()
        if self.simulator is not None:
            self.simulator.stop()


def default_policy(sim_speed: float | None = None) -> PollingPolicy:
    """The polling a user gets: the defaults, with service times scaled to the simulator's clock."""
    return PollingPolicy().scaled(sim_speed) if sim_speed else PollingPolicy()


def start(api_key: str | None = None, *, base_url: str | None = None,
          sim_speed: float | None = None, home: str | os.PathLike | None = None,
          policy: PollingPolicy | None = None, download_images: bool = True) -> Runtime:
    """Build the parts: against the service when a key is known, else against a simulator.

    The key is a `HiddenKey` from here on (the argument rebound too), so no traceback of a
    start that fails shows it among the frame's locals."""
    api_key = key = HiddenKey(api_key if api_key is not None
                              else os.environ.get(settings.KEY_ENV, "").strip())
    root = Path(home) if home is not None else data_dir()
    simulator = None
    try:  # a start that fails half-way must not leave a simulator's threads running
        if key:
            client = ApiframeClient(key, base_url=base_url)
            history = root / "history.sqlite3"
            images = ImageCache(root / "images")
            policy = policy or default_policy()
        else:
            speed = settings.sim_speed() if sim_speed is None else settings.check_sim_speed(sim_speed)
            simulator = start_simulator(root / "simulator", speed)
            client = ApiframeClient(simulator.api_key, base_url=simulator.url)
            history = root / "simulator" / "history.sqlite3"
            images = SimulatorImageCache(root / "images", simulator)
            policy = policy or default_policy(speed)
        store = HistoryStore(history)  # creates the data directories, private (0700)
        manager = JobManager(client, store=store, images=images, policy=policy,
                             download_images=download_images)
    except BaseException:
        if simulator is not None:
            simulator.stop()
        raise
    return Runtime(client, store, images, manager, simulator)


# ---------------------------------------------------------------------------- the offline twin


def start_simulator(home: Path, speed: float):
    """The embedded simulator on `home`: its remembered tasks, its key, its last port if free."""
    from .simulator import Simulator

    ensure_private_dir(home)
    key = _stable_key(home / "api_key")
    port_file = home / "port"
    try:
        preferred = int(port_file.read_text().strip())
    except (OSError, ValueError):
        preferred = 0
    for port in dict.fromkeys((preferred, 0)):
        simulator = Simulator(speed=speed, api_key=key, port=port, state_dir=home)
        try:
            simulator.start()
            break
        except OSError:
            if port == 0:
                raise
    if simulator.port != preferred:
        port_file.write_text(f"{simulator.port}\n")
    return simulator


def _stable_key(path: Path) -> str:
    """The simulator's key for this home: made once (0600), read ever after."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may have created it a moment ago
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise
    key = "sim-" + secrets.token_hex(16)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SIMULATOR_PATHS = ("/images/", "/videos/", "/uploads/")


class SimulatorImageCache(ImageCache):
    """The image cache of an offline runtime: a simulator image URL recorded by any earlier run
    (whatever port it named) is read from the simulator running now."""

    def __init__(self, cache_dir, simulator, **options):
        super().__init__(cache_dir, **options)
        self.simulator = simulator

    def current_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.hostname in _LOOPBACK and parts.path.startswith(_SIMULATOR_PATHS):
            return self.simulator.url + parts.path
        return url

    def cached_path(self, url: str) -> Path | None:
        return super().cached_path(self.current_url(url))

    def get(self, url: str) -> Path:
        return super().get(self.current_url(url))
