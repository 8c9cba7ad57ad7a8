"""The poller: the one background thread that watches sent jobs for their manager.

It asks about every active job with `/fetch-many` (chunks of 20) or `/fetch` (one job, or one the
batch did not return), adapts each job's interval to its progress, backs off on failures, honours
Retry-After within a bound, sends queued jobs as slots free up, and says what goes wrong on
`job.notice`. It keeps its own per-job bookkeeping (`_Track`); what a job *is* (its state, result,
history record) stays with the `JobManager`, which the poller asks to send, apply and end jobs.

A rate limit can ask for any pause (`Retry-After: 86400`, `inf`): the poller waits at most
`PollingPolicy.max_pause` (`MAX_RATE_LIMIT_PAUSE` by default), says so on the jobs' notice, and
`JobManager.resume()` or a new job ends the pause at once. `PollingPolicy` says how often to ask
(`jobs` exports it too).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import notices
from .client import FETCH_MANY_LIMITS
from .errors import ApiframeError, AuthenticationError, RateLimitError, TaskNotFoundError

log = logging.getLogger(__name__)

# The longest a rate limit may stop polling, whatever Retry-After says (seconds of wall clock).
MAX_RATE_LIMIT_PAUSE = 120.0

_WAITING_STATUSES = ("staged", "pending", "retry", "retrying")


@dataclass
class PollingPolicy:
    """How often to ask. Times are seconds of wall clock.

    The first look comes soon after submission (catching early failures), then the interval grows
    while nothing changes and shrinks as a job's progress says it is close to the end. It never
    goes below `floor`, and a Retry-After from the service wins up to `max_pause`.

    `max_in_flight` bounds the tasks sent and not yet ended. The service queues extra tasks itself
    (`staged`), so holding them back here only delays the last result: 40 (the CLI's permutation
    limit) lets a whole permutation run go out at once and still caps a runaway loop.
    `notice_after` failed polls (each already retried by the client) set `job.notice`;
    `slow_read_notice` seconds without an answer set it while the read is still retrying.
    """

    first_poll: float = 2.0
    floor: float = 1.0
    ceiling: float = 10.0
    growth: float = 1.5
    deadline: float = 15 * 60.0
    max_in_flight: int = 40
    not_found_limit: int = 3
    error_backoff: float = 2.0
    notice_after: int = 1
    slow_read_notice: float = 10.0
    max_pause: float = MAX_RATE_LIMIT_PAUSE

    def scaled(self, factor: float) -> PollingPolicy:
        """The same policy with every service time divided by `factor` (for a fast simulator);
        `slow_read_notice` and `max_pause` are about a person waiting and the service's own rate
        limit, so they stay in real seconds."""
        return PollingPolicy(self.first_poll / factor, self.floor / factor,
                             self.ceiling / factor, self.growth, self.deadline / factor,
                             self.max_in_flight, self.not_found_limit,
                             self.error_backoff / factor, self.notice_after,
                             self.slow_read_notice, self.max_pause)


@dataclass
class _Track:
    """When to look at one job next, and what the poller has seen of it."""

    interval: float
    next_poll: float
    deadline_at: float | None
    not_found: int = 0          # answers without this job; /fetch is asked next, it says why
    readings: list = field(default_factory=list)  # the last two (monotonic time, percentage)
    failing_since: float | None = None            # time.time() of the first failed poll in a row
    failures: int = 0


class Poller:
    """Schedules and sends the polls of one `JobManager`; shares the manager's lock."""

    def __init__(self, manager: "JobManager"):
        self.manager = manager
        self._lock = manager._lock
        self._wake = manager._wake
        self._tracks: dict = {}        # Job -> _Track, for the jobs sent and not ended
        self.paused_until = 0.0        # time.monotonic() before which no poll goes out
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def thread(self) -> threading.Thread | None:
        """The polling thread (None before the first job); it ends after `stop`."""
        return self._thread

    @property
    def policy(self) -> PollingPolicy:
        return self.manager.policy

    # ---------------------------------------------------------------- what the manager asks

    def track(self, job: "Job", first: float | None = None) -> None:
        """Start (or restart) watching a sent job: first look soon, deadline counted from now."""
        now = time.monotonic()
        policy = self.policy
        deadline = job.deadline_seconds if job.deadline_seconds is not None else policy.deadline
        with self._lock:
            self._tracks[job] = _Track(
                interval=policy.first_poll,
                next_poll=now + (policy.first_poll if first is None else first),
                deadline_at=now + deadline if deadline else None)
        self.wake()

    def forget(self, job: "Job") -> None:
        with self._lock:
            self._tracks.pop(job, None)

    def observed(self, job: "Job", percentage_changed: bool) -> None:
        """An answer about `job` arrived (poll or webhook); caller holds the lock."""
        track = self._tracks.get(job)
        if track is None:
            return
        track.not_found = 0
        if percentage_changed and job.percentage is not None:
            track.readings.append((time.monotonic(), job.percentage))
            del track.readings[:-2]  # the rate needs the last two readings

    def end_pause(self) -> None:
        """Poll again now (after `resume`, or when a new job is sent)."""
        with self._lock:
            self.paused_until = 0.0
        self.wake()

    def wake(self) -> None:
        """Make sure the thread runs and looks at its work now."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="apiframe-poller",
                                                daemon=True)
                self._thread.start()
            self._wake.notify_all()

    def stop(self, wait: bool = True) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # ---------------------------------------------------------------- the thread

    def _run(self) -> None:
        while True:
            try:
                if not self._run_once():
                    return
            except Exception as exc:  # noqa: BLE001 - the poller serves every job: keep it alive
                message = f"the poller hit an unexpected error and carries on: {exc!r}"
                log.exception(message)
                self.manager._remember(message)
                time.sleep(self.policy.floor)

    def _run_once(self) -> bool:
        """One turn of the poller; False when it should stop."""
        manager = self.manager
        with self._lock:
            if self._stopping:
                return False
            self._expire_deadlines()
            to_send = manager._take_queued()
            batch, wait_for = self._due_batch()
            if not to_send and not batch:
                idle = wait_for is None and not manager._has_queued() and not self._tracks
                self._wake.wait(timeout=1.0 if idle else max(0.005, wait_for or 0.05))
                return True
        for job in to_send:
            manager.sending.send(job, raise_errors=False)
        if batch:
            self._poll(batch)
        return True

    def _active(self) -> list:
        """The jobs being watched: sent, not ended (the manager forgets a job as it ends)."""
        return list(self._tracks)

    def _expire_deadlines(self) -> None:
        now = time.monotonic()
        for job in self._active():
            deadline_at = self._tracks[job].deadline_at
            if deadline_at is not None and now >= deadline_at:
                self.manager._time_out(job)

    def _due_batch(self) -> tuple[list, float | None]:
        """The jobs to ask about now, and how long to sleep when none is due.

        When any job is due, the request is filled up with the jobs due soonest: one
        `/fetch-many` costs the same for 2 ids as for 20.
        """
        active = sorted(self._active(), key=lambda j: self._tracks[j].next_poll)
        if not active:
            return [], None
        now = time.monotonic()
        first = self._tracks[active[0]].next_poll
        if self.paused_until > now:
            return [], max(first, self.paused_until) - now
        if first > now:
            return [], first - now
        due = [j for j in active if self._tracks[j].next_poll <= now]
        chunk = FETCH_MANY_LIMITS[1]
        size = -(-len(due) // chunk) * chunk  # whole chunks
        return active[:size], None

    # ---------------------------------------------------------------- asking

    def _poll(self, batch: list) -> None:
        """One round of requests for `batch`; failures slow polling down, and only a rejected key
        (401) stops it."""
        singles = [j for j in batch if self._not_found(j)]
        many = [j for j in batch if not self._not_found(j)]
        if len(many) == 1:
            singles, many = singles + many, []
        chunk = FETCH_MANY_LIMITS[1]
        for start in range(0, len(many), chunk):
            if self.manager._auth_error is not None:
                return
            group = many[start:start + chunk]
            if len(group) == 1:
                singles.append(group[0])
                continue
            self._poll_many(group)
        for job in singles:
            if self.manager._auth_error is not None:
                return
            self._poll_one(job)

    def _not_found(self, job: "Job") -> int:
        track = self._tracks.get(job)
        return track.not_found if track is not None else 0

    def _poll_many(self, group: list) -> None:
        try:
            with self._slow_read_watch(group):
                tasks = self.manager.client.fetch_many([j.task_id for j in group])
        except ApiframeError as exc:
            self._poll_failed(group, exc)
            return
        by_task = {job.task_id: job for job in group}
        seen = set()
        for task in tasks:
            job = by_task.get(task.task_id)
            if job is not None:
                seen.add(task.task_id)
                self._observe(job, task)
        for job in group:
            if job.task_id not in seen and not job.done:
                self._answered(job)
                with self._lock:
                    track = self._tracks.get(job)
                    if track is not None:
                        track.not_found += 1
                self._reschedule(job, changed=False)

    def _poll_one(self, job: "Job") -> None:
        try:
            with self._slow_read_watch([job]):
                task = self.manager.client.fetch(job.task_id)
        except TaskNotFoundError as exc:
            self._answered(job)
            with self._lock:
                track = self._tracks.get(job)
                if track is not None:
                    track.not_found += 1
                gone = track is not None and track.not_found >= self.policy.not_found_limit
            if gone:
                self.manager._fail(job, exc)
            else:
                self._reschedule(job, changed=False)
            return
        except ApiframeError as exc:
            self._poll_failed([job], exc)
            return
        self._observe(job, task)

    def _observe(self, job: "Job", task) -> None:
        self._answered(job)
        try:
            changed = self.manager._apply(job, task)
        except Exception as exc:  # noqa: BLE001 - one bad response must not stop the poller
            message = f"could not apply an update to {job!r}: {exc!r}"
            log.warning(message)
            self.manager._remember(message)
            changed = False
        if not job.done:
            self._reschedule(job, changed=changed)

    def _reschedule(self, job: "Job", *, changed: bool) -> None:
        """Choose when to look at `job` next from how its progress is moving."""
        policy = self.policy
        with self._lock:
            track = self._tracks.get(job)
            if track is None:
                return
            interval = (eta_interval(track, job.status, policy) if changed
                        else track.interval * policy.growth)
            track.interval = min(policy.ceiling, max(policy.floor, interval))
            track.next_poll = time.monotonic() + track.interval

    # ---------------------------------------------------------------- trouble, in words

    def _answered(self, job: "Job") -> None:
        """A poll got an answer: whatever trouble there was is over."""
        with self._lock:
            track = self._tracks.get(job)
            if track is not None:
                track.failures, track.failing_since = 0, None
        if job.notice is not None:
            self.manager._set_notice(job, None)

    def _host(self) -> str:
        return urlsplit(getattr(self.manager.client, "base_url", "")).netloc or "the service"

    def _slow_read_watch(self, jobs: list):
        """While a read is retrying without an answer, say so after `slow_read_notice` seconds."""
        started = time.time()

        def say_so():
            for job in jobs:
                if job.notice is None:
                    self.manager._set_notice(job, notices.no_answer(self._host(), started))

        watch = threading.Timer(self.policy.slow_read_notice, say_so)
        watch.daemon = True
        return _Watch(watch)

    def _poll_failed(self, jobs: list, exc: ApiframeError) -> None:
        self.manager._remember(f"polling {len(jobs)} job(s) failed: {exc}", level=logging.INFO)
        if isinstance(exc, AuthenticationError):
            self.manager._pause_all(exc)
            return
        policy = self.policy
        changed = []
        with self._lock:
            pause = None
            if isinstance(exc, RateLimitError) and exc.retry_after:
                pause = bounded_pause(exc.retry_after, policy.max_pause)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
            for job in jobs:
                track = self._tracks.get(job)
                if track is None:
                    continue
                track.interval = min(policy.ceiling,
                                     max(track.interval, policy.floor) * policy.error_backoff)
                track.next_poll = time.monotonic() + track.interval
                track.failures += 1
                track.failing_since = track.failing_since or time.time()
                if pause is not None:
                    changed.append((job, notices.rate_limited(self._host(), time.time() + pause)))
                elif track.failures >= policy.notice_after:
                    changed.append((job, notices.polling_trouble(self._host(), exc,
                                                                  track.failing_since)))
        for job, notice in changed:
            self.manager._set_notice(job, notice)


def bounded_pause(retry_after: float, limit: float) -> float:
    """The pause a Retry-After asks for, never more than `limit` (inf and NaN included)."""
    if math.isnan(retry_after):
        return limit
    return max(0.0, min(retry_after, limit))


def eta_interval(track: _Track, status: str | None, policy: PollingPolicy) -> float:
    """Half the estimated time left, from the last percentage readings; the floor near the end."""
    readings = track.readings
    if status in _WAITING_STATUSES or len(readings) < 2:
        return max(policy.floor, track.interval)
    (t0, p0), (t1, p1) = readings[-2], readings[-1]
    if p1 <= p0 or t1 <= t0:
        return track.interval * policy.growth
    rate = (p1 - p0) / (t1 - t0)
    remaining = (100 - p1) / rate
    return remaining / 2


class _Watch:
    """A started-on-entry, cancelled-on-exit timer (context manager). Exit waits for a firing
    that already began, so it cannot land after the answer it was about."""

    def __init__(self, timer: threading.Timer):
        self.timer = timer

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        self.timer.join()
