"""JobManager against the simulator over HTTP: batching, adaptive interval, queueing, cancel,
deadline, webhook ingestion, faults, asyncio and KeyboardInterrupt."""
from __future__ import annotations

import asyncio
import time

import pytest

from apiframe_magic import ApiframeClient
from apiframe_magic.errors import JobCancelledError, JobTimeoutError, TaskFailedError
from apiframe_magic.jobs import Job, JobManager, PollingPolicy
from apiframe_magic.poller import _Track, eta_interval
from apiframe_magic.store import HistoryStore
from history_fixtures import FAST
from interrupts import interrupt_main_when, main_thread_in


class RecordingClient(ApiframeClient):
    """A real client that also notes when each poll was made."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.polls: list[tuple[float, str, int]] = []
        self.polled_ids: list[str] = []

    def fetch(self, task_id):
        self.polls.append((time.monotonic(), "fetch", 1))
        self.polled_ids.append(task_id)
        return super().fetch(task_id)

    def fetch_many(self, task_ids):
        self.polls.append((time.monotonic(), "fetch-many", len(task_ids)))
        self.polled_ids.extend(task_ids)
        return super().fetch_many(task_ids)


@pytest.fixture
def recording(sim):
    return RecordingClient(sim.api_key, base_url=sim.url, backoff=0.01)


@pytest.fixture
def manager(recording, store, images):
    with JobManager(recording, store=store, images=images, policy=FAST) as m:
        yield m


def test_one_job_finishes_with_images_and_history(manager, store):
    job = manager.imagine("a red fox --ar 3:2", aspect_ratio="3:2")
    assert store.get(job.job_id).state == "active"  # on disk before submit returned
    result = job.wait(timeout=20, images=True)
    assert result.finished and len(result.image_urls) == 4
    assert set(job.image_paths) == {"grid", "1", "2", "3", "4"}
    assert all(path.exists() for path in job.image_paths.values())
    record = store.get(job.job_id)
    assert record.state == "finished" and record.task_id == job.task_id
    assert len(store.images(job.job_id)) == 5


def test_one_active_job_is_polled_with_fetch(manager, recording):
    manager.imagine("a single job").wait(timeout=20)
    assert {kind for _, kind, _ in recording.polls} == {"fetch"}


def test_many_jobs_are_batched_into_fetch_many(sim, recording, store):
    policy = PollingPolicy().scaled(100)
    policy.first_poll = 3.0  # every job is submitted before the first poll
    with JobManager(recording, store=store, policy=policy, download_images=False) as m:
        jobs = [m.imagine(f"a cat number {i}") for i in range(8)]
        for job in jobs:
            job.wait(timeout=30)
    assert recording.polls[0][1:] == ("fetch-many", 8)       # one request for all eight
    # every round is one request, whatever its size
    assert sim.request_counts["/fetch"] + sim.request_counts["/fetch-many"] == \
        len(recording.polls)


def test_more_than_twenty_jobs_go_in_chunks_of_twenty(sim, recording, store):
    policy = PollingPolicy().scaled(100)
    policy.max_in_flight = 30
    policy.first_poll = 3.0  # every job is submitted before the first poll
    with JobManager(recording, store=store, policy=policy, download_images=False) as m:
        jobs = [m.imagine(f"chunk {i}") for i in range(25)]
        for job in jobs:
            job.wait(timeout=60)
    sizes = [n for _, _, n in recording.polls]
    assert max(sizes) == 20 and sizes[:2] == [20, 5]
    assert all(job.state == "finished" for job in jobs)


def test_interval_stays_between_the_floor_and_the_ceiling(manager):
    poller = manager.poller
    manager.policy = PollingPolicy(first_poll=2, floor=1, ceiling=10, growth=1.5)
    job = Job(manager, "imagine", {"prompt": "x"})
    job.status = "processing"
    poller._tracks[job] = track = _Track(interval=2.0, next_poll=0.0, deadline_at=None)
    track.readings = [(0.0, 80), (2.0, 96)]         # 0.5 s left: the ETA says 0.25 s
    poller._reschedule(job, changed=True)
    assert track.interval == 1.0                      # the floor
    track.interval = 8.0
    poller._reschedule(job, changed=False)            # nothing changed: grow, up to the ceiling
    assert track.interval == 10.0
    track.interval = 4.0
    poller._reschedule(job, changed=False)
    assert track.interval == 6.0
    poller._tracks.pop(job)


def test_interval_grows_when_nothing_changes_and_shrinks_near_the_end():
    policy = PollingPolicy(first_poll=2, floor=1, ceiling=10, growth=1.5)
    track = _Track(interval=2.0, next_poll=0.0, deadline_at=None)
    assert eta_interval(track, "pending", policy) == 2.0  # queued: keep the current pace
    track.readings = [(0.0, 10), (4.0, 50)]  # 10 %/s -> 5 s left
    assert eta_interval(track, "processing", policy) == pytest.approx(2.5)
    track.readings = [(0.0, 80), (2.0, 96)]  # 8 %/s -> 0.5 s left
    assert eta_interval(track, "processing", policy) < policy.floor


def test_queue_keeps_jobs_in_flight_under_the_limit(sim, client, store):
    policy = PollingPolicy().scaled(100)
    policy.max_in_flight = 2
    peak = 0
    with JobManager(client, store=store, policy=policy, download_images=False) as m:
        jobs = [m.imagine(f"queued {i}") for i in range(6)]
        assert [j.state for j in jobs].count("queued") == 4
        assert sim.tasks_created == 2
        while not all(j.done for j in jobs):
            peak = max(peak, sum(j.state in ("submitting", "active") for j in jobs))
            time.sleep(0.01)
    assert peak <= 2
    assert all(j.state == "finished" for j in jobs)
    assert sim.tasks_created == 6


def test_cancel_stops_tracking_and_resume_picks_it_up(manager, store, recording):
    job = manager.imagine("cancel me")
    job.cancel()
    assert job.state == "cancelled" and store.get(job.job_id).state == "cancelled"
    with pytest.raises(JobCancelledError):
        job.wait(timeout=1)
    polled_before = len(recording.polled_ids)
    other = manager.imagine("keeps the poller going")   # several rounds run while it finishes
    assert other.wait(timeout=20).finished
    assert job.task_id not in recording.polled_ids[polled_before:]
    job.resume()
    assert job.wait(timeout=20).finished
    assert store.get(job.job_id).state == "finished"


def test_deadline_marks_timed_out_and_the_job_can_resume(sim, client, store):
    policy = PollingPolicy().scaled(100)
    policy.deadline = 0.05
    with JobManager(client, store=store, policy=policy, download_images=False) as m:
        job = m.imagine("slow to finish")
        with pytest.raises(JobTimeoutError, match="resume"):
            job.wait(timeout=10)
        assert job.state == "timed_out" and store.get(job.job_id).state == "timed_out"
        m.policy.deadline = 60
        assert job.resume().wait(timeout=20).finished


def test_wait_timeout_does_not_end_the_job(manager):
    job = manager.imagine("patience")
    with pytest.raises(TimeoutError):
        job.wait(timeout=0.01)
    assert job.wait(timeout=20).finished


def test_failed_task_raises_its_reason_and_fires_callbacks(sim, manager, store):
    sim.fail_next(1, "task_failed", reason="Banned prompt")
    failures = []
    job = manager.imagine("doomed").on_failed(failures.append)
    with pytest.raises(TaskFailedError, match="Banned prompt"):
        job.wait(timeout=20)
    assert failures == [job]
    assert store.get(job.job_id).state == "failed"
    assert "Banned prompt" in store.get(job.job_id).error


def test_progress_callbacks_see_rising_percentages(sim, manager):
    seen = []
    job = manager.imagine("watch me").on_progress(lambda j: seen.append(j.percentage or 0))
    finished = []
    job.on_finished(finished.append)
    job.wait(timeout=20)
    assert seen == sorted(seen) and seen[-1] == 100
    assert finished == [job]
    late = []
    job.on_finished(late.append)  # registered after the end: called at once
    assert late == [job]


def test_a_failing_callback_never_stops_the_poller(manager):
    def broken(job):
        raise RuntimeError("boom")

    first = manager.imagine("one").on_progress(broken).on_finished(broken)
    second = manager.imagine("two")
    assert first.wait(timeout=20).finished and second.wait(timeout=20).finished
    assert any("boom" in e for e in manager.errors)


def test_rejected_submit_raises_at_once_and_is_recorded(sim, manager, store):
    with pytest.raises(Exception, match="parent"):
        manager.submit("upscale-1x", {"parent_task_id": "no-such-task", "index": "1"})
    rejected = store.list(states=["rejected"])
    assert len(rejected) == 1 and sim.tasks_created == 0


def test_ambiguous_submit_is_recorded_uncertain_and_never_resent(sim, manager, store):
    sim.fail_next(1, "500", paths="/imagine", phase="after")
    with pytest.raises(Exception, match="may have been created"):
        manager.imagine("maybe")
    assert [r.state for r in store.list()] == ["uncertain"]
    other = manager.imagine("sent after it")    # the poller runs rounds while this one finishes
    assert other.wait(timeout=20).finished
    assert sim.request_counts["/imagine"] == 2 and sim.tasks_created == 2
    assert [r.state for r in store.list()].count("uncertain") == 1


def test_next_actions_chain_from_a_finished_grid(manager):
    grid = manager.imagine("a castle")
    grid.wait(timeout=20)
    upscale = grid.upscale(3)
    variation = grid.vary(2)
    assert upscale.wait(timeout=20).image_url
    assert len(variation.wait(timeout=20).image_urls) == 4
    assert upscale.parent is grid and upscale.payload["index"] == "3"
    zoom = upscale.zoom_out(1.5)
    assert zoom.wait(timeout=20).task_type.startswith("outpaint")


def test_await_a_job_from_asyncio(manager):
    async def main():
        job = manager.imagine("awaited")
        return await job

    assert asyncio.run(main()).finished


def test_keyboard_interrupt_stops_the_waiting_not_the_job(store):
    from apiframe_magic.simulator import Simulator

    with Simulator(speed=0.01) as slow, \
            ApiframeClient(slow.api_key, base_url=slow.url, backoff=0.01) as client, \
            JobManager(client, store=store, policy=FAST, download_images=False) as manager:
        job = manager.imagine("interrupt the wait")        # cannot end until the clock moves
        with pytest.raises(KeyboardInterrupt):
            watcher = interrupt_main_when(lambda: main_thread_in(Job.wait))
            job.wait(timeout=60)
        watcher.join(10)
        assert job.state == "active"
        slow.clock.advance(10_000)
        assert job.wait(timeout=20).finished


# ------------------------------------------------------------------------------ webhooks


def test_ingest_checks_the_secret_dedupes_and_ignores_late_progress(recording, store):
    manager = JobManager(recording, store=store, policy=PollingPolicy(first_poll=60),
                         webhook_secret="right", download_images=False)
    job = manager.imagine("ingest me")
    tid = job.task_id
    progress = {"task_id": tid, "status": "processing", "percentage": "60"}
    assert not manager.ingest(progress, {"x-webhook-secret": "wrong"})
    assert not manager.ingest(progress, {})
    assert manager.ingest(progress, {"X-Webhook-Secret": "right"})
    assert job.percentage == 60
    assert not manager.ingest({**progress, "percentage": "40"}, {"x-webhook-secret": "right"})
    assert not manager.ingest({"task_id": tid, "status": "pending"}, {"x-webhook-secret": "right"})
    assert job.percentage == 60 and job.status == "processing"
    final = {"task_id": tid, "status": "finished", "original_image_url": "http://x/g.png",
             "image_urls": ["http://x/1.png"] * 4}
    assert manager.ingest(final, {"x-webhook-secret": "right"})
    assert not manager.ingest(final, {"x-webhook-secret": "right"})  # duplicate
    assert not manager.ingest({"task_id": "unknown", "status": "finished"},
                              {"x-webhook-secret": "right"})
    assert job.state == "finished" and job.result.original_image_url == "http://x/g.png"
    manager.shutdown()


def test_ingest_checks_the_jobs_own_secret_so_a_forged_update_finishes_nothing(recording,
                                                                              store):
    manager = JobManager(recording, store=store, policy=PollingPolicy(first_poll=60),
                         webhook_secret="shared", download_images=False)
    job = manager.imagine("its own secret", webhook_url="http://127.0.0.1:9/hook",
                          webhook_secret="mine")
    forged = {"task_id": job.task_id, "status": "finished",
              "original_image_url": "http://x/g.png", "image_urls": ["http://x/1.png"] * 4}
    assert not manager.ingest(forged, {})
    assert not manager.ingest(forged, {"x-webhook-secret": "shared"})  # not this job's secret
    assert not job.done
    assert manager.ingest(forged, {"x-webhook-secret": "mine"})
    assert job.state == "finished"
    manager.shutdown()


def test_a_job_is_shown_by_the_registered_presenter_and_as_text_without_one(manager):
    from apiframe_magic import presenting

    job = manager.imagine("shown by whoever is in charge")
    assert job._repr_mimebundle_() == ({"text/plain": repr(job)}, {})

    class Presenter:
        shown = []

        def bundle(self, jobs, *, group=False, matrix=None):
            return {"text/plain": f"{len(jobs)} job(s), group={group}"}, {}

        def present(self, jobs, *, group=False, matrix=None):
            self.shown.append((list(jobs), group))

    presenter = Presenter()
    presenting.register(presenter)
    try:
        assert job._repr_mimebundle_() == ({"text/plain": "1 job(s), group=False"}, {})
        job.show()
        assert presenter.shown == [([job], False)]
    finally:
        presenting.unregister(presenter)
    assert presenting.current() is None


# ------------------------------------------------------------------------------ faults


def test_every_job_ends_and_nothing_is_submitted_twice_under_faults(sim, store):
    from apiframe_magic.simulator import Faults

    client = ApiframeClient(sim.api_key, base_url=sim.url, timeout=(2, 0.5), backoff=0.01,
                            read_retries=2)
    sim.faults = Faults(error_rate=0.15, rate_limit_rate=0.1, retry_after=0, drop_rate=0.1,
                        malformed_rate=0.1, slow_rate=0.05, slow_seconds=0.8,
                        fail_prompts=("fail-me",), phase="after", seed=7)
    policy = PollingPolicy().scaled(100)
    policy.deadline = 15
    jobs, submit_errors = [], 0
    with JobManager(client, store=store, policy=policy, download_images=False) as m:
        for i in range(12):
            try:
                jobs.append(m.imagine(f"storm {i}" + (" fail-me" if i % 4 == 0 else "")))
            except Exception:  # noqa: BLE001 - ambiguous or rejected submits are recorded
                submit_errors += 1
        for job in jobs:
            try:
                job.wait(timeout=30)
            except Exception:  # noqa: BLE001
                pass
        sim.faults = Faults()
    assert all(job.done for job in jobs)
    assert any(job.state == "finished" for job in jobs)
    records = store.list()
    assert len(records) == 12
    with_task = [r for r in records if r.task_id]
    assert len({r.task_id for r in with_task}) == len(with_task)
    assert all(sim.get_task(r.task_id) is not None for r in with_task)
    # a task the history has no id for can only come from a submit whose answer was lost
    uncertain = sum(r.state == "uncertain" for r in records)
    assert len(with_task) <= sim.tasks_created <= len(with_task) + uncertain
    assert all(r.task_id is None for r in records if r.state == "rejected")
    for job in jobs:      # an outcome that was seen is the simulator's, never another
        if job.state in ("finished", "failed"):
            expected = "failed" if "fail-me" in job.prompt else "finished"
            assert job.state == expected, job.prompt
        if job.state == "failed":
            assert "Simulated failure" in str(job.error)


def test_a_history_failure_on_a_queued_job_rejects_it_and_the_rest_go_on(sim, client, tmp_path):
    class FlakyStore(HistoryStore):
        def claim_queued(self, job_id, **final):
            if "unlucky" in self.get(job_id).prompt:
                raise OSError("disk full")
            return super().claim_queued(job_id, **final)

    policy = PollingPolicy().scaled(100)
    policy.max_in_flight = 1
    with FlakyStore(tmp_path / "flaky.sqlite3") as store, \
            JobManager(client, store=store, policy=policy, download_images=False) as m:
        jobs = [m.imagine("first"), m.imagine("unlucky"), m.imagine("third")]
        assert jobs[2].wait(timeout=20).finished
        assert jobs[1].state == "rejected" and "disk full" in str(jobs[1].error)
    assert sim.tasks_created == 2


def test_ctrl_c_during_a_submit_leaves_an_uncertain_record(sim, manager, store):
    # the task is created, then the answer is held back while Ctrl-C arrives
    sim.fail_next(1, "slow", paths="/imagine", phase="after", delay=60)
    with pytest.raises(KeyboardInterrupt):
        watcher = interrupt_main_when(lambda: sim.tasks_created == 1)
        manager.imagine("interrupted submit")
    watcher.join(10)
    [record] = store.list()
    assert record.state == "uncertain" and "interrupted" in record.error
    assert manager.jobs[0].state == "uncertain"
    assert manager.resume(send_queued=True) == []          # an uncertain job is never re-sent
    assert sim.request_counts["/imagine"] == 1 and sim.tasks_created == 1
