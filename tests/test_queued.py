"""Nothing a user asked for disappears: jobs held back by the in-flight limit are in the history
as `queued` (unsent, unpaid) before `submit` returns, survive a shutdown, and are sent only when
asked (`resume(send_queued=True)`), never twice."""
from __future__ import annotations

import pytest

from apiframe_magic import ApiframeClient
from apiframe_magic.jobs import JobManager, PollingPolicy


def _policy(in_flight: int) -> PollingPolicy:
    policy = PollingPolicy().scaled(100)
    policy.max_in_flight = in_flight
    return policy


def test_queued_jobs_are_recorded_before_submit_returns_and_survive_shutdown(sim, client, store):
    manager = JobManager(client, store=store, policy=_policy(2), download_images=False)
    jobs = [manager.imagine(f"a queued fox {i}") for i in range(5)]
    manager.shutdown()
    states = {job.job_id: store.get(job.job_id).state for job in jobs}
    assert all(job.job_id for job in jobs)
    assert sorted(states.values()) == ["active", "active", "queued", "queued", "queued"]
    assert sim.tasks_created == 2
    assert [r.job_id for r in store.queued()] == [j.job_id for j in jobs[2:]]
    assert {j.job_id for j in manager.unsent()} == {j.job_id for j in jobs[2:]}
    assert store.get(jobs[3].job_id).prompt == "a queued fox 3"

    with JobManager(client, store=store, policy=_policy(2), download_images=False) as later:
        attached = later.resume()  # queued jobs are listed, not sent, unless asked
        assert {j.job_id for j in attached} == {j.job_id for j in jobs[:2]}
        for job in attached:
            job.wait(timeout=20)
        assert sim.tasks_created == 2 and len(store.queued()) == 3
        sent = later.resume(send_queued=True)
        assert {j.job_id for j in sent} == {j.job_id for j in jobs[2:]}
        for job in sent:
            assert job.wait(timeout=20).finished
        assert later.resume(send_queued=True) == []
    assert sim.tasks_created == 5  # each sent exactly once
    assert {r.state for r in store.list()} == {"finished"}


def test_a_queued_job_claimed_elsewhere_is_not_sent_again(sim, client, store):
    manager = JobManager(client, store=store, policy=_policy(1), download_images=False)
    first, second = manager.imagine("one at a time"), manager.imagine("claimed elsewhere")
    assert store.claim_queued(second.job_id)  # another process took it first
    first.wait(timeout=20)
    with pytest.raises(Exception, match="another process"):
        second.wait(timeout=20)
    manager.shutdown()
    assert sim.tasks_created == 1


def test_cancelling_a_queued_job_costs_nothing_and_it_stays_in_the_history(sim, client, store):
    with JobManager(client, store=store, policy=_policy(1), download_images=False) as manager:
        manager.imagine("running")
        waiting = manager.imagine("never mind")
        waiting.cancel()
        assert "nothing was charged" in str(waiting.error)
    assert store.get(waiting.job_id).state == "cancelled"
    assert store.queued() == [] and sim.tasks_created == 1


def test_imagine_all_records_every_permutation_before_sending_any(sim, store, tmp_path):
    class WatchingClient(ApiframeClient):
        def imagine(self, prompt, **kwargs):
            self.rows_at_first_send = getattr(self, "rows_at_first_send", None) or store.count()
            return super().imagine(prompt, **kwargs)

    client = WatchingClient(sim.api_key, base_url=sim.url, backoff=0.01)
    with JobManager(client, store=store, policy=_policy(4), download_images=False) as manager:
        jobs = manager.imagine_all("a {red, green, blue} {cat, dog} in snow")
        assert len(jobs) == 6
        for job in jobs:
            assert job.wait(timeout=30).finished
        assert client.rows_at_first_send == 6
    assert sorted(job.prompt for job in jobs)[0] == "a blue cat in snow"
    assert sim.tasks_created == 6


def test_with_the_default_policy_twenty_jobs_go_out_at_once(sim, client, store):
    """The service queues extra work itself (`staged`): holding jobs back locally only delays
    the last result (benchmarks/bench_polling.py measures it)."""
    from apiframe_magic.runtime import default_policy

    with JobManager(client, store=store, policy=default_policy(100),
                    download_images=False) as manager:
        jobs = [manager.imagine(f"all at once {i}") for i in range(20)]
        assert sim.tasks_created == 20 and not manager.unsent()
        for job in jobs:
            assert job.wait(timeout=30).finished
    assert sim.request_counts["/fetch-many"] >= 1


def test_the_history_claims_a_queued_job_once(store):
    ids = store.record_queued_many([("imagine", {"prompt": f"p{i}"}, None, f"p{i}", None)
                                    for i in range(3)])
    assert [r.job_id for r in store.queued()] == ids
    assert all(r.is_queued and not r.is_resumable and not r.is_in_doubt for r in store.queued())
    assert store.claim_queued(ids[0]) and not store.claim_queued(ids[0])
    assert store.get(ids[0]).state == "submitting" and store.get(ids[0]).sent_at
    assert store.mark_cancelled(ids[1]) and not store.claim_queued(ids[1])
    assert [r.job_id for r in store.unfinished()] == [ids[2], ids[0]]


def test_a_history_from_before_queued_jobs_is_upgraded_in_place(tmp_path):
    import sqlite3

    from apiframe_magic import store as store_module
    from apiframe_magic.store import HistoryStore

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(store_module.MIGRATIONS[1] + "; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO jobs (job_id, kind, state, created_at, updated_at, payload_json) "
                 "VALUES ('old', 'imagine', 'active', 1, 1, '{}')")
    conn.commit()
    conn.close()
    with HistoryStore(path) as upgraded:
        assert upgraded.get("old").sent_at is None
        job_id = upgraded.record_queued("imagine", {"prompt": "new"})
        assert upgraded.claim_queued(job_id) and upgraded.get(job_id).sent_at
