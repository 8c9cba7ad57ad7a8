"""Webhook ingestion (`JobManager.ingest`): an update counts only with the secret the job was
sent with. A forged update, without it or with another, must not move a job, let alone finish it:
per-job secrets (`--webhook-secret` on one run) as well as the manager-wide one."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apiframe_magic.jobs import JobManager, PollingPolicy

NO_POLLING = PollingPolicy(first_poll=600, floor=600, ceiling=600)   # only webhooks move jobs


def finished(task_id: str) -> dict:
    return {"task_id": task_id, "status": "finished", "percentage": 100,
            "original_image_url": "http://127.0.0.1:9/forged.png",
            "image_urls": ["http://127.0.0.1:9/forged.png"] * 4}


@pytest.fixture
def manager(client):
    with JobManager(client, policy=NO_POLLING, download_images=False) as made:
        yield made


def per_job(manager, secret: str):
    return manager.submit("imagine", {"prompt": "a fox", "webhook_url": "http://127.0.0.1:9/h",
                                      "webhook_secret": secret})


FORGED_HEADERS = [{}, {"x-webhook-secret": ""}, {"x-webhook-secret": "guessed"},
                  {"x-webhook-secret": "job-secret-1 "}, {"x-other": "job-secret-1"}]


@pytest.mark.parametrize("headers", FORGED_HEADERS)
def test_a_forged_update_does_not_finish_a_job_with_its_own_secret(manager, headers):
    job = per_job(manager, "job-secret-1")
    assert manager.ingest(finished(job.task_id), headers) is False
    assert job.state == "active" and job.result is None


def test_the_secret_of_one_job_does_not_open_another(manager):
    first, second = per_job(manager, "job-secret-1"), per_job(manager, "job-secret-2")
    assert manager.ingest(finished(second.task_id), {"x-webhook-secret": "job-secret-1"}) is False
    assert second.state == "active"
    assert manager.ingest(finished(first.task_id), {"X-Webhook-Secret": "job-secret-1"}) is True
    assert first.state == "finished"


def test_a_manager_wide_secret_guards_jobs_without_their_own(client, caplog):
    with JobManager(client, policy=NO_POLLING, webhook_secret="manager-secret",
                    download_images=False) as manager:
        job = manager.imagine("a fox")
        assert manager.ingest(finished(job.task_id), {"x-webhook-secret": "wrong"}) is False
        assert manager.ingest(finished(job.task_id), {}) is False
        assert job.state == "active"
        assert caplog.messages.count(
            "webhook payload with a wrong or missing x-webhook-secret ignored") == 2
        assert manager.ingest(finished(job.task_id), {"x-webhook-secret": "manager-secret"})
        assert job.state == "finished"


def test_malformed_and_unknown_updates_are_ignored(manager):
    job = manager.imagine("a fox")          # no secret anywhere: updates are trusted
    assert manager.ingest({"status": "finished"}, {}) is False
    assert manager.ingest(["not", "an", "object"], {}) is False
    assert manager.ingest(finished("no-such-task"), {}) is False
    assert job.state == "active"
    assert manager.ingest(finished(job.task_id)) is True
    assert job.state == "finished"


def test_an_update_that_goes_back_is_ignored_and_a_newer_one_taken(manager):
    job = manager.imagine("a fox")          # no secret anywhere: updates are trusted
    steps = [("processing", 1, True), ("processing", 0, False),     # back in percentage
             ("processing", 60, True), ("processing", 60, False),   # a duplicate
             ("processing", 50, False), ("starting", 70, False),    # back in status
             ("a-new-status", 80, False)]                           # unknown: the earliest
    for status, percentage, taken in steps:
        update = {"task_id": job.task_id, "status": status, "percentage": percentage}
        assert (status, percentage, manager.ingest(update)) == (status, percentage, taken)
    assert (job.status, job.percentage) == ("processing", 60)
    assert manager.ingest({"task_id": job.task_id, "status": "finished",
                           "original_image_url": "http://127.0.0.1:9/g.png"}) is True
    assert job.state == "finished"


def test_unknown_statuses_are_the_earliest_stage(client, store):
    # No poll within the test (the first would come after 60 s): only the webhooks move the jobs.
    with JobManager(client, store=store, policy=PollingPolicy(first_poll=60),
                    download_images=False) as manager:
        first, second = manager.imagine("a fox"), manager.imagine("a cat")
        assert (first.status, second.status) == (None, None)   # as sent: no answer yet
        assert manager.ingest({"task_id": second.task_id, "status": "starting"}) is True
        # Same stage as pending: a new status there is news, and so is pending again after it.
        assert manager.ingest({"task_id": first.task_id, "status": "a-new-status"}) is True
        assert first.status == "a-new-status"
        assert manager.ingest({"task_id": first.task_id, "status": "pending"}) is True
        assert first.status == "pending"
        # Before starting: ignored.
        assert manager.ingest({"task_id": second.task_id, "status": "a-new-status"}) is False
        assert second.status == "starting"


class _Receiver(BaseHTTPRequestHandler):
    """The user's webhook endpoint: hands every POST to the manager."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        taken = self.server.manager.ingest(body, dict(self.headers))
        with self.server.lock:
            self.server.answers.append((body.get("status"), taken))
            self.server.changed.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.answers, server.lock = [], threading.Lock()
    server.changed = threading.Condition(server.lock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_simulator_delivers_with_the_per_job_secret_and_a_forgery_is_refused(
        slow_sim, slow_client, receiver):
    import requests

    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    with JobManager(slow_client, policy=NO_POLLING, download_images=False) as manager:
        receiver.manager = manager
        job = manager.submit("imagine", {"prompt": "a fox", "webhook_url": url,
                                         "webhook_secret": "job-secret-1"})
        forged = requests.post(url, json=finished(job.task_id), timeout=10)
        assert forged.status_code == 200
        with receiver.lock:   # at real speed the job runs for simulated minutes: only the forgery
            assert [a for a in receiver.answers if a[0] == "finished"] == [("finished", False)]
        assert job.state == "active"
        slow_sim.clock.advance(600)                        # now the simulator's own webhooks
        assert job.wait(60).finished
        assert job.result.original_image_url != "http://127.0.0.1:9/forged.png"


def test_webhooks_finish_a_job_without_polling(sim, client, store, receiver):
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    with JobManager(client, store=store, policy=NO_POLLING, webhook_url=url,
                    webhook_secret="s3cret", download_images=False) as manager:
        receiver.manager = manager
        job = manager.imagine("delivered by webhook")
        assert job.wait(timeout=20).finished
    assert sim.request_counts["/fetch"] == sim.request_counts["/fetch-many"] == 0
    with receiver.lock:
        assert receiver.answers[-1] == ("finished", True)
    assert "s3cret" not in json.dumps(store.get(job.job_id).payload)
