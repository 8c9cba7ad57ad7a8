"""Looks shared by every view: one scoped stylesheet and one set of Layout/Style models.

Every job view would otherwise carry its own Layout and Style model per widget (82 comm models
per job instead of about 40, widget-ui.md "Models"). The shared models here are created once per
kernel, re-created if something closed them, and never closed by a view's recursive close.

The CSS only targets the project's own classes (rule 10): `var(--jp-..., fallback)` colours with
overrides for JupyterLab's and VS Code's dark themes. It also holds the rule that hides a job's
static twin while its live view is on the page.
"""
from __future__ import annotations

import atexit
import threading

import ipywidgets as widgets

# Grid at most 768 px, variants 384-512 px (rule 4); also the thumbnail sizes in JPEG bytes.
GRID_SIDE = 768
VARIANT_SIDE = 512
VARIANTS_SHOWN = 384  # CSS pixels per variant on the page: two of them about as wide as the grid
SINGLE_SIDE = 768
GRID_SHOWN = 512  # CSS pixels on the page; the bytes stay at GRID_SIDE for sharp HiDPI screens

CSS = """
.amj-job { border-left: 3px solid var(--jp-border-color2, #d0d0d0); padding-left: 8px;
  margin: 4px 0; max-width: 100%; color: var(--jp-ui-font-color1, #1f1f1f); }
.amj-job .amj-title { font-size: var(--jp-ui-font-size1, 13px); line-height: 1.4;
  overflow-wrap: anywhere; }
.amj-job .amj-prompt { font-family: var(--jp-code-font-family, monospace); }
.amj-job .amj-muted { color: var(--jp-ui-font-color2, #616161); }
.amj-job .amj-status { font-size: var(--jp-ui-font-size1, 13px); overflow-wrap: anywhere; }
.amj-job .amj-status .amj-error { color: var(--jp-error-color1, #d32f2f); }
.amj-job .amj-status .amj-notice { color: var(--jp-warn-color1, #b26a00); }
.amj-job .amj-image img, .amj-job img.amj-image { max-width: 100%; height: auto;
  object-fit: contain; }
.amj-job .amj-variants { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr));
  gap: 6px; max-width: 774px; }
.amj-job .amj-variant-image { width: 100%; height: auto; }
.amj-job .amj-cell { display: flex; flex-flow: row wrap; gap: 2px; align-items: center; }
.amj-job .amj-actions { display: flex; flex-flow: row wrap; gap: 2px; }
.amj-job .amj-details a { color: var(--jp-content-link-color, #1565c0); }
.amj-job .amj-sref { font-family: var(--jp-code-font-family, monospace); user-select: all;
  background: var(--jp-layout-color2, #eeeeee); padding: 0 4px; border-radius: 3px; }
.amj-job .amj-children { margin-left: 12px; }
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
.jp-OutputArea-child:has(.amj-live) + .jp-OutputArea-child:has(.jp-RenderedImage),
.jp-OutputArea-child:has(.amj-live) + .jp-OutputArea-child:has(.amj-twin) { display: none; }
"""

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
        "progress_style": _style_of(widgets.FloatProgress),
        "hidden_layout": lambda: widgets.Layout(display="none"),
        "button_layout": lambda: widgets.Layout(width="auto", flex="0 0 auto"),
        "box_layout": lambda: widgets.Layout(width="100%", max_width="100%"),
        # The grid repeats the four variants below it: kept small, it is the overview.
        "grid_image_layout": lambda: widgets.Layout(width="100%", max_width=f"{GRID_SHOWN}px",
                                                    height="auto", object_fit="contain"),
        "single_image_layout": lambda: widgets.Layout(width="100%", max_width=f"{SINGLE_SIDE}px",
                                                      height="auto", object_fit="contain"),
        "variant_image_layout": lambda: widgets.Layout(width="100%", height="auto",
                                                       object_fit="contain"),
        "progress_layout": lambda: widgets.Layout(width="min(100%, 320px)"),
        "actions_layout": lambda: widgets.Layout(display="flex", flex_flow="row wrap",
                                                 width="100%", margin="2px 0"),
        "cell_layout": lambda: widgets.Layout(display="flex", flex_flow="row wrap",
                                              align_items="center", width="100%"),
        "variants_layout": lambda: widgets.Layout(
            grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="6px",
            width="100%", max_width=f"{2 * VARIANTS_SHOWN + 6}px"),
    }
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
