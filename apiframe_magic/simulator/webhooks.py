"""Webhook delivery: one background thread POSTs progress and final payloads on the sim clock.

Every payload is exactly what /fetch would have returned at that simulated instant. Progress
updates are best effort; the terminal payload is retried (3 more attempts, 10/30/90 simulated
seconds apart, like the JourneyAPI clone documents). Proxies from the environment are bypassed
and redirects are not followed: webhooks only ever go to the loopback address that was checked.
"""
from __future__ import annotations

import heapq
import itertools
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from .clock import SimClock
from .tasks import TERMINAL

RETRY_BACKOFF = (10.0, 30.0, 90.0)     # simulated seconds


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is the receiver's answer (a failed delivery), never a new destination:
    following it would re-send x-webhook-secret to a host that was never checked."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass(order=True)
class _Delivery:
    due: float                                   # simulated time
    seq: int
    task_id: str = field(compare=False)
    url: str = field(compare=False)
    secret: str | None = field(compare=False)
    at: float = field(compare=False)             # simulated instant the payload describes
    attempt: int = field(compare=False, default=0)
    payload: dict | None = field(compare=False, default=None)


class WebhookDispatcher:
    """Schedules and sends webhook POSTs; `log` records every attempt for tests."""

    def __init__(self, clock: SimClock, snapshot: Callable[[str, float], dict | None],
                 timeout: float = 2.0):
        self._clock = clock
        self._snapshot = snapshot
        self._timeout = timeout
        self._heap: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   _NoRedirects())
        self.log: list[dict] = []
        clock.on_advance(self._wake)

    def schedule(self, task_id: str, url: str, secret: str | None, instants: list[float]) -> None:
        """Send the task's state at each simulated instant (duplicates in state are skipped)."""
        with self._cond:
            for at in instants:
                heapq.heappush(self._heap, _Delivery(at, next(self._seq), task_id, url, secret, at))
            self._cond.notify()

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="sim-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify()
        if self._thread:
            self._thread.join(timeout=self._timeout + 1)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _next_due(self) -> _Delivery | None:
        with self._cond:
            while self._running:
                if not self._heap:
                    self._cond.wait(0.5)
                    continue
                wait = self._clock.real_delay(self._heap[0].due - self._clock.now())
                if wait <= 0:
                    return heapq.heappop(self._heap)
                self._cond.wait(min(wait, 0.5))
        return None

    def _run(self) -> None:
        last_sent: dict[str, tuple] = {}
        while True:
            item = self._next_due()
            if item is None:
                return
            payload = item.payload or self._snapshot(item.task_id, item.at)
            if payload is None:
                continue
            state = (payload.get("status"), payload.get("percentage"))
            if item.payload is None and last_sent.get(item.task_id) == state:
                continue          # nothing changed since the previous update
            last_sent[item.task_id] = state
            ok = self._post(item, payload)
            terminal = payload.get("status") in TERMINAL
            if not ok and terminal and item.attempt < len(RETRY_BACKOFF):
                retry = _Delivery(self._clock.now() + RETRY_BACKOFF[item.attempt],
                                  next(self._seq), item.task_id, item.url, item.secret, item.at,
                                  item.attempt + 1, payload)
                with self._cond:
                    heapq.heappush(self._heap, retry)

    def _post(self, item: _Delivery, payload: dict) -> bool:
        headers = {"Content-Type": "application/json"}
        if item.secret is not None:
            headers["x-webhook-secret"] = item.secret
        request = urllib.request.Request(item.url, data=json.dumps(payload).encode(),
                                         headers=headers, method="POST")
        status: int | None = None
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except Exception:       # refused, timeout, reset: the receiver is not there
            status = None
        ok = status is not None and 200 <= status < 300
        self.log.append({"task_id": item.task_id, "url": item.url, "attempt": item.attempt,
                         "status": status, "ok": ok, "payload": payload})
        return ok
