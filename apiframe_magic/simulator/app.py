"""`Simulator`: the public face of the offline APIFRAME v1 twin (start/stop, counters, faults).

    with Simulator(speed=100) as sim:
        requests.post(f"{sim.url}/imagine", json={"prompt": "a fox"},
                      headers={"Authorization": sim.api_key})
"""
from __future__ import annotations

import os
import threading
from collections import Counter

from .clock import SimClock
from .faults import FaultInjector, Faults
from .images import ImageStore
from .persist import TaskLog
from .server import SimServer
from .store import SimStore

DEFAULT_API_KEY = "sim-key"


class Simulator:
    """A real HTTP server on `host:port` (port 0 picks a free one) speaking APIFRAME's v1 API.

    speed: simulated seconds per real second (100 turns a ~35 s imagine into ~0.35 s).
    api_key: the only key accepted in the Authorization header, raw (APIFRAME's documented form)
    or as `Bearer <key>` (APIFRAME's SDKs). The default suits a simulator embedded in a process;
    one that serves others (`python -m apiframe_magic.simulator`) gets a random key.
    concurrency: tasks running at once for the key; more wait in `staged`.
    credits: starting balance for GET /account; each task costs the documented credits.
    faults: a `Faults` for injected failures (changeable later via `sim.faults = ...`).
    seed: makes task ids, durations, seeds and sref codes reproducible.
    state_dir: a directory where the simulator remembers its tasks (not its images, which it
    redraws): started again on it, it still knows them, and the time it was down has passed for
    them. None (the default) forgets everything at stop.
    images: "light" (small PNGs, fast) or "realistic" (Midjourney's real sizes and weight, see
    realistic.py); None reads APIFRAME_SIM_IMAGES, else light.
    """

    def __init__(self, *, speed: float = 1.0, api_key: str = DEFAULT_API_KEY,
                 host: str = "127.0.0.1", port: int = 0, concurrency: int = 3,
                 credits: int = 10_000, faults: Faults | None = None, seed: int | None = None,
                 email: str = "you@simulator.local", plan: str = "starter",
                 verbose: bool = False, state_dir: str | os.PathLike | None = None,
                 images: str | None = None):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be a whole number from 0 to 65535 (0 picks a free "
                             f"one), got {port!r}")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key must be a non-empty string")
        self.api_key = api_key
        self.clock = SimClock(speed)
        self.injector = FaultInjector(faults)
        self.images = ImageStore(style=images)
        self._host, self._port, self._verbose = host, port, verbose
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.store = SimStore(self.clock, self.injector, self.images, lambda: self.url,
                              concurrency=concurrency, credits=credits, seed=seed,
                              email=email, plan=plan,
                              log=TaskLog(state_dir) if state_dir is not None else None)

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> "Simulator":
        if self._server is not None:
            return self
        self._server = SimServer((self._host, self._port), self, verbose=self._verbose)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="apiframe-simulator", daemon=True)
        self._thread.start()
        self.store.webhooks.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.store.webhooks.stop()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1]) if self.url else self._port

    @property
    def speed(self) -> float:
        return self.clock.speed

    # --- faults ---------------------------------------------------------------------------
    @property
    def faults(self) -> Faults:
        return self.injector.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self.injector.faults = faults or Faults()

    def set_faults(self, faults: Faults | None = None, **fields) -> Faults:
        """`set_faults(Faults(...))` or `set_faults(error_rate=0.5, paths={"/fetch"})`."""
        self.faults = faults if faults is not None else Faults(**fields)
        return self.faults

    def fail_next(self, n: int = 1, kind: str = "500", **options) -> None:
        """The next `n` matching requests misbehave; see `FaultInjector.fail_next`."""
        self.injector.fail_next(n, kind, **options)

    def clear_faults(self) -> None:
        self.injector.clear()

    # --- counters and inspection ----------------------------------------------------------
    @property
    def tasks_created(self) -> int:
        return self.store.tasks_created

    @property
    def tasks(self) -> list[str]:
        return self.store.task_ids()

    def task_ids(self) -> list[str]:
        """Ids of tasks created since start (or the last reset_counters), in creation order."""
        return self.store.task_ids()

    @property
    def request_counts(self) -> Counter:
        """Requests received per path, faulted ones included (a copy)."""
        with self.store.lock:
            return Counter(self.store.request_counts)

    def reset_counters(self) -> None:
        self.store.reset_counters()

    def get_task(self, task_id: str) -> dict | None:
        """What /fetch would return for this task right now (None if unknown)."""
        return self.store.snapshot(task_id)

    def finished_at(self, task_id: str) -> float | None:
        """time.time() at which the task is (or was) terminal on the simulated clock."""
        return self.store.finished_at(task_id)

    @property
    def credits(self) -> int:
        return self.store.credits

    @credits.setter
    def credits(self, value: int) -> None:
        with self.store.lock:
            self.store.credits = value

    @property
    def webhook_log(self) -> list[dict]:
        """Every webhook attempt: task_id, url, attempt, status, ok, payload."""
        return list(self.store.webhooks.log)

    def __repr__(self) -> str:
        state = self.url or "stopped"
        return f"<Simulator {state} speed={self.clock.speed:g}>"
