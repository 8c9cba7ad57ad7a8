"""One vocabulary for a job's state: the live view, the static twin's caption, the terminal
progress line and the CLI say the same words for every state (apiframe_magic/words.py)."""
from __future__ import annotations

import html
import threading
from types import SimpleNamespace

import pytest

from apiframe_magic import words
from apiframe_magic.errors import (
    ApiConnectionError,
    AuthenticationError,
    JobTimeoutError,
    TaskFailedError,
)
from apiframe_magic.static import render

# Every job state (jobs.py) and, while active, every service status the view knows.
STATES = [
    ("queued", None, None, None),
    ("submitting", None, None, None),
    ("active", "staged", None, None),
    ("active", "pending", None, None),
    ("active", "retrying", None, None),
    ("active", "starting", None, None),
    ("active", "processing", 40, None),
    ("active", "finished", 100, None),
    ("active", "an-unknown-status", None, None),
    ("finished", "finished", 100, None),
    ("failed", "failed", None, TaskFailedError("task failed", reason="Banned prompt <x>")),
    ("timed_out", "processing", 60, JobTimeoutError("no result after 600 s")),
    ("cancelled", "pending", None, None),
    ("rejected", None, None, AuthenticationError("HTTP 401: the key was rejected")),
    ("uncertain", None, None, ApiConnectionError("connection broke", maybe_created=True)),
    ("paused", "processing", 20, AuthenticationError("HTTP 401")),
]
ENDED = {"finished", "failed", "timed_out", "cancelled", "rejected", "uncertain", "paused"}


class FakeJob(SimpleNamespace):
    """A job in a given state with what a view reads of it; nothing runs."""

    def __init__(self, state, status, percentage, error):
        super().__init__(
            state=state, status=status, percentage=percentage, error=error, seconds=75.0,
            done=state in ENDED, kind="imagine", prompt="a fox <b>", payload={"prompt": "a fox"},
            task_id=None if state in ("queued", "submitting", "rejected") else "task-1",
            job_id="job-1", parent=None, result=None, image_paths={}, sref=None, notice=None,
            manager=SimpleNamespace(policy=SimpleNamespace(max_in_flight=10)))

    def __getattr__(self, name):
        if name.startswith("on_"):          # on_progress, on_finished, ...: nothing will fire
            return lambda callback: None
        raise AttributeError(name)


@pytest.fixture
def live_status():
    """The status line a live JobView shows for a job."""
    from apiframe_magic.widgets import UiContext
    from apiframe_magic.widgets.view import JobView

    context = UiContext(manager=SimpleNamespace(policy=SimpleNamespace(max_in_flight=10)))
    made = []

    def status_of(job) -> str:
        view = JobView(job, context)
        made.append(view)
        return view.status.value

    yield status_of
    for view in made:
        view.close()


@pytest.mark.parametrize("state, status, percentage, error", STATES,
                         ids=[f"{s[0]}-{s[1]}" for s in STATES])
def test_the_twin_caption_and_the_live_view_say_the_same_words(live_status, state, status,
                                                               percentage, error):
    job = FakeJob(state, status, percentage, error)
    said = words.describe(job).words
    assert said
    assert html.escape(said) in live_status(job)
    assert render.caption(job).splitlines()[1].endswith(f" · {said}")
    assert render.group_bundle([job, job])[0]["text/plain"].count(said) == 2


@pytest.mark.parametrize("state, words_said", [
    ("queued", "Queued here: waits for a free slot (10 jobs run at once)"),
    ("submitting", "Sending to the service"),
    ("finished", "Finished in 1 min 15 s"),
    ("paused", "Paused: polling stopped because the API key was rejected"),
    ("cancelled", "Cancelled here. The service has no cancel"),
    ("timed_out", "Timed out: no result after 1 min 15 s."),
])
def test_each_state_has_its_own_words(state, words_said):
    assert words.describe(FakeJob(state, None, None, None)).words.startswith(words_said)


def test_the_terminal_progress_line_uses_the_same_words_and_says_the_percentage_once():
    job = FakeJob("active", "processing", 40, None)
    job.notice = "slow answers from the service"
    assert words.progress_line([job], width=10) == (
        "[####------]  40% Processing (slow answers from the service)")
    queued, done = FakeJob("queued", None, None, None), FakeJob("finished", "finished", 100, None)
    assert words.progress_line([queued, done], width=10) == "[#####-----]  50% 1/2 done, 1 queued"


def test_a_failure_says_what_to_do_with_the_key_redacted(monkeypatch):
    monkeypatch.setenv("APIFRAME_API_KEY", "secret-key-123456")
    job = FakeJob("rejected", None, None,
                  AuthenticationError("HTTP 401 for key secret-key-123456"))
    said = words.describe(job).words
    assert said.startswith("Not sent: HTTP 401") and "%imagine login" in said
    assert "Nothing was created or charged" in said and "secret-key-123456" not in said


def test_the_bar_only_moves_forward_along_a_jobs_life():
    """Queued, sending, sent (no status yet), then the service's order (spec: staged -> pending
    -> starting -> processing -> finished): a job that is sent and then staged must not go back
    (it did: a job without a status read as "pending", 15%, then its first poll said staged)."""
    life = [("queued", None, None), ("submitting", None, None), ("active", None, None),
            ("active", "staged", None), ("active", "pending", None),
            ("active", "starting", None), ("active", "processing", 0),
            ("active", "processing", 50), ("active", "processing", 100),
            ("finished", "finished", 100)]
    fractions = [words.describe(FakeJob(state, status, percentage, None)).fraction
                 for state, status, percentage in life]
    assert fractions == sorted(fractions), fractions
    sent = words.describe(FakeJob("active", None, None, None))
    assert sent.words == "Sent: waiting for the service's first answer"


def test_a_real_jobs_bar_never_goes_back_from_its_submit_to_its_end(frozen_sim, frozen_client,
                                                                    store):
    """The engine's own path, not a made-up job: submitted to a simulator whose clock stands
    still, the task is `staged` at its first poll. The engine once set "pending" on every sent
    job, so the bar went 15% (pending), 10% (staged), 15% in the browser."""
    import dataclasses

    from apiframe_magic.jobs import JobManager
    from history_fixtures import FAST

    seen, staged = [], threading.Event()

    def record(job):
        seen.append((job.status, words.describe(job).fraction))
        if job.status == "staged":
            staged.set()

    first_poll_late = dataclasses.replace(FAST, first_poll=1.0)   # after `record` is attached
    with JobManager(frozen_client, store=store, policy=first_poll_late,
                    download_images=False) as manager:
        job = manager.imagine("a lighthouse on a cliff at dawn")
        job.on_progress(record)
        record(job)                            # as the cell shows it, right after the submit
        assert staged.wait(30), seen           # the first poll: staged (the clock stands still)
        frozen_sim.clock.advance(10_000)
        job.wait(timeout=30)
        record(job)
    statuses = [status for status, _ in seen]
    assert statuses[0] is None and "staged" in statuses and statuses[-1] == "finished", seen
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions), seen
