"""JobView: one job, live: its progress, then its images with Midjourney's buttons.

Built on the main thread with every slot it will ever show (widget-ui.md rule 1); the job's
callbacks, which fire from the poller thread, the image pool and the main thread, only assign
traits of those widgets, always through `apply` under the view's lock (rule 2). A button starts a
follow-up job and appends that job's view to `children_box`, so an exploration reads as a tree.
"""
from __future__ import annotations

import html
import threading
import weakref
from typing import Callable
from urllib.parse import urlsplit

import ipywidgets as widgets

from .. import jobs
from . import actions as act
from . import buttons as more
from . import status
from .media import media_html
from .style import (
    GRID_SIDE,
    SINGLE_SIDE,
    VARIANT_SIDE,
    close_parts,
    close_tree,
    is_closed,
    shared,
)

# Local job states after which a failed follow-up may be started again from its button: the
# service said no, so nothing can have been created twice.
_RETRYABLE = frozenset({jobs.FAILED, jobs.REJECTED})


class JobView(widgets.VBox):
    """The live view of `job`. `JobView(job, ctx)`; `ctx` is a `UiContext`.

    Public: `job`, `ctx`, `parent_view`, `buttons` (action key -> Button: "U1".."U4", "V1".."V4",
    "style1".."style4", "reroll", "vary-strong", "vary-subtle", "upscale-subtle",
    "upscale-creative", "upscale-2x", "upscale-4x", "pan-left", ..., "zoom-1.5", "zoom-2",
    "square", "style", "reuse-style", "save"), `started` (action key -> child Job, or None when
    the request may or may not have created it),
    `child_views`, `shown_state` (the job state last shown), `apply(fn)`, `add_child(widget)`,
    `click(key)`, `close()`, `closed`.
    """

    closes_tree = True  # style.close_tree leaves the recursion to close()
    # Set by the notebook on the views it shows: called with every follow-up job of the tree,
    # so that the cell's static twin keeps it (`notebook.Twin.add`).
    record_follow_up = None

    def __init__(self, job, ctx, *, parent_view: "JobView | None" = None):
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
        self.shown_state: str | None = None  # the job state the view last showed

        self.title = self._html("amj-title")
        self.status = self._html("amj-status")
        self.progress = self._own(widgets.FloatProgress(
            value=0.0, min=0.0, max=1.0, style=shared("progress_style"),
            layout=shared("progress_layout")))
        self.control = self._button("control", "Cancel", "Stop following this job here")
        self.control.on_click(lambda _b: self._control_clicked())
        self.header = self._box(widgets.HBox, [self.progress, self.control], "amj-header")
        self.details = self._html("amj-details")
        self.grid_image: widgets.Image | None = None
        self.variant_images: list[widgets.Image] = []
        self.body = self._box(widgets.VBox, self._build_result_slots(), "amj-body")
        self.children_box = self._box(widgets.VBox, [], "amj-children")
        super().__init__(self._sections(), layout=shared("box_layout"))
        self.add_class("amj-live")
        self.add_class("amj-job")

        for name in ("progress", "finished", "failed", "images"):
            getattr(job, f"on_{name}")(weakly(self, f"_on_{name}"))
        self.apply(self._refresh)
        ctx.register_view(self)

    # ------------------------------------------------------------------ building (main thread)

    def _own(self, widget):
        self._owned.append(widget)
        return widget

    def _html(self, css_class: str) -> widgets.HTML:
        widget = self._own(widgets.HTML("", style=shared("html_style"),
                                        layout=shared("box_layout")))
        widget.add_class(css_class)
        return widget

    def _box(self, kind, children, css_class: str, layout: str = "box_layout"):
        box = self._own(kind(children, layout=shared(layout)))
        box.add_class(css_class)
        return box

    def _button(self, key: str, label: str, tooltip: str) -> widgets.Button:
        button = self._own(widgets.Button(description=label, tooltip=tooltip,
                                          style=shared("button_style"),
                                          layout=shared("button_layout")))
        button.add_class("amj-button")
        button.add_class(f"amj-action-{key}".replace(".", "_"))
        self.buttons[key] = button
        return button

    def _image(self, layout: str, css_class: str) -> widgets.Image:
        image = self._own(widgets.Image(value=b"", format="jpeg", layout=shared(layout)))
        image.add_class("amj-image")
        image.add_class(css_class)
        return image

    def _action_button(self, action: act.Action) -> widgets.Button:
        button = self._button(action.key, action.label, action.tooltip)
        self._actions[action.key] = action
        button.on_click(lambda _b, key=action.key: self.click(key))
        if action.does in more.NEEDS_IMAGES:
            button.disabled = True  # until the images are on disk
        return button

    def _row(self, row: list[act.Action]) -> widgets.HBox:
        return self._box(widgets.HBox, [self._action_button(a) for a in row], "amj-actions",
                         "actions_layout")

    def _build_result_slots(self) -> list:
        """Every widget the finished job will show, made now, shown by `_show_result`."""
        kind = self.job.kind
        slots: list = []
        if kind in act.GRID_KINDS:
            self.grid_image = self._image("grid_image_layout", "amj-grid-image")
            cells = []
            for k in range(1, 5):
                image = self._image("variant_image_layout", "amj-variant-image")
                self.variant_images.append(image)
                buttons = [self._action_button(a)
                           for a in act.grid_image_actions(k) + more.tile_actions(k)]
                cells.append(self._box(widgets.Box, [image, *buttons], "amj-cell",
                                       "cell_layout"))
            row = self._row(act.grid_actions())
            row.children += (self._remix_switch(),)
            slots += [self.grid_image,
                      self._box(widgets.GridBox, cells, "amj-variants", "variants_layout"), row]
        elif kind in act.SINGLE_KINDS:
            self.grid_image = self._image("single_image_layout", "amj-single-image")
            slots.append(self.grid_image)
            slots += [self._row(row) for row in act.single_action_rows(kind)]
            row = self._row(more.image_actions(kind))
            if kind == "upscale-1x":                  # its Vary (Strong/Subtle) remix too
                row.children += (self._remix_switch(),)
            slots.append(row)
        elif kind in more.VIDEO_KINDS:
            self.clips = [self._html("amj-clip-cell") for _ in range(4)]
            cells = [self._box(widgets.VBox, [clip, self._action_button(action)], "amj-cell",
                               "cell_layout")
                     for clip, action in zip(self.clips, more.video_actions())]
            slots.append(self._box(widgets.GridBox, cells, "amj-variants", "variants_layout"))
        if kind in act.GRID_KINDS or kind in act.SINGLE_KINDS:
            self._style_row = self._row(
                act.style_actions(kind) + more.use_actions(kind, kind in act.SINGLE_KINDS))
            slots.append(self._style_row)
        slots.append(self.details)
        return slots

    def _remix_switch(self) -> widgets.ToggleButton:
        self.remix_switch = self._own(more.remix_switch(shared("button_layout")))
        return self.remix_switch

    def _sections(self) -> tuple:
        """The view's rows: the result slots only once there is a result."""
        body = (self.body,) if self._result_shown else ()
        return (shared("stylesheet"), self.title, self.status, self.header, *body,
                self.children_box)

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
        """Append a follow-up view (or the prompt panel) under this view; children closed
        meanwhile (a closed panel) leave, as a closed model cannot be sent."""
        def append():
            kept = tuple(w for w in self.children_box.children if not is_closed(w))
            self.children_box.children = (*kept, widget)

        self.apply(append)

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

    def _on_finished(self, _job) -> None:
        self._safely("Showing the result", lambda: self.apply(self._show_result))

    def _on_failed(self, _job) -> None:
        self._safely("Showing the failure", lambda: self.apply(self._refresh))

    def _on_images(self, job) -> None:
        self._safely("Showing the images", lambda: self._load_images(job))

    def _load_images(self, job) -> None:
        """Thumbnails are made here, in the image pool's thread, outside the lock."""
        if job.state != jobs.FINISHED or self.grid_image is None:
            return
        paths = dict(job.image_paths)
        wanted = [(self.grid_image, paths.get("grid") or paths.get("image"),
                   GRID_SIDE if self.variant_images else SINGLE_SIDE)]
        wanted += [(image, paths.get(str(k)), VARIANT_SIDE)
                   for k, image in enumerate(self.variant_images, start=1)]
        problems: list[str] = []
        values = [(image, self._thumbnail(path, side, problems)) for image, path, side in wanted]

        def show():
            for image, data in values:
                if data:
                    image.value = data
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
        """Title, status line, bar and the Cancel/Resume button from the job's state."""
        job = self.job
        state = job.state  # read first: if the job moves on meanwhile, its callback refreshes again
        progress = status.describe(job)
        self.title.value = _title_html(job)
        self.status.value = self._status_html(progress)
        self.progress.value = progress.fraction
        self.progress.bar_style = progress.bar_style
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
        self.shown_state = state

    def _status_html(self, progress: status.Progress) -> str:
        job = self.job
        parts = [f'<span class="{"amj-error" if progress.failed else "amj-state"}">'
                 f"{html.escape(progress.words)}</span>"]
        if job.state == jobs.FINISHED and self.grid_image is not None:
            if self._images_state == "missing":
                parts.append('<span class="amj-notice">the images could not be downloaded: '
                             "use the full-size links</span>")
            elif self._images_state != "ready":
                parts.append('<span class="amj-muted">loading the images</span>')
        for warning in getattr(job, "warnings", None) or ():  # let through by validation
            parts.append(f'<span class="amj-muted">{html.escape(str(warning))}</span>')
        notice = getattr(job, "notice", None)
        if notice and not job.done:
            parts.append(f'<span class="amj-notice">{html.escape(str(notice))}</span>')
        if self._note:
            parts.append(f'<span class="amj-error">{html.escape(self._note)}</span>')
        return " · ".join(parts)

    def _show_result(self) -> None:
        """On finish: show the result slots; offer "Reuse style" only with an sref code."""
        self._result_shown = True
        job = self.job
        if "reuse-style" in self.buttons:
            sref = job.sref
            button = self.buttons["reuse-style"]
            button.description = f"Reuse style --sref {sref}" if sref else "Reuse style"
            button.layout = shared("button_layout" if sref else "hidden_layout")
        self.details.value = self._details_html()
        for k, (clip, url) in enumerate(zip(getattr(self, "clips", ()), job.result.video_urls
                                            if job.result else ()), start=1):
            clip.value = media_html(url, f"video {k}")
        self.children = self._sections()
        self._refresh()

    def _details_html(self) -> str:
        result = self.job.result
        if result is None:
            return ""
        parts = []
        names = [("grid", result.original_image_url)] if result.original_image_url else []
        names += [(f"image {k}", url) for k, url in enumerate(result.image_urls, start=1)]
        if result.image_url and not result.image_urls:
            names.append(("image", result.image_url))
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
        elif getattr(self, "remix_switch", None) is not None and self.remix_switch.value \
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
            button.tooltip = f"{action.label} started: its job is shown below"
            button.button_style = "info"

        self.apply(started)
        self._show_note("")
        view = JobView(child, self.ctx, parent_view=self)
        self.add_child(view)
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
        self.ctx.fill_panel(act.prompt_with_sref(self.job.prompt, reference), below=self)
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

    def remove_child(self, widget) -> None:
        """Take an editor (or any widget) out of the children, before it is closed."""
        self.apply(lambda: setattr(self.children_box, "children", tuple(
            w for w in self.children_box.children if w is not widget)))

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
        for image in [self.grid_image, *self.variant_images]:
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


def _title_html(job) -> str:
    prompt = html.escape(job.prompt or "")
    what = html.escape(status.action_title(job))
    ident = job.task_id or job.job_id
    tail = f' <span class="amj-muted">· task {html.escape(ident)}</span>' if ident else ""
    return (f'<span class="amj-muted">{what}</span> '
            f'<span class="amj-prompt">{prompt}</span>{tail}')


def _link(url: str, text: str) -> str:
    """An escaped link for http(s) URLs; anything else is shown as text, never as a link."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return html.escape(f"{text}: {url}")
    return (f'<a href="{html.escape(url, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{html.escape(text)}</a>')

