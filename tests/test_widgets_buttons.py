"""Issue 17's buttons in a JobView, without a browser: real jobs against the simulator, clicks with
`Button.click()`, editors driven as the mouse and keyboard would."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from apiframe_magic.widgets.media import media_html
from apiframe_magic.widgets.region import LASSO, RegionEditor
from apiframe_magic.widgets.remix import RemixEditor

from test_spend import submits
from test_widgets_view import (  # noqa: F401 - fixtures
    ctx,
    imagine,
    recording_comm,
    rt,
    settled,
    sim,
)


@pytest.fixture
def grid(ctx):
    return settled(imagine(ctx, "a red fox in the snow --ar 3:2"))


@pytest.fixture
def upscale(grid):
    grid.buttons["U2"].click()
    return settled(grid.child_views[0])


def editors(view, kind):
    return [w for w in view.children_box.children if isinstance(w, kind)]


# ---------------------------------------------------------------------- Use and Save


def test_use_prompt_image_and_style_fill_the_panel(grid, upscale):
    result = grid.job.result
    grid.buttons["use-prompt"].click()
    grid.buttons["image3"].click()
    grid.buttons["style3"].click()
    upscale.buttons["use-image"].click()
    panel = grid.ctx.panel
    assert panel.prompts[:3] == [
        "a red fox in the snow --ar 3:2",
        f"{result.image_urls[2]} a red fox in the snow --ar 3:2",
        f"a red fox in the snow --ar 3:2 --sref {result.image_urls[2]}"]
    assert panel.prompts[3] == f"{upscale.job.result.image_url} a red fox in the snow --ar 3:2"


def test_per_image_use_and_save_show_only_on_the_tile_shown_large(grid):
    """The four small tiles keep one short row (U k, V k): the grid stays compact."""
    per_image = [f"{name}{k}" for k in range(1, 5) for name in ("image", "save")]
    assert all(grid.buttons[key].layout.display == "none" for key in per_image)
    grid.enlarge(3)
    shown = {key for key in per_image if grid.buttons[key].layout.display != "none"}
    assert shown == {"image3", "save3"}
    grid.show_grid()
    assert all(grid.buttons[key].layout.display == "none" for key in per_image)


def test_a_compact_view_hides_the_remix_switch_with_its_toolbar(grid):
    grid.set_compact(True)
    assert grid.remix_switch.layout.display == "none"
    grid.set_compact(False)
    assert grid.remix_switch.layout.display != "none"


def test_save_image_writes_one_readable_file_and_never_overwrites(grid, upscale, tmp_path):
    ident = grid.job.task_id.replace("-", "")[:8]
    grid.buttons["save3"].click()
    grid.buttons["save3"].click()            # the same image again: the same file
    assert sorted(p.name for p in (tmp_path / "saved").iterdir()) == [
        f"a-red-fox-in-the-snow_{ident}_3.png"]
    (tmp_path / "saved" / f"a-red-fox-in-the-snow_{ident}_4.png").write_bytes(b"someone's")
    grid.buttons["save4"].click()            # a different file has the name: kept
    assert (tmp_path / "saved" / f"a-red-fox-in-the-snow_{ident}_4.png").read_bytes() == \
        b"someone's"
    assert (tmp_path / "saved" / f"a-red-fox-in-the-snow_{ident}_4-2.png").is_file()
    assert grid.details.value.count('class="amj-path"') == 2
    upscale.buttons["save-image"].click()
    ident = upscale.job.task_id.replace("-", "")[:8]
    assert (tmp_path / "saved" / f"a-red-fox-in-the-snow_{ident}_u2.png").is_file()


# ---------------------------------------------------------------------- Remix


def test_remix_edits_the_prompt_before_a_reroll(grid, sim):
    grid.remix_switch.value = True
    before = submits(sim)
    grid.buttons["reroll"].click()
    (editor,) = editors(grid, RemixEditor)
    assert editor.text.value == "a red fox in the snow --ar 3:2"
    assert submits(sim) == before                       # nothing sent by opening it
    editor.text.value = "a red fox in the snow --ar 3"
    assert editor.send_button.disabled and "--ar" in editor.messages.value
    assert editor.send() is None and submits(sim) == before
    editor.text.value = "a blue fox in the snow --ar 3:2"
    assert not editor.send_button.disabled
    editor.send_button.click()
    child = grid.started["reroll"]
    assert child.kind == "reroll" and child.prompt == "a blue fox in the snow --ar 3:2"
    assert sim.store.task(child.task_id).prompt == "a blue fox in the snow --ar 3:2"
    assert editors(grid, RemixEditor) == [] and grid.child_views[0].job is child


def test_remix_on_a_variation_and_off_again(grid, sim):
    grid.remix_switch.value = True
    grid.buttons["V1"].click()
    (editor,) = editors(grid, RemixEditor)
    editor.text.value = "a fox made of paper --ar 3:2"
    child = editor.send()
    assert (child.kind, child.payload["index"], child.prompt) == (
        "variations", "1", "a fox made of paper --ar 3:2")
    grid.remix_switch.value = False
    grid.buttons["vary-subtle"].click()                 # straight away, the grid's prompt
    assert grid.started["vary-subtle"].prompt == grid.job.prompt


def test_remix_on_an_upscale_vary(upscale):
    upscale.remix_switch.value = True
    upscale.buttons["vary-strong"].click()
    (editor,) = editors(upscale, RemixEditor)
    editor.text.value = "a red fox in a blizzard --ar 3:2"
    child = editor.send()
    assert (child.kind, child.payload["index"], child.prompt) == (
        "variations", "strong", "a red fox in a blizzard --ar 3:2")


# ---------------------------------------------------------------------- Vary (Region)


def test_vary_region_draws_a_rectangle_and_submits_a_mask_at_the_image_size(upscale, sim):
    assert upscale.buttons["region"].description == "Vary (Region)"
    upscale.buttons["region"].click()
    (editor,) = editors(upscale, RegionEditor)
    assert editor.submit_button.disabled and "Mark the part" in editor.messages.value
    before = submits(sim)
    assert editor.submit() is None and submits(sim) == before    # an empty mask: nothing sent
    editor.press(10, 10)
    editor.drag(100, 60)
    editor.release(editor.width // 2, editor.height // 2)
    assert editor.shapes == [(10 / editor.width, 10 / editor.height, 0.5, 0.5)]
    editor.submit_button.click()
    child = upscale.started["region"]
    assert child.kind == "inpaint" and editors(upscale, RegionEditor) == []
    with Image.open(upscale.job.image_paths["image"]) as image:
        size = image.size
    png = base64.b64decode(child.payload["mask"].split(",", 1)[1])
    with Image.open(io.BytesIO(png)) as mask:
        assert mask.size == size
        assert mask.convert("L").getpixel((size[0] // 4, size[1] // 4)) == 255
        assert mask.convert("L").getpixel((size[0] * 3 // 4, size[1] * 3 // 4)) == 0
    view = settled(upscale.child_views[0])
    assert view.job is child and child.state == "finished"


def test_the_lasso_undo_and_clear(upscale):
    upscale.buttons["region"].click()
    (editor,) = editors(upscale, RegionEditor)
    editor.mode.value = LASSO
    editor.press(50, 50)
    for x, y in ((150, 50), (150, 150), (50, 150)):
        editor.drag(x, y)
    editor.release(50, 60)
    assert len(editor.shapes) == 1 and len(editor.shapes[0]) >= 4
    editor.press(5, 5)
    editor.release(6, 6)                     # a click is not a mark
    assert len(editor.shapes) == 1
    editor.undo()
    assert editor.shapes == [] and editor.submit_button.disabled
    editor.mode.value = "Rectangle"
    editor.press(0, 0)
    editor.release(40, 40)
    editor.clear()
    assert editor.shapes == []
    editor.cancel_button.click()
    assert editors(upscale, RegionEditor) == []


def test_vary_region_is_offered_only_on_u1_to_u4_images(grid, upscale):
    assert "region" not in grid.buttons
    upscale.buttons["upscale-2x"].click()
    highres = settled(upscale.child_views[0])
    assert "region" not in highres.buttons and "animate-low" in highres.buttons


# ---------------------------------------------------------------------- Animate


def test_animate_shows_four_clips_with_extend(upscale, sim):
    upscale.buttons["animate-high"].click()
    video = upscale.started["animate-high"]
    assert video.kind == "imagine-video" and video.payload["motion"] == "high"
    view = settled(upscale.child_views[0])
    urls = video.result.video_urls
    assert len(view.clips) == 4
    for clip, url in zip(view.clips, urls):
        assert clip.value == media_html(url, f"video {urls.index(url) + 1}")
        assert url in clip.value
    view.buttons["extend3"].click()
    longer = view.started["extend3"]
    assert longer.kind == "imagine-video-extend" and longer.payload["index"] == "3"
    assert settled(view.child_views[0]).job.state == "finished"


def test_media_html_plays_videos_and_escapes():
    video = media_html('https://cdn.example/v/1.mp4?a=1&b="x"', "video 1")
    assert video.startswith('<video class="amj-clip" src="https://cdn.example/v/1.mp4?a=1&amp;b='
                            '&quot;x&quot;"')
    for attribute in (" muted ", " loop ", " autoplay ", " controls ", " playsinline "):
        assert attribute in video
    assert media_html("http://127.0.0.1:1/videos/t/1.gif", "v").startswith("<img ")
    assert "<" not in media_html("javascript:alert(1)", "<b>").replace(
        '<span class="amj-muted">', "").replace("</span>", "")


# ---------------------------------------------------------------------- the budget


def test_a_button_past_the_budget_says_so_and_sends_nothing(grid, sim):
    grid.ctx.manager.spend.budget = 5
    before = submits(sim)
    grid.buttons["V2"].click()
    assert "over budget: 4 credits spent this session + 4 for this variations" in \
        grid.status.value
    assert submits(sim) == before and "V2" not in grid.started
    assert not grid.buttons["V2"].disabled              # may be clicked once the budget allows
