"""Issue 17 in a real browser: Vary (Region) drawn with the mouse on the ipycanvas editor, Animate's
four clips, and Remix editing a prompt before a reroll (JupyterLab 4 and Notebook 7)."""
import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import UIS, save_screenshot

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"


def upscale_of(nb):
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    jv.button(view, "U1").click()
    upscale = jv.children(view).nth(0)
    jv.wait_single(upscale)
    return upscale


@pytest.mark.parametrize("ui", UIS)
def test_vary_region_draws_a_rectangle_and_the_result_appears_under_it(
        open_notebook, screenshots, ui):
    nb = open_notebook(f"region-{ui}.ipynb",
                       [LOAD, "%%imagine\na lighthouse on a cliff --ar 1:1"], ui)
    nb.run_all()
    upscale = upscale_of(nb)
    region = jv.button(upscale, "Vary (Region)")
    expect(region).to_be_enabled(timeout=60_000)
    region.click()
    editor = upscale.locator(":scope > .amj-children > .amj-region")
    submit = editor.get_by_role("button", name="Submit Vary (Region)")
    expect(submit).to_be_disabled()
    canvas = editor.locator("canvas.amj-region-canvas")     # ipycanvas draws its layers in one
    expect(canvas).to_be_visible(timeout=30_000)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page = nb.page
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    expect(submit).to_be_enabled(timeout=30_000)      # the kernel received the rectangle
    save_screenshot(editor, screenshots / f"{ui}-vary-region-editor.png")
    submit.click()
    result = jv.children(upscale).nth(0)
    jv.wait_grid(result)
    expect(jv.title(result)).to_contain_text("Vary (Region)")
    expect(editor).to_have_count(0)
    started = jv.button(upscale, "Vary (Region) ✓")       # the button says it started
    assert result.bounding_box()["y"] > started.bounding_box()["y"]
    save_screenshot(result, screenshots / f"{ui}-vary-region-result.png")


@pytest.mark.parametrize("ui", UIS)
def test_animate_shows_four_playing_clips(open_notebook, screenshots, ui):
    nb = open_notebook(f"animate-{ui}.ipynb",
                       [LOAD, "%%imagine\na paper boat on a pond --ar 1:1"], ui)
    nb.run_all()
    upscale = upscale_of(nb)
    jv.button(upscale, "Animate (Low motion)").click()
    video = jv.children(upscale).nth(0)
    expect(jv.status(video)).to_contain_text("Finished", timeout=120_000)
    clips = jv.body(video).locator(".amj-clip")
    expect(clips).to_have_count(4)
    # the simulator sends animated GIFs (Pillow writes no MP4), so the clips are <img>s that play
    # by themselves; media_html gives video files a muted, looping <video> (tests in Python)
    jv.wait_images(clips, 4, timeout=60)
    for k in range(1, 5):
        expect(jv.button(video, f"Extend {k}")).to_be_visible()
    save_screenshot(video, screenshots / f"{ui}-animate.png")


@pytest.mark.parametrize("ui", UIS)
def test_remix_edits_the_prompt_before_a_reroll(open_notebook, ui):
    nb = open_notebook(f"remix-{ui}.ipynb",
                       [LOAD, "%%imagine\na red fox in the snow --ar 1:1"], ui)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    jv.body(view).get_by_role("button", name="Remix").click()
    jv.button(view, "Reroll").click()
    editor = view.locator(":scope > .amj-children > .amj-remix")
    text = editor.locator("textarea")
    expect(text).to_have_value("a red fox in the snow --ar 1:1", timeout=30_000)
    send = editor.get_by_role("button", name="Reroll (Remix)")
    text.fill("a red fox in the snow --ar 1")
    expect(send).to_be_disabled(timeout=30_000)           # validated as it is typed
    text.fill("a silver fox in the snow --ar 1:1")
    expect(send).to_be_enabled(timeout=30_000)
    send.click()
    reroll = jv.children(view).nth(0)
    jv.wait_grid(reroll)
    expect(jv.title(reroll)).to_contain_text("a silver fox in the snow")
    expect(editor).to_have_count(0)
