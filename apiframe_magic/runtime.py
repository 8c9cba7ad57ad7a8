"""Wiring: the client, history, image cache and job manager for one process.

With `APIFRAME_API_KEY` set, everything talks to the service at `APIFRAME_BASE_URL` (default
https://api.apiframe.pro). Without a key, an embedded simulator starts on 127.0.0.1 and the history
goes to a separate file, so simulated tasks never mix with paid ones.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .client import ApiframeClient
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
    try:
        return float(os.environ.get("APIFRAME_SIM_SPEED", DEFAULT_SIM_SPEED))
    except ValueError:
        return DEFAULT_SIM_SPEED


def start(api_key: str | None = None, *, base_url: str | None = None,
          sim_speed: float | None = None, home: str | os.PathLike | None = None,
          policy: PollingPolicy | None = None, download_images: bool = True) -> Runtime:
    """Build the parts: against the service when a key is known, else against a simulator."""
    key = api_key if api_key is not None else os.environ.get("APIFRAME_API_KEY", "").strip()
    root = Path(home) if home is not None else data_dir()
    simulator = None
    if key:
        client = ApiframeClient(key, base_url=base_url)
        history = root / "history.sqlite3"
    else:
        from .simulator import Simulator

        speed = sim_speed or sim_speed_from_env()
        simulator = Simulator(speed=speed)
        simulator.start()
        client = ApiframeClient(simulator.api_key, base_url=simulator.url)
        history = root / "simulator" / "history.sqlite3"
        policy = policy or PollingPolicy().scaled(speed)
    history.parent.mkdir(parents=True, exist_ok=True)
    store = HistoryStore(history)
    images = ImageCache(root / "images")
    manager = JobManager(client, store=store, images=images, policy=policy,
                         download_images=download_images)
    return Runtime(client, store, images, manager, simulator)
