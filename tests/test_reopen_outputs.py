"""What a notebook keeps of a run, for a reopen without its kernel, nbconvert and GitHub.

Rules (issue 15, build 4): a live view's output carries a short text/plain of ours (never the
widget's repr) and becomes an empty model id when the view closes or the kernel exits, so
frontends hide it; the twin is a figure with alt text and a visible, escaped caption (prompt,
sref, short id); describe's prompts are numbered once, without keycaps; a sheet of a tree labels
its tiles by what they are and has no blank bands; the style library has a static twin.
"""
from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from apiframe_magic.ipython.presenter import VIEW_MIME
from apiframe_magic.static import render
from magic_shell import magics_of

PROMPT = 'a fox <script>alert("x")</script> & friends --ar 3:2 --sref random'


@pytest.fixture
def live(ip):
    ip.run_line_magic("config", "Imagine.display = 'widgets'")
    return ip


@pytest.fixture
def static(ip):
    ip.run_line_magic("config", "Imagine.display = 'static'")
    return ip


def _views(ip):
    return [o for o in ip.display_pub.outputs() if VIEW_MIME in o["data"]]


def _twins(ip):
    return [o for o in ip.display_pub.outputs() if "text/html" in o["data"]
            and "amj-twin" in o["data"]["text/html"]]


def test_a_live_view_output_is_one_line_of_ours_never_the_widget_repr(live):
    job = live.run_cell_magic("imagine", "--wait", PROMPT)
    (view,) = _views(live)
    text = view["data"]["text/plain"]
    assert view["display_id"] and view["data"][VIEW_MIME]["model_id"]
    assert "\n" not in text and len(text) < 120 and text.startswith("Live view of imagine")
    assert not re.search(r"JobView\(|VBox\(|HTML\(value=|<style>", text)
    assert job.done


def test_a_closed_view_leaves_an_empty_model_id(live):
    job = live.run_cell_magic("imagine", "--wait", PROMPT)
    (view_widget,) = [v for v in magics_of(live).ui_context().views if v.job is job]
    view_widget.close()
    (view,) = _views(live)
    assert view["data"][VIEW_MIME]["model_id"] == ""
    assert job.task_id[:8] in view["data"]["text/plain"]   # named once the id is known


def test_at_kernel_exit_every_open_view_is_emptied_before_the_shared_models_close(live):
    from apiframe_magic.widgets import style

    live.run_cell_magic("imagine", "--wait", "a red kite")
    live.run_line_magic("imagine", "styles")
    assert all(v["data"][VIEW_MIME]["model_id"] for v in _views(live))
    stylesheet = style.shared("stylesheet")
    order = []
    stylesheet.observe(lambda change: order.append(
        ("stylesheet closed", [v["data"][VIEW_MIME]["model_id"] for v in _views(live)])),
        names="comm")
    style.close_shared()   # what atexit runs
    assert [v["data"][VIEW_MIME]["model_id"] for v in _views(live)] == ["", ""]
    assert order == [("stylesheet closed", ["", ""])]


def test_the_twin_is_a_figure_with_alt_text_and_an_escaped_visible_caption(static):
    job = static.run_cell_magic("imagine", "--wait", PROMPT)
    (twin,) = _twins(static)
    page = twin["data"]["text/html"]
    assert "<script>" not in page and "&lt;script&gt;" in page
    alt = re.search(r'<img [^>]*alt="([^"]*)"', page).group(1)
    assert "fox &lt;script&gt;" in alt
    caption = re.search(r"<figcaption[^>]*>(.*)</figcaption>", page, re.DOTALL).group(1)
    assert "fox &lt;script&gt;" in caption and job.result.sref in caption
    assert job.task_id[:8] in caption
    assert twin["data"]["image/jpeg"] in page          # the same picture, for converters
    assert job.task_id in twin["data"]["text/plain"]   # the full id stays in the text
    assert len(str(twin)) <= render.NOTEBOOK_BUDGET


def test_describe_prompts_are_numbered_once_without_keycaps(static, tmp_path):
    Image.new("RGB", (64, 48), (30, 60, 90)).save(tmp_path / "d.png")
    described = static.run_line_magic("imagine", "describe d.png")
    described.wait(timeout=60)
    text = static.display_pub.outputs()[-1]["data"]["text/plain"]
    assert "\u20e3" not in text and "\ufe0f" not in text
    for number, prompt in enumerate(described.prompts, start=1):
        assert f"\n{number}. {prompt}" in text
    assert text.splitlines()[0] == "describe d.png"   # not "describe: describe d.png"


def test_the_style_library_has_a_static_twin_after_its_live_view(live):
    live.run_cell_magic("imagine", "--wait", "a red kite --sref 1234567")
    live.run_line_magic("imagine", "styles")
    view, twin = live.display_pub.outputs()[-2:]
    assert VIEW_MIME in view["data"]
    assert "amj-twin" in twin["data"]["text/html"] and "1234567" in twin["data"]["text/html"]


def _sheet_tiles(jpeg: bytes):
    return Image.open(io.BytesIO(jpeg)).convert("L")


def test_a_sheet_of_a_tree_labels_its_tiles_and_has_no_blank_band(static):
    grid = static.run_cell_magic("imagine", "--wait", "a paper boat --ar 3:2")
    tree = [grid, grid.upscale(1), grid.vary(2)]
    for job in tree:
        job.wait(timeout=60, images=True)
    assert [render.tile_label(job) for job in tree] == ["grid", "U1", "V2"]
    data, metadata = render.group_bundle(tree)
    assert all(label in data["text/html"] for label in ("grid", "U1", "V2"))
    sheet = _sheet_tiles(base64.b64decode(data["image/jpeg"]))
    assert sheet.size == (metadata["image/jpeg"]["width"], metadata["image/jpeg"]["height"])
    # Every pixel row below the labels crosses a picture: no white band anywhere.
    rows = [sheet.crop((0, y, sheet.width, y + 1)) for y in range(render.LABEL_BAND, sheet.height)]
    white_rows = [y for y, row in enumerate(rows) if min(row.tobytes()) > 235]
    assert white_rows == []
