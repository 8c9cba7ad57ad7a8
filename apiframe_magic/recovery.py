"""Jobs taken up again from the history: after a restart, a timeout, a cancel or a rejected key.

`reopen(record)` turns any history record into a Job: the one this process tracks, a task still
active at the service polled again, or an ended one rebuilt from disk (its result, and its images
from the cache or downloaded again). `resume` re-attaches every unfinished task and, when asked,
sends the jobs that were queued and never sent, unless another live process holds them; a
follow-up among them waits for its parent again. `reattach(job)` polls one ended job again.
"""
from __future__ import annotations

from .errors import ApiframeError, TaskFailedError
from .models import Task
from .states import ACTIVE, CANCELLED, FINISHED, PAUSED, TIMED_OUT
from .store import held_by_another_process


class Recovery:
    """History to jobs for one `jobs.JobManager`; shares its lock."""

    def __init__(self, manager):
        self.manager = manager

    def reattach(self, job):
        """Poll a timed-out, cancelled or paused job again (a paused unsent job is queued, or
        waits for its parent again)."""
        manager = self.manager
        if job.state == PAUSED and not job.task_id:
            with manager._lock:
                manager._auth_error = None
                _restart(job)
                manager.follow_ups.wait_or_queue(job, has_parent=job.parent is not None)
            return job
        if job.state not in (TIMED_OUT, CANCELLED, PAUSED) or not job.task_id:
            return job
        if manager.store is not None and job.job_id:
            manager.store.mark_resumed(job.job_id)
        with manager._lock:
            manager._auth_error = None
            _restart(job)
            job.state = ACTIVE
            manager._track(job)
        return job

    def resume(self, *, include_cancelled: bool = False, send_queued: bool = False) -> list:
        """Re-attach every unfinished task of the history (and with `send_queued` queue its
        unsent jobs again); returns the jobs taken up."""
        manager = self.manager
        manager.poller.end_pause()
        if manager.store is None:
            return []
        states = {"active", "timed_out"} | ({"cancelled"} if include_cancelled else set())
        records = [r for r in manager.store.resumable() if r.state in states]
        resumed = []
        with manager._lock:
            manager._auth_error = None
            for record in records:
                known = manager._by_task.get(record.task_id)
                if known is not None:
                    if known.state in (PAUSED, TIMED_OUT) or (
                            include_cancelled and known.state == CANCELLED):
                        resumed.append(self.reattach(known))
                    continue
                resumed.append(self._take_up(record))
            if send_queued:
                resumed.extend(self._take_up_queued())
        return resumed

    def reopen(self, record):
        """The Job of a history record (see the module); ApiframeError for a job not sent yet."""
        manager = self.manager
        with manager._lock:
            known = next((j for j in manager.jobs if j.job_id == record.job_id), None)
            if known is not None:
                return known
            if record.state == "active" and record.task_id:
                return self._take_up(record)
        if record.state in ("queued", "submitting"):
            raise ApiframeError(
                f"{record.task_id or record.job_id} is {record.state} and has no result yet: "
                + ("`%imagine resume --send-queued` sends it" if record.state == "queued" else
                   "another process is sending it"))
        job = manager._job_from_record(record, sent=True)
        job.state = record.state
        job.finished_at = record.finished_at or record.updated_at
        if record.result:
            job.result = Task.from_dict({"task_id": record.task_id, **record.result})
        if record.state != FINISHED:
            job.error = TaskFailedError(record.error or f"ended {record.state}",
                                        task_id=record.task_id, reason=record.error)
        elif job.result is not None:
            job.image_paths = manager.downloads.on_disk(record, job.result)
        job.ended_event.set()
        job.images_event.set()
        with manager._lock:
            manager._keep(job)
        return job

    def _take_up(self, record):
        """Poll a resumable record this process does not track (caller locks)."""
        manager = self.manager
        if record.state != "active":
            manager.store.mark_resumed(record.job_id)
        job = manager._job_from_record(record, sent=True)
        job.state = ACTIVE
        manager._keep(job)
        manager._track(job, first=0.0)
        return job

    def _take_up_queued(self) -> list:
        """Queue again the history's unsent jobs no other live process holds (caller locks); a
        follow-up waits for its parent, taken up too when it is still running."""
        manager = self.manager
        taken = []
        mine = {j.job_id: j for j in manager.jobs if j.job_id}
        for record in manager.store.queued():
            job = mine.get(record.job_id)
            if job is not None:
                if job.state == PAUSED:
                    taken.append(self.reattach(job))
                continue
            if held_by_another_process(record):
                continue
            job = manager._job_from_record(record)
            if record.parent_job_id:
                job.parent = self._parent_of(record, mine)
            manager.jobs.append(job)
            manager.follow_ups.wait_or_queue(job, has_parent=bool(record.parent_job_id))
            taken.append(job)
        return taken

    def _parent_of(self, record, mine: dict):
        """The Job of a queued record's parent: tracked, or reopened from the history."""
        parent = mine.get(record.parent_job_id)
        if parent is None:
            parent_record = self.manager.store.get(record.parent_job_id)
            if parent_record is not None:
                try:
                    parent = self.reopen(parent_record)
                except ApiframeError:
                    parent = None
        return parent


def _restart(job) -> None:
    """An ended job runs again: no error, no notice, its events cleared."""
    job.error = job.notice = None
    job.finished_at = None
    job.ended_event.clear()
    job.images_event.clear()
