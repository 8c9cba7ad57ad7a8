"""Looks shared by every view: one scoped stylesheet and one set of Layout/Style models.

Every job view would otherwise carry its own Layout and Style model per widget (82 comm models
per job instead of about 40, widget-ui.md "Models"). The shared models here are created once per
kernel, re-created if something closed them, and never closed by a view's recursive close.

The CSS only targets the project's own classes (rule 10): `var(--jp-..., fallback)` colours with
overrides for JupyterLab's and VS Code's dark themes. The focus ring is `!important` because
ipywidgets removes the outline of its inputs that way (leaving a 1-px border, 2.2:1 on white).
It also holds the rule that hides a job's static twin while its live view is on the page.
"""
from __future__ import annotations

import atexit
import threading

import ipywidgets as widgets

# JPEG bytes sent to the page (rule 4): each tile at most 512 px (sharp on HiDPI screens, and
# sharp enough shown large), an upscale at most 768 px. The grid image itself is never sent.
VARIANT_SIDE = 512
SINGLE_SIDE = 768
# CSS pixels on the page, chosen so that a finished grid stays under 560 px and an upscale under
# 700 px at 1400x900: a tile fits TILE_BOX, a compact tile (a matrix cell) COMPACT_BOX, an
# upscale SINGLE_BOX; a tile shown large takes the place of the four.
TILE_BOX = (340, 200)
COMPACT_BOX = (170, 96)
SINGLE_BOX = (760, 500)
TILE_GAP = 6

CSS = """
.amj-job { box-sizing: border-box; border-left: 3px solid var(--jp-border-color2, #d0d0d0);
  padding: 2px 0 2px 8px; margin: 4px 0; max-width: 100%; min-width: 0;
  color: var(--jp-ui-font-color1, #1f1f1f); }
.amj-job .widget-html-content { line-height: 20px; }
.amj-job .amj-header { display: flex; flex-flow: row wrap; align-items: center; gap: 0 8px;
  min-height: 28px; }
.amj-job .amj-title { flex: 1 1 240px; min-width: 0; margin: 0; }
.amj-job .amj-title .widget-html-content { white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; font-size: var(--jp-ui-font-size1, 13px); }
.amj-job .amj-prompt { font-family: var(--jp-code-font-family, monospace); }
.amj-job .amj-id { font-family: var(--jp-code-font-family, monospace); user-select: all; }
.amj-job .amj-muted { color: var(--jp-ui-font-color2, #616161); }
.amj-job .amj-status { flex: 0 1 auto; min-width: 0; width: auto; margin: 0;
  font-size: var(--jp-ui-font-size1, 13px); overflow-wrap: anywhere; }
.amj-job .amj-status .amj-error { color: var(--jp-error-color1, #d32f2f); }
.amj-job .amj-status .amj-notice { color: var(--jp-warn-color1, #b26a00); }
.amj-job .amj-bar { flex: 0 0 auto; width: auto; margin: 0; }
.amj-job .amj-progress { width: 160px; height: 8px; border-radius: 4px; overflow: hidden;
  background: var(--jp-layout-color3, #d6d6d6); }
.amj-job .amj-progress-fill { height: 100%; background: var(--jp-brand-color1, #1976d2); }
.amj-job .amj-progress.amj-danger .amj-progress-fill { background: var(--jp-error-color1, #d32f2f); }
.amj-job .jupyter-button.amj-button { height: 26px; line-height: 26px; padding: 0 10px;
  margin: 1px 2px; font-size: var(--jp-ui-font-size1, 13px); }
.amj-job .amj-tiles { display: grid; grid-template-columns: repeat(2, max-content);
  gap: 6px; margin: 4px 0 0 0; }
.amj-job .amj-tiles.amj-enlarged { grid-template-columns: max-content; }
.amj-job .amj-tile { position: relative; display: flex; flex-flow: column nowrap; margin: 0;
  min-width: 0; width: max-content; max-width: 100%; }
.amj-job .amj-tile img, .amj-job img.amj-image { display: block; margin: 0; max-width: 100%;
  object-fit: contain; border-radius: 4px; background: var(--jp-layout-color2, #eeeeee); }
.amj-job .amj-tile-actions { display: flex; flex-flow: row wrap; align-items: center;
  margin: 0; min-height: 28px; }
.amj-job .amj-tile-actions .jupyter-button.amj-button { height: 24px; line-height: 24px;
  padding: 0 8px; font-size: var(--jp-ui-font-size0, 12px); }
.amj-job .amj-clip { display: block; width: auto; height: auto; max-width: 340px;
  max-height: 200px; border-radius: 4px; }
.amj-job .amj-clip-tile .jupyter-button.amj-button { width: auto; margin: 2px 0 0 0; }
.amj-job .jupyter-button.amj-button.amj-open { position: absolute; left: 0; top: 0; right: 0;
  bottom: 28px; width: auto; height: auto; margin: 0; padding: 6px; border: 0; border-radius: 4px;
  display: flex; align-items: flex-end; justify-content: flex-start; line-height: 1.2;
  background: transparent; box-shadow: none; color: transparent; opacity: 1; }
.amj-job .jupyter-button.amj-button.amj-open:hover:enabled,
.amj-job .jupyter-button.amj-button.amj-open:focus {
  color: #ffffff; text-shadow: 0 0 2px #000000, 0 0 6px #000000;
  background: rgba(0, 0, 0, 0.15); cursor: zoom-in; }
.amj-job.amj-small > .amj-body > .amj-tiles .jupyter-button.amj-open { bottom: 0; }
.amj-job .amj-frame { position: relative; display: block; width: max-content; max-width: 100%;
  margin: 4px 0 0 0; line-height: 0; }
.amj-job .amj-full-link { position: absolute; left: 0; top: 0; right: 0; bottom: 0; margin: 0;
  width: auto; height: auto; }
.amj-job .amj-full-link .widget-html-content, .amj-job .amj-open-full { display: block;
  width: 100%; height: 100%; cursor: zoom-in; }
.amj-job .amj-toolbar { display: flex; flex-flow: row wrap; align-items: center;
  margin: 4px 0 0 0; }
.amj-job .amj-details { margin: 2px 0; font-size: var(--jp-ui-font-size1, 13px); }
.amj-job .amj-details a { color: var(--jp-content-link-color, #1565c0); }
.amj-job .amj-sref { font-family: var(--jp-code-font-family, monospace); user-select: all;
  background: var(--jp-layout-color2, #eeeeee); padding: 0 4px; border-radius: 3px; }
.amj-job .amj-children { margin: 0; min-width: 0; }
.amj-job .amj-children:empty { display: none; }
.amj-job .jupyter-button:focus, .amj-job input:focus, .amj-job textarea:focus,
.amj-job select:focus, .amj-matrix .jupyter-button:focus {
  outline: 2px solid var(--jp-brand-color1, #1976d2) !important; outline-offset: 1px; }
html[theme=dark] .amj-job, body.vscode-dark .amj-job, body[data-jp-theme-light="false"] .amj-job {
  color: var(--jp-ui-font-color1, #e0e0e0); border-left-color: var(--jp-border-color2, #555555); }
html[theme=dark] .amj-job .amj-muted, body.vscode-dark .amj-job .amj-muted,
body[data-jp-theme-light="false"] .amj-job .amj-muted { color: var(--jp-ui-font-color2, #b0b0b0); }
html[theme=dark] .amj-job .amj-sref, body.vscode-dark .amj-job .amj-sref,
body[data-jp-theme-light="false"] .amj-job .amj-sref { background: var(--jp-layout-color2, #333333); }
html[theme=dark] .amj-job .amj-details a, body.vscode-dark .amj-job .amj-details a,
body[data-jp-theme-light="false"] .amj-job .amj-details a {
  color: var(--jp-content-link-color, #90caf9); }
html[theme=dark] .amj-job .amj-status .amj-error, body.vscode-dark .amj-job .amj-status .amj-error {
  color: var(--jp-error-color1, #ef9a9a); }
body.vscode-dark .amj-job .jupyter-button:focus, body.vscode-dark .amj-job input:focus,
body.vscode-dark .amj-job textarea:focus, body.vscode-dark .amj-job select:focus {
  outline-color: var(--jp-brand-color1, #64b5f6) !important; }
.jp-OutputArea-child:has(.amj-live) + .jp-OutputArea-child:has(.jp-RenderedImage),
.jp-OutputArea-child:has(.amj-live) + .jp-OutputArea-child:has(.amj-twin) { display: none; }
"""


def fit(box: tuple[int, int], ratio: tuple[int, int]) -> tuple[int, int]:
    """The largest size of aspect `ratio` (w, h) inside `box` (w, h), in whole pixels."""
    width, height = box
    rw, rh = ratio
    if width * rh >= height * rw:
        return max(1, round(height * rw / rh)), height
    return width, max(1, round(width * rh / rw))


_lock = threading.Lock()
_shared: dict[str, widgets.Widget] = {}


def is_closed(widget) -> bool:
    """True once `close()` ran on a widget (its comm is gone)."""
    return getattr(widget, "comm", None) is None


def _style_of(widget_class):
    """The Style class a widget class uses (HTMLStyle in ipywidgets 8, DescriptionStyle in 7)."""
    return widget_class.class_traits()["style"].klass


def _make(name: str) -> widgets.Widget:
    if name == "stylesheet":
        return widgets.HTML(f"<style>{CSS}</style>", style=shared("html_style"),
                            layout=shared("hidden_layout"))
    factories = {
        "button_style": _style_of(widgets.Button),
        "html_style": _style_of(widgets.HTML),
        "hidden_layout": lambda: widgets.Layout(display="none"),
        "button_layout": lambda: widgets.Layout(width="auto", flex="0 0 auto"),
        "box_layout": lambda: widgets.Layout(width="100%", max_width="100%"),
        "grid_image_layout": lambda: widgets.Layout(width="100%", max_width="512px",
                                                    height="auto", object_fit="contain"),
        "actions_layout": lambda: widgets.Layout(display="flex", flex_flow="row wrap",
                                                 width="100%", margin="2px 0"),
        "auto_layout": lambda: widgets.Layout(),
    }
    if name.startswith("size:"):  # "size:WxH", an image slot of that many CSS pixels
        width, height = name[len("size:"):].split("x")
        return widgets.Layout(width=f"{width}px", height=f"{height}px", object_fit="contain")
    return factories[name]()


def shared(name: str) -> widgets.Widget:
    """The one shared model called `name`, made on first use (and again if it was closed)."""
    with _lock:
        model = _shared.get(name)
        if model is None or is_closed(model):
            model = None
    if model is None:
        made = _make(name)
        with _lock:
            model = _shared.get(name)
            if model is None or is_closed(model):
                model = _shared[name] = made
            elif made is not model:
                made.close()
    return model


_exit_callbacks: list = []


def before_exit(callback) -> None:
    """Run `callback` at kernel exit before the shared models close (once, however often it is
    given): the notebook face empties the outputs of its open views there, so a page that stays
    open, and the notebook it saves, show the static twins alone instead of unstyled views."""
    with _lock:
        if callback not in _exit_callbacks:
            _exit_callbacks.append(callback)


@atexit.register
def close_shared() -> None:
    """At exit: the `before_exit` callbacks, then close the shared models, before ipywidgets'
    own registry is torn down (a widget collected after that prints an ignored exception)."""
    with _lock:
        callbacks = list(_exit_callbacks)
        models = list(_shared.values())
        _shared.clear()
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001 - the kernel is exiting: closing must go on
            pass
    for model in models:
        model.close()


def is_shared(widget) -> bool:
    with _lock:
        return any(widget is model for model in _shared.values())


def close_tree(widget) -> None:
    """Close a widget, its children, and its own Layout/Style models (never shared ones).

    `Box.close()` alone leaves children, layouts and styles registered (ipywidgets#2308). A widget
    that closes its own tree (`closes_tree = True`, as JobView does) is left to do so.
    """
    if widget is None or is_shared(widget) or is_closed(widget):
        return
    if getattr(widget, "closes_tree", False):
        widget.close()
        return
    close_parts(widget)
    widget.close()


def close_parts(widget) -> None:
    """Close what `widget` holds (children, layout, style), not the widget itself."""
    for child in tuple(getattr(widget, "children", ()) or ()):
        close_tree(child)
    for trait in ("layout", "style"):
        part = getattr(widget, trait, None)
        if isinstance(part, widgets.Widget):
            close_tree(part)
