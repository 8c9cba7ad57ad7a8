"""`%%imagine` in a real browser, in JupyterLab 4 and Notebook 7, on the embedded simulator.

Issues 8 and 15, "Tested in a real browser", at the judge's window size (1400x900): the compact
view (progress in the header, then the four tiles once; heights under their targets and nothing
jumping when the images land), follow-ups right under what made them and scrolled into view, a
tile shown large, access (progress values, image names, unique button names, focus ring, no
sideways overflow), and the static twin after a reopen.
"""
import base64
import io

import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import KEY_TO_FRAME, LONG_TASKS, UIS, is_blank, save_screenshot

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"
WINDOW = {"width": 1400, "height": 900}
GRID_MAX, UPSCALE_MAX, MATRIX_MAX = 560, 700, 900   # CSS pixels, issue 15

# A computation that keeps the kernel busy (CPU, holding the GIL between switches) until the test
# releases it, so "the grid arrived while it ran" is an ordering, not a race against a sleep.
# It looks for the release file every 0.1 s, not after every sum: a loop that makes a system call
# every half millisecond takes the GIL straight back each time, so CPython never forces a switch
# and every background thread of the kernel starves (ipykernel's own output thread included:
# "IOStream.flush timed out"). Measured by benchmarks/bench_busy_cell.py; it was this test's flake.
BUSY = '''
import pathlib, time
print("started while the grid was", job.state, flush=True)   # `job`: the cell above, returned
release, deadline = pathlib.Path("release-{ui}"), time.monotonic() + 300
look = time.monotonic()
while time.monotonic() < deadline:
    sum(i * i for i in range(20_000))
    if time.monotonic() >= look:
        if release.exists():
            break
        look = time.monotonic() + 0.1
print("long computation done" if release.exists() else "long computation gave up")
'''

# Every height the first job view had while it ran, once its four slots were laid out.
HEIGHT_RECORDER = """
window.__amjHeights = [];
new MutationObserver(() => {
  const view = document.querySelector('.amj-job');
  const slots = view ? [...view.querySelectorAll('.amj-tile img')] : [];
  const running = view && view.querySelector('[role=progressbar]');
  if (!running || slots.length < 4 || !slots.every(i => i.offsetHeight > 0)) return;
  const h = Math.round(view.getBoundingClientRect().height);
  const seen = window.__amjHeights;
  if (h && seen[seen.length - 1] !== h) seen.push(h);
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def mean_colour(pictures: list[bytes]) -> tuple[float, ...]:
    """The average RGB of some pictures (PNG or JPEG), each weighted alike."""
    from PIL import Image, ImageStat

    means = [ImageStat.Stat(Image.open(io.BytesIO(p)).convert("RGB")).mean for p in pictures]
    return tuple(sum(m[c] for m in means) / len(means) for c in range(3))


def distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def height(locator) -> float:
    return locator.evaluate("e => e.getBoundingClientRect().height")


IN_WINDOW = """e => {
  const r = e.getBoundingClientRect();
  return r.top >= 0 && r.top + 28 <= window.innerHeight;
}"""


def in_window(locator) -> bool:
    """The element's top part (its header) is on the screen."""
    return locator.evaluate(IN_WINDOW)


def comes_into_window(locator, timeout: float = 20_000) -> None:
    """Wait until the page itself scrolls the element's top onto the screen (no Playwright
    action may scroll meanwhile: screenshots and clicks do)."""
    locator.page.wait_for_function(IN_WINDOW, arg=locator.element_handle(), timeout=timeout)


@pytest.mark.parametrize("ui", UIS)
def test_imagine_shows_progress_then_grid_while_another_cell_computes(
        open_notebook, jupyter_server, screenshots, ui):
    name = f"imagine-{ui}.ipynb"
    # The simulator's default clock (an imagine takes about 4 s): enough polls to see the bar move
    jupyter_server.write_notebook(name, [
        LOAD + "\n%config Imagine.sim_speed = 10",
        "%%imagine --as job\na lighthouse on a cliff at dawn --ar 3:2", BUSY.format(ui=ui)])
    nb = open_notebook(name, None, ui, init_scripts=[jv.PROGRESS_RECORDER, HEIGHT_RECORDER])
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    expect(view).to_be_visible(timeout=60_000)
    bar = view.locator(":scope > .amj-header [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuemin", "0", timeout=30_000)
    assert 0 <= int(bar.get_attribute("aria-valuenow")) < 100
    assert bar.get_attribute("aria-valuetext")

    busy_output = nb.outputs(2).locator(".jp-OutputArea-output")
    # the next cell ran before the grid arrived: the imagine cell returned at once
    expect(busy_output.first).to_have_text("started while the grid was active", timeout=60_000)
    jv.wait_grid(view, timeout=120)   # about 5 s; a cold server on a loaded machine is slower
    assert "long computation" not in " ".join(busy_output.all_text_contents())
    assert nb.kernel_status() == "busy"  # ... and the grid came while it was still computing

    widths = next(iter(jv.progress_seen(nb.page).values()))
    assert any(0 < w < 100 for w in widths), f"the bar jumped straight to the end: {widths}"
    assert widths == sorted(widths), f"the bar went backwards: {widths}"
    expect(bar).to_have_count(0)   # done: the progress folds into the status line
    grid = height(view)
    heights = nb.page.evaluate("window.__amjHeights")
    print(f"[{ui}] finished grid {grid:.0f} px; heights while it ran: {heights}")
    assert grid <= GRID_MAX, f"a finished grid is {grid:.0f} px tall"
    # the slots had their final size from the start: nothing moved by more than a line of text
    assert heights, "the view showed no slots while it ran"
    assert max(heights + [grid]) - min(heights + [grid]) <= 24, heights
    expect(jv.tiles(view)).to_have_count(4)
    expect(jv.body(view).locator("img")).to_have_count(4)   # the four images once, no grid copy

    save_screenshot(nb.outputs(1), screenshots / f"{ui}-imagine-grid.png")
    (jupyter_server.root / f"release-{ui}").touch()
    expect(busy_output.filter(has_text="long computation done")).to_be_visible(timeout=60_000)


@pytest.mark.parametrize("ui", UIS)
def test_u1_and_v2_appear_under_the_toolbar_newest_first_and_in_view(
        open_notebook, screenshots, ui):
    # a tall cell above: the grid sits low in the notebook, its follow-ups below the window
    nb = open_notebook(f"followups-{ui}.ipynb",
                       [LOAD, "print('\\n' * 30)", "%%imagine\na red fox in the snow --ar 1:1",
                        "print('\\n' * 60)"], ui)
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    view = jv.views(nb.outputs(2)).first
    jv.wait_grid(view)
    nb.wait_idle()

    u1 = jv.button(view, "U1")
    u1.evaluate("e => e.scrollIntoView({block: 'end'})")   # the toolbar below the window
    assert not in_window(jv.body(view).locator(":scope > .amj-toolbar"))
    u1.click()
    upscale = jv.children(view).first
    expect(upscale).to_be_visible(timeout=30_000)
    comes_into_window(upscale)
    expect(jv.button(view, "U1 ✓")).to_be_disabled()   # says what it did; a second click: nothing
    expect(jv.status(view)).to_contain_text("U1 started: its view is just below")
    jv.wait_single(upscale)
    expect(jv.title(upscale)).to_contain_text("Upscale")
    expect(jv.button(upscale, "Upscale (Subtle)")).to_be_visible()
    tall = height(upscale)
    print(f"[{ui}] upscale {tall:.0f} px")
    assert tall <= UPSCALE_MAX, f"an upscale is {tall:.0f} px tall"
    save_screenshot(upscale, screenshots / f"{ui}-upscale-under-grid.png")
    upscale_id = jv.task_id(upscale)

    jv.button(view, "V2").click()
    expect(jv.children(view)).to_have_count(2, timeout=30_000)
    variation, upscale = jv.children(view).nth(0), jv.children(view).nth(1)  # newest first
    comes_into_window(variation)
    jv.wait_grid(variation)
    assert jv.task_id(upscale) == upscale_id
    assert jv.task_id(variation) not in (jv.task_id(view), upscale_id)
    toolbar = jv.body(view).locator(":scope > .amj-toolbar").bounding_box()
    assert toolbar["y"] < variation.bounding_box()["y"] < upscale.bounding_box()["y"]


@pytest.mark.parametrize("ui", UIS)
def test_a_tile_shows_large_and_the_arrows_move_between_the_four(open_notebook, screenshots,
                                                                  ui):
    nb = open_notebook(f"large-{ui}.ipynb",
                       [LOAD, "%%imagine\na glass teapot on a table --ar 3:2"], ui)
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    grid = height(view)
    tile_width = jv.tiles(view).first.locator("img").bounding_box()["width"]

    jv.button(view, "Enlarge image 2").click()
    shown = jv.tiles(view).filter(has=nb.page.locator("img:visible"))
    expect(shown).to_have_count(1)
    expect(jv.button(view, "Use image 2 as style reference")).to_be_visible()
    large = shown.locator("img")
    assert large.bounding_box()["width"] > 1.8 * tile_width
    assert height(view) <= grid + 30, "showing one image large made the view taller"
    save_screenshot(view, screenshots / f"{ui}-tile-large.png")

    jv.button(view, "Next ▶").click()
    expect(jv.button(view, "Use image 3 as style reference")).to_be_visible()
    jv.button(view, "◀ Previous").click()
    jv.button(view, "◀ Previous").click()
    expect(jv.button(view, "Use image 1 as style reference")).to_be_visible()
    jv.button(view, "Back to the four images").click()
    expect(jv.body(view).locator("img:visible")).to_have_count(4)


@pytest.mark.parametrize("ui", UIS)
def test_a_2x2_matrix_fits_the_window_and_a_cell_opens_on_demand(open_notebook, screenshots,
                                                                 ui):
    nb = open_notebook(f"matrix-height-{ui}.ipynb",
                       [LOAD, "%%imagine\na {red, blue} {cat, owl} in a garden"], ui)
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    matrix = nb.outputs(1).locator(".amj-live").filter(has=nb.page.locator(".amj-matrix"))
    cells = jv.views(nb.outputs(1))
    expect(cells).to_have_count(4, timeout=60_000)
    for n in range(4):
        jv.wait_grid(cells.nth(n))
    tall = height(matrix.first)
    print(f"[{ui}] 2x2 matrix {tall:.0f} px")
    assert tall <= MATRIX_MAX, f"a 2x2 matrix is {tall:.0f} px tall"
    save_screenshot(matrix.first, screenshots / f"{ui}-matrix.png")

    first = cells.nth(0)
    expect(jv.button(first, "U1")).to_be_hidden()        # a cell is its tiles only ...
    jv.button(first, "All actions").click()               # ... its full view on demand
    expect(jv.button(first, "U1")).to_be_visible()
    expect(jv.button(first, "Reroll")).to_be_visible()


# Contrast of the focus ring against what is around it, and every name a screen reader reads.
ACCESS = """view => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const background = e => { for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return rgb(c); }
    return [255, 255, 255]; };
  const button = [...view.querySelectorAll('.amj-toolbar button')].find(b => b.offsetParent);
  button.focus();
  const style = getComputedStyle(button);
  const ring = {width: parseFloat(style.outlineWidth), style: style.outlineStyle,
    contrast: contrast(rgb(style.outlineColor), background(view))};
  const names = [...view.querySelectorAll('button')].filter(b => b.offsetParent)
    .map(b => b.textContent.trim());
  // ipywidgets' <img> has no alt: each is named by the button or link laid over it
  const images = [...view.querySelectorAll('img')].map(i => {
    const over = i.parentElement.querySelector(':scope > .amj-open, :scope > .amj-full-link a');
    return i.alt || (over && (over.getAttribute('aria-label') || over.textContent.trim())
      + ' / ' + over.title) || ''; });
  const overflow = [...document.querySelectorAll('.amj-job')]
    .map(v => v.scrollWidth - v.clientWidth);
  return {ring, names, images, overflow};
}"""


@pytest.mark.parametrize("ui", UIS)
def test_access_focus_ring_names_and_no_sideways_overflow(open_notebook, ui):
    nb = open_notebook(f"access-{ui}.ipynb",
                       [LOAD, "%%imagine\na paper boat on a pond --ar 3:2 --sref random"], ui)
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    jv.button(view, "V1").click()                  # a nested view, for the overflow check
    jv.wait_grid(jv.children(view).first)
    found = view.evaluate(ACCESS)
    print(f"[{ui}] focus ring {found['ring']}")
    assert found["ring"]["width"] >= 2 and found["ring"]["style"] == "solid"
    assert found["ring"]["contrast"] >= 3, found["ring"]
    own = jv.body(view).get_by_role("button")
    names = [n for n in own.all_text_contents() if n.strip()]
    assert len(names) == len(set(names)), f"buttons share a name: {names}"
    assert all(found["images"]) and len(found["images"]) == 8, found["images"]
    assert max(found["overflow"]) <= 0, f"a view overflows sideways: {found['overflow']}"


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
    live = {cell: mean_colour([png for view in views for png in jv.wait_images(
                jv.body(view).locator("img.amj-variant-image"), 4)])
            for cell, views in ((1, [first]), (2, [kites.nth(0), kites.nth(1)]))}
    twins = nb.panel.locator("figure.amj-twin")
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
        picture = base64.b64decode(jpegs[0]["data"]["image/jpeg"])
        assert not is_blank(picture)
        # the twin shows its own cell's pictures: its colours are nearer to them than to the other's
        other = 3 - index
        twin = mean_colour([picture])
        assert distance(twin, live[index]) < distance(twin, live[other]), (
            f"cell {index}'s twin {twin} looks like cell {other}'s images {live[other]}, "
            f"not its own {live[index]}")

    reopened = open_notebook(name, None, ui)
    images = reopened.panel.locator("figure.amj-twin img")
    jv.wait_images(images, 2)
    expect(reopened.panel.locator(".amj-job")).to_have_count(0)
    save_screenshot(reopened.outputs(1), screenshots / f"{ui}-twin-after-reopen.png")


@pytest.mark.timeout(900)   # its waits' own deadlines (each with a diagnosis) come first
@pytest.mark.parametrize("ui", ["lab"])
def test_thirty_live_cells_stay_within_max_live_views(open_notebook, ui):
    cells = [LOAD] + [f"%%imagine\na paper boat number {n} --ar 3:2" for n in range(30)]
    nb = open_notebook(f"thirty-{ui}.ipynb", cells + ["1 + 1"], ui, init_scripts=[LONG_TASKS])
    nb.page.set_viewport_size(WINDOW)
    nb.run_all()
    try:
        expect(nb.outputs(31)).to_contain_text("2", timeout=120_000)
    except AssertionError as error:
        raise AssertionError(f"the last cell did not run: {nb.diagnosis()}") from error
    # every job finished (on a loaded machine the page may still be catching up with the updates
    # of 30 views: wait for what matters, not for the kernel indicator)
    expect(nb.panel.locator(".amj-job [role=progressbar]")).to_have_count(0, timeout=300_000)
    nb.wait_idle(timeout=120_000)   # every cell ran and every job ended: nothing left to do
    # one more cell closes the oldest views (their twins stay)
    nb.panel.locator(".jp-Cell").last.locator(".cm-content").click()
    nb.page.keyboard.press("Shift+Enter")
    live = nb.panel.locator(".amj-job")
    expect(live).to_have_count(20, timeout=60_000)   # Imagine.max_live_views
    editor = nb.panel.locator(".jp-Cell").last.locator(".cm-content")
    key_ms = editor.evaluate(KEY_TO_FRAME)
    found = nb.page.evaluate("""() => ({nodes: document.getElementsByTagName('*').length,
        long: window.__amjLong.length, longest: Math.max(0, ...window.__amjLong)})""")
    print(f"[{ui}] 30 cells, 20 live views: {found['nodes']} DOM nodes, {found['long']} long "
          f"tasks (longest {found['longest']:.0f} ms), key to frame {key_ms:.1f} ms (median)")
