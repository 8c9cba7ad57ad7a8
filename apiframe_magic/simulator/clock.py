"""The simulated clock: real time scaled by `speed`, plus a manual offset tests can advance.

Task states are computed from this clock on every read, so no per-task timers exist. `advance()`
lets a test jump forward without sleeping; `wall_time_of()` maps a simulated instant back to
`time.time()` so a benchmark can tell when a task "really" finished.
"""
from __future__ import annotations

import math
import threading
import time


class SimClock:
    """Simulated seconds since the simulator started: `(real elapsed) * speed + offset`."""

    def __init__(self, speed: float = 1.0):
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) \
                or not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"the simulator's speed must be a finite number > 0 (1 is real "
                             f"time, 100 makes an imagine take about 0.4 s), got {speed!r}")
        self.speed = float(speed)
        self._mono0 = time.monotonic()
        self._wall0 = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list = []

    def now(self) -> float:
        """Simulated seconds elapsed."""
        with self._lock:
            return (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Jump the simulated clock forward (tests use it instead of sleeping)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        for listener in list(self._listeners):
            listener()

    def on_advance(self, callback) -> None:
        """Call `callback()` after every `advance()` (the webhook thread re-plans its sleep)."""
        self._listeners.append(callback)

    def real_delay(self, sim_seconds: float) -> float:
        """Real seconds that `sim_seconds` of simulated time take at this speed."""
        return max(0.0, sim_seconds) / self.speed

    def wall_time_of(self, sim_time: float) -> float:
        """The `time.time()` at which the simulated clock reaches (or reached) `sim_time`."""
        with self._lock:
            offset = self._offset
        return self._wall0 + (sim_time - offset) / self.speed
