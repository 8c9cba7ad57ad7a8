"""Access in a real browser (issue 15, "Access"): what a screen reader reads and what a keyboard
user sees, in JupyterLab 4 and Notebook 7.

- every control of a job view (with its Remix and Vary (Region) editors) and of the prompt panel
  has a name, unique within its view or panel, and the panel does not overflow sideways;
- the focus ring of every kind of control (toolbar, tile and header buttons; the panel's button,
  text area, inputs and lists) is a solid 2-px outline of at least 3:1 against the colour behind
  it, in JupyterLab's light and dark themes.

Accessible names come from Chromium's own accessibility tree (the DevTools protocol), the way
assistive technology gets them, not from the DOM text: a noUiSlider handle has text nowhere.
"""
import re

import pytest
from playwright.sync_api import expect

from . import jobviews as jv
from .harness import UIS

pytestmark = pytest.mark.timeout(300)

LOAD = "%load_ext apiframe_magic"
GRID = "%%imagine\na paper boat on a pond --ar 3:2 --sref random"

# Everything a keyboard or screen reader user can reach, each tagged with the job view or panel
# that owns it (the nearest one: a follow-up's buttons belong to the follow-up).
TAG_CONTROLS = """root => {
  const controls = root.querySelectorAll('button, input, textarea, select, a[href], '
    + '[role=slider], [contenteditable=true], [tabindex]:not([tabindex="-1"])');
  let n = 0;
  for (const c of controls) {
    const owner = c.closest('.amj-panel, .amj-job');
    if (!owner) continue;
    if (!owner.dataset.amjOwner) owner.dataset.amjOwner = (owner.classList.contains('amj-panel')
      ? 'panel' : 'view') + '-' + (n++);
    c.dataset.amjControl = owner.dataset.amjOwner;
  }
}"""


# ipycanvas makes its <canvas> focusable and offers no way to name it: its `tooltip` breaks the
# view (ipywidgets 8 reads a `description` the canvas lacks). The mask editor's heading, just
# above it, says what it is for; the rest of the editor (mode, Undo, prompt, Submit) is named.
UNNAMEABLE = {"Canvas"}


def accessible_controls(page) -> dict[str, list[tuple[str, str]]]:
    """owner -> [(role, accessible name)] of every tagged control the accessibility tree shows
    (hidden ones are left out, as a screen reader leaves them out)."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        found: dict[str, list[tuple[str, str]]] = {}
        for node_id in cdp.send("DOM.querySelectorAll",
                                {"nodeId": root, "selector": "[data-amj-control]"})["nodeIds"]:
            owner = cdp.send("DOM.getAttributes", {"nodeId": node_id})["attributes"]
            owner = dict(zip(owner[::2], owner[1::2]))["data-amj-control"]
            nodes = cdp.send("Accessibility.getPartialAXTree",
                             {"nodeId": node_id, "fetchRelatives": False})["nodes"]
            node = nodes[0]
            if node.get("ignored"):
                continue
            role = node.get("role", {}).get("value", "")
            name = str(node.get("name", {}).get("value", "")).strip()
            found.setdefault(owner, []).append((role, name))
        return found
    finally:
        cdp.detach()


@pytest.mark.parametrize("ui", UIS)
def test_every_control_of_a_view_and_the_panel_has_its_own_name(open_notebook, ui):
    nb = open_notebook(f"names-{ui}.ipynb", [LOAD, GRID], ui)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    jv.button(view, "U1").click()
    upscale = jv.children(view).first
    jv.wait_single(upscale)
    jv.button(upscale, "Vary (Region)").click()             # the mask editor, in the upscale
    expect(upscale.locator(".amj-region")).to_be_visible(timeout=30_000)
    body = jv.body(view)
    body.get_by_role("button", name="Remix", exact=True).click()
    jv.button(view, "Reroll").click()                       # the Remix editor, in the grid
    expect(view.locator(":scope > .amj-children > .amj-remix")).to_be_visible(timeout=30_000)
    code = re.search(r"--sref (\d+)", view.locator(".amj-sref").first.text_content()).group(1)
    jv.button(view, f"Reuse style --sref {code}").click()
    panel = view.locator(":scope > .amj-children > .amj-panel")
    expect(panel.locator(".amj-prompt-input textarea")).to_be_focused(timeout=30_000)
    nb.outputs(1).evaluate(TAG_CONTROLS)
    found = accessible_controls(nb.page)
    owners = sorted(found)
    assert [o.split("-")[0] for o in owners].count("view") == 2 and any(
        o.startswith("panel") for o in owners), owners
    for owner, controls in found.items():
        print(f"[{ui}] {owner}: {controls}")
        unnamed = [role for role, name in controls if not name and role not in UNNAMEABLE]
        assert not unnamed, f"{owner} has controls without a name: {unnamed}"
        names = [name for _role, name in controls]
        shared = sorted({name for name in names if names.count(name) > 1})
        assert not shared, f"{owner} has controls sharing a name: {shared}"
    view_roles = {role for owner in owners for role, _name in found[owner]}
    assert {"textbox", "button", "link", "radio"} & view_roles >= {"textbox", "button", "link"}
    sticking_out = panel.evaluate("""p => { const edge = p.getBoundingClientRect().right;
      return [...p.querySelectorAll('*')].filter(e => e.offsetParent
        && e.getBoundingClientRect().right > edge + 0.5).map(e => e.tagName + '.' + e.className)
        .slice(0, 5); }""")
    assert not sticking_out, f"the panel overflows sideways: {sticking_out}"
    panel_roles = {role for role, _name in found[next(o for o in owners if "panel" in o)]}
    assert {"textbox", "spinbutton", "checkbox", "combobox", "listbox"} <= panel_roles


THEME_SETTINGS = ("@jupyterlab", "apputils-extension", "themes.jupyterlab-settings")

# The focus ring of each kind of control, against the colour behind it (the ring is drawn
# outside the control, over the first painted background around it), as WCAG contrast.
FOCUS_RINGS = """(root, selectors) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const behind = e => { for (e = e.parentElement; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c.slice(0, 3); }
    return rgb(getComputedStyle(document.body).backgroundColor).slice(0, 3); };
  return selectors.map(selector => {
    const e = [...root.querySelectorAll(selector)].find(x => x.offsetParent && !x.disabled);
    if (!e) return {selector, missing: true};
    e.focus();
    const s = getComputedStyle(e);
    const ring = rgb(s.outlineColor), back = behind(e);
    return {selector, focused: document.activeElement === e, width: parseFloat(s.outlineWidth),
            style: s.outlineStyle, ring: s.outlineColor, behind: 'rgb(' + back.join(', ') + ')',
            contrast: Math.round(contrast(ring, back) * 100) / 100};
  });
}"""
RING_TARGETS = [".amj-toolbar button", ".amj-tile-actions button", ".amj-header button",
                ".amj-remix textarea", ".amj-remix button",
                ".amj-panel .amj-imagine", ".amj-panel textarea", ".amj-panel input[type=text]",
                ".amj-panel input[type=number]", ".amj-panel select"]


@pytest.fixture
def theme(jupyter_server, request):
    """The JupyterLab theme ("light" or "dark") for pages opened in the test, written to the
    server's settings directory (read on every page load) and removed after it."""
    path = jupyter_server.base.joinpath("jsettings", *THEME_SETTINGS)
    if request.param == "dark":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"theme": "JupyterLab Dark"}')
    yield request.param
    path.unlink(missing_ok=True)


@pytest.mark.parametrize("theme", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("ui", UIS)
def test_the_focus_ring_stands_out_three_to_one_in_light_and_dark(open_notebook, theme, ui):
    nb = open_notebook(f"ring-{theme}-{ui}.ipynb", [LOAD, GRID], ui)
    expect(nb.page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "false" if theme == "dark" else "true", timeout=30_000)
    nb.run_all()
    view = jv.views(nb.outputs(1)).first
    jv.wait_grid(view)
    code = re.search(r"--sref (\d+)", view.locator(".amj-sref").first.text_content()).group(1)
    jv.button(view, f"Reuse style --sref {code}").click()
    panel = view.locator(".amj-panel")
    expect(panel.locator(".amj-prompt-input textarea")).to_be_focused(timeout=30_000)
    jv.body(view).get_by_role("button", name="Remix", exact=True).click()
    jv.button(view, "Reroll").click()                       # the Remix editor, in the view
    expect(view.locator(".amj-remix textarea")).to_be_visible(timeout=30_000)
    panel.get_by_role("checkbox", name="Stylize").check()       # its number box, enabled
    expect(panel.get_by_role("spinbutton", name="--s", exact=True)).to_be_enabled(timeout=30_000)
    rings = view.evaluate(FOCUS_RINGS, RING_TARGETS)
    for ring in rings:
        print(f"[{ui} {theme}] {ring}")
    for ring in rings:
        assert ring.get("focused"), ring
        assert ring["width"] >= 2 and ring["style"] == "solid", ring
        assert ring["contrast"] >= 3, ring
