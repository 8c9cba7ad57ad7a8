"""The offline twin remembers: a simulator started again on its state directory still knows its
tasks, counts the time it was down, redraws identical images and charged credits stay charged."""
from __future__ import annotations

import time

import requests

from apiframe_magic import ApiframeClient
from apiframe_magic.simulator import Simulator
from test_client import finish as _wait_finished


def _client(sim):
    return ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01)


def test_tasks_survive_a_restart_and_finish_while_it_was_down(tmp_path):
    state = tmp_path / "sim"
    with Simulator(speed=1, state_dir=state) as first:     # real time: the test moves its clock
        client = _client(first)
        done_id = client.imagine("a lighthouse in fog")
        first.clock.advance(600)
        grid_url = _wait_finished(client, done_id).original_image_url
        grid = requests.get(grid_url, timeout=10).content
        describe_id = client.describe(grid_url)
        first.clock.advance(600)
        described = _wait_finished(client, describe_id).content
        running_id = client.imagine("a lighthouse at night")   # runs 30-50 s of real time
        assert client.fetch(running_id).status != "finished"
        credits = first.credits
    time.sleep(0.6)  # at the next one's speed (100x), 60 simulated seconds pass while it is down

    with Simulator(speed=100, state_dir=state) as second:
        client = _client(second)
        assert [t.status for t in client.fetch_many([done_id, running_id])] == \
            ["finished", "finished"]
        again = client.fetch(done_id)
        assert again.original_image_url.startswith(second.url)
        assert requests.get(again.original_image_url, timeout=10).content == grid
        assert second.credits == credits and second.tasks_created == 0
        # an image URL naming the first run's port still means the remembered task
        assert _wait_finished(client, client.describe(grid_url)).content == described
        upscale = client.upscale_1x(done_id, 2)  # a remembered parent works
        assert _wait_finished(client, upscale).image_url


def test_a_simulator_sees_tasks_another_one_on_the_same_directory_created(tmp_path):
    with Simulator(speed=100, state_dir=tmp_path) as first, \
            Simulator(speed=100, state_dir=tmp_path) as second:
        task_id = _client(first).imagine("shared memory")
        assert _wait_finished(_client(second), task_id).finished


def test_without_a_state_directory_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Simulator(speed=100) as sim:
        _client(sim).imagine("forgotten")
    assert list(tmp_path.iterdir()) == []


def test_every_kind_of_recipe_comes_back_equal(tmp_path):
    with Simulator(speed=100, state_dir=tmp_path) as first:
        client = _client(first)
        grid = _wait_finished(client, client.imagine("a city at night --ar 16:9")).task_id
        upscale = _wait_finished(client, client.upscale_1x(grid, 1)).task_id
        children = [client.variations(grid, 2), client.variations(grid, "strong"),
                    client.outpaint(upscale, 1.5), client.pan(upscale, "left"),
                    client.upscale_alt(upscale, "creative"), client.shorten("a very long prompt"),
                    client.describe(client.fetch(upscale).image_url)]
        ids = [grid, upscale, *children]
        before = {i: first.store.task(i) for i in ids}
    with Simulator(speed=100, state_dir=tmp_path) as second:
        for task_id, old in before.items():
            new = second.store.task(task_id)
            assert (new.images, new.content, new.kind, new.cost, new.sref, new.parent_id) == \
                (old.images, old.content, old.kind, old.cost, old.sref, old.parent_id)
            assert new.timeline.processing == old.timeline.processing
