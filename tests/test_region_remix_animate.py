"""Remix, Vary (Region), Animate and Extend from Python, against the simulator over HTTP.

Each bad input is one clear line and sends nothing (counted at the simulator)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from apiframe_magic.masks import MaskError, make_mask
from apiframe_magic.prompt import PromptError

from test_spend import submits

@pytest.fixture
def grid(manager):
    job = manager.imagine("a lighthouse on a cliff --ar 3:2")
    job.wait(images=True)
    return job


@pytest.fixture
def upscale(grid):
    job = grid.upscale(2)
    job.wait(images=True)
    return job


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- Remix


def test_remixed_reroll_sends_the_new_prompt_and_the_history_keeps_it(grid, store, sim):
    job = grid.reroll(prompt="a lighthouse in a storm --ar 3:2")
    job.wait()
    assert job.prompt == "a lighthouse in a storm --ar 3:2"
    assert store.get(job.job_id).prompt == "a lighthouse in a storm --ar 3:2"
    assert sim.store.task(job.task_id).prompt == "a lighthouse in a storm --ar 3:2"


def test_remixed_variation_sends_the_new_prompt(grid, sim):
    job = grid.vary(3, prompt="a lighthouse at dawn --ar 3:2")
    job.wait()
    assert sim.store.task(job.task_id).prompt == "a lighthouse at dawn --ar 3:2"
    assert grid.vary("subtle").prompt == grid.prompt       # no remix: the same prompt


@pytest.mark.parametrize("bad, says", [
    ("a lighthouse --ar 3", "--ar"),
    ("", "empty"),
    ("a {red, blue} lighthouse", "the limit is 1"),
])
def test_a_remixed_prompt_that_fails_validation_sends_nothing(grid, sim, bad, says):
    before = submits(sim)
    with pytest.raises(PromptError) as refused:
        grid.reroll(prompt=bad)
    assert says in str(refused.value)
    assert submits(sim) == before


# ---------------------------------------------------------------------- Vary (Region)


def test_vary_region_redraws_inside_the_box_and_keeps_the_rest(upscale, sim):
    job = upscale.vary_region((0.5, 0.0, 1.0, 1.0), prompt="a lighthouse with a red roof --ar 3:2")
    job.wait(images=True)
    sent = sim.get_task(job.task_id)
    assert sent["task_type"] == "inpaint" and job.warnings == ()
    with Image.open(upscale.image_paths["image"]) as before, \
            Image.open(job.image_paths["1"]) as after:
        before = before.convert("RGB").resize(after.size)
        after = after.convert("RGB")
        w, h = after.size
        diff = ImageChops.difference(before, after)
        kept = ImageStat.Stat(diff.crop((0, 0, w // 2 - 4, h))).mean
        redrawn = ImageStat.Stat(diff.crop((w // 2 + 4, 0, w, h))).mean
    assert max(kept) < 3 < min(redrawn)


def test_the_mask_goes_at_the_image_pixel_size(upscale, sim):
    job = upscale.vary_region([(0.1, 0.1, 0.3, 0.3), [(0.6, 0.6), (0.9, 0.6), (0.75, 0.9)]])
    mask = sim.get_task(job.task_id)
    with Image.open(upscale.image_paths["image"]) as image:
        size = image.size
    sent = job.payload["mask"]
    assert sent.startswith("data:image/png;base64,")
    import base64
    with Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))) as png:
        assert png.size == size
    assert mask is not None


def test_a_mask_of_another_size_is_resized_and_said(upscale):
    small = Image.new("L", (100, 50), 0)
    small.paste(255, (50, 0, 100, 50))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    job = upscale.vary_region(buffer.getvalue())
    with Image.open(upscale.image_paths["image"]) as image:
        width, height = image.size
    assert job.warnings == (f"the mask was 100x50 pixels; resized to the image's "
                            f"{width}x{height}",)


def test_vary_region_on_a_grid_says_to_upscale_first(grid, sim):
    before = submits(sim)
    with pytest.raises(ValueError) as refused:
        grid.vary_region((0, 0, 0.5, 0.5))
    assert "pick one first with U1-U4" in one_line(refused)
    assert submits(sim) == before


@pytest.mark.parametrize("mask, said", [
    (Image.new("L", (64, 64), 0), "the mask is empty: mark the part of the image to redraw first"),
    ([(0.2, 0.2, 0.2, 0.5)], "a box is (left, top, right, bottom) with 0 <= left < right <= 1 and "
                             "0 <= top < bottom <= 1; got (0.2, 0.2, 0.2, 0.5)"),
])
def test_an_empty_mask_is_refused(upscale, sim, mask, said):
    before = submits(sim)
    with pytest.raises(MaskError) as refused:
        upscale.vary_region(mask)
    assert one_line(refused) == said
    assert submits(sim) == before


def test_the_simulator_refuses_an_empty_mask(upscale, client):
    empty = make_mask
    with pytest.raises(Exception, match="mask is empty"):
        blank = io.BytesIO()
        Image.new("L", (8, 8), 0).save(blank, format="PNG")
        client.inpaint(upscale.task_id, blank.getvalue())
    assert empty is make_mask


def test_boxes_and_outlines_make_one_mask():
    mask = make_mask([(0, 0, 0.5, 0.5), [(0.5, 0.5), (1, 0.5), (1, 1)]], (100, 100))
    assert mask.size == (100, 100) and mask.note is None
    assert 0.25 + 0.125 - 0.02 < mask.fraction < 0.25 + 0.125 + 0.02


# ---------------------------------------------------------------------- Animate and Extend


def test_animate_makes_four_videos_that_extend(upscale, sim):
    video = upscale.animate("high")
    result = video.wait()
    assert len(result.video_urls) == 4
    assert sim.get_task(video.task_id)["task_type"] == "imagine-video"
    assert sim.store.task(video.task_id).prompt == upscale.prompt
    longer = video.extend(2)
    assert len(longer.wait().video_urls) == 4
    assert longer.parent is video and longer.payload["index"] == "2"


def test_the_twin_of_a_video_job_is_its_start_frame_with_the_video_links(upscale):
    from apiframe_magic.static.render import job_bundle

    video = upscale.animate()
    video.wait(images=True)
    data, _ = job_bundle(video)
    assert "image/jpeg" in data
    for n, url in enumerate(video.result.video_urls, start=1):
        assert f"video {n}: {url}" in data["text/plain"]


def test_animate_on_a_grid_says_to_pick_an_image(grid, sim):
    before = submits(sim)
    with pytest.raises(ValueError) as refused:
        grid.animate()
    assert "pick one first with U1-U4" in one_line(refused)
    assert submits(sim) == before


def test_extend_on_a_non_video_says_so(upscale, sim):
    before = submits(sim)
    with pytest.raises(ValueError) as refused:
        upscale.extend(1)
    assert one_line(refused).startswith("Extend works on a video")
    assert submits(sim) == before


def test_bad_motion_is_refused(upscale):
    with pytest.raises(ValueError, match="motion is 'low' or 'high'"):
        upscale.animate("fast")


# ---------------------------------------------------------------------- readable names


@pytest.mark.parametrize("prompt, expected", [
    ("a red fox in the snow --ar 3:2 --sref 123", "a-red-fox-in-the-snow"),
    ("https://x.example/cat.png Red FOX, in snow!", "red-fox-in-snow"),
    ("--ar 1:1", "image"),
    ("un renard roux dans la neige profonde ce soir", "un-renard-roux-dans-la-neige"),
])
def test_saved_files_are_named_from_the_prompt(prompt, expected):
    from apiframe_magic.filenames import slug

    assert slug(prompt) == expected


def test_the_simulator_remembers_a_region_repaint_across_a_restart(tmp_path):
    from apiframe_magic import ApiframeClient
    from apiframe_magic.simulator import Simulator
    from test_client import finish

    mask = make_mask((0.5, 0, 1, 1), (64, 64)).png
    with Simulator(speed=200, state_dir=tmp_path) as first:
        client = ApiframeClient(first.api_key, base_url=first.url, backoff=0.01)
        grid = finish(client, client.imagine("a city at night")).task_id
        upscale = finish(client, client.upscale_1x(grid, 1)).task_id
        region = finish(client, client.inpaint(upscale, mask)).task_id
        before = first.store.task(region)
        picture = first.images.task_png(before, "1")
    with Simulator(speed=200, state_dir=tmp_path) as second:
        after = second.store.task(region)
        assert after.images == before.images
        assert second.images.task_png(after, "1") == picture
