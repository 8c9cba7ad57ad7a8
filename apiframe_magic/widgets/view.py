"""JobView: one job, live, in the compact form of Midjourney's own job view.

One header line (what, the prompt, a short id, the progress while running, Cancel, Details), the
four images once as a 2x2 grid of tiles, each with its own U/V, and one toolbar for the job.
Every slot is made on the main thread at the size it will finally have (widget-ui.md rule 1),
so nothing jumps when the images land; the job's callbacks, which fire from the poller thread,
the image pool and the main thread, only assign traits of those widgets, always through `apply`
under the view's lock (rule 2). A button starts a follow-up job whose view goes right under the
toolbar, newest first, and is scrolled into view.
"""
from __future__ import annotations

import functools
import html
import io
import threading
import weakref
from typing import Callable

import ipywidgets as widgets

from .. import jobs, words
from ..models import image_names
from ..settings import is_http_url
from . import actions as act
from . import buttons as more
from . import status
from .media import media_html
from .style import (
    COMPACT_BOX,
    SINGLE_BOX,
    SINGLE_SIDE,
    TILE_BOX,
    TILE_GAP,
    VARIANT_SIDE,
    close_parts,
    close_tree,
    fit,
    is_closed,
    shared,
)

# Local job states after which a failed follow-up may be started again from its button: the
# service said no, so nothing can have been created twice.
_RETRYABLE = frozenset({jobs.FAILED, jobs.REJECTED})
SHORT_ID = 8  # characters of a task id shown; the whole id is on hover and in Details


class Tile(widgets.Box):
    """One image of a grid: its slot, a see-through button over it (a click shows the image
    large, or, when it is large, the four again) and a row of small buttons under it: U k and
    V k always, the rest (`more`) while the tile is large. A new per-image action goes in one of
    the lists of `actions.py` and needs nothing here."""

    def __init__(self, image: widgets.Image, opener: widgets.Button, actions: list,
                 more: list, row_layout):
        self.image, self.opener, self.more = image, opener, more
        self.row = widgets.HBox([*actions, *more], layout=row_layout,
                                _dom_classes=("amj-tile-actions",))
        super().__init__([image, opener, self.row], layout=shared("auto_layout"),
                         _dom_classes=("amj-tile",))


class JobView(widgets.VBox):
    """The live view of `job`. `JobView(job, ctx, compact=False)`; `ctx` is a `UiContext`.

    `compact=True` shows only the header and small tiles (a permutation matrix's cells); a click
    on a tile, or "All actions", turns it into the full view.

    Public: `job`, `ctx`, `parent_view`, `buttons` (action key -> Button: "U1".."U4",
    "V1".."V4", "style1".."style4", "open1".."open4", "previous", "next", "details",
    "reroll", "vary-strong", "vary-subtle", "upscale-subtle", "upscale-creative", "upscale-2x",
    "upscale-4x", "pan-left", ..., "zoom-1.5", "zoom-2", "square", "style", "reuse-style",
    "save", "full" (compact views only)), `tiles`, `enlarged` (the tile shown large, or None), `started`
    (action key -> child Job, or None when the request may or may not have created it),
    `child_views` (newest first), `shown_state` (the job state last shown), `apply(fn)`,
    `add_child(widget)`, `click(key)`, `enlarge(k)`, `show_grid()`, `set_compact(flag)`,
    `reveal()`, `close()`, `closed`.
    """

    closes_tree = True  # style.close_tree leaves the recursion to close()
    # Set by the notebook on the views it shows: called with every follow-up job of the tree,
    # so that the cell's static twin keeps it (`notebook.Twin.add`).
    record_follow_up = None
    _early = False  # True when the result slots are shown (empty) from the start

    def __init__(self, job, ctx, *, parent_view: "JobView | None" = None,
                 compact: bool = False):
        self._lock = threading.RLock()
        self._closed = False
        self._owned: list[widgets.Widget] = []
        self.job = job
        self.ctx = ctx
        self.parent_view = parent_view
        self.buttons: dict[str, widgets.Button] = {}
        self.started: dict[str, object] = {}
        self._actions: dict[str, act.Action] = {}
        self._in_flight: set[str] = set()
        self._note = ""                 # the last error or message from a click or a callback
        self._saved: list[str] = []
        self._images_state = ""         # "", "loading", "ready" or "missing"
        self._result_shown = False
        self._reveal_pending = False
        self.shown_state: str | None = None  # the job state the view last showed
        self.compact = compact
        self.enlarged: int | None = None
        self.tiles: list[Tile] = []
        self.grid_image: widgets.Image | None = None  # the one image of an upscale
        self.clips: list[widgets.HTML] = []           # the four videos of an Animate
        self.remix_switch: widgets.ToggleButton | None = None
        self.ratio = aspect_of(job)

        self.title = self._html("amj-title", "auto_layout")
        self.bar = self._html("amj-bar", "auto_layout")
        self.status = self._html("amj-status", "auto_layout")
        self.control = self._button("control", "Cancel", "Stop following this job here")
        self.control.on_click(lambda _b: self._control_clicked())
        self.details_button = self._button("details", "Details",
                                           "Show or hide the full task id, the style code, "
                                           "the full-size links and where the images were saved")
        self.details_button.on_click(lambda _b: self._safely("Details", self.toggle_details))
        self.header = self._box(widgets.HBox, [self.title, self.bar, self.status, self.control,
                                               self.details_button], "amj-header", "auto_layout")
        self.details = self._html("amj-details", "hidden_layout")
        self.body = self._box(widgets.VBox, self._build_result_slots(), "amj-body")
        self.children_box = self._box(widgets.VBox, [], "amj-children")
        super().__init__(self._sections(), layout=shared("box_layout"),
                         _dom_classes=("amj-live", "amj-job"))
        if compact:
            self._apply_compact()

        for name in ("progress", "finished", "failed", "images"):
            getattr(job, f"on_{name}")(weakly(self, f"_on_{name}"))
        self.apply(self._refresh)
        ctx.register_view(self)

    # ------------------------------------------------------------------ building (main thread)

    def _own(self, widget):
        self._owned.append(widget)
        return widget

    # Every widget is made with its classes, layout and disabled state as constructor
    # arguments, so they travel in its one comm_open: each change made after it is one more
    # message, and a burst of them can overflow the kernel's output queue (README, decisions).

    def _html(self, css_class: str, layout: str = "box_layout") -> widgets.HTML:
        return self._own(widgets.HTML("", style=shared("html_style"), layout=shared(layout),
                                      _dom_classes=(css_class,)))

    def _box(self, kind, children, css_class: str, layout: str = "box_layout"):
        return self._own(kind(children, layout=shared(layout), _dom_classes=(css_class,)))

    def _button(self, key: str, label: str, tooltip: str, *, disabled: bool = False,
                layout: str = "button_layout", classes: tuple = ()) -> widgets.Button:
        button = self._own(widgets.Button(
            description=label, tooltip=tooltip, disabled=disabled, style=shared("button_style"),
            layout=shared(layout),
            _dom_classes=("amj-button", f"amj-action-{key}".replace(".", "_"), *classes)))
        self.buttons[key] = button
        return button

    def _image(self, layout: str, css_class: str) -> widgets.Image:
        """An image slot. ipywidgets' Image has no alt, and its `tooltip` breaks the view in
        ipywidgets 8.1 (the frontend reads a `description` it lacks): a grid's images are
        named by the button laid over each one, an upscale's by its caption."""
        placeholder = placeholder_png(self.ratio) if layout.startswith("size:") else b""
        return self._own(widgets.Image(value=placeholder, format="png" if placeholder
                                       else "jpeg", layout=shared(layout),
                                       _dom_classes=("amj-image", css_class)))

    def _action_button(self, action: act.Action, layout: str = "button_layout"
                       ) -> widgets.Button:
        # disabled until the job has finished (Save...: until its files are on disk)
        button = self._button(action.key, action.label, action.tooltip, disabled=True,
                              layout=layout)
        self._actions[action.key] = action
        button.on_click(lambda _b, key=action.key: self.click(key))
        return button

    def _nav_button(self, key: str, label: str, tooltip: str, fn, **options) -> widgets.Button:
        button = self._button(key, label, tooltip, **options)
        button.on_click(lambda _b: self._safely(label, fn))
        return button

    def _toolbar(self, actions: list[act.Action]) -> widgets.HBox:
        return self._box(widgets.HBox, [self._action_button(a) for a in actions],
                         "amj-toolbar", "auto_layout")

    def _tile_size(self) -> tuple[int, int]:
        return fit(COMPACT_BOX if self.compact else TILE_BOX, self.ratio)

    def _large_size(self) -> tuple[int, int]:
        """A tile shown large takes the place of the four (and of their rows of buttons)."""
        width, height = fit(TILE_BOX, self.ratio)
        return fit((2 * width + TILE_GAP, 2 * height + TILE_GAP + 28), self.ratio)

    def _build_result_slots(self) -> list:
        """Every widget the finished job will show, made now, in its final size."""
        kind = self.job.kind
        prompt = self.job.prompt or ""
        slots: list = []
        if kind in act.GRID_KINDS:
            self._early = True
            size = "size:{}x{}".format(*self._tile_size())
            for k in range(1, 5):
                image = self._image(size, "amj-variant-image")
                opener = self._nav_button(f"open{k}", f"Enlarge image {k}",
                                          f"Image {k} of 4: {prompt}"[:300],
                                          lambda k=k: self._open(k),
                                          disabled=True,  # until the image is there
                                          classes=("amj-open",))
                extra = [self._action_button(a, "hidden_layout")  # Use, Save: tile large
                         for a in act.enlarged_tile_actions(k) + more.tile_actions(k)]
                tile = Tile(image, opener, [self._action_button(a) for a in act.tile_actions(k)],
                            extra, shared("auto_layout"))
                self._owned += [tile, tile.row]
                self.tiles.append(tile)
            self.tiles_box = self._box(widgets.Box, self.tiles, "amj-tiles", "auto_layout")
            pager = [self._nav_button("previous", "◀ Previous", "Show the previous image large",
                                      lambda: self.enlarge(self.enlarged - 1 or 4),
                                      layout="hidden_layout"),
                     self._nav_button("next", "Next ▶", "Show the next image large",
                                      lambda: self.enlarge(self.enlarged % 4 + 1),
                                      layout="hidden_layout")]
            self.toolbar = self._toolbar(act.grid_actions() + act.style_actions(kind)
                                         + more.use_actions(kind, False))
            self.toolbar.children = (*pager, *self.toolbar.children, self._remix_switch())
            slots += [self.tiles_box, self.toolbar]
        elif kind in act.SINGLE_KINDS:
            self._early = True
            self.grid_image = self._image("size:{}x{}".format(*fit(SINGLE_BOX, self.ratio)),
                                          "amj-single-image")
            self.full_size_link = self._html("amj-full-link", "auto_layout")
            frame = self._box(widgets.Box, [self.grid_image, self.full_size_link], "amj-frame",
                              "auto_layout")
            groups = act.single_action_rows(kind)
            self.toolbar = self._toolbar([a for row in groups for a in row]
                                         + more.image_actions(kind) + act.style_actions(kind)
                                         + more.use_actions(kind, True))
            if kind == "upscale-1x":                  # its Vary (Strong/Subtle) remix too
                self.toolbar.children = (*self.toolbar.children, self._remix_switch())
            slots += [frame, self.toolbar]
        elif kind in more.VIDEO_KINDS:             # Animate, Extend: four clips, each extendable
            self.clips = [self._html("amj-clip-cell", "auto_layout") for _ in range(4)]
            cells = [self._box(widgets.VBox, [clip, self._action_button(action)], "amj-clip-tile",
                               "auto_layout")
                     for clip, action in zip(self.clips, more.video_actions())]
            slots.append(self._box(widgets.Box, cells, "amj-tiles", "auto_layout"))
        if self.tiles and self.compact:  # a matrix cell: its full view on demand
            self._nav_button("full", "All actions", "Show this job with all its buttons",
                             lambda: self.set_compact(not self.compact))
            self.toolbar.children = (*self.toolbar.children, self.buttons["full"])
        slots.append(self.details)
        return slots

    def _remix_switch(self) -> widgets.ToggleButton:
        self.remix_switch = self._own(more.remix_switch(shared("button_layout")))
        return self.remix_switch

    def _sections(self) -> tuple:
        """The view's rows: the result slots from the start when they have a final size (and
        not after a failure: an empty grid would say nothing)."""
        job = self.job
        waiting = self._early and (not job.done or job.state == jobs.FINISHED)
        body = (self.body,) if self._result_shown or waiting else ()
        return (shared("stylesheet"), self.header, *body, self.children_box)

    # ------------------------------------------------------------------ tiles (main thread)

    def _open(self, k: int) -> None:
        """A click on tile `k`: shown large, or back to the four when it is the large one."""
        if self.enlarged == k:
            self.show_grid()
        else:
            self.enlarge(k)

    def enlarge(self, k: int) -> None:
        """Show image `k` large, in the place of the four, with all its buttons and ◀ ▶."""
        if not self.tiles:
            return
        if self.compact:
            self.set_compact(False)

        def show():
            self.enlarged = k
            self._tile_layouts()
            self.tiles_box.add_class("amj-enlarged")

        self.apply(show)

    def show_grid(self) -> None:
        """Back to the four tiles."""
        def show():
            self.enlarged = None
            self._tile_layouts()
            self.tiles_box.remove_class("amj-enlarged")

        self.apply(show)

    def _tile_layouts(self) -> None:
        small = shared("size:{}x{}".format(*self._tile_size()))
        large = shared("size:{}x{}".format(*self._large_size()))
        for number, tile in enumerate(self.tiles, start=1):
            alone = self.enlarged == number
            hidden = self.enlarged is not None and not alone
            tile.layout = shared("hidden_layout" if hidden else "auto_layout")
            tile.image.layout = large if alone else small
            tile.opener.description = ("Back to the four images" if alone
                                       else f"Enlarge image {number}")
            tile.row.layout = shared("hidden_layout" if self.compact else "auto_layout")
            for button in tile.more:
                button.layout = shared("button_layout" if alone else "hidden_layout")
        for key in ("previous", "next"):
            self.buttons[key].layout = shared("hidden_layout" if self.enlarged is None
                                              else "button_layout")

    def set_compact(self, compact: bool) -> None:
        """Small tiles without buttons (a matrix cell), or the full view."""
        def change():
            self.compact = compact
            self._apply_compact()

        self.apply(change)

    def _apply_compact(self) -> None:
        if not self.tiles:
            return
        if self.compact:
            self.enlarged = None
            self.tiles_box.remove_class("amj-enlarged")
            self.add_class("amj-small")
        else:
            self.remove_class("amj-small")
        self._tile_layouts()
        for key, action in self._actions.items():
            if action.image is None:  # the job's own toolbar buttons
                self.buttons[key].layout = shared("hidden_layout" if self.compact
                                                  else "button_layout")
        if self.remix_switch is not None:
            self.remix_switch.layout = shared("hidden_layout" if self.compact else "button_layout")
        self._show_reuse_style()
        if "full" in self.buttons:
            self.buttons["full"].description = "All actions" if self.compact else "Compact"

    def toggle_details(self) -> None:
        def toggle():
            hidden = self.details.layout is shared("hidden_layout")
            self.details.value = self._details_html()
            self.details.layout = shared("box_layout" if hidden else "hidden_layout")
            self.details_button.description = "Hide details" if hidden else "Details"

        self.apply(toggle)

    def reveal(self) -> None:
        """Scroll this (new) view into sight: its Details button takes the keyboard focus as
        soon as the page has drawn the view (its first job callback); a focused element is
        scrolled into view by every browser. ipywidgets 7 has no `focus()`: nothing happens.
        A job that already ended calls back no more: its view takes the focus at once."""
        self._reveal_pending = True
        if self.job.done and self._images_state in ("ready", "missing"):
            self._reveal_now()

    def _reveal_now(self) -> None:
        if not self._reveal_pending:
            return
        self._reveal_pending = False
        focus = getattr(self.details_button, "focus", None)
        if focus is not None:
            self.apply(focus)

    # ------------------------------------------------------------------ writing (any thread)

    def apply(self, fn: Callable[[], object]) -> bool:
        """Run `fn` (which writes traits of this view) under the view's lock, in one sync.

        The only way anything writes to the view: the poller, the image pool and click handlers
        would otherwise race inside ipywidgets' `hold_sync` bookkeeping. False once closed.
        """
        with self._lock:
            if self._closed:
                return False
            with self.hold_sync():
                fn()
            return True

    def add_child(self, widget) -> None:
        """Put a follow-up view (or the prompt panel) right under this view's toolbar, newest
        first; children closed meanwhile (a closed panel) leave, as a closed model cannot be
        sent. A widget already there moves to the top."""
        def prepend():
            kept = tuple(w for w in self.children_box.children
                         if not is_closed(w) and w is not widget)
            self.children_box.children = (widget, *kept)

        self.apply(prepend)

    def remove_child(self, widget) -> None:
        """Take `widget` out of this view: the prompt panel moving nearer a later click, or a
        Remix or Vary (Region) editor before it is closed."""
        self.apply(lambda: setattr(self.children_box, "children", tuple(
            w for w in self.children_box.children if w is not widget)))

    @property
    def child_views(self) -> list["JobView"]:
        return [w for w in self.children_box.children if isinstance(w, JobView)]

    def _safely(self, what: str, fn: Callable[[], object]) -> None:
        """Callbacks and click handlers never raise: the failure goes to the status line."""
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - shown to the user, never lost in a log
            self._show_note(f"{what} failed: {exc}")

    def _show_note(self, note: str) -> None:
        def show():
            self._note = note
            self._refresh()

        try:
            self.apply(show)
        except Exception:  # noqa: BLE001 - the last resort must not raise into a thread
            pass

    # ------------------------------------------------------------------ job callbacks

    def _on_progress(self, _job) -> None:
        self._safely("Showing progress", lambda: self.apply(self._refresh))
        self._safely("Scrolling to the view", self._reveal_now)

    def _on_finished(self, _job) -> None:
        self._safely("Showing the result", lambda: self.apply(self._show_result))
        self._safely("Scrolling to the view", self._reveal_now)

    def _on_failed(self, _job) -> None:
        self._safely("Showing the failure", lambda: self.apply(self._refresh))
        self._safely("Scrolling to the view", self._reveal_now)

    def _on_images(self, job) -> None:
        self._safely("Showing the images", lambda: self._load_images(job))
        self._safely("Scrolling to the view", self._reveal_now)

    def _load_images(self, job) -> None:
        """Thumbnails are made here, in the image pool's thread, outside the lock."""
        if job.state != jobs.FINISHED or not (self.tiles or self.grid_image is not None):
            return
        paths = dict(job.image_paths)
        if self.tiles:
            wanted = [(tile.image, paths.get(str(k)), VARIANT_SIDE)
                      for k, tile in enumerate(self.tiles, start=1)]
        else:
            wanted = [(self.grid_image, paths.get("image") or paths.get("grid"), SINGLE_SIDE)]
        problems: list[str] = []
        values = [(image, self._thumbnail(path, side, problems)) for image, path, side in wanted]

        def show():
            for image, data in values:
                if data:
                    with image.hold_sync():   # one message, not two
                        image.format = "jpeg"
                        image.value = data
            for tile in self.tiles:
                tile.opener.disabled = not tile.image.value
            self._images_state = "ready" if paths else "missing"
            for key, action in self._actions.items():
                if action.does in more.NEEDS_IMAGES:
                    self.buttons[key].disabled = not paths
            if problems:
                self._note = "; ".join(problems)
            self._refresh()

        self.apply(show)

    def _thumbnail(self, path, side: int, problems: list[str] | None = None) -> bytes:
        """JPEG bytes no larger than `side`. With `problems`, a file that cannot be read leaves
        its slot empty and its reason in that list; without, the error is raised."""
        if path is None:
            return b""
        try:
            cache = self.ctx.images
            if cache is not None:
                return cache.thumbnail(path, side, "JPEG")
            from ..images import render_thumbnail

            return render_thumbnail(path, side, "JPEG")
        except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
            if problems is None:
                raise
            problems.append(f"could not show {path}: {exc}")
            return b""

    # ------------------------------------------------------------------ what the view shows

    def _refresh(self) -> None:
        """Header (title, progress, status) and the Cancel/Resume button from the job's state."""
        job = self.job
        state = job.state  # read first: if the job moves on meanwhile, its callback refreshes again
        progress = words.describe(job)
        self.title.value = _title_html(job)
        self.bar.value = "" if job.done else _bar_html(progress, job)
        self.bar.layout = shared("hidden_layout" if job.done else "auto_layout")
        self.status.value = self._status_html(progress)
        resumable = job.state in (jobs.TIMED_OUT, jobs.CANCELLED) and bool(job.task_id)
        self.control.description = "Resume" if resumable else "Cancel"
        self.control.tooltip = ("Follow this job again" if resumable
                                else "Stop following this job here" if not job.done
                                else "The job has ended")
        self.control.disabled = job.done and not resumable
        # An ended job has nothing to cancel: the button leaves the header until it could resume.
        self.control.layout = shared("hidden_layout" if self.control.disabled else "button_layout")
        if job.state == jobs.FINISHED and not self._result_shown:
            self._show_result()
        elif self.children != self._sections():
            self.children = self._sections()  # a failure folds the empty slots away
        self.shown_state = state

    def _status_html(self, progress: words.Progress) -> str:
        job = self.job
        parts = [f'<span class="{"amj-error" if progress.failed else "amj-state"}">'
                 f"{html.escape(progress.words)}</span>"]
        if job.state == jobs.FINISHED and (self.tiles or self.grid_image is not None):
            if self._images_state == "missing":
                parts.append('<span class="amj-notice">the images could not be downloaded: '
                             "use the full-size links in Details</span>")
            elif self._images_state != "ready":
                parts.append('<span class="amj-muted">loading the images</span>')
        for warning in getattr(job, "warnings", None) or ():  # let through by validation
            parts.append(f'<span class="amj-muted">{html.escape(str(warning))}</span>')
        notice = getattr(job, "notice", None)
        if notice and not job.done:
            parts.append(f'<span class="amj-notice">{html.escape(str(notice))}</span>')
        if self._note:
            parts.append(f'<span class="amj-note">{html.escape(self._note)}</span>'
                         if self._note.startswith("→") else
                         f'<span class="amj-error">{html.escape(self._note)}</span>')
        return " · ".join(parts)

    def _show_result(self) -> None:
        """On finish: enable the buttons; offer "Reuse style" only with an sref code."""
        self._result_shown = True
        for key in self._actions:
            if (self._actions[key].does not in more.NEEDS_IMAGES and key not in self.started
                    and key not in self._in_flight):
                self.buttons[key].disabled = False
        self._show_reuse_style()
        self.details.value = self._details_html()
        if getattr(self, "full_size_link", None) is not None:
            self.full_size_link.value = self._full_size_link_html()
        for k, (clip, url) in enumerate(zip(self.clips, self.job.result.video_urls
                                            if self.job.result else ()), start=1):
            clip.value = media_html(url, f"video {k}")
        self.children = self._sections()
        self._refresh()

    def _full_size_link_html(self) -> str:
        """A link laid over an upscale: opens the full-size image, and names it for screen
        readers (the image itself cannot carry an alt)."""
        result = self.job.result
        url = result.image_url if result is not None else ""
        name = f"{status.action_title(self.job)}: {self.job.prompt or ''}"[:300]
        if not url or not is_http_url(url):
            return ""
        return (f'<a class="amj-open-full" href="{html.escape(url, quote=True)}" '
                f'target="_blank" rel="noopener noreferrer" title="Open the full-size image" '
                f'aria-label="{html.escape(name, quote=True)} (open the full-size image)"></a>')

    def _show_reuse_style(self) -> None:
        if "reuse-style" not in self.buttons:
            return
        sref = self.job.sref if self._result_shown else None
        button = self.buttons["reuse-style"]
        button.description = f"Reuse style --sref {sref}" if sref else "Reuse style"
        button.layout = shared("button_layout" if sref and not self.compact else "hidden_layout")

    def _details_html(self) -> str:
        result = self.job.result
        if result is None:
            return ""
        ident = self.job.task_id or self.job.job_id
        parts = [f'Task id: <span class="amj-id">{html.escape(ident)}</span>'] if ident else []
        names = [(f"image {name}" if name.isdigit() else name, url)
                 for name, url in image_names(result)]
        names += [(f"video {k}", url) for k, url in enumerate(result.video_urls, start=1)]
        links = [_link(url, f"{name} full size") for name, url in names if url]
        if links:
            parts.append("Full size: " + ", ".join(links))
        if result.sref:
            parts.append(f'Style code: <span class="amj-sref" title="select to copy">'
                         f"--sref {html.escape(result.sref)}</span>")
        if result.seed:
            parts.append(f'Seed: <span class="amj-sref">{html.escape(result.seed)}</span>')
        for line in result.content or ():
            parts.append(f'<span class="amj-prompt">{html.escape(line)}</span>')
        if self._saved:
            parts.append("Saved: " + ", ".join(
                f'<span class="amj-path">{html.escape(p)}</span>' for p in self._saved))
        return "<br>".join(parts)

    # ------------------------------------------------------------------ clicks (main thread)

    def click(self, key: str) -> None:
        """What a click on the button `key` does; the buttons' handler, and callable in tests."""
        self._safely(self._label(key), lambda: self._click(key))

    def _label(self, key: str) -> str:
        action = self._actions.get(key)
        return action.label if action else key

    def _click(self, key: str) -> None:
        action = self._actions[key]
        if action.does in more.EXTRA:
            more.perform(self, action)
        elif self.remix_switch is not None and self.remix_switch.value \
                and more.remix_starter(key) is not None:
            more.open_remix(self, action)
        elif action.does == act.STYLE:
            self._reuse_style(action)
        elif action.does == act.SAVE:
            self._save()
        else:
            self._start(action)

    def start_action(self, action: act.Action, start: Callable | None = None):
        """Start `action`'s follow-up with `start(job)` (an editor's remixed prompt or mask);
        returns the new job, or None when it was not started (the reason is shown)."""
        result: list = []
        self._safely(action.label, lambda: result.append(self._start(action, start)))
        return result[0] if result else None

    def _start(self, action: act.Action, start: Callable | None = None):
        """Start a follow-up once: ignore clicks while it is being sent or after it started."""
        key = action.key
        with self._lock:
            if key in self._in_flight or key in self.started:
                return None
            self._in_flight.add(key)
        button = self.buttons[key]
        self.apply(lambda: setattr(button, "disabled", True))
        try:
            child = (start or action.start)(self.job)
        except Exception as exc:
            uncertain = bool(getattr(exc, "maybe_created", False))
            with self._lock:
                self._in_flight.discard(key)
                if uncertain:  # the task may exist (and cost credits): never send it again
                    self.started[key] = None
            if uncertain:
                note = (f"{action.label}: {exc}. Look at the history (`%imagine jobs`) "
                        "before starting it again.")
                self.apply(lambda: setattr(button, "tooltip", note))
            else:
                note = f"{action.label} failed: {exc}"
                self.apply(lambda: setattr(button, "disabled", False))
            self._show_note(note)
            return None
        with self._lock:
            self._in_flight.discard(key)
            self.started[key] = child

        def started():
            button.description = f"{action.label} ✓"
            button.tooltip = f"{action.label} started: its job is shown just below"
            button.button_style = "info"

        self.apply(started)
        self._show_note(f"→ {action.label} started: its view is just below")
        view = JobView(child, self.ctx, parent_view=self)
        self.add_child(view)
        view.reveal()
        child.on_failed(weakly(self, "_child_failed", key))
        self._record_follow_up(child)
        return child

    def _record_follow_up(self, child) -> None:
        """Give the follow-up a lasting record too: the root view's static twin takes it in."""
        root = self
        while root.parent_view is not None:
            root = root.parent_view
        if root.record_follow_up is not None:
            self._safely("recording the follow-up", lambda: root.record_follow_up(child))

    def _child_failed(self, key: str, child) -> None:
        """A follow-up the service refused may be tried again from the same button."""
        if child.state not in _RETRYABLE:
            return
        with self._lock:
            if self.started.get(key) is not child:
                return
            del self.started[key]
        button = self.buttons[key]
        action = self._actions[key]

        def retry():
            button.description = action.label
            button.disabled = False
            button.button_style = ""
            button.tooltip = f"{action.tooltip} (the last try failed: see below)"

        self._safely(action.label, lambda: self.apply(retry))

    def _control_clicked(self) -> None:
        def act_on_job():
            job = self.job
            if not job.done:
                job.cancel()
            elif job.state in (jobs.TIMED_OUT, jobs.CANCELLED) and job.task_id:
                job.resume()
            self.apply(self._refresh)

        self._safely(self.control.description, act_on_job)

    def _reuse_style(self, action: act.Action) -> None:
        result = self.job.result
        if result is None:
            raise ValueError("the job has no result yet")
        if action.key == "reuse-style":
            reference = result.sref
            if not reference:
                raise ValueError("this result has no --sref code")
        elif action.image is not None:
            reference = result.image_urls[action.image - 1]
        else:
            reference = result.image_url
        if not reference:
            raise ValueError("this image has no URL to use as a style reference")
        self.ctx.fill_panel(act.prompt_with_sref(self.job.prompt, reference), below=self,
                            reference=reference)
        self._show_note("")

    def _save(self) -> None:
        """Save all: every image, named from the prompt (`filenames.save_images`)."""
        from ..filenames import save_images

        self.show_saved(save_images(self.job, self.ctx.save_dir))

    def show_saved(self, paths) -> None:
        """List saved files in the details (after the ones saved before)."""
        self._saved = list(dict.fromkeys([*self._saved, *(str(p) for p in paths)]))
        self.apply(lambda: setattr(self.details, "value", self._details_html()))
        self._show_note("")

    # ------------------------------------------------------------------ closing

    def tree_done(self) -> bool:
        """True when this job and every follow-up under it has ended."""
        return self.job.done and all(v.tree_done() for v in self.child_views)

    def holds(self, widget) -> bool:
        """True when `widget` is shown somewhere under this view."""
        return any(w is widget or (isinstance(w, JobView) and w.holds(widget))
                   for w in self.children_box.children)

    def close(self) -> None:
        """Close this view, its follow-ups and every model it made (never the shared ones)."""
        if getattr(self, "_lock", None) is None or not hasattr(self, "children_box"):
            super().close()  # never fully built (ipywidgets closes widgets on garbage collection)
            return
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.ctx.forget_view(self)
        for child in self.children_box.children:
            close_tree(child)
        for widget in self._owned:
            close_tree(widget)
        for image in [self.grid_image, *(tile.image for tile in self.tiles)]:
            if image is not None:
                image.value = b""  # closed models keep no thumbnails alive
        close_parts(self)
        super().close()

    @property
    def closed(self) -> bool:
        return self._closed or is_closed(self)


# ---------------------------------------------------------------------- helpers


def weakly(view: JobView, method: str, *args):
    """A job callback that does not keep a closed view alive (the job outlives it)."""
    ref = weakref.ref(view)

    def call(job):
        target = ref()
        if target is not None and not target._closed:
            getattr(target, method)(*args, job)

    call.__name__ = f"JobView.{method}"
    return call


def aspect_of(job) -> tuple[int, int]:
    """The aspect ratio (w, h) the job's images will have: its own `aspect_ratio`, else its
    parent's (an upscale or a variation keeps it); 1:1 when nothing says."""
    while job is not None:
        ratio = (getattr(job, "payload", None) or {}).get("aspect_ratio")
        if ratio:
            try:
                width, height = (int(part) for part in str(ratio).split(":"))
                if width > 0 and height > 0:
                    return width, height
            except ValueError:
                pass
        job = getattr(job, "parent", None)
    return 1, 1


@functools.lru_cache(maxsize=32)
def placeholder_png(ratio: tuple[int, int]) -> bytes:
    """A see-through PNG of the images' aspect ratio: the slot shows its themed background at
    its final size, without the browser's broken-image icon, until the image comes."""
    from PIL import Image

    scale = max(ratio) / 16 if max(ratio) > 16 else 1
    size = (max(1, round(ratio[0] / scale)), max(1, round(ratio[1] / scale)))
    buffer = io.BytesIO()
    Image.new("LA", size, (0, 0)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def short_id(ident: str) -> str:
    return ident[:SHORT_ID]


def _title_html(job) -> str:
    """What, the prompt (one line, cut with an ellipsis, whole on hover), the short id (whole
    on hover)."""
    prompt = job.prompt or ""
    what = html.escape(status.action_title(job))
    ident = job.task_id or job.job_id
    tail = (f' <span class="amj-muted">·</span> <span class="amj-id amj-muted" '
            f'title="{html.escape(ident, quote=True)}">{html.escape(short_id(ident))}</span>'
            if ident else "")
    return (f'<span title="{html.escape(prompt, quote=True)}"><span class="amj-muted">{what}'
            f'</span> <span class="amj-prompt">{html.escape(prompt)}</span></span>{tail}')


def _bar_html(progress: words.Progress, job) -> str:
    """The progress bar, for assistive technology too: role=progressbar with its values."""
    percent = round(100 * progress.fraction)
    danger = " amj-danger" if progress.failed else ""
    label = html.escape(f"{status.action_title(job)} progress", quote=True)
    words = html.escape(progress.words, quote=True)
    return (f'<div class="amj-progress{danger}" role="progressbar" aria-label="{label}" '
            f'aria-valuemin="0" aria-valuemax="100" aria-valuenow="{percent}" '
            f'aria-valuetext="{words}"><div class="amj-progress-fill" '
            f'style="width: {percent}%"></div></div>')


def _link(url: str, text: str) -> str:
    """An escaped link for http(s) URLs; anything else is shown as text, never as a link."""
    if not is_http_url(url):
        return html.escape(f"{text}: {url}")
    return (f'<a href="{html.escape(url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{html.escape(text)}</a>')

