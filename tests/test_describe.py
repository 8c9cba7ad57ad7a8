"""Describe to imagine against the simulator: job.prompts, job.imagine(i), local files."""
from __future__ import annotations

import pytest
from PIL import Image

from apiframe_magic.describe import describe_image, suggested_prompts
from apiframe_magic.uploads import check_image_file
from apiframe_magic.errors import ApiframeError, InvalidArgumentError
from apiframe_magic.prompt import parse_prompt
from history_fixtures import finish


@pytest.fixture
def described(manager):
    """A describe of a simulated 3:2 grid of a lighthouse."""
    grid = manager.imagine("a lighthouse on a cliff --ar 3:2", aspect_ratio="3:2")
    finish(grid)
    job = manager.submit("describe", {"image_url": grid.result.original_image_url})
    job.wait(timeout=30)
    return job


def test_prompts_are_the_four_suggestions_without_bullets(described):
    assert len(described.result.content) == 4
    assert described.result.content[0].startswith("1\ufe0f\u20e3")
    prompts = described.prompts
    assert len(prompts) == 4
    assert all(not p[0].isdigit() and "\u20e3" not in p for p in prompts)
    assert all("lighthouse on a cliff" in p and p.endswith("--ar 3:2") for p in prompts)


def test_imagine_submits_the_chosen_prompt(described, manager, store):
    job = described.imagine(2)
    finish(job)
    expected = parse_prompt(described.prompts[1])
    assert job.kind == "imagine" and job.prompt == str(expected)
    assert job.payload["aspect_ratio"] == "3:2"
    assert store.get(job.job_id).state == "finished"


@pytest.mark.parametrize("index", [0, 5, -1, "2", True])
def test_imagine_refuses_a_bad_index_and_sends_nothing(described, manager, sim, index):
    before = sim.tasks_created
    with pytest.raises(ValueError, match="from 1 to 4"):
        described.imagine(index)
    assert sim.tasks_created == before


def test_jobs_without_suggestions(manager):
    job = manager.imagine("a quiet pond")
    assert job.prompts == []  # not finished yet, and an imagine has none anyway
    finish(job)
    assert job.prompts == []
    with pytest.raises(ApiframeError, match="no suggested prompts"):
        job.imagine(1)


def test_shorten_suggestions_too(manager):
    job = manager.submit("shorten", {"prompt": "a very beautiful highly detailed red fox --ar 2:3"})
    job.wait(timeout=30)
    assert len(job.prompts) == 3 and all(p.endswith("--ar 2:3") for p in job.prompts)


def test_suggested_prompts_reads_every_bullet_style():
    assert suggested_prompts(["1️⃣ a fox", "2⃣  an owl", "3. a hare", "4) a stag", " ", "plain"]) \
        == ["a fox", "an owl", "a hare", "a stag", "plain"]
    assert suggested_prompts(None) == []
    assert suggested_prompts(["1984 style poster"]) == ["1984 style poster"]


def test_describe_a_local_file_uploads_it_first(manager, tmp_path):
    path = tmp_path / "sketch.png"
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path)
    job = describe_image(manager, path)
    job.wait(timeout=30)
    assert job.payload["image_url"].startswith(manager.client.base_url)
    assert len(job.prompts) == 4


def test_describe_a_url_as_it_is(manager):
    grid = manager.imagine("a red kite")
    finish(grid)
    job = describe_image(manager, grid.result.original_image_url)
    assert job.payload == {"image_url": grid.result.original_image_url}
    job.wait(timeout=30)
    assert len(job.prompts) == 4


def test_bad_files_are_refused_before_anything_is_sent(manager, sim, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"\0" * 100)
    before = sim.tasks_created
    with pytest.raises(InvalidArgumentError, match="notes.png is not an image"):
        describe_image(manager, text)
    with pytest.raises(InvalidArgumentError, match="no image file"):
        describe_image(manager, tmp_path / "missing.jpg")
    with pytest.raises(InvalidArgumentError, match="upload limit"):
        check_image_file(big, max_bytes=50)
    assert sim.tasks_created == before and manager.jobs == []


def test_describe_of_a_saved_picture_tells_what_it_shows(manager, tmp_path):
    """A picture saved from a job and uploaded again is described by its own subject and shape
    (the simulator, like Midjourney, writes the prompt and job id into each PNG it serves)."""
    grid = manager.imagine("an owl on a branch at night --ar 2:3", aspect_ratio="2:3")
    finish(grid)
    saved = grid.save(tmp_path)
    job = describe_image(manager, saved[2])
    job.wait(timeout=30)
    assert "/uploads/" in job.payload["image_url"]
    assert all("an owl on a branch at night" in p and p.endswith("--ar 2:3")
               for p in job.prompts), job.prompts
