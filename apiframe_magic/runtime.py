"""Wiring: the client, history, image cache and job manager for one process.

With `APIFRAME_API_KEY` set, everything talks to the service at `APIFRAME_BASE_URL` (default
https://api.apiframe.pro). Without a key, an embedded simulator starts on 127.0.0.1 and the history
goes to a separate file, so simulated tasks never mix with paid ones.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from .client import ApiframeClient
from .errors import InvalidArgumentError
from .images import ImageCache
from .jobs import JobManager, PollingPolicy
from .store import HistoryStore, data_dir

DEFAULT_SIM_SPEED = 10.0
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


def sim_speed_from_env() -> float:
    """APIFRAME_SIM_SPEED, else the default; an unusable value is an error, not a silent default."""
    text = os.environ.get("APIFRAME_SIM_SPEED", "").strip()
    if not text:
        return DEFAULT_SIM_SPEED
    return check_sim_speed(text, "APIFRAME_SIM_SPEED")


def check_sim_speed(value, name: str = "sim_speed") -> float:
    """A simulator clock speed: a finite number > 0."""
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = math.nan
    if not math.isfinite(speed) or speed <= 0:
        raise InvalidArgumentError(f"{name} must be a finite number > 0 (10 makes an imagine "
                                   f"take about 4 s), got {value!r}")
    return speed


def start(api_key: str | None = None, *, base_url: str | None = None,
          sim_speed: float | None = None, home: str | os.PathLike | None = None,
          policy: PollingPolicy | None = None, download_images: bool = True) -> Runtime:
    """Build the parts: against the service when a key is known, else against a simulator."""
    key = api_key if api_key is not None else os.environ.get("APIFRAME_API_KEY", "").strip()
    root = Path(home) if home is not None else data_dir()
    simulator = None
    try:  # a start that fails half-way must not leave a simulator's threads running
        if key:
            client = ApiframeClient(key, base_url=base_url)
            history = root / "history.sqlite3"
        else:
            from .simulator import Simulator

            speed = sim_speed_from_env() if sim_speed is None else check_sim_speed(sim_speed)
            simulator = Simulator(speed=speed)
            simulator.start()
            client = ApiframeClient(simulator.api_key, base_url=simulator.url)
            history = root / "simulator" / "history.sqlite3"
            policy = policy or PollingPolicy().scaled(speed)
        store = HistoryStore(history)  # creates the data directories, private (0700)
        images = ImageCache(root / "images")
        manager = JobManager(client, store=store, images=images, policy=policy,
                             download_images=download_images)
    except BaseException:
        if simulator is not None:
            simulator.stop()
        raise
    return Runtime(client, store, images, manager, simulator)
