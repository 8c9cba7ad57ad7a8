"""Sending a job: once, recorded before it goes, and never losing the task id the service answers.

Every job is in the history before its POST: a new one recorded `submitting`, a queued one claimed
there (queued -> submitting, with the payload it is sent with), so no job is sent twice, not even
by two processes. Once the service answers, the task id is kept on the job before anything else;
a history write that fails then leaves the job polled and says so on its notice (the write is
tried again with each update), and a task id another job already holds ends this one `uncertain`,
the id in its error. A submit that fails without an answer ends `rejected` (certainly not
created) or `uncertain` (it may have been: never sent again); so does Ctrl-C during the POST.
"""
from __future__ import annotations

import time
from typing import Callable

from .errors import ApiframeError, JobCancelledError
from .states import ACTIVE, CANCELLED, REJECTED, UNCERTAIN

# Endpoint kind -> client method. The payload keys are the wire names, which the methods share.
CLIENT_METHODS = {
    "imagine": "imagine", "reroll": "reroll", "variations": "variations", "blend": "blend",
    "inpaint": "inpaint", "outpaint": "outpaint", "pan": "pan", "upscale-1x": "upscale_1x",
    "upscale-alt": "upscale_alt", "upscale-highres": "upscale_highres", "faceswap": "faceswap",
    "describe": "describe", "shorten": "shorten", "seed": "seed",
    "imagine-video": "imagine_video", "imagine-video-extend": "imagine_video_extend",
}


class Sender:
    """The submits of one `jobs.JobManager`; shares its lock."""

    def __init__(self, manager):
        self.manager = manager
        self._unrecorded: set = set()   # jobs with a task id the history does not hold yet

    def send(self, job, *, raise_errors: bool) -> None:
        """Record, POST, record again, for a job already claimed (state SUBMITTING)."""
        manager, store = self.manager, self.manager.store
        method = getattr(manager.client, CLIENT_METHODS[job.kind])
        task_id = None
        try:
            if store is not None:  # on disk before anything is sent
                if job.job_id is None:
                    job.job_id = store.record_submitting(
                        job.kind, job.payload,
                        parent_job_id=job.parent.job_id if job.parent else None,
                        prompt=job.prompt, params=job.params)
                elif not store.claim_queued(job.job_id, payload=job.payload, prompt=job.prompt):
                    manager._end(job, CANCELLED, error=JobCancelledError(
                        f"{job!r} was no longer queued in the history: another process sent "
                        "or cancelled it (see the history); not sent from here"))
                    return
            task_id = method(**job.payload)
            self._sent(job, task_id)
        except KeyboardInterrupt:
            if task_id is None:
                self._interrupted(job)
            else:  # answered: the job is tracked, and its record is written again on its updates
                self._sent(job, task_id, record=False)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised
            if task_id is not None:  # the task exists: never drop its id
                self._sent(job, task_id, record=False, trouble=exc)
                return
            error = exc if isinstance(exc, ApiframeError) else ApiframeError(
                f"submitting {job.kind} failed: {exc}")
            uncertain = getattr(error, "maybe_created", False)
            if store is not None and job.job_id:  # a busy history must not keep it sending
                self._quietly(store.mark_uncertain if uncertain else store.mark_rejected,
                              job.job_id, str(error))
            manager._end(job, UNCERTAIN if uncertain else REJECTED, error=error)
            if raise_errors:
                raise error from None

    def forget(self, job) -> None:
        """`job` has ended: no more updates will write its task id (caller locks)."""
        self._unrecorded.discard(job)

    def record_late(self, job) -> None:
        """An update came for `job`: write its task id if the history missed it (the notice
        goes once it is in)."""
        if job not in self._unrecorded:
            return
        try:
            self._record_task(job)
        except Exception as exc:  # noqa: BLE001 - try again with the next update
            self.manager._remember(f"recording task {job.task_id} of {job!r} failed again: {exc}")
            return
        self.manager._set_notice(job, None)

    def _sent(self, job, task_id: str, *, record: bool = True,
              trouble: BaseException | None = None) -> None:
        """The service created `task_id` for `job`: keep the id on the job first, then record it.

        A history write that fails leaves the job polled, the trouble on its notice. A task id
        that another job already holds (tracked here, or in the history) ends this one
        `uncertain`, the id in its error and its history record."""
        manager = self.manager
        with manager._lock:
            if job.task_id is None:
                manager._auth_error = None  # the key works (again): queued jobs may go out
                job.task_id = task_id
                job.state = ACTIVE   # no status until the service gives one: "Sent", not
                                     # "pending", which its first answer ("staged") would undo
                job.updated_at = time.time()
                tracked = manager._by_task.setdefault(task_id, job)
                if tracked is job:
                    self._unrecorded.add(job)
                    manager.poller.track(job)
            else:  # a second call, after an interruption in the first
                tracked = manager._by_task.get(task_id, job)
        if tracked is not job:
            self._duplicate(job, repr(tracked))
            return
        if record and trouble is None:
            try:
                self._record_task(job)
                return
            except Exception as exc:  # noqa: BLE001 - the id must survive any history trouble
                trouble = exc
        other = self._recorded_elsewhere(job)
        if other is not None:
            self._duplicate(job, f"job {other.job_id}")
            return
        manager._remember(f"recording task {task_id} of {job!r} failed: "
                          f"{trouble or 'interrupted'}")
        manager._set_notice(job, f"task {task_id} is tracked here but not yet in the history "
                                 f"({trouble or 'interrupted'}); it is written with the next "
                                 "update")

    def _duplicate(self, job, holder: str) -> None:
        """The service answered a task id another job holds: say so and end this one."""
        manager = self.manager
        message = (f"the service answered task {job.task_id}, which {holder} already holds: "
                   "this submit is not tracked twice (see that job)")
        if manager.store is not None and job.job_id:
            self._quietly(manager.store.mark_uncertain, job.job_id, message)
        with manager._lock:
            self._unrecorded.discard(job)
            if manager._by_task.get(job.task_id) is job:
                del manager._by_task[job.task_id]   # its updates belong to the job that holds it
            job.notice = message
        manager._end(job, UNCERTAIN, error=ApiframeError(message, maybe_created=True))

    def _record_task(self, job) -> None:
        """Write the job's task id to its history record."""
        store = self.manager.store
        if store is not None and job.job_id:
            store.mark_submitted(job.job_id, job.task_id)
        with self.manager._lock:
            self._unrecorded.discard(job)

    def _recorded_elsewhere(self, job):
        """The history record of another job holding `job.task_id`, if any."""
        store = self.manager.store
        if store is None:
            return None
        try:
            other = store.by_task_id(job.task_id)
        except Exception:  # noqa: BLE001 - the history is in trouble: nothing to compare
            return None
        return other if other is not None and other.job_id != job.job_id else None

    def _quietly(self, write: Callable, *args) -> None:
        """A history write whose failure is remembered, not raised (the job ends either way)."""
        try:
            write(*args)
        except Exception as exc:  # noqa: BLE001
            self.manager._remember(f"writing the history failed: {exc}")

    def _interrupted(self, job) -> None:
        """Ctrl-C during a submit: the request may have gone out, so the job is uncertain."""
        error = ApiframeError(f"submitting {job.kind} was interrupted: the task may have been "
                              "created; check the history before submitting again",
                              maybe_created=True)
        if self.manager.store is not None and job.job_id:
            self._quietly(self.manager.store.mark_uncertain, job.job_id, str(error))
        self.manager._end(job, UNCERTAIN, error=error)
