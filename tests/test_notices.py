"""Polling trouble is shown on the job (`job.notice`), cleared when it passes; a rejected key
pauses every job at once and leaves them resumable. Over real HTTP against the simulator."""
from __future__ import annotations

import time

import pytest

from apiframe_magic import ApiframeClient
from apiframe_magic.client import read_retry
from apiframe_magic.errors import ApiTimeoutError, AuthenticationError
from apiframe_magic.jobs import JobManager, PollingPolicy
from apiframe_magic.words import progress_line


@pytest.fixture
def quick_client(sim):
    """Few, fast retries: a failed poll shows up within a fraction of a second."""
    with ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01, read_retries=1,
                        timeout=(1, 1)) as c:
        yield c


def _until(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_failing_polls_set_a_notice_that_the_next_good_answer_clears(sim, quick_client, store):
    seen = []
    with JobManager(quick_client, store=store, policy=PollingPolicy().scaled(100),
                    download_images=False) as manager:
        job = manager.imagine("through the storm")
        job.on_progress(lambda j: seen.append(j.notice))
        sim.set_faults(error_rate=1.0, paths={"/fetch", "/fetch-many"})
        assert _until(lambda: job.notice is not None)
        assert job.notice.startswith(f"polling {sim.url.split('//')[1]} fails (HTTP 500); "
                                     "retrying since ")
        assert not job.done
        sim.clear_faults()
        assert job.wait(timeout=20).finished
    assert job.notice is None
    assert any(n and "HTTP 500" in n for n in seen)      # callbacks heard it appear
    assert None in seen[seen.index(next(n for n in seen if n)):]  # ... and go


def test_a_service_that_went_away_is_named_with_the_reason(sim, quick_client, store):
    manager = JobManager(quick_client, store=store, policy=PollingPolicy().scaled(100),
                         download_images=False)
    job = manager.imagine("alone in the dark")
    sim.stop()
    assert _until(lambda: job.notice is not None)
    assert "cannot reach 127.0.0.1:" in job.notice and "connection refused" in job.notice
    assert job.notice in progress_line([job])  # the terminal's progress line shows it
    manager.shutdown()
    assert store.get(job.job_id).state == "active"


def test_a_read_without_an_answer_says_it_is_retrying(sim, client, store):
    policy = PollingPolicy().scaled(100)
    policy.slow_read_notice = 0.1
    sim.fail_next(1, "slow", paths={"/fetch"}, delay=1.5)
    with JobManager(client, store=store, policy=policy, download_images=False) as manager:
        job = manager.imagine("a slow answer")
        assert _until(lambda: job.notice is not None)
        assert job.notice.startswith("no answer from 127.0.0.1:")
        assert "retrying since" in job.notice
        assert job.wait(timeout=20).finished
    assert job.notice is None


def test_a_read_that_gets_no_answer_stops_retrying_within_its_budget(sim):
    from requests.adapters import HTTPAdapter

    with ApiframeClient(sim.api_key, base_url=sim.url, timeout=(1, 0.1)) as client:
        retry = read_retry(30, 0.01, budget=0.3)
        client.session.mount(client.base_url + "/fetch", HTTPAdapter(max_retries=retry))
        task_id = client.imagine("no answer")
        sim.set_faults(slow_rate=1.0, slow_seconds=0.5, paths={"/fetch"})
        with pytest.raises(ApiTimeoutError, match="no answer"):
            client.fetch(task_id)
    assert sim.request_counts["/fetch"] < 15  # 31 attempts without the budget


def test_a_rejected_key_pauses_every_job_at_once_and_resume_picks_them_up(sim, store):
    client = ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01)
    policy = PollingPolicy().scaled(100)
    policy.max_in_flight = 2
    with JobManager(client, store=store, policy=policy, download_images=False) as manager:
        jobs = [manager.imagine(f"revoked {i}") for i in range(3)]
        good_key, sim.api_key = sim.api_key, "revoked-key"
        for job in jobs:
            with pytest.raises(AuthenticationError, match="401"):
                job.wait(timeout=10)
        assert {job.state for job in jobs} == {"paused"}
        assert all("API key was rejected" in job.notice for job in jobs)
        assert "resume" in str(jobs[0].error)
        with manager._lock:        # nothing is left for the poller to ask about, or to send
            assert manager.poller._active() == [] and manager._queue == []
        assert [store.get(j.job_id).state for j in jobs] == ["active", "active", "queued"]

        sim.api_key = good_key
        resumed = manager.resume(send_queued=True)
        assert set(resumed) == set(jobs)
        for job in jobs:
            assert job.wait(timeout=20).finished
    assert sim.tasks_created == 3


def test_a_tls_failure_while_polling_is_named_as_such(sim, quick_client, store):
    with JobManager(quick_client, store=store, policy=PollingPolicy().scaled(100),
                    download_images=False) as manager:
        job = manager.imagine("behind a proxy")
        quick_client.base_url = quick_client.base_url.replace("http://", "https://")  # plain port
        assert _until(lambda: job.notice is not None)
    assert job.notice.startswith("cannot reach 127.0.0.1:") and "(TLS: " in job.notice


@pytest.mark.parametrize("retry_after", [86400, float("inf")])
def test_a_huge_retry_after_pauses_polling_a_bounded_while_and_resume_ends_it(sim, store,
                                                                              retry_after):
    from apiframe_magic.poller import MAX_RATE_LIMIT_PAUSE

    sim.fail_next(1, "429", paths={"/fetch"}, retry_after=retry_after)
    with ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01, read_retries=0) as client, \
            JobManager(client, store=store, policy=PollingPolicy().scaled(100),
                       download_images=False) as manager:
        job = manager.imagine("a patient fox")
        assert _until(lambda: job.notice is not None)
        pause = manager.poller.paused_until - time.monotonic()
        assert 0 < pause <= manager.policy.max_pause == MAX_RATE_LIMIT_PAUSE
        assert job.notice.startswith(f"{sim.url.split('//')[1]} asked to slow down (HTTP 429): "
                                     "polling pauses until ")
        manager.resume()
        assert manager.poller.paused_until == 0
        assert job.wait(timeout=20).finished


def test_a_new_job_ends_a_rate_limit_pause(sim, store):
    sim.fail_next(1, "429", paths={"/fetch"}, retry_after=86400)
    with ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01, read_retries=0) as client, \
            JobManager(client, store=store, policy=PollingPolicy().scaled(100),
                       download_images=False) as manager:
        first = manager.imagine("a patient fox")
        assert _until(lambda: first.notice is not None)
        second = manager.imagine("an impatient fox")
        assert first.wait(timeout=20).finished and second.wait(timeout=20).finished
