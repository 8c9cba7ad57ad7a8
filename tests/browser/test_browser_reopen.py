"""A notebook reopened after its kernel is gone, and its nbconvert HTML (issue 15, build 4).

Rules: the twin shows once, with a visible caption and alt text; no "Error displaying widget",
"Loading widget..." or widget repr is visible, whether the kernel was shut down with the page
open (the views' outputs become empty model ids) or the notebook was saved while the kernel ran
and the page closed first (the twin's rule hides the view's leftover); nbconvert prints no widget
repr.
"""
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from .harness import UIS, save_screenshot

pytestmark = pytest.mark.timeout(300)

CELLS = ["%load_ext apiframe_magic",
         "%%imagine --as fox\na red fox <b>in</b> the snow --ar 3:2 --sref 1234567",
         "fox.wait(images=True)\n%imagine styles",
         "%%imagine\na {red, blue} kite --ar 1:1"]
REPR_MARKS = ("JobView(", "VBox(", "HTML(value=", "MatrixView(", "StyleLibrary(")
STALE_WORDS = ("Error displaying widget", "Loading widget", *REPR_MARKS)


def _run_and_finish(open_notebook, name, ui):
    nb = open_notebook(name, CELLS, ui)
    nb.run_all()
    twins = nb.panel.locator("figure.amj-twin")
    # fox's twin and the kite matrix: both figures exist once their jobs finished (hidden, live)
    expect(twins).to_have_count(2, timeout=120_000)
    nb.wait_idle()
    return nb


def _visible_text(nb) -> str:
    return "\n".join(nb.panel.locator(".jp-OutputArea-output:visible").all_inner_texts())


def _check_reopened(reopened):
    figures = reopened.panel.locator("figure.amj-twin")
    expect(figures).to_have_count(2, timeout=60_000)
    for index in range(2):
        figure = figures.nth(index)
        expect(figure).to_be_visible()
        expect(figure.locator("figcaption")).to_be_visible()
        assert figure.locator("img").get_attribute("alt").startswith(("Midjourney",
                                                                      "Permutation"))
    fox = figures.first
    expect(fox.locator("figcaption")).to_contain_text("a red fox <b>in</b> the snow")
    expect(fox.locator("figcaption")).to_contain_text("sref 1234567")
    expect(reopened.panel.locator(".amj-styles-twin")).to_be_visible()
    expect(reopened.panel.locator(".amj-job")).to_have_count(0)
    reopened.page.wait_for_timeout(3000)   # give the widget manager time to give up
    text = _visible_text(reopened)
    assert not [word for word in STALE_WORDS if word in text], text[:400]


@pytest.mark.parametrize("ui", UIS)
def test_kernel_shut_down_with_the_page_open_then_reopened(open_notebook, jupyter_server,
                                                           screenshots, ui):
    name = f"reopen-open-{ui}.ipynb"
    nb = _run_and_finish(open_notebook, name, ui)
    for kernel in jupyter_server.api("/api/kernels"):   # as Kernel > Shut Down Kernel does
        jupyter_server.api(f"/api/kernels/{kernel['id']}", "DELETE")
    # The page sees every view leave and each twin show once, with the page still open.
    expect(nb.panel.locator(".amj-job")).to_have_count(0, timeout=30_000)
    expect(nb.panel.locator("figure.amj-twin").first).to_be_visible()
    nb.save()
    nb.close()
    jupyter_server.shutdown_sessions()
    saved = jupyter_server.read_notebook(name)
    views = [o for cell in saved.cells for o in cell.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 3
    assert [o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for o in views] \
        == ["", "", ""]
    assert all(o.data["text/plain"].startswith("Live view of") for o in views)

    reopened = open_notebook(name, None, ui)
    _check_reopened(reopened)
    save_screenshot(reopened.outputs(1), screenshots / f"{ui}-reopened-with-captions.png")


@pytest.mark.parametrize("ui", UIS)
def test_saved_while_the_kernel_ran_then_reopened(open_notebook, jupyter_server, ui):
    name = f"reopen-closed-{ui}.ipynb"
    nb = _run_and_finish(open_notebook, name, ui)
    nb.save()
    nb.close()
    jupyter_server.shutdown_sessions()   # the page was gone: its outputs keep the model ids
    reopened = open_notebook(name, None, ui)
    _check_reopened(reopened)


def test_nbconvert_html_has_no_widget_repr(open_notebook, jupyter_server, tmp_path):
    name = "reopen-nbconvert.ipynb"
    nb = _run_and_finish(open_notebook, name, "lab")
    nb.save()
    nb.close()
    jupyter_server.shutdown_sessions()
    target = tmp_path / "page.html"
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                    "--output", str(target), str(jupyter_server.root / name)],
                   check=True, capture_output=True, timeout=120)
    page = target.read_text()
    assert not [mark for mark in REPR_MARKS if mark in page]
    # the fox's and the kites' figures, each with its caption, and the style library's table
    assert page.count('<figure class="amj-twin') == 2 and page.count("<figcaption") == 2
    assert page.count('<div class="amj-twin') == 1
    assert "a red fox &lt;b&gt;in&lt;/b&gt; the snow" in page
    assert "Live view of imagine" in page
