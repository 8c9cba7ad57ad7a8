"""The simulator's state behind one lock: tasks, the per-key concurrency queue, credits, counters.

A task's whole timeline is fixed when it is created: it waits `staged` until one of the
`concurrency` slots frees (a min-heap of slot release times on the simulated clock), then runs
pending -> starting -> processing -> finished/failed. Reading a task is pure arithmetic.

With a `TaskLog` every created task is also written to disk, and the tasks of earlier runs (or of
another simulator sharing the directory) are read back: they count against the credits and the
concurrency slots, but not in `tasks_created`, which counts this run's creations.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import heapq
import random
import threading
import time
import uuid
from collections import Counter
from typing import Callable

from .clock import SimClock
from .faults import FaultInjector
from .images import ImageStore
from .persist import TaskLog, decode
from .recipes import DURATIONS, Draft, RecipeBook
from .tasks import GRID, SINGLE, STAGED_MIN, Task, Timeline
from .validation import CREATORS, ValidationError
from .webhooks import WebhookDispatcher


class SimStore:
    """Creates and reads tasks. Every public method is safe to call from any thread."""

    def __init__(self, clock: SimClock, faults: FaultInjector, images: ImageStore,
                 base_url: Callable[[], str], *, concurrency: int = 3, credits: int = 10_000,
                 seed: int | None = None, email: str = "you@simulator.local",
                 plan: str = "starter", log: TaskLog | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.lock = threading.RLock()
        self.clock = clock
        self.faults = faults
        self.images = images
        self.base_url = base_url
        self.concurrency = concurrency
        self.credits = credits
        self.total_images = 0
        self.email, self.plan = email, plan
        self._rng = random.Random(seed)
        self._tasks: dict[str, Task] = {}
        self._order: list[str] = []
        self._slots: list[float] = []        # release times of busy slots (min-heap)
        self.tasks_created = 0
        self.request_counts: Counter[str] = Counter()
        self.recipes = RecipeBook(self._rng, self._known, images, base_url)
        self.webhooks = WebhookDispatcher(clock, self.snapshot)
        self.log = log
        self._load()

    # --- memory ---------------------------------------------------------------------------
    def _load(self) -> None:
        """Take in the tasks the log holds that this simulator does not know yet."""
        if self.log is None or not self.log.has_news():
            return
        with self.lock:
            now, wall = self.clock.now(), time.time()
            for line in self.log.read_new():
                task = decode(line, now, self.clock.speed, wall)
                if task is None or task.task_id in self._tasks:
                    continue
                self._tasks[task.task_id] = task
                self.credits -= task.cost
                self.total_images += 4 if task.kind == GRID else 1 if task.kind == SINGLE else 0
                if task.timeline.ends_at > now:
                    heapq.heappush(self._slots, task.timeline.ends_at)
                    while len(self._slots) > self.concurrency:
                        heapq.heappop(self._slots)

    def _known(self, task_id: str) -> Task | None:
        """A task by id, reading the log again when it is not known (another simulator on the
        same directory may have created it)."""
        task = self._tasks.get(task_id)
        if task is None and self.log is not None:
            self._load()
            task = self._tasks.get(task_id)
        return task

    # --- creation -------------------------------------------------------------------------
    def create(self, endpoint: str, body: dict) -> Task:
        """Validate, charge, schedule. Raises ValidationError (-> 400) on any problem."""
        with self.lock:
            fields = CREATORS[endpoint](body, self._parent_lookup)
            draft = self.recipes.draft(endpoint, fields)
            if self.credits < draft.cost:
                raise ValidationError(["Not enough credits"])
            now = self.clock.now()
            reason = draft.problem or self.faults.task_failure(endpoint, draft.prompt)
            timeline = self._schedule(endpoint, now, reason, bool(draft.problem))
            task = self._make_task(endpoint, draft, timeline, reason, fields)
            self.credits -= draft.cost
            self.total_images += 4 if draft.kind == GRID else 1 if draft.kind == SINGLE else 0
            self._tasks[task.task_id] = task
            self._order.append(task.task_id)
            self.tasks_created += 1
            if self.log is not None:  # on disk before the task id is answered
                self.log.append(task)
        if task.webhook_url:
            self.webhooks.schedule(task.task_id, task.webhook_url, task.webhook_secret,
                                   timeline.progress_points())
        return task

    def _schedule(self, endpoint: str, now: float, reason: str | None,
                  fails_at_start: bool) -> Timeline:
        pending, starting, processing = (self._rng.uniform(*r) for r in DURATIONS[endpoint])
        queued_at = now + STAGED_MIN
        if len(self._slots) >= self.concurrency:
            queued_at = max(queued_at, heapq.heappop(self._slots))
        fail_fraction = None
        if reason is not None:
            fail_fraction = 0.0 if fails_at_start else self._rng.uniform(0.2, 0.7)
        timeline = Timeline(now, queued_at, pending, starting, processing, fail_fraction)
        heapq.heappush(self._slots, timeline.ends_at)
        return timeline

    def _make_task(self, endpoint: str, draft: Draft, timeline: Timeline, reason: str | None,
                   fields: dict) -> Task:
        task_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        while task_id in self._tasks:  # a fixed seed replays ids a remembered run already used
            task_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        drafted = {f.name: getattr(draft, f.name) for f in dataclasses.fields(Draft)}
        return Task(**drafted, task_id=task_id, endpoint=endpoint, timeline=timeline,
                    failure_reason=reason or "", webhook_url=fields.get("webhook_url"),
                    webhook_secret=fields.get("webhook_secret"))

    def _parent_lookup(self, task_id: str):
        task = self._known(task_id)
        if task is None:
            return None
        return task, task.status_at(self.clock.now())[0]

    # --- reading --------------------------------------------------------------------------
    def task(self, task_id: str) -> Task | None:
        with self.lock:
            return self._known(task_id)

    def snapshot(self, task_id: str, at: float | None = None) -> dict | None:
        """What /fetch returns for the task at simulated time `at` (default: now)."""
        with self.lock:
            task = self._known(task_id)
            if task is None:
                return None
            return task.wire(self.clock.now() if at is None else at, self.base_url())

    def snapshots(self, task_ids: list[str]) -> list[dict]:
        """/fetch-many: known tasks in request order, unknown ids left out."""
        with self.lock:
            if any(i not in self._tasks for i in task_ids):
                self._load()
            now = self.clock.now()
            return [self._tasks[i].wire(now, self.base_url()) for i in task_ids
                    if i in self._tasks]

    def task_ids(self) -> list[str]:
        with self.lock:
            return list(self._order)

    def finished_at(self, task_id: str) -> float | None:
        """Wall-clock time (time.time()) at which the task reaches its terminal state."""
        with self.lock:
            task = self._known(task_id)
            return None if task is None else self.clock.wall_time_of(task.timeline.ends_at)

    def account(self) -> dict:
        with self.lock:
            billing = _dt.date.today() + _dt.timedelta(days=30)
            return {"email": self.email, "credits": self.credits,
                    "total_images": self.total_images, "plan": self.plan,
                    "next_billing_date": billing.isoformat()}

    # --- counters -------------------------------------------------------------------------
    def count_request(self, path: str) -> None:
        with self.lock:
            self.request_counts[path] += 1

    def reset_counters(self) -> None:
        with self.lock:
            self.tasks_created = 0
            self.request_counts.clear()
            self._order.clear()
