"""The harness itself: plain ipywidgets render, clicks reach the kernel, threads update the page.

When this fails, the environment (server, Chromium, widget manager) is broken, not the UI.
"""
import pytest
from playwright.sync_api import expect

from .harness import UIS

PROBE = '''
import threading
import ipywidgets as W
from IPython.display import HTML, display

button = W.Button(description="Probe")
label = W.Label(value="idle")
label.add_class("probe-label")
static = display(HTML('<b class="probe-static">static</b>'), display_id=True)

def worker():
    label.value = "done from a thread"
    static.update(HTML('<b class="probe-static">updated from a thread</b>'))

button.on_click(lambda _b: threading.Thread(target=worker, daemon=True).start())
display(W.VBox([button, label]))
'''


@pytest.mark.parametrize("ui", UIS)
def test_widgets_render_and_threads_update_them(open_notebook, ui):
    nb = open_notebook(f"probe-{ui}.ipynb", [PROBE, "print('second cell ran')"], ui)
    nb.run_all()
    label = nb.panel.locator(".probe-label")
    expect(label).to_have_text("idle", timeout=30_000)
    expect(nb.outputs(1).locator(".jp-OutputArea-output", has_text="second cell ran")
           ).to_be_visible(timeout=30_000)
    nb.panel.get_by_role("button", name="Probe", exact=True).click()
    expect(label).to_have_text("done from a thread", timeout=30_000)
    expect(nb.panel.locator(".probe-static")).to_have_text("updated from a thread")
    nb.wait_idle()
    # the socket recorder (wait_idle's diagnosis) read both cells' requests and their idle statuses
    assert nb.requests() == (2, []), nb.socket_report()
