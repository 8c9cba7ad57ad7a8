"""Exploring in a real browser, in JupyterLab 4 and Notebook 7 (issue 11, "Tested in a browser").

A style card's "Use" fills the prompt panel with `--sref @name`; a permutation prompt opens a
labelled matrix whose every cell gets its images; a describe prompt is imagined with one click;
the exported gallery opens from disk with every image loaded.
"""
import re
import time

import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import UIS, save_screenshot

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"


@pytest.mark.parametrize("ui", UIS)
def test_a_style_cards_use_fills_the_panel_with_its_name(open_notebook, ui):
    # The history is shared by every browser test: each UI names its own style.
    # The live case: the cell returns at once; the next cell waits for it explicitly.
    nb = open_notebook(f"styles-{ui}.ipynb", [
        LOAD,
        "%%imagine --as fox\na fox in the snow --sref random",
        "%imagine wait all",
        f"%imagine styles name {{{{fox.sref}}}} {ui} look",
        "%imagine styles",
    ], ui)
    nb.run_all()
    jv.wait_grid(jv.views(nb.outputs(1)).first)
    expect(nb.outputs(3)).to_contain_text(f"--sref @{ui}-look now means --sref", timeout=60_000)
    library = nb.outputs(4).locator(".amj-style-library")
    card = library.locator(".amj-style-card").filter(has_text=f"@{ui}-look")
    expect(card).to_have_count(1, timeout=60_000)

    card.get_by_role("button", name="Use", exact=True).click()
    prompt = library.locator(".amj-panel .amj-prompt-input textarea")
    expect(prompt).to_have_value(re.compile(rf"^a fox in the snow\b.*--sref @{ui}-look\b"),
                                 timeout=30_000)
    assert "random" not in prompt.input_value()


@pytest.mark.parametrize("ui", UIS)
def test_a_permutation_prompt_opens_a_labelled_matrix_of_four_jobs(open_notebook, ui):
    nb = open_notebook(f"matrix-{ui}.ipynb",
                       [LOAD, "%%imagine\na {red, blue} {cat, owl} in a garden"], ui)
    nb.run_all()
    grid = nb.outputs(1).locator(".amj-matrix")
    expect(grid).to_be_visible(timeout=60_000)
    expect(grid.locator(".amj-matrix-row")).to_have_text(["red", "blue"])
    expect(grid.locator(".amj-matrix-column")).to_have_text(["cat", "owl"])
    cells = jv.views(grid)
    expect(cells).to_have_count(4)
    for n in range(4):
        jv.wait_grid(cells.nth(n))
    # row by row: the cell at (row, column) holds that row's and that column's prompt
    expected = ["a red cat in a garden", "a red owl in a garden",
                "a blue cat in a garden", "a blue owl in a garden"]
    for n, prompt in enumerate(expected):
        expect(cells.nth(n).locator(":scope > .amj-header .amj-title .amj-prompt")).to_have_text(prompt)
    ids = {jv.task_id(cells.nth(n)) for n in range(4)}
    assert len(ids) == 4


@pytest.mark.parametrize("ui", UIS)
def test_a_describe_prompt_is_imagined_with_one_click(open_notebook, ui):
    nb = open_notebook(f"describe-{ui}.ipynb", [
        LOAD,
        "from PIL import Image\nImage.new('RGB', (64, 48), (200, 90, 40)).save('small.png')",
        "%imagine describe small.png",
    ], ui)
    nb.run_all()
    view = jv.views(nb.outputs(2)).first
    expect(jv.status(view)).to_contain_text("Finished", timeout=60_000)
    jv.wait_images(jv.body(view).locator("img.amj-single-image"), 1)
    first = jv.body(view).locator(".amj-describe-prompt").first
    expect(first).to_contain_text("1.")
    suggestion = (first.text_content() or "").split(".", 1)[1].strip()

    imagine = jv.button(view, "Imagine").first
    imagine.click()
    child = jv.children(view)
    expect(child).to_have_count(1, timeout=30_000)
    jv.wait_grid(child.first)
    expect(imagine).to_be_disabled()
    expect(child.first.locator(":scope > .amj-header .amj-title .amj-prompt")).to_have_text(suggestion)


@pytest.mark.parametrize("ui", UIS)
def test_the_exported_gallery_opens_from_disk_with_every_image(
        open_notebook, jupyter_server, chromium, screenshots, ui):
    nb = open_notebook(f"gallery-{ui}.ipynb", [
        LOAD,
        "%%imagine --wait --as lighthouse\na lighthouse at dusk --ar 3:2",
        "%%imagine --wait --as teapots\na {green, gold} teapot",
        "ids = ' '.join(job.task_id for job in [lighthouse, *teapots])",
        "%imagine export gallery {{ids}} --force",   # these three only: the history is shared
    ], ui)
    nb.run_all()
    expect(nb.outputs(4)).to_contain_text("Gallery written", timeout=120_000)
    index = jupyter_server.root / "gallery" / "index.html"
    assert index.is_file()

    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = context.new_page()
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                else outside.append(r.url))
        page.goto(index.as_uri())
        images = page.locator("img")
        assert images.count() == 3 * 5          # each grid and its four images
        wait_loaded(images, 3 * 5)
        assert not outside, f"the gallery fetched {outside[:5]}"
        if ui == "lab":  # the gallery is the same page from either UI: one screenshot
            page.evaluate("window.scrollTo(0, 0)")
            save_screenshot(page.locator("body"), screenshots / "gallery.png", 240_000)
    finally:
        context.close()


def wait_loaded(images, count: int, timeout: float = 60) -> None:
    """Every image (lazy-loaded ones scrolled into view first) loaded with a real size."""
    deadline = time.monotonic() + timeout
    while True:
        for n in range(count):
            images.nth(n).scroll_into_view_if_needed()
        loaded = images.evaluate_all("els => els.map(e => e.complete && e.naturalWidth > 0)")
        if all(loaded):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gallery images not loaded: {loaded}")
        time.sleep(0.25)
