"""The history keeps what was really sent: a follow-up recorded `queued` before its parent
finished is sent later with its parent's task id (a describe's `imagine(i)` with its prompt), and
its record says so, written in the same update that claims it for sending. Over real HTTP
against a simulator whose clock the tests move."""
from __future__ import annotations

from test_follow_ups import LONG_ENOUGH, run_until_sent


def test_a_follow_up_sent_later_is_recorded_with_its_parent_task_id(
        slow_sim, slow_manager, store):
    grid = slow_manager.imagine("a red fox in the snow")
    upscale = grid.upscale(2)
    assert "parent_task_id" not in store.get(upscale.job_id).payload   # not known yet
    run_until_sent(slow_sim, upscale)
    upscale.wait(timeout=30)
    record = store.get(upscale.job_id)
    assert record.payload["parent_task_id"] == grid.task_id
    assert record.payload["index"] == "2"


def test_a_suggestion_imagined_later_is_recorded_with_its_prompt(
        slow_sim, slow_manager, store):
    grid = slow_manager.imagine("a lighthouse on a cliff")
    slow_sim.clock.advance(LONG_ENOUGH)
    grid.wait(timeout=30)
    described = slow_manager.submit("describe", {"image_url": grid.result.original_image_url})
    chosen = described.imagine(3)
    assert store.get(chosen.job_id).prompt is None
    run_until_sent(slow_sim, chosen)
    chosen.wait(timeout=30)
    record = store.get(chosen.job_id)
    assert record.prompt == chosen.prompt and record.payload["prompt"] == chosen.prompt
