"""Jobs: the part that does the waiting, so nothing else has to.

A `Job` is one task a user asked for. A `JobManager` submits jobs, records them in the history
store, applies what the service says about them, and ends them. It is the facade of the engine's
job parts, each a module with one job that works through the manager (none imports `jobs`):

- `poller.Poller` owns the only thread that talks to the service after submission (polling,
  backoff, notices, sending queued jobs); `PollingPolicy` says how often;
- `sending.Sender` sends each job once, recorded before it goes, and never loses a task id;
- `followups.FollowUps` holds the follow-ups that wait for their parent;
- `recovery.Recovery` turns history records into jobs (`reopen`, `resume`, `reattach`);
- `downloads.ImageDownloads` brings a finished job's images to disk;
- `states` names the local states (re-exported here: `jobs.WAITING`, `jobs.ENDED`...).

Widgets and the CLI only read job state, register callbacks, or wait on `job.ended_event` and
`job.images_event`.

Every job is written to the history store before `submit` returns: as `queued` when the in-flight
limit holds it back (nothing sent, nothing paid; it stays queued on disk if the process ends, and
`resume(send_queued=True)` sends it), else as `submitting` before its POST. A crash or a kernel
restart never loses a paid task, and an ambiguous failure is kept as `uncertain` instead of being
sent again.

A follow-up (upscale, vary, reroll, pan, zoom, a describe's `imagine(i)`) asked of a job that has
not finished returns at once in the state `waiting`: recorded `queued` on disk, sent when the
parent finishes (recorded then with the request it is sent with), ended `failed` with the
parent's reason in words when it does not.

Trouble while polling is shown, not hidden: `job.notice` says what fails and since when (cleared by
the next good answer), and a rejected key (401) stops polling at once: the jobs end locally as
`paused`, stay `active` in the history, and `resume()` picks them up once the key works.

A job's static form and its waiting with progress come from the presenter a face registered in
`presenting` (plain text without one): the engine never imports a face.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
import threading
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import notices, presenting
from .errors import (
    ApiframeError,
    AuthenticationError,
    JobCancelledError,
    JobTimeoutError,
    StoppedWaiting,
    TaskFailedError,
)
from .downloads import ImageDownloads
from .followups import SUGGESTING, FollowUps, suggestions
from .models import Task
from .poller import Poller, PollingPolicy
from .prompt import (DEFAULT_MAX_JOBS, Prompt, PromptError, PromptProblem, count_permutations,
                     parse_prompt, reduce_ratio, validate)
from .recovery import Recovery
from .sending import CLIENT_METHODS, Sender
from .states import (  # noqa: F401 - the states are public here too: jobs.WAITING, jobs.ENDED...
    ACTIVE, CANCELLED, ENDED, FAILED, FINISHED, PAUSED, QUEUED, REJECTED, SUBMITTING, TIMED_OUT,
    UNCERTAIN, UNSENT, WAITING,
)
from .spend import SpendLedger, cost_of

log = logging.getLogger(__name__)

# How far along a service status is, to ignore progress that arrives out of order.
_STATUS_RANK = {"staged": 0, "pending": 0, "retry": 0, "retrying": 0, "starting": 1,
                "processing": 2, "finished": 3, "failed": 3}

class Job:
    """One task: what was asked, what the service says now, and how it ended.

    `ended_event` is set once the job has ended (any state in ENDED), `images_event` once its
    images are on disk too (at once for a job that ended without any): wait on them, or call
    `wait()`. Only the manager changes a job's state.
    """

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
        self.ended_event = threading.Event()
        self.images_event = threading.Event()
        self._callbacks: dict[str, list[Callable]] = {
            "progress": [], "finished": [], "failed": [], "images": []}

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
        """Called from the poller thread on every change of state, status, percentage or notice."""
        self._callbacks["progress"].append(callback)
        return self

    def on_finished(self, callback: Callable[["Job"], Any]) -> "Job":
        return self._add_terminal_callback("finished", callback, self.state == FINISHED)

    def on_failed(self, callback: Callable[["Job"], Any]) -> "Job":
        """Called when the job ends without a result (failed, rejected, timed out, cancelled)."""
        return self._add_terminal_callback("failed", callback, self.done and self.state != FINISHED)

    def on_images(self, callback: Callable[["Job"], Any]) -> "Job":
        """Called once the result's images are on disk (`job.image_paths`)."""
        return self._add_terminal_callback("images", callback, self.images_event.is_set())

    def _add_terminal_callback(self, name: str, callback, already: bool) -> "Job":
        self._callbacks[name].append(callback)
        if already:
            self.manager._run_callbacks(self, [callback])
        return self

    # ---------------------------------------------------------------- waiting

    def wait(self, timeout: float | None = None, *, images: bool = False) -> Task:
        """Block until the job ends; return its result or raise why it has none.

        Ctrl-C stops the waiting (StoppedWaiting, a KeyboardInterrupt), not the job: it goes on in
        the background. `images=True` also waits for the result's images to be downloaded.
        """
        end = None if timeout is None else time.monotonic() + timeout
        try:
            for event in (self.ended_event, self.images_event) if images else (self.ended_event,):
                while not event.is_set():
                    remaining = None if end is None else end - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise JobTimeoutError(
                            f"{self!r} is still running after {timeout:g} s; it goes on in the "
                            "background (job.wait() again, or check it later)")
                    event.wait(0.2 if remaining is None else min(0.2, remaining))
        except KeyboardInterrupt:
            raise StoppedWaiting() from None
        return self._outcome()

    def _outcome(self) -> Task:
        if self.state == FINISHED and self.result is not None:
            return self.result
        if self.error is not None:
            raise self.error
        raise ApiframeError(f"{self!r} ended without a result")

    def _wait_for_value(self, *, images: bool) -> None:
        """Wait until the job ended (and, with `images`, its images are on disk), with the
        registered presenter's progress when there is one. Ctrl-C stops the waiting
        (StoppedWaiting), never the job. Instant once the value is there."""
        if self.images_event.is_set() if images else self.done:
            return
        if threading.current_thread() is self.manager.poller.thread:
            raise ApiframeError(f"{self!r} has not ended: a job callback cannot wait for it "
                                "(the poller thread would wait for itself)")
        presenter = presenting.current()
        if presenter is None:
            try:
                (self.images_event if images else self.ended_event).wait()
            except KeyboardInterrupt:
                raise StoppedWaiting() from None
        elif not presenter.wait([self]):
            raise StoppedWaiting()

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
        return self.manager.follow_up(self, kind, payload)

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
        """The prompts a describe (four) or shorten (three) job suggests, without their 1️⃣
        bullets; waits for a running one to end. Empty for other jobs and when it has none."""
        if self.kind not in SUGGESTING:
            return []
        self._wait_for_value(images=False)
        return suggestions(self)

    def imagine(self, index: int) -> "Job":
        """Imagine suggestion `index` (1-based) of `prompts`, as it is (validated first).

        Asked of a describe or shorten that is still running, the imagine job is returned at once
        and sent when the suggestions are known."""
        if self.kind not in SUGGESTING:
            raise ApiframeError(f"{self!r} has no suggested prompts: only a describe or "
                                "shorten job has them")
        if self.done:
            offered = suggestions(self)
            if not offered:
                raise ApiframeError(f"{self!r} has no suggested prompts: it ended {self.state}")
            count = len(offered)
        else:
            count = SUGGESTING[self.kind]
        if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= count:
            raise ValueError(f"choose a prompt from 1 to {count}, not {index!r}")
        return self.manager.follow_up(self, "imagine", {}, suggestion=index)

    def resume(self) -> "Job":
        """Track this job again after a timeout, a cancel or a pause (a queued job that was
        paused is queued for sending again)."""
        return self.manager.reattach(self)

    def cancel(self) -> None:
        self.manager.cancel(self)

    # ---------------------------------------------------------------- in a notebook

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The static form from the registered presenter (the grid as image/jpeg with a caption,
        or escaped HTML while running); plain text without one."""
        presenter = presenting.current()
        if presenter is None:
            return {"text/plain": repr(self)}, {}
        return presenter.bundle([self])

    def show(self) -> None:
        """Display the job again: live where widgets render, else its static form."""
        presenter = presenting.current()
        if presenter is not None:
            presenter.present([self])
        elif threading.current_thread() is threading.main_thread():
            print(repr(self))   # never from the poller: its output would land in another cell
        else:
            log.info("%r", self)

    def save(self, directory: str | os.PathLike) -> list:
        """Copy the job's images into `directory` (waits for them); returns the paths."""
        self._wait_for_value(images=True)
        self._outcome()  # why there is nothing to save
        if self.manager.images is None or not self.image_paths:
            raise ApiframeError(f"{self!r} has no downloaded images to save")
        return self.manager.images.save(self.task_id, self.image_paths, directory)


class JobManager:
    """Submits jobs, records them on disk, applies what the service says, and ends them.

    `JobManager(client, *, store=None, images=None, policy=None, webhook_url=None,
    webhook_secret=None, download_images=True)`. `store` is a `store.HistoryStore` (history that
    survives restarts), `images` an `images.ImageCache` (results downloaded once, in the
    background). `poller` is the `poller.Poller` whose thread polls and sends queued jobs.
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
        self._queue: list[Job] = []          # recorded, not sent: waiting for a free slot
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._auth_error: AuthenticationError | None = None  # set by a 401: polling paused
        self.poller = Poller(self)
        self.sending = Sender(self)
        self.follow_ups = FollowUps(self)
        self.recovery = Recovery(self)
        self.downloads = ImageDownloads(self.images, store, landed=self._images_landed,
                                        remember=self._remember)
        self.spend = SpendLedger()   # the magic puts its per-kernel ledger here

    # ---------------------------------------------------------------- submitting

    def submit(self, kind: str, payload: Mapping[str, Any], *, parent: Job | None = None,
               prompt: str | None = None, params: dict | None = None,
               deadline: float | None = None) -> Job:
        """Submit one task now if a slot is free, else queue it; returns its Job at once.

        Either way the job is in the history before this returns (`submitting`, or `queued`:
        unsent and unpaid until a slot frees). Errors of a submit made now (bad request, auth, an
        ambiguous network failure) are raised here; a queued job's land in `job.error` and its
        failed callbacks. A new job ends a rate-limit pause of polling. A submit past
        `self.spend.budget` raises spend.BudgetExceeded first.
        """
        self.spend.check(cost_of(kind, payload), f"this {kind}")
        job = self._new_job(kind, payload, parent=parent, prompt=prompt, params=params,
                            deadline=deadline)
        self.poller.end_pause()
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
            self.sending.send(job, raise_errors=True)
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
            parsed = parse_prompt(prompt, version=version)
            aspect_ratio = _agreed_aspect(parsed, aspect_ratio)
            prompt, warnings = str(parsed), parsed.warnings
        job = self.submit("imagine", {"prompt": prompt, "aspect_ratio": aspect_ratio, **payload},
                          prompt=prompt)
        job.warnings = warnings
        return job

    def imagine_all(self, text: str | None = None, *, prompts: Sequence[Prompt] | None = None,
                    aspect_ratio: str | None = None, version: str | None = None,
                    max_jobs: int = DEFAULT_MAX_JOBS, **payload) -> list[Job]:
        """Expand `{a, b}` permutations, validate every job, then queue one imagine per job.

        Everything is checked before anything is recorded (PromptError otherwise); then every
        job is recorded `queued` at once and the poller sends them as slots allow. Submit errors
        land in each `job.error`, never half-way through the list. `prompts=` takes jobs already
        validated (`prompt.validate`, `submission.plan(...).prompts`) instead of `text`, so a
        caller that showed the count first does not validate twice.
        """
        if (text is None) == (prompts is None):
            raise TypeError("imagine_all takes the prompt text or prompts=, one of them")
        parsed = list(prompts) if prompts is not None else validate(
            text, version=version, max_jobs=max_jobs)
        ratios = [_agreed_aspect(p, aspect_ratio) for p in parsed]
        jobs = [self._new_job("imagine", {"prompt": str(p), "aspect_ratio": ratio, **payload},
                              prompt=str(p))
                for p, ratio in zip(parsed, ratios)]
        for job, p in zip(jobs, parsed):
            job.warnings = p.warnings
        self.spend.check(sum(cost_of(job.kind, job.payload) for job in jobs),
                         f"these {len(jobs)} jobs")
        self.poller.end_pause()
        with self._lock:
            self._enqueue(jobs)
        for job in jobs:
            self.spend.add(job)
        return jobs

    def follow_up(self, parent: Job, kind: str, payload: Mapping[str, Any], *,
                  suggestion: int | None = None) -> Job:
        """A job made from `parent` (upscale, vary, reroll, pan, zoom...; `suggestion` n: imagine
        the describe's n-th prompt). Sent now when the parent has a result; else returned at once
        as `waiting`, recorded queued, and sent when the parent finishes (`followups`)."""
        self.spend.check(cost_of(kind, payload), f"this {kind}")
        return self.follow_ups.ask(parent, kind, payload, suggestion=suggestion)

    def _new_job(self, kind: str, payload: Mapping[str, Any], **options) -> Job:
        if kind not in CLIENT_METHODS:
            raise ValueError(f"unknown task kind {kind!r}; one of {', '.join(CLIENT_METHODS)}")
        payload = {k: v for k, v in payload.items() if v is not None}
        if self.webhook_url and "webhook_url" not in payload:
            payload["webhook_url"] = self.webhook_url
            payload["webhook_secret"] = self.webhook_secret
        return Job(self, kind, payload, **options)

    def _record_unsent(self, jobs: list[Job]) -> None:
        """Write `jobs` to the history as queued (all or none); raises before any is kept."""
        if self.store is not None:
            ids = self.store.record_queued_many(
                (job.kind, job.payload, job.parent.job_id if job.parent else None, job.prompt,
                 job.params) for job in jobs)
            for job, job_id in zip(jobs, ids):
                job.job_id = job_id

    def _enqueue(self, jobs: list[Job]) -> None:
        """Record `jobs` as queued (caller holds the lock) and hand them to the poller. A history
        failure raises before any of them is queued or sent."""
        self._record_unsent(jobs)
        self.jobs.extend(jobs)
        for job in jobs:
            self._queue_for_sending(job)

    def _queue_for_sending(self, job: Job) -> None:
        """Hand a recorded, unsent job to the poller, to go out when a slot is free (caller
        locks)."""
        job.state = QUEUED
        self._queue.append(job)
        self.poller.wake()

    def _in_flight(self) -> int:
        return sum(1 for j in self.jobs if j.state in (SUBMITTING, ACTIVE))

    def _has_queued(self) -> bool:
        return bool(self._queue)

    def _take_queued(self) -> list[Job]:
        """The queued jobs the free slots allow, claimed for sending (caller locks)."""
        if self._auth_error is not None:
            return []
        free = max(0, self.policy.max_in_flight - self._in_flight())
        taken, self._queue = self._queue[:free], self._queue[free:]
        for job in taken:
            job.state = SUBMITTING
        return taken

    def wait_submitted(self, jobs: Iterable[Job], timeout: float | None = None) -> None:
        """Block until none of `jobs` is being sent and none is queued while a slot is free:
        every job is then sent (or refused), or queued behind the in-flight limit (or waiting
        for its parent)."""
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
        """Jobs asked for and never sent (still queued in the history: `queued`, `waiting`, or
        paused before sending)."""
        with self._lock:
            return [j for j in self.jobs if j.state in UNSENT
                    or (j.state == PAUSED and not j.task_id)]

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
        cost credits; `job.resume()` picks it up again. An unsent job is simply never sent."""
        with self._lock:
            if job.done:
                return
            unsent = job.state in UNSENT
            if job in self._queue:
                self._queue.remove(job)
            self.follow_ups.drop(job)
        if self.store is not None and job.job_id and (job.task_id or unsent):
            self.store.mark_cancelled(job.job_id)
        self._end(job, CANCELLED, error=JobCancelledError(
            f"{job!r} was cancelled before it was sent; nothing was charged" if unsent else
            f"{job!r} was cancelled locally; the service may still finish it "
            "(job.resume() tracks it again)"))

    # ---------------------------------------------------------------- from the history

    def reattach(self, job: Job) -> Job:
        """Poll a timed-out, cancelled or paused job again (a paused unsent job is queued, or
        waits for its parent again)."""
        return self.recovery.reattach(job)

    def resume(self, *, include_cancelled: bool = False, send_queued: bool = False) -> list[Job]:
        """Re-attach every unfinished task from the history store (after a restart, or after a
        rejected key was fixed) and end a rate-limit pause; with `send_queued=True` also send
        the jobs that were queued and never sent (by a process that has ended, or by this one).
        Returns the jobs taken up."""
        return self.recovery.resume(include_cancelled=include_cancelled, send_queued=send_queued)

    def reopen(self, record) -> Job:
        """The Job of a history record: the one this process tracks; a task still active at the
        service, polled again; an ended one rebuilt from disk (its result and its images, taken
        from the cache or downloaded again). ApiframeError for a job not sent yet."""
        return self.recovery.reopen(record)

    def image_files(self, record, result: Task | None = None) -> dict:
        """The files of a finished record's images by name ('grid', '1'..'4', 'image'): from the
        cache when it still has them, else downloaded (and recorded) again. Raises
        images.ImageDownloadError naming the image that cannot be had."""
        return self.downloads.files(record, result)

    def _job_from_record(self, record, *, sent: bool = False) -> Job:
        """A Job for a history record; `sent`: with its task id (which the history holds), its
        last status and percentage."""
        job = Job(self, record.kind, dict(record.payload or {}), prompt=record.prompt,
                  params=dict(record.params or {}))
        job.job_id, job.created_at = record.job_id, record.created_at
        if sent:
            job.task_id = record.task_id
            job.status, job.percentage = record.status, record.percentage
        return job

    def _keep(self, job: Job) -> None:
        """Count a job taken up from the history among this manager's (caller locks)."""
        self.jobs.append(job)
        if job.task_id:
            self._by_task.setdefault(job.task_id, job)

    def _track(self, job: Job, first: float | None = None) -> None:
        """Poll a sent job (again): its task id is its own here (caller locks)."""
        self._by_task[job.task_id] = job
        self.poller.track(job, first=first)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the poller thread; active jobs stay recorded and can be resumed."""
        self.poller.stop(wait)
        self.downloads.shutdown(wait)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()

    # ---------------------------------------------------------------- webhooks

    def ingest(self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> bool:
        """Apply a webhook payload; returns True when it changed a job.

        The `x-webhook-secret` header must match the job's own `webhook_secret` (else the
        manager's) with a constant-time compare when either is set. Duplicates and progress that
        arrives after a later state are ignored.
        """
        try:
            task = Task.from_dict(payload)
        except ValueError:
            return False
        with self._lock:
            job = self._by_task.get(task.task_id)
        if job is None:
            return False
        secret = job.payload.get("webhook_secret") or self.webhook_secret
        if secret is not None:
            given = next((v for k, v in (headers or {}).items()
                          if k.lower() == "x-webhook-secret"), None)
            if given is None or not hmac.compare_digest(str(given).encode(),
                                                        str(secret).encode()):
                log.warning("webhook payload with a wrong or missing x-webhook-secret ignored")
                return False
        return self._apply(job, task, may_be_late=True)

    # ---------------------------------------------------------------- applying updates

    def _apply(self, job: Job, task: Task, *, may_be_late: bool = False) -> bool:
        """Take one observation of a task; fire callbacks. Returns True when anything changed.

        A poll answer is always current. Webhook payloads (`may_be_late`) can arrive late, so
        one that goes back in status or percentage is ignored.
        """
        with self._lock:
            if job.done:
                return False
            if may_be_late and _is_older(task, job):
                return False
            changed = task.status != job.status or task.percentage != job.percentage
            job.status, job.percentage = task.status, task.percentage
            job.updated_at = time.time()
            self.poller.observed(job, changed)
        self.sending.record_late(job)
        if task.finished:
            if self.store is not None and job.job_id:
                self.store.mark_finished(job.job_id, task.raw)
            self._end(job, FINISHED, result=task)
            self.downloads.start(job)
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

    def _time_out(self, job: Job) -> None:
        if self.store is not None and job.job_id:
            self.store.mark_timed_out(job.job_id)
        self._end(job, TIMED_OUT, error=JobTimeoutError(
            f"{job!r} passed its deadline; the task may still finish on the service: "
            "job.resume() or `apiframe-magic resume` picks it up again"))

    def _fail(self, job: Job, error: ApiframeError) -> None:
        if self.store is not None and job.job_id:
            self.store.mark_failed(job.job_id, str(error))
        self._end(job, FAILED, error=error)

    def _end(self, job: Job, state: str, *, result: Task | None = None,
             error: ApiframeError | None = None) -> None:
        with self._lock:
            if job.done:
                return
            job.state, job.error = state, error
            if result is not None:
                job.result = result
            job.finished_at = job.updated_at = time.time()
            self.poller.forget(job)
            self.sending.forget(job)
            children = self.follow_ups.of(job)
            self._wake.notify_all()
        # Callbacks first, then wake the waiters: a cell that waited sees every output updated.
        self._run_callbacks(job, job._callbacks["progress"])
        self._run_callbacks(job, job._callbacks["finished" if state == FINISHED else "failed"])
        if state != FINISHED:
            job.images_event.set()
        job.ended_event.set()
        for child in children:
            self.follow_ups.release(child)

    def _run_callbacks(self, job: Job, callbacks: Iterable[Callable]) -> None:
        """A failing callback is logged and remembered, never allowed to stop the poller."""
        for callback in list(callbacks):
            try:
                callback(job)
            except Exception as exc:  # noqa: BLE001
                self._remember(f"callback {getattr(callback, '__name__', callback)!r} for "
                               f"{job!r} failed: {exc!r}", level=logging.WARNING)

    def _remember(self, message: str, level: int = logging.WARNING) -> None:
        """Keep what went wrong in the background (the newest 100) and log it."""
        log.log(level, message)
        with self._lock:
            self.errors.append(message)
            del self.errors[:-100]

    # ---------------------------------------------------------------- trouble, in words

    def _set_notice(self, job: Job, notice: str | None) -> None:
        """Change `job.notice`; progress callbacks hear about it."""
        with self._lock:
            if job.notice == notice or job.done:
                return
            job.notice = notice
        self._run_callbacks(job, job._callbacks["progress"])

    def _pause_all(self, exc: AuthenticationError) -> None:
        """The key was rejected: asking again cannot help and every other job uses the same key.
        Stop polling and sending now; the history keeps every job resumable (or queued)."""
        with self._lock:
            self._auth_error = exc
            unsent, self._queue = self._queue, []
            polled = [j for j in self.jobs if j.state == ACTIVE]
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

    def _images_landed(self, job: Job) -> None:
        """A job's images are on disk (or will not be): its image callbacks, then its event."""
        self._run_callbacks(job, job._callbacks["images"])
        job.images_event.set()


def _is_older(task: Task, job: Job) -> bool:
    """`task` goes back in status, or in percentage at the same stage (unknown statuses are the
    earliest stage)."""
    return ((_STATUS_RANK.get(task.status, 0), task.percentage or 0)
            < (_STATUS_RANK.get(job.status, 0), job.percentage or 0))




def _remix(prompt: str | None) -> str | None:
    if prompt is None:
        return None
    from .followup_checks import remixed

    return remixed(prompt)


def _refuse_permutations(text: str) -> None:
    """`imagine` sends one prompt: `{a, b}` would reach Midjourney literally, so point to the call
    that expands it (bad braces get the parser's own message)."""
    count = count_permutations(text)
    position = text.find("{")
    raise PromptError([PromptProblem(
        f"{{…}} permutations make {count} job{'s' if count != 1 else ''}, not one prompt", "{",
        position if position >= 0 else None,
        "manager.imagine_all(text) submits one job per permutation (validate=False sends the "
        "braces as written)")])


def _agreed_aspect(parsed: Prompt, aspect_ratio: str | None) -> str | None:
    """The request's aspect_ratio: the prompt's `--ar` unless the caller gave one; both must agree."""
    in_prompt = parsed.aspect_ratio
    if aspect_ratio is None or in_prompt is None:
        return aspect_ratio or in_prompt
    if _reduced(aspect_ratio) != in_prompt:
        raise PromptError([PromptProblem(
            f"the prompt says --ar {in_prompt} but aspect_ratio={aspect_ratio!r}", "--ar",
            None, "keep one of them (aspect_ratio defaults to the prompt's --ar)")])
    return aspect_ratio


def _reduced(ratio: str) -> str | None:
    """"16:9" for "32:18"; None when it is not W:H."""
    try:
        width, height = (int(part) for part in str(ratio).strip().split(":"))
    except ValueError:
        return None
    return reduce_ratio(width, height) if width > 0 and height > 0 else None
