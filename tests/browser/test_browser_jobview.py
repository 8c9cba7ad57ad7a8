"""`%%imagine` in a real browser, in JupyterLab 4 and Notebook 7, on the embedded simulator.

Issue 8, "Tested in a real browser": the live view (progress, grid, variants, follow-ups under
the view that made them, the kernel free meanwhile) and the static twin after a reopen.
"""
import base64

import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import UIS, is_blank, save_screenshot

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"

# A computation that keeps the kernel busy (CPU, holding the GIL between switches) until the test
# releases it, so "the grid arrived while it ran" is an ordering, not a race against a sleep.
BUSY = '''
import pathlib, time
print("started while the grid was", job.state, flush=True)   # `job`: the cell above, returned
release, deadline = pathlib.Path("release-{ui}"), time.monotonic() + 120
while not release.exists() and time.monotonic() < deadline:
    sum(i * i for i in range(20_000))
print("long computation done" if release.exists() else "long computation gave up")
'''


@pytest.mark.parametrize("ui", UIS)
def test_imagine_shows_progress_then_grid_while_another_cell_computes(
        open_notebook, jupyter_server, screenshots, ui):
    name = f"imagine-{ui}.ipynb"
    # The simulator's default clock (an imagine takes about 4 s): enough polls to see the bar move
    jupyter_server.write_notebook(name, [
        LOAD + "\n%config Imagine.sim_speed = 10",
        "%%imagine --as job\na lighthouse on a cliff at dawn --ar 3:2", BUSY.format(ui=ui)])
    nb = open_notebook(name, None, ui, init_scripts=[jv.PROGRESS_RECORDER])
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    expect(view).to_be_visible(timeout=60_000)

    busy_output = nb.outputs(2).locator(".jp-OutputArea-output")
    # the next cell ran before the grid arrived: the imagine cell returned at once
    expect(busy_output.first).to_have_text("started while the grid was active", timeout=60_000)
    jv.wait_grid(view)
    assert "long computation" not in " ".join(busy_output.all_text_contents())
    assert nb.kernel_status() == "busy"  # ... and the grid came while it was still computing

    widths = next(iter(jv.progress_seen(nb.page).values()))
    assert widths[-1] == 100, widths
    assert any(0 < w < 100 for w in widths), f"the bar jumped straight to the end: {widths}"
    assert widths == sorted(widths), f"the bar went backwards: {widths}"

    save_screenshot(nb.outputs(1), screenshots / f"{ui}-imagine-grid.png")
    (jupyter_server.root / f"release-{ui}").touch()
    expect(busy_output.filter(has_text="long computation done")).to_be_visible(timeout=60_000)


@pytest.mark.parametrize("ui", UIS)
def test_u1_and_v2_show_their_results_under_the_grid(open_notebook, screenshots, ui):
    nb = open_notebook(f"followups-{ui}.ipynb",
                       [LOAD, "%%imagine\na red fox in the snow --ar 1:1"], ui)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)

    jv.button(view, "U1").click()
    upscale = jv.children(view).nth(0)
    jv.wait_single(upscale)
    expect(upscale.locator(":scope > .amj-title")).to_contain_text("Upscale")
    expect(jv.button(upscale, "Upscale (Subtle)")).to_be_visible()
    expect(jv.button(upscale, "Upscale (Creative)")).to_be_visible()

    jv.button(view, "V2").click()
    variation = jv.children(view).nth(1)
    jv.wait_grid(variation)
    expect(jv.children(view)).to_have_count(2)
    assert jv.task_id(variation) not in (jv.task_id(view), jv.task_id(upscale))
    # "under it": the follow-ups come after the grid's own buttons on the page
    grid_bottom = jv.button(view, "V2").bounding_box()
    assert upscale.bounding_box()["y"] > grid_bottom["y"]
    assert variation.bounding_box()["y"] > upscale.bounding_box()["y"]
    expect(jv.button(view, "U1")).to_be_disabled()   # started once; a second click sends nothing
    save_screenshot(upscale, screenshots / f"{ui}-upscale-under-grid.png")


@pytest.mark.parametrize("ui", UIS)
def test_twin_shows_every_final_image_after_a_reopen(open_notebook, jupyter_server,
                                                      screenshots, ui):
    name = f"twin-{ui}.ipynb"
    nb = open_notebook(name, [LOAD, "%%imagine\na paper boat on a pond --ar 3:2",
                              "%%imagine\na {green, yellow} kite over a field --ar 1:1"], ui)
    nb.run_all()
    first = jv.views(nb.outputs(1)).first
    kites = jv.views(nb.outputs(2))
    expect(kites).to_have_count(2, timeout=60_000)
    jv.wait_grid(first)
    jv.wait_grid(kites.nth(0))
    jv.wait_grid(kites.nth(1))
    ids = [jv.task_id(v) for v in (first, kites.nth(0), kites.nth(1))]
    twins = nb.panel.locator(".jp-OutputArea-output.jp-RenderedImage")
    expect(twins).to_have_count(2, timeout=60_000)   # one twin per cell, there ...
    expect(twins.nth(0)).to_be_hidden()              # ... and hidden by the live views
    expect(twins.nth(1)).to_be_hidden()
    nb.wait_idle()
    nb.save()
    nb.close()
    jupyter_server.shutdown_sessions()

    saved = jupyter_server.read_notebook(name)   # an image/jpeg twin only once its jobs finished
    for index, expected in ((1, ids[:1]), (2, ids[1:])):
        jpegs = [o for o in saved.cells[index].outputs if "image/jpeg" in o.get("data", {})]
        assert len(jpegs) == 1, f"cell {index}: {len(jpegs)} image outputs"
        caption = jpegs[0]["data"]["text/plain"]
        for task in expected:
            assert task in caption, f"task {task} missing from the twin's caption {caption!r}"
        assert not is_blank(base64.b64decode(jpegs[0]["data"]["image/jpeg"]))

    reopened = open_notebook(name, None, ui)
    images = reopened.panel.locator(".jp-OutputArea-output.jp-RenderedImage img")
    jv.wait_images(images, 2)
    expect(reopened.panel.locator(".amj-job")).to_have_count(0)
    save_screenshot(reopened.outputs(1), screenshots / f"{ui}-twin-after-reopen.png")
