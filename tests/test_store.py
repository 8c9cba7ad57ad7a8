"""The history store: the submit protocol, persistence, uncertain rows, secrets, concurrency."""
from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from apiframe_magic import store as store_module
from apiframe_magic.errors import ApiframeError
from apiframe_magic.store import (
    ACTIVE, CANCELLED, FAILED, FINISHED, REJECTED, SCHEMA_VERSION, SUBMITTING, TIMED_OUT,
    UNCERTAIN, HistoryStore, JobNotFoundError, StoreError, data_dir,
)

FINISHED_GRID = {
    "task_id": "task-1", "task_type": "imagine", "status": "finished", "percentage": "100",
    "sref": "3456789012", "original_image_url": "http://cdn.test/grid.png",
    "image_urls": [f"http://cdn.test/{n}.png" for n in range(1, 5)],
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(path))
    return path


@pytest.fixture
def history(home):
    with HistoryStore() as opened:
        yield opened


def submitted_job(history, task_id="task-1", **kwargs):
    job_id = history.record_submitting("imagine", {"prompt": "a cat"}, prompt="a cat", **kwargs)
    history.mark_submitted(job_id, task_id)
    return job_id


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# -- location ---------------------------------------------------------------------------------


def test_data_dir_follows_the_environment_variable(home):
    assert data_dir() == home


def test_data_dir_defaults_to_a_dot_directory_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv("APIFRAME_MAGIC_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".apiframe_magic"


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_directory_and_file_are_private(history, home):
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(history.path.stat().st_mode) == 0o600
    assert history.path == home / "history.sqlite3"


def test_schema_is_versioned_and_wal(history):
    conn = sqlite3.connect(history.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_newer_schema_is_refused_with_a_clear_error(history):
    history.close()
    conn = sqlite3.connect(history.path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        HistoryStore(history.path)


# -- the submit protocol ----------------------------------------------------------------------


def test_record_submitting_writes_the_row_before_any_answer(history):
    job_id = history.record_submitting("imagine", {"prompt": "a cat --ar 3:2"},
                                       prompt="a cat --ar 3:2", params={"aspect": "3:2"})
    assert uuid.UUID(hex=job_id).version == 4
    record = history.get(job_id)
    assert (record.state, record.kind, record.task_id) == (SUBMITTING, "imagine", None)
    assert record.payload == {"prompt": "a cat --ar 3:2"}
    assert record.params == {"aspect": "3:2"}
    assert record.pid == os.getpid()
    assert record.created_at == pytest.approx(time.time(), abs=5)
    assert record.is_in_doubt and not record.is_resumable


def test_the_happy_path_from_submit_to_finished(history):
    job_id = submitted_job(history)
    assert history.get(job_id).state == ACTIVE
    assert history.by_task_id("task-1").job_id == job_id

    assert history.update_progress(job_id, "processing", "40")
    record = history.get(job_id)
    assert (record.status, record.percentage) == ("processing", 40)

    assert history.mark_finished(job_id, FINISHED_GRID)
    record = history.get(job_id)
    assert record.state == FINISHED and record.is_terminal
    assert record.sref == "3456789012"
    assert record.original_image_url == "http://cdn.test/grid.png"
    assert record.image_urls == tuple(FINISHED_GRID["image_urls"])
    assert record.result == FINISHED_GRID
    assert record.finished_at >= record.created_at


def test_single_image_and_text_results_are_kept(history):
    upscale = submitted_job(history, "task-u")
    history.mark_finished(upscale, {"task_id": "task-u", "image_url": "http://cdn.test/u.png"})
    assert history.get(upscale).image_url == "http://cdn.test/u.png"
    describe = submitted_job(history, "task-d")
    history.mark_finished(describe, {"task_id": "task-d", "content": ["1 a", "2 b"],
                                     "seed": 993456789123})
    record = history.get(describe)
    assert record.content == ("1 a", "2 b") and record.seed == "993456789123"


def test_rejected_and_uncertain_submits_are_kept_but_never_resumable(history):
    rejected = history.record_submitting("imagine", {"prompt": "x"})
    uncertain = history.record_submitting("imagine", {"prompt": "y"})
    assert history.mark_rejected(rejected, "HTTP 400: Invalid request")
    assert history.mark_uncertain(uncertain, "read timeout")

    assert history.get(rejected).state == REJECTED
    assert history.get(uncertain).error == "read timeout"
    assert history.resumable() == []
    assert [r.job_id for r in history.in_doubt()] == [uncertain]
    assert [r.job_id for r in history.unfinished()] == [uncertain]


def test_an_uncertain_job_can_be_given_its_task_id_later(history):
    job_id = history.record_submitting("imagine", {"prompt": "y"})
    history.mark_uncertain(job_id, "read timeout")
    assert history.mark_submitted(job_id, "found-on-dashboard")
    assert history.get(job_id).state == ACTIVE
    assert history.get(job_id).error is None


def test_progress_after_a_terminal_state_is_ignored(history):
    job_id = submitted_job(history)
    history.mark_finished(job_id, FINISHED_GRID)
    assert not history.update_progress(job_id, "processing", 50)
    record = history.get(job_id)
    assert (record.state, record.status, record.percentage) == (FINISHED, "finished", 100)


def test_timed_out_and_cancelled_jobs_stay_resumable(history):
    timed_out = submitted_job(history, "task-t")
    cancelled = submitted_job(history, "task-c")
    active = submitted_job(history, "task-a")
    assert history.mark_timed_out(timed_out)
    assert history.mark_cancelled(cancelled)
    assert {r.job_id: r.state for r in history.resumable()} == {
        timed_out: TIMED_OUT, cancelled: CANCELLED, active: ACTIVE}

    assert history.mark_resumed(cancelled)
    assert history.get(cancelled).state == ACTIVE
    assert not history.mark_resumed(active)


def test_a_failed_task_keeps_its_reason_and_result(history):
    job_id = submitted_job(history)
    result = {"task_id": "task-1", "status": "failed", "message": "Content policy violation"}
    assert history.mark_failed(job_id, "Content policy violation", result)
    record = history.get(job_id)
    assert (record.state, record.error, record.result) == (FAILED, "Content policy violation",
                                                           result)
    assert not history.mark_finished(job_id, FINISHED_GRID)
    assert history.get(job_id).state == FAILED


def test_finished_is_final(history):
    job_id = submitted_job(history)
    history.mark_finished(job_id, FINISHED_GRID)
    assert not history.mark_failed(job_id, "late failure")
    assert not history.mark_timed_out(job_id)
    assert not history.mark_cancelled(job_id)
    assert history.get(job_id).state == FINISHED


def test_a_task_id_belongs_to_one_job_only(history):
    submitted_job(history, "same")
    other = history.record_submitting("imagine", {"prompt": "b"})
    with pytest.raises(StoreError):
        history.mark_submitted(other, "same")
    assert history.get(other).state == SUBMITTING


def test_unknown_job_ids_raise_a_typed_error(history):
    with pytest.raises(JobNotFoundError) as caught:
        history.mark_submitted("nope", "task")
    assert isinstance(caught.value, ApiframeError)
    with pytest.raises(JobNotFoundError):
        history.record_image("nope", "grid", "http://x/g.png", "/tmp/g.png")
    assert history.get("nope") is None
    assert history.by_task_id("nope") is None


def test_parent_links_are_kept(history):
    parent = submitted_job(history, "grid-task")
    child = history.record_submitting("upscale-1x", {"parent_task_id": "grid-task", "index": "2"},
                                      parent_job_id=parent)
    assert history.get(child).parent_job_id == parent


# -- listing ----------------------------------------------------------------------------------


def test_list_orders_limits_and_filters(history):
    ids = [submitted_job(history, f"task-{n}") for n in range(5)]
    history.mark_finished(ids[1], FINISHED_GRID)
    assert [r.job_id for r in history.list()] == ids[::-1]
    assert [r.job_id for r in history.list(newest_first=False)] == ids
    assert [r.job_id for r in history.list(limit=2)] == ids[:2:-1][:2]
    assert [r.job_id for r in history.list(states=[FINISHED])] == [ids[1]]
    assert history.count() == 5


def test_list_leaves_json_unparsed_until_asked(history):
    job_id = submitted_job(history)
    history.mark_finished(job_id, FINISHED_GRID)
    record = history.list()[0]
    assert "result" not in record.__dict__
    assert record.result["sref"] == "3456789012"
    assert "result" in record.__dict__


def test_images_are_recorded_by_index(history, tmp_path):
    job_id = submitted_job(history)
    for index in (2, "grid", 1, "upscale"):
        history.record_image(job_id, index, f"http://cdn.test/{index}.png", tmp_path / f"{index}.png")
    history.record_image(job_id, 1, "http://cdn.test/1.png", tmp_path / "again.png")
    assert history.images(job_id) == {"grid": tmp_path / "grid.png", 1: tmp_path / "again.png",
                                      2: tmp_path / "2.png", "upscale": tmp_path / "upscale.png"}
    assert list(history.images(job_id)) == ["grid", 1, 2, "upscale"]


# -- persistence and interrupted submits ------------------------------------------------------


def test_everything_survives_reopening(home):
    with HistoryStore() as first:
        job_id = submitted_job(first)
        first.update_progress(job_id, "processing", 70)
        pending = first.record_submitting("imagine", {"prompt": "second"})
        first.record_image(job_id, "grid", "http://cdn.test/grid.png", home / "g.png")
    with HistoryStore() as second:
        assert second.get(job_id).percentage == 70
        assert second.get(pending).state == SUBMITTING  # our own pid, recent: left alone
        assert second.images(job_id) == {"grid": home / "g.png"}


def test_submits_left_by_a_dead_process_become_uncertain(history):
    child = run_python("""
        from apiframe_magic.store import HistoryStore
        print(HistoryStore().record_submitting("imagine", {"prompt": "crash"}))
    """)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 0, err
    job_id = out.strip()

    with HistoryStore(history.path) as reopened:
        record = reopened.get(job_id)
    assert record.state == UNCERTAIN
    assert "may have been created" in record.error


def test_a_live_process_mid_submit_is_left_alone(history):
    child = run_python("""
        import time
        from apiframe_magic.store import HistoryStore
        print(HistoryStore().record_submitting("imagine", {"prompt": "slow"}), flush=True)
        time.sleep(60)
    """)
    try:
        job_id = child.stdout.readline().strip()
        with HistoryStore(history.path) as reopened:
            assert reopened.get(job_id).state == SUBMITTING
            assert reopened.in_doubt()[0].job_id == job_id
    finally:
        child.kill()
        child.communicate(timeout=10)


def test_old_submitting_rows_become_uncertain_even_for_a_live_pid(history):
    job_id = history.record_submitting("imagine", {"prompt": "stuck"})
    conn = sqlite3.connect(history.path)
    with conn:
        conn.execute("UPDATE jobs SET created_at = created_at - ? WHERE job_id = ?",
                     (store_module.STALE_SUBMIT_SECONDS + 1, job_id))
    conn.close()
    assert history.reclaim_interrupted_submits() == [job_id]
    assert history.get(job_id).state == UNCERTAIN


# -- secrets ----------------------------------------------------------------------------------


def test_no_secret_ever_reaches_the_file(home, monkeypatch):
    api_key = "sk-LIVE-" + uuid.uuid4().hex
    monkeypatch.setenv("APIFRAME_API_KEY", api_key)
    payload = {
        "prompt": "a fox", "webhook_url": "https://hook.test/x", "webhook_secret": "WHSECRET-1",
        "api_key": "APIKEY-2", "Authorization": "AUTH-3", "headers": {"x-api-key": "HDR-4"},
        "nested": [{"apiKey": "NESTED-5"}],
    }
    with HistoryStore() as history:
        job_id = history.record_submitting("imagine", payload, prompt=f"a fox {api_key}",
                                           params={"authorization": "PARAM-6"})
        history.mark_uncertain(job_id, f"timeout talking with key {api_key}")
        stored = history.get(job_id)
        assert stored.payload == {"prompt": "a fox", "webhook_url": "https://hook.test/x",
                                  "headers": {}, "nested": [{}]}

    raw = b"".join(path.read_bytes() for path in home.iterdir() if path.is_file())
    assert b"a fox" in raw  # the grep can see text in these files
    for secret in ("WHSECRET-1", "APIKEY-2", "AUTH-3", "HDR-4", "NESTED-5", "PARAM-6", api_key):
        assert secret.encode() not in raw, secret


def test_a_key_the_service_echoes_back_is_stored_redacted_in_every_column(home, monkeypatch):
    api_key = "sk-LIVE-" + uuid.uuid4().hex
    monkeypatch.setenv("APIFRAME_API_KEY", api_key)
    echoed = {
        "task_id": "task-echo", "task_type": "imagine", "status": "finished", "sref": api_key,
        "seed": api_key, "original_image_url": f"http://cdn.test/{api_key}/grid.png",
        "image_urls": [f"http://cdn.test/{n}.png?k={api_key}" for n in range(1, 5)],
        "image_url": f"http://cdn.test/{api_key}.png", "content": [f"a prompt {api_key}"],
    }
    with HistoryStore() as history:
        job_id = history.record_submitting("imagine", {"prompt": "a fox"}, prompt="a fox")
        history.mark_submitted(job_id, "task-echo")
        history.update_progress(job_id, f"processing {api_key}", "40")
        history.mark_finished(job_id, echoed)
        history.record_image(job_id, "grid", f"http://cdn.test/{api_key}/grid.png", "/tmp/g.png")
        columns = history._read("SELECT * FROM jobs") + history._read("SELECT * FROM images")

    assert "[redacted]" in str(columns) and api_key not in str(columns)
    raw = b"".join(path.read_bytes() for path in home.iterdir() if path.is_file())
    assert b"task-echo" in raw and api_key.encode() not in raw


# -- concurrency ------------------------------------------------------------------------------

WRITER = """
import sys
from apiframe_magic.store import HistoryStore
name = sys.argv[1]
history = HistoryStore()
for n in range(200):
    job_id = history.record_submitting("imagine", {"prompt": f"{name} {n}"}, prompt=name)
    history.mark_submitted(job_id, f"{name}-{n}")
    history.update_progress(job_id, "processing", n % 100)
"""


def test_two_processes_writing_at_once_lose_nothing(history):
    writers = [run_python(WRITER, name) for name in ("alpha", "beta")]
    for writer in writers:
        _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err

    conn = sqlite3.connect(history.path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    records = history.list()
    assert len(records) == 400
    assert {r.task_id for r in records} == {f"{name}-{n}" for name in ("alpha", "beta")
                                           for n in range(200)}
    assert all(r.state == ACTIVE for r in records)


def test_threads_share_one_store(history):
    errors = []

    def write(name):
        try:
            for n in range(50):
                submitted_job(history, f"{name}-{n}")
                history.list(limit=5)
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert history.count() == 200


# -- the default location ----------------------------------------------------------------------


def test_a_store_without_a_path_lives_under_the_data_dir(home, tmp_path, monkeypatch):
    with HistoryStore() as history:
        job_id = history.record_submitting("imagine", {"prompt": "default"})
        history.mark_submitted(job_id, "default-task")
    assert (home / "history.sqlite3").exists()
    monkeypatch.setenv("APIFRAME_MAGIC_HOME", str(tmp_path / "elsewhere"))
    with HistoryStore() as elsewhere:
        assert elsewhere.path == tmp_path / "elsewhere" / "history.sqlite3"
        assert elsewhere.by_task_id("default-task") is None


def test_a_write_lock_held_too_long_is_a_typed_error(home, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    with HistoryStore() as history:
        blocker = sqlite3.connect(history.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="Cannot write"):
                history.record_submitting("imagine", {"prompt": "blocked"})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert history.record_submitting("imagine", {"prompt": "free again"})
        assert history.count() == 1


def test_claiming_a_queued_job_records_the_payload_it_is_sent_with(history):
    job_id = history.record_queued("upscale-1x", {"index": "2"}, prompt=None)
    assert history.claim_queued(job_id, payload={"index": "2", "parent_task_id": "task-9"},
                                prompt="a fox")
    record = history.get(job_id)
    assert record.state == "submitting" and record.prompt == "a fox"
    assert record.payload == {"index": "2", "parent_task_id": "task-9"}
    # a job no longer queued is not claimed, and its record keeps what it was sent with
    assert not history.claim_queued(job_id, payload={"index": "3"})
    assert history.get(job_id).payload["index"] == "2"
