"""Follow-ups wait for what they need: asked of a job that has not finished, an upscale (or a
describe's imagine(i)) is returned at once as `waiting`, recorded queued, and sent when the parent
finishes; a failed parent fails it in words; a restart never sends it twice. Against a simulator
at real speed whose clock the tests move forward (no sleeping), over real HTTP."""
from __future__ import annotations

import threading
import time

import pytest

from apiframe_magic.errors import ApiframeError, TaskFailedError
from apiframe_magic.jobs import WAITING, Job, JobManager
from apiframe_magic.prompt import parse_prompt
from apiframe_magic import words
from history_fixtures import FAST, finish
from interrupts import interrupt_main_when, main_thread_in

LONG_ENOUGH = 600  # simulated seconds: any task of the simulator has ended by then


def run_until_sent(sim, job, timeout: float = 30.0) -> None:
    """Move the simulated clock on until `job` is sent (its parent finished), then once more so
    that it finishes too."""
    end = time.monotonic() + timeout
    while job.task_id is None and not job.done and time.monotonic() < end:
        sim.clock.advance(LONG_ENOUGH)
        job.ended_event.wait(0.05)
    sim.clock.advance(LONG_ENOUGH)


def test_an_upscale_of_a_running_grid_is_sent_when_the_grid_finishes(slow_sim, slow_manager,
                                                                       store):
    grid = slow_manager.imagine("a red fox in the snow")
    upscale = grid.upscale(2)                       # used to raise "parent ... not finished"
    assert upscale.state == WAITING and upscale.parent is grid
    assert store.get(upscale.job_id).state == "queued"   # on disk before the call returned
    assert store.get(upscale.job_id).parent_job_id == grid.job_id
    assert slow_sim.tasks_created == 1                   # nothing sent for it yet
    assert words.status_words(upscale) == "Waits for the job it follows to finish (not sent yet)"
    progress = words.describe(upscale)
    assert not progress.failed and progress.words.startswith("Waits for the job it follows")
    run_until_sent(slow_sim, upscale)
    assert upscale.wait(timeout=30).image_url
    assert upscale.payload["parent_task_id"] == grid.task_id
    assert slow_sim.tasks_created == 2
    assert store.get(upscale.job_id).state == "finished"


def test_a_follow_up_of_a_failed_parent_ends_failed_with_the_reason(slow_sim, slow_manager,
                                                                     store):
    slow_sim.set_faults(fail_prompts=("doomed",))
    grid = slow_manager.imagine("a doomed ship")
    variation = grid.vary(3)
    slow_sim.clock.advance(LONG_ENOUGH)
    with pytest.raises(TaskFailedError) as failure:
        variation.wait(timeout=30)
    assert grid.state == "failed" and variation.state == "failed"
    assert str(failure.value).startswith(f"not sent: its parent imagine {grid.task_id} ended "
                                         "failed: ")
    assert failure.value.reason == grid.error.reason
    assert slow_sim.tasks_created == 1
    assert store.get(variation.job_id).state == "failed"


def test_a_follow_up_of_a_parent_that_already_failed_is_refused_at_once(slow_sim, slow_manager):
    slow_sim.set_faults(fail_prompts=("doomed",))
    grid = slow_manager.imagine("a doomed ship")
    slow_sim.clock.advance(LONG_ENOUGH)
    with pytest.raises(TaskFailedError):
        grid.wait(timeout=30)
    with pytest.raises(ApiframeError, match="has nothing to follow up: its parent imagine .* "
                                        "ended failed"):
        grid.upscale(1)
    assert slow_sim.tasks_created == 1


def test_a_describe_suggestion_is_imagined_once_the_describe_finishes(slow_sim, slow_manager):
    grid = slow_manager.imagine("a lighthouse on a cliff --ar 3:2", aspect_ratio="3:2")
    slow_sim.clock.advance(LONG_ENOUGH)
    grid.wait(timeout=30)
    described = slow_manager.submit("describe", {"image_url": grid.result.original_image_url})
    chosen = described.imagine(2)                   # used to raise "no suggested prompts"
    assert chosen.state == WAITING and slow_sim.tasks_created == 2
    run_until_sent(slow_sim, chosen)
    chosen.wait(timeout=30)
    assert chosen.prompt == str(parse_prompt(described.prompts[1])) and chosen.payload["aspect_ratio"] == "3:2"
    assert slow_sim.tasks_created == 3


def test_prompts_of_a_running_describe_wait_for_them(manager):
    grid = finish(manager.imagine("an owl at dusk"))[0]
    described = manager.submit("describe", {"image_url": grid.result.original_image_url})
    assert not described.done
    assert len(described.prompts) == 4              # used to be [] until it had finished


def test_save_of_a_running_job_waits_for_its_images(manager, tmp_path):
    job = manager.imagine("a cat on a windowsill")
    assert not job.done
    saved = job.save(tmp_path / "out")
    assert len(saved) == 5 and all(path.is_file() for path in saved)


def test_a_waiting_follow_up_survives_a_restart_and_is_sent_once(slow_sim, slow_client,
                                                                 store):
    first = JobManager(slow_client, store=store, policy=FAST, download_images=False)
    grid = first.imagine("a castle in the clouds")
    upscale = grid.upscale(4)
    first.shutdown()                                # the kernel goes away, nothing sent
    assert store.get(upscale.job_id).state == "queued"

    with JobManager(slow_client, store=store, policy=FAST, download_images=False) as second:
        taken = second.resume(send_queued=True)
        again = {job.job_id: job for job in taken}[upscale.job_id]
        assert again.state == WAITING and again.parent.task_id == grid.task_id
        assert second.resume(send_queued=True) == []     # taken once
        run_until_sent(slow_sim, again)
        assert again.wait(timeout=30).image_url
    assert slow_sim.tasks_created == 2
    record = store.get(upscale.job_id)
    assert record.state == "finished" and record.task_id == again.task_id


def test_cancelling_a_waiting_follow_up_sends_nothing(slow_sim, slow_manager, store):
    grid = slow_manager.imagine("a quiet harbour")
    reroll = grid.reroll()
    reroll.cancel()
    slow_sim.clock.advance(LONG_ENOUGH)
    grid.wait(timeout=30)
    assert reroll.state == "cancelled" and slow_sim.tasks_created == 1
    assert store.get(reroll.job_id).state == "cancelled"



def test_ctrl_c_stops_waiting_for_prompts_never_the_describe(slow_sim, slow_manager):
    grid = slow_manager.imagine("a heron in the reeds")
    slow_sim.clock.advance(LONG_ENOUGH)
    grid.wait(timeout=30)
    described = slow_manager.submit("describe", {"image_url": grid.result.original_image_url})
    with pytest.raises(KeyboardInterrupt):
        interrupt_main_when(lambda: main_thread_in(Job._wait_for_value)
                            and main_thread_in(threading.Event.wait))
        described.prompts
    assert not described.done
    slow_sim.clock.advance(LONG_ENOUGH)
    assert len(described.wait(timeout=30).content) == 4
