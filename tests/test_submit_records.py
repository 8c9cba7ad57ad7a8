"""A created task is never dropped: when the history write after a successful submit fails (a task id
the history already holds, the write lock busy past its timeout, Ctrl-C between the answer and the
write), the job keeps its task id, ends in a state `wait` sees (never stuck in `submitting` holding
an in-flight slot), and the history learns the id. Real HTTP against the simulator, a real SQLite
lock held by a second connection."""
from __future__ import annotations

import sqlite3

import pytest

from apiframe_magic import store as store_module
from apiframe_magic.jobs import ACTIVE, UNCERTAIN, JobManager, PollingPolicy
from apiframe_magic.store import HistoryStore

ONE_SLOT = PollingPolicy(max_in_flight=1).scaled(100)


class AnotherKernelRecordsTheSameTask(HistoryStore):
    """Between the service's answer and our write, another job's record takes that task id."""

    other_job_id = None

    def mark_submitted(self, job_id, task_id):
        if self.other_job_id is None:
            self.other_job_id = self.record_submitting("imagine", {"prompt": "elsewhere"})
            super().mark_submitted(self.other_job_id, task_id)
        return super().mark_submitted(job_id, task_id)


class LockedWhileRecording(HistoryStore):
    """Another process holds the history's write lock past the busy timeout, once."""

    locked_once = False

    def mark_submitted(self, job_id, task_id):
        if self.locked_once:
            return super().mark_submitted(job_id, task_id)
        self.locked_once = True
        other = sqlite3.connect(self.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            return super().mark_submitted(job_id, task_id)
        finally:
            other.execute("ROLLBACK")
            other.close()


class InterruptedWhileRecording(HistoryStore):
    """Ctrl-C lands after the service answered, before the history write."""

    interrupted = False

    def mark_submitted(self, job_id, task_id):
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        return super().mark_submitted(job_id, task_id)


def test_a_task_id_the_history_already_holds_ends_the_job_uncertain_with_the_id(
        sim, client, tmp_path):
    with AnotherKernelRecordsTheSameTask(tmp_path / "history.sqlite3") as history, \
            JobManager(client, store=history, policy=ONE_SLOT, download_images=False) as manager:
        job = manager.imagine("a fox seen twice")
        assert job.state == UNCERTAIN and job.done          # wait() sees it at once
        assert job.task_id == sim.task_ids()[0]
        assert job.task_id in str(job.error) and history.other_job_id in str(job.error)
        assert job.notice == str(job.error)
        record = history.get(job.job_id)
        assert record.state == "uncertain" and job.task_id in record.error
        assert history.by_task_id(job.task_id).job_id == history.other_job_id
        with pytest.raises(Exception, match="not tracked twice"):
            job.wait(timeout=5)
        following = manager.imagine("the slot is free again")
        assert following.state == ACTIVE                    # not queued behind a stuck job


def test_a_busy_history_keeps_the_job_polled_and_records_its_id_later(sim, client, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    with LockedWhileRecording(tmp_path / "history.sqlite3") as history, \
            JobManager(client, store=history, policy=ONE_SLOT, download_images=False) as manager:
        seen = []
        job = manager.imagine("a fox behind a locked door")
        assert job.state == ACTIVE and job.task_id == sim.task_ids()[0]
        assert job.notice.startswith(f"task {job.task_id} is tracked here but not yet in the "
                                     "history (Cannot write the job history")
        job.on_progress(lambda j: seen.append(j.notice))
        assert job.wait(timeout=20).finished
        record = history.get(job.job_id)
        assert record.task_id == job.task_id and record.state == "finished"
        assert job.notice is None and None in seen


def test_ctrl_c_between_the_answer_and_the_write_keeps_the_task(sim, client, tmp_path):
    with InterruptedWhileRecording(tmp_path / "history.sqlite3") as history, \
            JobManager(client, store=history, policy=ONE_SLOT, download_images=False) as manager:
        with pytest.raises(KeyboardInterrupt):
            manager.imagine("a fox, interrupted")
        (job,) = manager.jobs
        assert job.task_id == sim.task_ids()[0] and job.state == ACTIVE
        assert "interrupted" in job.notice
        assert job.wait(timeout=20).finished
        record = history.get(job.job_id)
        assert record.task_id == job.task_id and record.state == "finished"
    assert sim.tasks_created == 1
