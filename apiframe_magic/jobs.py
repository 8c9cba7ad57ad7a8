"""Jobs: the part that does the waiting, so nothing else has to.

A `Job` is one task a user asked for. A `JobManager` owns the only thread that talks to the service
after submission: it polls every active job with `/fetch-many` (chunks of 20) or `/fetch` (one
job), adapts the interval to what it sees, honours Retry-After, submits queued jobs as slots free
up, and fires callbacks. Widgets and the CLI only read job state and register callbacks.

Every job is written to the history store before `submit` returns: as `queued` when the in-flight
limit holds it back (nothing sent, nothing paid; it stays queued on disk if the process ends, and
`resume(send_queued=True)` sends it), else as `submitting` before its POST. A crash or a kernel
restart never loses a paid task, and an ambiguous failure is kept as `uncertain` instead of being
sent again.

Trouble while polling is shown, not hidden: `job.notice` says what fails and since when (cleared by
the next good answer), and a rejected key (401) stops polling at once: the jobs end locally as
`paused`, stay `active` in the history, and `resume()` picks them up once the key works.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from . import notices
from . import prompt as prompts
from .client import FETCH_MANY_LIMITS
from .errors import (
    ApiframeError,
    AuthenticationError,
    JobCancelledError,
    JobTimeoutError,
    RateLimitError,
    TaskFailedError,
    TaskNotFoundError,
)
from .models import Task
from .spend import SpendLedger, cost_of

log = logging.getLogger(__name__)

# Endpoint kind -> client method. The payload keys are the wire names, which the methods share.
CLIENT_METHODS = {
    "imagine": "imagine", "reroll": "reroll", "variations": "variations", "blend": "blend",
    "inpaint": "inpaint", "outpaint": "outpaint", "pan": "pan", "upscale-1x": "upscale_1x",
    "upscale-alt": "upscale_alt", "upscale-highres": "upscale_highres", "faceswap": "faceswap",
    "describe": "describe", "shorten": "shorten", "seed": "seed",
    "imagine-video": "imagine_video", "imagine-video-extend": "imagine_video_extend",
}

# Local job states. "queued" waits for a free slot (recorded, not sent); the others end the job
# locally. "paused": polling stopped because the key was rejected; the task goes on at the service
# and stays resumable in the history (so does a paused queued job, still unsent).
QUEUED, SUBMITTING, ACTIVE = "queued", "submitting", "active"
FINISHED, FAILED, TIMED_OUT, CANCELLED, REJECTED, UNCERTAIN, PAUSED = (
    "finished", "failed", "timed_out", "cancelled", "rejected", "uncertain", "paused")
ENDED = frozenset({FINISHED, FAILED, TIMED_OUT, CANCELLED, REJECTED, UNCERTAIN, PAUSED})

# How far along a service status is, to ignore progress that arrives out of order.
_STATUS_RANK = {"staged": 0, "pending": 0, "retry": 0, "retrying": 0, "starting": 1,
                "processing": 2, "finished": 3, "failed": 3}


@dataclass
class PollingPolicy:
    """How often to ask. Times are seconds of wall clock.

    The first look comes soon after submission (catching early failures), then the interval grows
    while nothing changes and shrinks as a job's progress says it is close to the end. It never
    goes below `floor`, and a Retry-After from the service always wins.

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

    def scaled(self, factor: float) -> "PollingPolicy":
        """The same policy with every service time divided by `factor` (for a fast simulator);
        `slow_read_notice` is about a person waiting, so it stays in real seconds."""
        return PollingPolicy(self.first_poll / factor, self.floor / factor,
                             self.ceiling / factor, self.growth, self.deadline / factor,
                             self.max_in_flight, self.not_found_limit,
                             self.error_backoff / factor, self.notice_after,
                             self.slow_read_notice)


class Job:
    """One task: what was asked, what the service says now, and how it ended."""

    def __init__(self, manager: "JobManager", kind: str, payload: dict, *,
                 parent: "Job | None" = None, prompt: str | None = None,
                 params: dict | None = None, deadline: float | None = None):
        self.manager = manager
        self.kind = kind
        self.payload = payload
        self.parent = parent
        self.prompt = prompt if prompt is not None else payload.get("prompt")
        self.params = dict(params or {})
        self.job_id: str | None = None
        self.task_id: str | None = None
        self.state = QUEUED
        self.status: str | None = None
        self.percentage: int | None = None
        self.result: Task | None = None
        self.error: ApiframeError | None = None
        # A short sentence about a current trouble (polling fails, no answer, key rejected);
        # None when all is well. Progress callbacks fire when it changes.
        self.notice: str | None = None
        self.warnings: tuple[str, ...] = ()   # what validation noticed but let through
        self.created_at = time.time()
        self.updated_at = self.created_at
        self.finished_at: float | None = None
        self.deadline_seconds = deadline
        self.image_paths: dict[str, Any] = {}
        self._callbacks: dict[str, list[Callable]] = {
            "progress": [], "finished": [], "failed": [], "images": []}
        self._ended = threading.Event()
        self._images_ready = threading.Event()
        # Poller bookkeeping (owned by the manager's thread).
        self._next_poll = 0.0
        self._interval = 0.0
        self._deadline_at: float | None = None
        self._not_found = 0
        self._history: list[tuple[float, int]] = []
        self._failing_since: float | None = None   # time.time() of the first failed poll in a row
        self._failures = 0

    def __repr__(self) -> str:
        pct = f" {self.percentage}%" if self.percentage is not None and not self.done else ""
        return (f"<Job {self.kind} {self.task_id or self.job_id or 'unsent'} "
                f"{self.state}{'/' + self.status if self.status and not self.done else ''}{pct}>")

    # ---------------------------------------------------------------- state

    @property
    def done(self) -> bool:
        return self.state in ENDED

    @property
    def sref(self) -> str | None:
        return self.result.sref if self.result else None

    @property
    def seconds(self) -> float:
        """How long the job has run (until it ended)."""
        return (self.finished_at or time.time()) - self.created_at

    # ---------------------------------------------------------------- callbacks

    def on_progress(self, callback: Callable[["Job"], Any]) -> "Job":
        """Called from the poller thread on every change of status, percentage or notice."""
        self._callbacks["progress"].append(callback)
        return self

    def on_finished(self, callback: Callable[["Job"], Any]) -> "Job":
        return self._add_terminal_callback("finished", callback, self.state == FINISHED)

    def on_failed(self, callback: Callable[["Job"], Any]) -> "Job":
        """Called when the job ends without a result (failed, rejected, timed out, cancelled)."""
        return self._add_terminal_callback("failed", callback, self.done and self.state != FINISHED)

    def on_images(self, callback: Callable[["Job"], Any]) -> "Job":
        """Called once the result's images are on disk (`job.image_paths`)."""
        return self._add_terminal_callback("images", callback, self._images_ready.is_set())

    def _add_terminal_callback(self, name: str, callback, already: bool) -> "Job":
        self._callbacks[name].append(callback)
        if already:
            self.manager._run_callbacks(self, [callback])
        return self

    # ---------------------------------------------------------------- waiting

    def wait(self, timeout: float | None = None, *, images: bool = False) -> Task:
        """Block until the job ends; return its result or raise why it has none.

        KeyboardInterrupt stops the waiting, not the job: it goes on in the background.
        `images=True` also waits for the result's images to be downloaded.
        """
        end = None if timeout is None else time.monotonic() + timeout
        for event in (self._ended, self._images_ready) if images else (self._ended,):
            while not event.is_set():
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise JobTimeoutError(
                        f"{self!r} is still running after {timeout:g} s; it goes on in the "
                        "background (job.wait() again, or check it later)")
                event.wait(0.2 if remaining is None else min(0.2, remaining))
        return self._outcome()

    def _outcome(self) -> Task:
        if self.state == FINISHED and self.result is not None:
            return self.result
        if self.error is not None:
            raise self.error
        raise ApiframeError(f"{self!r} ended without a result")

    def __await__(self):
        """`await job` in a notebook: resolves on the running loop, no nest_asyncio needed."""
        return self._await().__await__()

    async def _await(self) -> Task:
        if not self.done:
            loop = asyncio.get_running_loop()
            future = loop.create_future()

            def settle(_job):
                if not future.done():
                    loop.call_soon_threadsafe(
                        lambda: future.done() or future.set_result(None))

            self._callbacks["finished"].append(settle)
            self._callbacks["failed"].append(settle)
            if self.done:
                settle(self)
            await future
        return self._outcome()

    # ---------------------------------------------------------------- next actions

    def _child(self, kind: str, **payload) -> "Job":
        """Submit a follow-up; a remixed `prompt` in `payload` becomes the new job's prompt."""
        if not self.task_id:
            raise ApiframeError(f"{self!r} has no task id yet: wait until it is submitted")
        return self.manager.submit(kind, {"parent_task_id": self.task_id, **payload},
                                   parent=self, prompt=payload.get("prompt") or self.prompt,
                                   params=self.params)

    def upscale(self, index: int) -> "Job":
        """U1-U4: one image of the grid at full size."""
        return self._child("upscale-1x", index=str(index))

    def vary(self, index: int | str, prompt: str | None = None) -> "Job":
        """V1-V4 (1-4), or Vary Strong/Subtle ("strong"/"subtle"); Remix with `prompt`."""
        return self._child("variations", index=str(index), prompt=_remix(prompt))

    def reroll(self, prompt: str | None = None) -> "Job":
        """Reroll; with `prompt`, Remix: the new prompt (validated first) instead of this one."""
        return self._child("reroll", prompt=_remix(prompt))

    def vary_region(self, mask, prompt: str | None = None) -> "Job":
        """Vary (Region) of an upscaled image: `mask` (white = redraw) is a box of fractions
        `(left, top, right, bottom)`, a list of boxes or outlines, a PIL image or PNG bytes."""
        from .followup_checks import region

        body, note = region(self, mask, prompt)
        child = self._child("inpaint", **body)
        child.warnings = (note,) if note else ()
        return child

    def animate(self, motion: str = "low", prompt: str | None = None) -> "Job":
        """Animate an upscaled image: four short videos (`result.video_urls`) starting from it."""
        from .followup_checks import animation

        body = animation(self, motion, prompt)
        return self.manager.submit("imagine-video", body, parent=self, prompt=body["prompt"],
                                   params=self.params)

    def extend(self, index: int, prompt: str | None = None, motion: str | None = None) -> "Job":
        """Extend video `index` (1-4) of an Animate job: four longer videos."""
        from .followup_checks import extension

        return self._child("imagine-video-extend", **extension(self, index, prompt, motion))

    def pan(self, direction: str) -> "Job":
        return self._child("pan", direction=direction)

    def zoom_out(self, ratio: float = 2.0) -> "Job":
        return self._child("outpaint", zoom_ratio=ratio)

    def make_square(self) -> "Job":
        """Make Square: an outpaint to 1:1 (zoom ratio 1) of an upscaled image."""
        return self._child("outpaint", zoom_ratio=1, aspect_ratio="1:1")

    def upscale_alt(self, type: str = "subtle") -> "Job":
        return self._child("upscale-alt", type=type)

    def upscale_highres(self, type: str = "2x", index: int | None = None) -> "Job":
        """2x/4x upscale of this job's image (`index` 1-4 picks one when this job is a grid)."""
        return self._child("upscale-highres", type=type,
                           index=None if index is None else str(index))

    @property
    def prompts(self) -> list[str]:
        """The prompts a finished describe (four) or shorten (three) job suggests, without their
        1️⃣ bullets; empty for other jobs and until the job has finished."""
        from .describe import suggested_prompts

        return suggested_prompts(self.result.content if self.result is not None else None)

    def imagine(self, index: int) -> "Job":
        """Imagine suggestion `index` (1-based) of `prompts`, as it is (validated first)."""
        from .prompt import parse_prompt

        suggestions = self.prompts
        if not suggestions:
            raise ApiframeError(f"{self!r} has no suggested prompts: only a finished describe "
                                "or shorten job has them (job.wait() first)")
        if isinstance(index, bool) or not isinstance(index, int) or \
                not 1 <= index <= len(suggestions):
            raise ValueError(f"choose a prompt from 1 to {len(suggestions)}, not {index!r}")
        parsed = parse_prompt(suggestions[index - 1])
        return self.manager.imagine(str(parsed), aspect_ratio=parsed.aspect_ratio)

    def resume(self) -> "Job":
        """Track this job again after a timeout, a cancel or a pause (a queued job that was
        paused is queued for sending again)."""
        return self.manager.reattach(self)

    def cancel(self) -> None:
        self.manager.cancel(self)

    # ---------------------------------------------------------------- in a notebook

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The static form: the grid as image/jpeg with a caption, or escaped HTML while running."""
        from .ipython import presenter as notebook

        return notebook.mimebundle([self])

    def show(self) -> None:
        """Display the job again: live where widgets render, else its static form."""
        from .ipython import presenter as notebook

        notebook.show([self])

    def save(self, directory: str | os.PathLike) -> list:
        """Copy the finished job's images into `directory` (waits for them); returns the paths."""
        self.wait(images=True)
        if self.manager.images is None or not self.image_paths:
            raise ApiframeError(f"{self!r} has no downloaded images to save")
        return self.manager.images.save(self.task_id, self.image_paths, directory)


class JobManager:
    """Submits jobs, polls them all from one background thread, and records them on disk.

    `JobManager(client, *, store=None, images=None, policy=None, webhook_secret=None)`.
    `store` is a `store.HistoryStore` (history that survives restarts), `images` an
    `images.ImageCache` (results downloaded once, in the background).
    """

    def __init__(self, client, *, store=None, images=None, policy: PollingPolicy | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None,
                 download_images: bool = True):
        self.client = client
        self.store = store
        self.images = images if download_images else None
        self.policy = policy or PollingPolicy()
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.jobs: list[Job] = []
        self.errors: list[str] = []          # what went wrong in the background, newest last
        self._by_task: dict[str, Job] = {}
        self._queue: list[Job] = []
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._pause_until = 0.0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._downloads: ThreadPoolExecutor | None = None
        self._auth_error: AuthenticationError | None = None  # set by a 401: polling paused
        self.spend = SpendLedger()   # the magic puts its per-kernel ledger here

    # ---------------------------------------------------------------- submitting

    def submit(self, kind: str, payload: Mapping[str, Any], *, parent: Job | None = None,
               prompt: str | None = None, params: dict | None = None,
               deadline: float | None = None) -> Job:
        """Submit one task now if a slot is free, else queue it; returns its Job at once.

        Either way the job is in the history before this returns (`submitting`, or `queued`:
        unsent and unpaid until a slot frees). Errors of a submit made now (bad request, auth, an
        ambiguous network failure) are raised here; a queued job's land in `job.error` and its
        failed callbacks. A submit past `self.spend.budget` raises spend.BudgetExceeded first.
        """
        self.spend.check(cost_of(kind, payload), f"this {kind}")
        job = self._new_job(kind, payload, parent=parent, prompt=prompt, params=params,
                            deadline=deadline)
        with self._lock:
            # after a 401 a new submit still goes out: its answer tells whether the key works now
            send_now = not self._queue and self._in_flight() < self.policy.max_in_flight
            if send_now:
                job.state = SUBMITTING  # claimed: counts against the in-flight limit from now
                self.jobs.append(job)
            else:
                self._enqueue([job])
        self.spend.add(job)
        if send_now:
            self._send(job, raise_errors=True)
        return job

    def imagine(self, prompt: str, *, aspect_ratio: str | None = None, validate: bool = True,
                version: str | None = None, **payload) -> Job:
        """Submit one prompt, checked first by the same rules as the CLI (`prompt.validate`).

        `version` is the Midjourney version the job will use when the prompt names none.
        `aspect_ratio` defaults to the prompt's `--ar`; a different one is an error. `{a, b}`
        permutations are refused here: `imagine_all` submits one job per permutation.
        Raises prompt.PromptError (a ValueError) before anything is recorded or sent;
        `validate=False` sends the text as given.
        """
        warnings: tuple[str, ...] = ()
        if validate:
            if isinstance(prompt, str) and ("{" in prompt or "}" in prompt):
                _refuse_permutations(prompt)
            parsed = prompts.parse_prompt(prompt, version=version)
            aspect_ratio = _agreed_aspect(parsed, aspect_ratio)
            prompt, warnings = str(parsed), parsed.warnings
        job = self.submit("imagine", {"prompt": prompt, "aspect_ratio": aspect_ratio, **payload},
                          prompt=prompt)
        job.warnings = warnings
        return job

    def imagine_all(self, text: str, *, aspect_ratio: str | None = None,
                    version: str | None = None, max_jobs: int = prompts.DEFAULT_MAX_JOBS,
                    **payload) -> list[Job]:
        """Expand `{a, b}` permutations, validate every job, then queue one imagine per job.

        Everything is checked before anything is recorded (PromptError otherwise); then every
        job is recorded `queued` at once and the poller sends them as slots allow. Submit errors
        land in each `job.error`, never half-way through the list.
        """
        parsed = prompts.validate(text, version=version, max_jobs=max_jobs)
        ratios = [_agreed_aspect(p, aspect_ratio) for p in parsed]
        jobs = [self._new_job("imagine", {"prompt": str(p), "aspect_ratio": ratio, **payload},
                              prompt=str(p))
                for p, ratio in zip(parsed, ratios)]
        for job, p in zip(jobs, parsed):
            job.warnings = p.warnings
        self.spend.check(sum(cost_of(job.kind, job.payload) for job in jobs),
                         f"these {len(jobs)} jobs")
        with self._lock:
            self._enqueue(jobs)
        for job in jobs:
            self.spend.add(job)
        return jobs

    def _new_job(self, kind: str, payload: Mapping[str, Any], **options) -> Job:
        if kind not in CLIENT_METHODS:
            raise ValueError(f"unknown task kind {kind!r}; one of {', '.join(CLIENT_METHODS)}")
        payload = {k: v for k, v in payload.items() if v is not None}
        if self.webhook_url and "webhook_url" not in payload:
            payload["webhook_url"] = self.webhook_url
            payload["webhook_secret"] = self.webhook_secret
        return Job(self, kind, payload, **options)

    def _enqueue(self, jobs: list[Job]) -> None:
        """Record `jobs` as queued (caller holds the lock) and hand them to the poller. A history
        failure raises before any of them is queued or sent."""
        if self.store is not None:
            ids = self.store.record_queued_many(
                (job.kind, job.payload, job.parent.job_id if job.parent else None, job.prompt,
                 job.params) for job in jobs)
            for job, job_id in zip(jobs, ids):
                job.job_id = job_id
        for job in jobs:
            job.state = QUEUED
        self.jobs.extend(jobs)
        self._queue.extend(jobs)
        self._ensure_thread()
        self._wake.notify_all()

    def _in_flight(self) -> int:
        return sum(1 for j in self.jobs if j.state in (SUBMITTING, ACTIVE))

    def wait_submitted(self, jobs: Iterable[Job], timeout: float | None = None) -> None:
        """Block until none of `jobs` is being sent and none is queued while a slot is free:
        every job is then sent (or refused), or queued behind the in-flight limit."""
        jobs = list(jobs)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                free = (self._auth_error is None
                        and self._in_flight() < self.policy.max_in_flight)
                busy = any(j.state == SUBMITTING or (j.state == QUEUED and free) for j in jobs)
            if not busy or (end is not None and time.monotonic() >= end):
                return
            time.sleep(0.02)

    def unsent(self) -> list[Job]:
        """Jobs asked for and never sent (still `queued` here and in the history)."""
        with self._lock:
            return [j for j in self.jobs if j.state == QUEUED
                    or (j.state == PAUSED and not j.task_id)]

    def _send(self, job: Job, *, raise_errors: bool) -> None:
        """Record, POST, record again, for a job already claimed (state SUBMITTING).

        Each job is claimed once under the lock, and a queued row once in the history, so no job
        is ever sent twice, not even by two processes.
        """
        method = getattr(self.client, CLIENT_METHODS[job.kind])
        try:
            if self.store is not None:  # on disk before anything is sent
                if job.job_id is None:
                    job.job_id = self.store.record_submitting(
                        job.kind, job.payload,
                        parent_job_id=job.parent.job_id if job.parent else None,
                        prompt=job.prompt, params=job.params)
                elif not self.store.claim_queued(job.job_id):
                    self._end(job, CANCELLED, error=JobCancelledError(
                        f"{job!r} was no longer queued in the history: another process sent "
                        "or cancelled it (see the history); not sent from here"))
                    return
            task_id = method(**job.payload)
        except KeyboardInterrupt:
            self._interrupted(job)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
            error = exc if isinstance(exc, ApiframeError) else ApiframeError(
                f"submitting {job.kind} failed: {exc}")
            uncertain = getattr(error, "maybe_created", False)
            if self.store is not None and job.job_id:
                (self.store.mark_uncertain if uncertain else self.store.mark_rejected)(
                    job.job_id, str(error))
            self._end(job, UNCERTAIN if uncertain else REJECTED, error=error)
            if raise_errors:
                raise error from None
            return
        if self.store is not None and job.job_id:
            self.store.mark_submitted(job.job_id, task_id)
        with self._lock:
            self._auth_error = None  # the key works (again): queued jobs may go out
            job.task_id = task_id
            job.state = ACTIVE
            job.status = "pending"
            job.updated_at = time.time()
            self._schedule_fresh(job)
            self._by_task[task_id] = job
            self._ensure_thread()
            self._wake.notify_all()

    def _interrupted(self, job: Job) -> None:
        """Ctrl-C during a submit: the request may have gone out, so the job is uncertain."""
        error = ApiframeError(f"submitting {job.kind} was interrupted: the task may have been "
                              "created; check the history before submitting again",
                              maybe_created=True)
        if self.store is not None and job.job_id:
            self.store.mark_uncertain(job.job_id, str(error))
        self._end(job, UNCERTAIN, error=error)

    # ---------------------------------------------------------------- other controls

    def get(self, key: str) -> Job | None:
        """A job by task id or local job id."""
        with self._lock:
            return self._by_task.get(key) or next(
                (j for j in self.jobs if j.job_id == key), None)

    def active(self) -> list[Job]:
        with self._lock:
            return [j for j in self.jobs if not j.done]

    def cancel(self, job: Job) -> None:
        """Stop tracking a job locally. The service has no cancel: the task may still finish and
        cost credits; `job.resume()` picks it up again. A queued job is simply never sent."""
        with self._lock:
            if job.done:
                return
            unsent = job in self._queue
            if unsent:
                self._queue.remove(job)
        if self.store is not None and job.job_id and (job.task_id or unsent):
            self.store.mark_cancelled(job.job_id)
        self._end(job, CANCELLED, error=JobCancelledError(
            f"{job!r} was cancelled before it was sent; nothing was charged" if unsent else
            f"{job!r} was cancelled locally; the service may still finish it "
            "(job.resume() tracks it again)"))

    def reattach(self, job: Job) -> Job:
        """Poll a timed-out, cancelled or paused job again (a paused unsent job is queued)."""
        if job.state == PAUSED and not job.task_id:
            with self._lock:
                self._auth_error = None
                job.error = job.notice = None
                job._ended.clear()
                job._images_ready.clear()
                job.state = QUEUED
                self._queue.append(job)
                self._ensure_thread()
                self._wake.notify_all()
            return job
        if job.state not in (TIMED_OUT, CANCELLED, PAUSED) or not job.task_id:
            return job
        if self.store is not None and job.job_id:
            self.store.mark_resumed(job.job_id)
        with self._lock:
            self._auth_error = None
            job.state, job.error, job.notice = ACTIVE, None, None
            job._failures, job._failing_since = 0, None
            job._ended.clear()
            job._images_ready.clear()
            self._schedule_fresh(job)
            self._by_task[job.task_id] = job
            self._ensure_thread()
            self._wake.notify_all()
        return job

    def resume(self, *, include_cancelled: bool = False, send_queued: bool = False) -> list[Job]:
        """Re-attach every unfinished task from the history store (after a restart, or after a
        rejected key was fixed); with `send_queued=True` also send the jobs that were queued and
        never sent (by a process that has ended, or by this one). Returns the jobs taken up."""
        if self.store is None:
            return []
        states = {"active", "timed_out"} | ({"cancelled"} if include_cancelled else set())
        records = [r for r in self.store.resumable() if r.state in states]
        resumed = []
        with self._lock:
            self._auth_error = None
            for record in records:
                known = self._by_task.get(record.task_id)
                if known is not None:
                    if known.state == PAUSED:
                        resumed.append(self.reattach(known))
                    continue
                if record.state != "active":
                    self.store.mark_resumed(record.job_id)
                job = self._job_from_record(record)
                job.task_id, job.state = record.task_id, ACTIVE
                job.status, job.percentage = record.status, record.percentage
                self._schedule_fresh(job, first=0.0)
                self.jobs.append(job)
                self._by_task[job.task_id] = job
                resumed.append(job)
            if send_queued:
                resumed.extend(self._take_up_queued())
            if resumed:
                self._ensure_thread()
                self._wake.notify_all()
        return resumed

    def _take_up_queued(self) -> list[Job]:
        """Queue again the history's unsent jobs no other live process holds (caller locks)."""
        from .store import held_by_another_process

        taken = []
        mine = {j.job_id: j for j in self.jobs if j.job_id}
        for record in self.store.queued():
            job = mine.get(record.job_id)
            if job is not None:
                if job.state == PAUSED:
                    taken.append(self.reattach(job))
                continue
            if held_by_another_process(record):
                continue
            job = self._job_from_record(record)
            job.state = QUEUED
            self.jobs.append(job)
            self._queue.append(job)
            taken.append(job)
        return taken

    def _job_from_record(self, record) -> Job:
        job = Job(self, record.kind, dict(record.payload or {}), prompt=record.prompt,
                  params=dict(record.params or {}))
        job.job_id, job.created_at = record.job_id, record.created_at
        return job

    def _schedule_fresh(self, job: Job, first: float | None = None) -> None:
        """Start (or restart) tracking: first look soon, deadline counted from now."""
        now = time.monotonic()
        job._interval = self.policy.first_poll
        job._next_poll = now + (self.policy.first_poll if first is None else first)
        deadline = (job.deadline_seconds if job.deadline_seconds is not None
                    else self.policy.deadline)
        job._deadline_at = now + deadline if deadline else None
        job._not_found = 0

    def shutdown(self, wait: bool = True) -> None:
        """Stop the poller thread; active jobs stay recorded and can be resumed."""
        with self._lock:
            self._stopping = True
            self._wake.notify_all()
            thread = self._thread
        if wait and thread is not None:
            thread.join(timeout=10)
        if self._downloads is not None:
            self._downloads.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    # ---------------------------------------------------------------- webhooks

    def ingest(self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> bool:
        """Apply a webhook payload; returns True when it changed a job.

        The `x-webhook-secret` header must match (constant-time compare) when a secret is set.
        Duplicates and progress that arrives after a later state are ignored.
        """
        if self.webhook_secret is not None:
            given = next((v for k, v in (headers or {}).items()
                          if k.lower() == "x-webhook-secret"), None)
            if given is None or not hmac.compare_digest(str(given).encode(),
                                                        self.webhook_secret.encode()):
                log.warning("webhook payload with a wrong or missing x-webhook-secret ignored")
                return False
        try:
            task = Task.from_dict(payload)
        except ValueError:
            return False
        with self._lock:
            job = self._by_task.get(task.task_id)
        if job is None:
            return False
        return self._apply(job, task, in_order=False)

    # ---------------------------------------------------------------- applying updates

    def _apply(self, job: Job, task: Task, *, in_order: bool = True) -> bool:
        """Take one observation of a task; fire callbacks. Returns True when anything changed.

        A poll answer is always current. Webhook payloads (`in_order=False`) can arrive late, so
        one that goes back in status or percentage is ignored.
        """
        with self._lock:
            if job.done:
                return False
            if not in_order and _is_older(task, job):
                return False
            changed = task.status != job.status or task.percentage != job.percentage
            job.status, job.percentage = task.status, task.percentage
            job.updated_at = time.time()
            job._not_found = 0
            if changed and task.percentage is not None:
                job._history.append((time.monotonic(), task.percentage))
                del job._history[:-2]  # the rate needs the last two readings
        if task.finished:
            if self.store is not None and job.job_id:
                self.store.mark_finished(job.job_id, task.raw)
            self._end(job, FINISHED, result=task)
            self._download(job)
        elif task.failed:
            reason = task.error or "no reason given"
            if self.store is not None and job.job_id:
                self.store.mark_failed(job.job_id, reason, task.raw)
            self._end(job, FAILED, result=task, error=TaskFailedError(
                f"Midjourney could not complete {job.kind} {job.task_id}: {reason}",
                task_id=job.task_id, reason=reason))
        elif changed:
            if self.store is not None and job.job_id:
                self.store.update_progress(job.job_id, task.status, task.percentage)
            self._run_callbacks(job, job._callbacks["progress"])
        return changed or task.done

    def _end(self, job: Job, state: str, *, result: Task | None = None,
             error: ApiframeError | None = None) -> None:
        with self._lock:
            if job.done:
                return
            job.state, job.error = state, error
            if result is not None:
                job.result = result
            job.finished_at = job.updated_at = time.time()
            if job.task_id and state in (FINISHED, FAILED):
                self._by_task.setdefault(job.task_id, job)
            self._wake.notify_all()
        # Callbacks first, then wake the waiters: a cell that waited sees every output updated.
        self._run_callbacks(job, job._callbacks["progress"])
        self._run_callbacks(job, job._callbacks["finished" if state == FINISHED else "failed"])
        if state != FINISHED:
            job._images_ready.set()
        job._ended.set()

    def _run_callbacks(self, job: Job, callbacks: Iterable[Callable]) -> None:
        """A failing callback is logged and remembered, never allowed to stop the poller."""
        for callback in list(callbacks):
            try:
                callback(job)
            except Exception as exc:  # noqa: BLE001
                message = f"callback {getattr(callback, '__name__', callback)!r} for {job!r} failed: {exc!r}"
                log.warning(message)
                self.errors.append(message)

    # ---------------------------------------------------------------- images

    def _download(self, job: Job) -> None:
        if self.images is None or job.result is None or not job.result.all_image_urls:
            self._run_callbacks(job, job._callbacks["images"])
            job._images_ready.set()
            return
        with self._lock:
            if self._downloads is None:
                self._downloads = ThreadPoolExecutor(max_workers=2,
                                                     thread_name_prefix="apiframe-images")
        self._downloads.submit(self._download_now, job)

    def _download_now(self, job: Job) -> None:
        result = job.result
        names = image_names(result)
        try:
            paths = self.images.get_many([url for _, url in names])
            job.image_paths = {name: path for (name, _), path in zip(names, paths)}
            if self.store is not None and job.job_id:
                for (name, url), path in zip(names, paths):
                    self.store.record_image(job.job_id, name, url, str(path))
        except Exception as exc:  # noqa: BLE001
            message = f"downloading the images of {job!r} failed: {exc}"
            log.warning(message)
            self.errors.append(message)
        finally:
            self._run_callbacks(job, job._callbacks["images"])
            job._images_ready.set()

    # ---------------------------------------------------------------- the poller

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="apiframe-poller",
                                             daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                if not self._run_once():
                    return
            except Exception as exc:  # noqa: BLE001 - the poller serves every job: keep it alive
                message = f"the poller hit an unexpected error and carries on: {exc!r}"
                log.exception(message)
                self.errors.append(message)
                time.sleep(self.policy.floor)

    def _run_once(self) -> bool:
        """One turn of the poller; False when it should stop."""
        with self._lock:
            if self._stopping:
                return False
            self._expire_deadlines()
            to_send = self._take_queued()
            batch, wait_for = self._due_batch()
            if not to_send and not batch:
                idle = wait_for is None and not self._queue and not self._active_jobs()
                self._wake.wait(timeout=1.0 if idle else max(0.005, wait_for or 0.05))
                return True
        for job in to_send:
            self._send(job, raise_errors=False)
        if batch:
            self._poll(batch)
        return True

    def _active_jobs(self) -> list[Job]:
        return [j for j in self._by_task.values() if j.state == ACTIVE]

    def _take_queued(self) -> list[Job]:
        if self._auth_error is not None:
            return []
        free = max(0, self.policy.max_in_flight - self._in_flight())
        taken, self._queue = self._queue[:free], self._queue[free:]
        for job in taken:
            job.state = SUBMITTING
        return taken

    def _expire_deadlines(self) -> None:
        now = time.monotonic()
        for job in self._active_jobs():
            if job._deadline_at is not None and now >= job._deadline_at:
                if self.store is not None and job.job_id:
                    self.store.mark_timed_out(job.job_id)
                self._end(job, TIMED_OUT, error=JobTimeoutError(
                    f"{job!r} passed its deadline; the task may still finish on the service: "
                    "job.resume() or `apiframe-magic resume` picks it up again"))

    def _due_batch(self) -> tuple[list[Job], float | None]:
        """The jobs to ask about now, and how long to sleep when none is due.

        When any job is due, the request is filled up with the jobs due soonest: one
        `/fetch-many` costs the same for 2 ids as for 20.
        """
        active = sorted(self._active_jobs(), key=lambda j: j._next_poll)
        if not active:
            return [], None
        now = time.monotonic()
        start = max(now, self._pause_until)
        if active[0]._next_poll > start:
            return [], active[0]._next_poll - now
        if self._pause_until > now:
            return [], self._pause_until - now
        due = [j for j in active if j._next_poll <= now]
        chunk = FETCH_MANY_LIMITS[1]
        size = -(-len(due) // chunk) * chunk  # whole chunks
        return active[:size], None

    def _poll(self, batch: list[Job]) -> None:
        """One round of requests for `batch`; failures slow polling down, and only a rejected key
        (401) stops it."""
        singles = [j for j in batch if j._not_found]
        many = [j for j in batch if not j._not_found]
        if len(many) == 1:
            singles, many = singles + many, []
        chunk = FETCH_MANY_LIMITS[1]
        for start in range(0, len(many), chunk):
            if self._auth_error is not None:
                return
            group = many[start:start + chunk]
            if len(group) == 1:
                singles.append(group[0])
                continue
            self._poll_many(group)
        for job in singles:
            if self._auth_error is not None:
                return
            self._poll_one(job)

    def _poll_many(self, group: list[Job]) -> None:
        try:
            with self._slow_read_watch(group):
                tasks = self.client.fetch_many([j.task_id for j in group])
        except ApiframeError as exc:
            self._poll_failed(group, exc)
            return
        seen = set()
        for task in tasks:
            job = self._by_task.get(task.task_id)
            if job is not None and job in group:
                seen.add(task.task_id)
                self._observe(job, task)
        for job in group:
            if job.task_id not in seen and not job.done:
                self._answered(job)
                job._not_found += 1  # ask /fetch next time: it says why
                self._reschedule(job, changed=False)

    def _poll_one(self, job: Job) -> None:
        try:
            with self._slow_read_watch([job]):
                task = self.client.fetch(job.task_id)
        except TaskNotFoundError as exc:
            self._answered(job)
            job._not_found += 1
            if job._not_found >= self.policy.not_found_limit:
                if self.store is not None and job.job_id:
                    self.store.mark_failed(job.job_id, str(exc))
                self._end(job, FAILED, error=exc)
            else:
                self._reschedule(job, changed=False)
            return
        except ApiframeError as exc:
            self._poll_failed([job], exc)
            return
        self._observe(job, task)

    def _observe(self, job: Job, task: Task) -> None:
        self._answered(job)
        try:
            changed = self._apply(job, task)
        except Exception as exc:  # noqa: BLE001 - one bad response must not stop the poller
            message = f"could not apply an update to {job!r}: {exc!r}"
            log.warning(message)
            self.errors.append(message)
            changed = False
        if not job.done:
            self._reschedule(job, changed=changed)

    # ---------------------------------------------------------------- trouble, in words

    def _set_notice(self, job: Job, notice: str | None) -> None:
        """Change `job.notice`; progress callbacks hear about it."""
        with self._lock:
            if job.notice == notice or job.done:
                return
            job.notice = notice
        self._run_callbacks(job, job._callbacks["progress"])

    def _answered(self, job: Job) -> None:
        """A poll got an answer: whatever trouble there was is over."""
        job._failures, job._failing_since = 0, None
        if job.notice is not None:
            self._set_notice(job, None)

    def _host(self) -> str:
        return urlsplit(getattr(self.client, "base_url", "")).netloc or "the service"

    def _slow_read_watch(self, jobs: list[Job]):
        """While a read is retrying without an answer, say so after `slow_read_notice` seconds."""
        started = time.time()

        def say_so():
            for job in jobs:
                if job.notice is None:
                    self._set_notice(job, notices.no_answer(self._host(), started))

        watch = threading.Timer(self.policy.slow_read_notice, say_so)
        watch.daemon = True
        return _Watch(watch)

    def _poll_failed(self, jobs: list[Job], exc: ApiframeError) -> None:
        message = f"polling {len(jobs)} job(s) failed: {exc}"
        log.info(message)
        self.errors.append(message)
        del self.errors[:-100]
        if isinstance(exc, AuthenticationError):
            self._pause_all(exc)
            return
        changed = []
        with self._lock:
            if isinstance(exc, RateLimitError) and exc.retry_after:
                self._pause_until = time.monotonic() + exc.retry_after
            for job in jobs:
                job._interval = min(self.policy.ceiling,
                                    max(job._interval, self.policy.floor) * self.policy.error_backoff)
                job._next_poll = time.monotonic() + job._interval
                job._failures += 1
                job._failing_since = job._failing_since or time.time()
                if job._failures >= self.policy.notice_after:
                    changed.append((job, notices.polling_trouble(self._host(), exc,
                                                                  job._failing_since)))
        for job, notice in changed:
            self._set_notice(job, notice)

    def _pause_all(self, exc: AuthenticationError) -> None:
        """The key was rejected: asking again cannot help and every other job uses the same key.
        Stop polling and sending now; the history keeps every job resumable (or queued)."""
        with self._lock:
            self._auth_error = exc
            unsent, self._queue = self._queue, []
            polled = self._active_jobs()
        reason = f"{exc}"
        for job in polled:
            job.notice = notices.POLLING_PAUSED
            self._end(job, PAUSED, error=AuthenticationError(
                f"{reason} Polling stopped; {job.task_id} goes on at the service and stays in the "
                "history: once the key works, job.resume(), manager.resume() or "
                "`apiframe-magic resume` tracks it again.", status_code=401))
        for job in unsent:
            job.notice = notices.NOT_SENT_PAUSED
            self._end(job, PAUSED, error=AuthenticationError(
                f"{reason} Not sent; the job stays queued in the history: once the key works, "
                "job.resume() or `apiframe-magic resume --send-queued` sends it.",
                status_code=401))

    def _reschedule(self, job: Job, *, changed: bool) -> None:
        """Choose when to look at `job` next from how its progress is moving."""
        policy = self.policy
        with self._lock:
            if changed:
                interval = _eta_interval(job, policy)
            else:
                interval = job._interval * policy.growth
            job._interval = min(policy.ceiling, max(policy.floor, interval))
            job._next_poll = time.monotonic() + job._interval


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


def _is_older(task: Task, job: Job) -> bool:
    old_rank = _STATUS_RANK.get(job.status or "", 0)
    new_rank = _STATUS_RANK.get(task.status, 0)
    return new_rank < old_rank or (
        new_rank == old_rank and (task.percentage or 0) < (job.percentage or 0))


def _eta_interval(job: Job, policy: PollingPolicy) -> float:
    """Half the estimated time left, from the last percentage readings; the floor near the end."""
    history = job._history
    if job.status in ("staged", "pending", "retry", "retrying") or len(history) < 2:
        return max(policy.floor, job._interval)
    (t0, p0), (t1, p1) = history[-2], history[-1]
    if p1 <= p0 or t1 <= t0:
        return job._interval * policy.growth
    rate = (p1 - p0) / (t1 - t0)
    remaining = (100 - p1) / rate
    return remaining / 2


def image_names(result: Task) -> list[tuple[str, str]]:
    """(name, url) for each image of a result: 'grid', '1'..'4', or 'image'."""
    names = []
    if result.original_image_url:
        names.append(("grid", result.original_image_url))
    names.extend((str(i), url) for i, url in enumerate(result.image_urls, start=1))
    if result.image_url and not result.image_urls:
        names.append(("image", result.image_url))
    return names


def _remix(prompt: str | None) -> str | None:
    if prompt is None:
        return None
    from .followup_checks import remixed

    return remixed(prompt)


def _refuse_permutations(text: str) -> None:
    """`imagine` sends one prompt: `{a, b}` would reach Midjourney literally, so point to the call
    that expands it (bad braces get the parser's own message)."""
    count = prompts.count_permutations(text)
    position = text.find("{")
    raise prompts.PromptError([prompts.PromptProblem(
        f"{{…}} permutations make {count} job{'s' if count != 1 else ''}, not one prompt", "{",
        position if position >= 0 else None,
        "manager.imagine_all(text) submits one job per permutation (validate=False sends the "
        "braces as written)")])


def _agreed_aspect(parsed: "prompts.Prompt", aspect_ratio: str | None) -> str | None:
    """The request's aspect_ratio: the prompt's `--ar` unless the caller gave one; both must agree."""
    in_prompt = parsed.aspect_ratio
    if aspect_ratio is None or in_prompt is None:
        return aspect_ratio or in_prompt
    if _reduced(aspect_ratio) != in_prompt:
        raise prompts.PromptError([prompts.PromptProblem(
            f"the prompt says --ar {in_prompt} but aspect_ratio={aspect_ratio!r}", "--ar",
            None, "keep one of them (aspect_ratio defaults to the prompt's --ar)")])
    return aspect_ratio


def _reduced(ratio: str) -> str | None:
    """"16:9" for "32:18"; None when it is not W:H."""
    try:
        width, height = (int(part) for part in str(ratio).strip().split(":"))
    except ValueError:
        return None
    from .prompt.values import _reduce_ratio

    return _reduce_ratio(width, height) if width > 0 and height > 0 else None
