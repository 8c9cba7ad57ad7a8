"""Widgets for exploring: the style library, a permutation matrix, describe to imagine.

- `StyleLibrary(ctx)`: a card per style code the history knows (thumbnail, name, uses, last
  prompt) with "Use" (fills the prompt panel with `--sref @name` or the code) and "Rename".
- `MatrixView(matrix, jobs, ctx)`: the jobs of a permutation prompt as a labelled grid of
  `JobView`s, laid out by `matrix.layout` (the same layout as the composite JPEG).
- `SuggestionsView(job, ctx)`: a describe job's image (a shorten job has none) and the prompts it
  suggests, each followed by "Imagine" (submit it as is) and "Edit" (fill the prompt panel).

Same rules as `JobView` (widget-ui.md): everything is built on the main thread, callbacks from
the poller only assign traits of widgets that exist, under the view's lock.
"""
from __future__ import annotations

import html
import time
from dataclasses import replace
from typing import Sequence

import ipywidgets as widgets

from .. import jobs
from ..static.matrix import MatrixLayout
from ..styles import Style, StyleNameError, list_styles, name_style
from .actions import prompt_with_sref
from .style import close_tree, is_closed, shared
from .view import JobView, weakly

THUMBNAIL_SIDE = 192
MAX_CARDS = 60
MAX_SUGGESTIONS = 4


def _html(value: str = "", css_class: str = "") -> widgets.HTML:
    widget = widgets.HTML(value, style=shared("html_style"), layout=shared("box_layout"))
    if css_class:
        widget.add_class(css_class)
    return widget


def _button(label: str, tooltip: str, css_class: str) -> widgets.Button:
    button = widgets.Button(description=label, tooltip=tooltip, style=shared("button_style"),
                            layout=shared("button_layout"))
    button.add_class("amj-button")
    button.add_class(css_class)
    return button


# --------------------------------------------------------------------------------------------
# The style library


class StyleCard(widgets.VBox):
    """One style: its thumbnail, code, name and use, with Use and Rename."""

    def __init__(self, style: Style, library: "StyleLibrary"):
        self.style = style
        self.library = library
        ctx = library.ctx
        picture, self.prompt = _picture_and_prompt(ctx, style)
        self.image = widgets.Image(value=_thumbnail(ctx, picture), format="jpeg",
                                   layout=widgets.Layout(width=f"{THUMBNAIL_SIDE}px",
                                                         height="auto"))
        self.image.add_class("amj-style-thumbnail")
        self.info = _html(css_class="amj-style-info")
        self.use_button = _button("Use", "Put a prompt with this style in the prompt panel",
                                  "amj-style-use")
        self.name_field = widgets.Text(value=style.name or "", placeholder="a name, e.g. dusk "
                                       "watercolour", layout=widgets.Layout(width="14em"))
        self.rename_button = _button("Rename" if style.name else "Name",
                                     "Give this style a name to write --sref @name",
                                     "amj-style-rename")
        self.message = _html(css_class="amj-style-message")
        self.use_button.on_click(lambda _b: self.use())
        self.rename_button.on_click(lambda _b: self.rename())
        actions = widgets.HBox([self.use_button, self.name_field, self.rename_button],
                               layout=shared("actions_layout"))
        super().__init__([self.image, self.info, actions, self.message],
                         layout=widgets.Layout(width=f"{THUMBNAIL_SIDE + 140}px",
                                               margin="4px", padding="4px",
                                               border="1px solid #d0d0d0"))
        self.add_class("amj-style-card")
        self._show()

    def _show(self) -> None:
        style = self.style
        title = f"@{style.name}" if style.name else "unnamed"
        when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(style.last_used))
                if style.last_used else "never used")
        uses = f"{style.uses} use{'' if style.uses == 1 else 's'}"
        last_prompt = self.prompt
        self.info.value = (
            f'<b>{html.escape(title)}</b> <span class="amj-sref">{html.escape(style.code)}'
            f'</span><br><span class="amj-muted">{html.escape(style.kind)} · {uses} · last '
            f'{html.escape(when)}</span><br><span class="amj-prompt">'
            f"{html.escape(last_prompt[:160])}</span>")
        self.rename_button.description = "Rename" if style.name else "Name"

    def use(self) -> None:
        """Fill the prompt panel: the style's last prompt with this style as its --sref."""
        text = prompt_with_sref(self.prompt, self.style.reference)
        self._safely(lambda: self.library.ctx.fill_panel(text, below=self.library))

    def rename(self) -> None:
        def name() -> None:
            slug = name_style(self.library.ctx.store, self.style.code, self.name_field.value)
            self.style = replace(self.style, name=slug)
            self.name_field.value = slug
            self._show()
            self.message.value = (f'<span class="amj-muted">named: write --sref '
                                  f"@{html.escape(slug)}</span>")

        self._safely(name)

    def _safely(self, action) -> None:
        try:
            action()
        except (StyleNameError, ValueError) as exc:
            self.message.value = f'<span class="amj-error">{html.escape(str(exc))}</span>'
        else:
            if "amj-error" in self.message.value:
                self.message.value = ""


class StyleLibrary(widgets.VBox):
    """A card per style the history knows, most recently used first (at most `limit`)."""

    def __init__(self, ctx, *, limit: int = MAX_CARDS, include_urls: bool = False):
        self.ctx = ctx
        styles = list_styles(ctx.store, include_urls=include_urls)
        self.cards = [StyleCard(style, self) for style in styles[:limit]]
        summary = (f"{len(styles)} style{'s' if len(styles) != 1 else ''} in the history"
                   + (f", showing the {limit} most recent" if len(styles) > limit else ""))
        self.header = _html(f'<span class="amj-muted">{html.escape(summary)}</span>'
                            if styles else "No --sref codes in the history yet: run a prompt "
                            "with --sref random to find one.", "amj-style-header")
        self.cards_box = widgets.Box(self.cards, layout=widgets.Layout(
            display="flex", flex_flow="row wrap", width="100%"))
        self.children_box = widgets.VBox([], layout=shared("box_layout"))
        super().__init__([shared("stylesheet"), self.header, self.cards_box, self.children_box],
                         layout=shared("box_layout"))
        self.add_class("amj-style-library")
        self.add_class("amj-live")  # its static twin (the table) is hidden while it renders

    def card(self, code_or_name: str) -> StyleCard:
        key = code_or_name.lstrip("@")
        for card in self.cards:
            if key in (card.style.code, card.style.name):
                return card
        raise KeyError(f"no style card for {code_or_name!r}")

    def add_child(self, widget) -> None:
        """Where `ctx.fill_panel(below=...)` opens the prompt panel when none is open."""
        kept = tuple(w for w in self.children_box.children if not is_closed(w))
        self.children_box.children = (*kept, widget)

    def close(self) -> None:
        for widget in (*self.cards, self.header, self.cards_box, self.children_box):
            close_tree(widget)
        super().close()


def _picture_and_prompt(ctx, style: Style) -> tuple:
    """The newest use of the style that has a picture on disk, and that use's own prompt, so a
    card never shows one job's picture with another job's prompt. Without a picture: the newest
    prompt."""
    for job_id in style.job_ids:
        picture = next((path for path in ctx.store.images(job_id).values() if path.is_file()),
                       None)  # the grid first
        if picture is not None:
            record = ctx.store.get(job_id)
            return picture, (record.prompt if record is not None and record.prompt else "")
    return None, style.prompts[0] if style.prompts else ""


def _thumbnail(ctx, path) -> bytes:
    if path is None or ctx.images is None:
        return b""
    try:
        return ctx.images.thumbnail(path, THUMBNAIL_SIDE, "JPEG")
    except Exception:  # noqa: BLE001 - a card without a picture is still a card
        return b""


# --------------------------------------------------------------------------------------------
# The permutation matrix


class MatrixView(widgets.VBox):
    """The jobs of a permutation prompt (in `matrix.jobs` order) as a labelled grid of compact
    JobViews (small tiles; a click on one opens that cell's full view).

    The matrix registers with the context as one view: its cells are its own, closed with it,
    and never closed one by one when old views are trimmed."""

    parent_view = None
    closes_tree = True

    def __init__(self, matrix: MatrixLayout, job_list: Sequence, ctx):
        if len(job_list) != len(matrix.jobs):
            raise ValueError(f"the matrix has {len(matrix.jobs)} cells but {len(job_list)} "
                             "jobs were given")
        self.matrix = matrix
        self.ctx = ctx
        self._closed = False
        self.cells = []
        for job in job_list:  # owned by the matrix, not trimmed one by one
            self.cells.append(JobView(job, ctx, compact=True))
            ctx.forget_view(self.cells[-1])
        with_rows = any(matrix.row_labels)
        with_columns = any(matrix.column_labels)
        self.column_labels = [_html(f"<b>{html.escape(label)}</b>", "amj-matrix-column")
                              for label in matrix.column_labels] if with_columns else []
        self.row_labels = [_html(f"<b>{html.escape(label)}</b>", "amj-matrix-row")
                           for label in matrix.row_labels] if with_rows else []
        items: list = []
        if with_columns:
            items += ([_html("", "amj-matrix-corner")] if with_rows else []) + self.column_labels
        for row in range(matrix.rows):
            if with_rows:
                items.append(self.row_labels[row])
            items += [self.cells[matrix.job_at(row, column)] for column in range(matrix.columns)]
        columns = f"repeat({matrix.columns}, minmax(240px, 1fr))"
        self.grid = widgets.GridBox(items, layout=widgets.Layout(
            grid_template_columns=(f"max-content {columns}" if with_rows else columns),
            grid_gap="8px", width="100%", overflow="auto"))
        self.grid.add_class("amj-matrix")
        shape = f"{matrix.rows} × {matrix.columns}" if with_rows else f"{matrix.columns}"
        self.title = _html(f'<span class="amj-muted">Permutation matrix {shape}:</span> '
                           f'<span class="amj-prompt">{html.escape(matrix.prompt)}</span>',
                           "amj-matrix-title")
        super().__init__([shared("stylesheet"), self.title, self.grid],
                         layout=shared("box_layout"))
        self.add_class("amj-live")
        ctx.register_view(self)

    def cell(self, row: int, column: int) -> JobView:
        return self.cells[self.matrix.job_at(row, column)]

    def tree_done(self) -> bool:
        return all(view.tree_done() for view in self.cells)

    def holds(self, widget) -> bool:
        return any(view is widget or view.holds(widget) for view in self.cells)

    def close(self) -> None:
        if getattr(self, "_closed", True):
            super().close()
            return
        self._closed = True
        self.ctx.forget_view(self)
        for view in self.cells:
            view.close()
        close_tree(self.grid)  # the labels, the corner and the grid's own layout
        close_tree(self.title)
        super().close()

    @property
    def closed(self) -> bool:
        return self._closed or is_closed(self)


# --------------------------------------------------------------------------------------------
# Describe (and shorten) to imagine

SUGGESTION_KINDS = ("describe", "shorten")


class SuggestionsView(JobView):
    """A describe job (its image, then its four prompts) or a shorten job (its three shorter
    prompts), each prompt followed by Imagine and Edit. Imagined prompts appear below as job
    views, like any follow-up."""

    def _build_result_slots(self) -> list:
        rows = []
        self.grid_image = None
        if self.job.kind == "describe":
            self.grid_image = self._image("grid_image_layout", "amj-single-image")
            rows.append(self.grid_image)
        self.suggestions: list[widgets.HTML] = []
        # one layout for the four prompts: each takes the row's width, its buttons stay at its end
        prompt_layout = widgets.Layout(flex="1 1 24em", min_width="0")
        for number in range(1, MAX_SUGGESTIONS + 1):
            text = self._html("amj-describe-prompt")
            text.layout = prompt_layout
            imagine = self._button(f"imagine{number}", "Imagine",
                                   f"Submit prompt {number} as it is (an imagine job)")
            edit = self._button(f"edit{number}", "Edit",
                                f"Put prompt {number} in the prompt panel to change it first")
            imagine.on_click(lambda _b, n=number: self._safely(
                f"Imagine {n}", lambda: self.imagine(n)))
            edit.on_click(lambda _b, n=number: self._safely(f"Edit {n}", lambda: self.edit(n)))
            self.suggestions.append(text)
            rows.append(self._box(widgets.HBox, [text, imagine, edit], "amj-actions",
                                  "actions_layout"))
        return rows + [self.details]

    def _refresh(self) -> None:
        super()._refresh()
        self.title.value = _suggestions_title(self.job)

    def _show_result(self) -> None:
        super()._show_result()
        prompts = self.job.prompts
        for number, text in enumerate(self.suggestions, start=1):
            text.value = (f'<span class="amj-prompt">{number}. '
                          f"{html.escape(prompts[number - 1])}</span>"
                          if number <= len(prompts) else "")
            for key in (f"imagine{number}", f"edit{number}"):
                self.buttons[key].disabled = number > len(prompts)
                self.buttons[key].layout = shared("button_layout" if number <= len(prompts)
                                                  else "hidden_layout")

    def _details_html(self) -> str:
        """Where the image came from; the prompts are shown with their buttons instead."""
        url = self.job.payload.get("image_url", "")
        return (f'<span class="amj-muted">Described: {html.escape(url)}</span>' if url else "")

    def _load_images(self, job) -> None:
        if job.state != jobs.FINISHED or self.grid_image is None:
            return
        paths = dict(job.image_paths)
        path = paths.get("image") or next(iter(paths.values()), None)
        data = self._thumbnail(path, 512)

        def show():
            self.grid_image.value = data
            self._images_state = "ready" if data else "missing"
            self._refresh()

        self.apply(show)

    def imagine(self, number: int) -> JobView | None:
        """Submit prompt `number` once; its job view appears below (None when it already was)."""
        key = f"imagine{number}"
        with self._lock:
            if key in self.started or key in self._in_flight:
                return None  # one click, one job
            self._in_flight.add(key)
        try:
            child = self.job.imagine(number)
        finally:
            with self._lock:
                self._in_flight.discard(key)
        view = JobView(child, self.ctx, parent_view=self)
        with self._lock:
            self.started[key] = child
        button = self.buttons[key]
        self.apply(lambda: (setattr(button, "disabled", True),
                            setattr(button, "tooltip", "Imagined: its job is shown below")))
        self.add_child(view)
        child.on_failed(weakly(self, "_imagine_failed", key))
        return view

    def _imagine_failed(self, key: str, child) -> None:
        """A prompt the service refused may be imagined again from its button."""
        if child.state not in (jobs.FAILED, jobs.REJECTED):
            return
        with self._lock:
            self.started.pop(key, None)
        self.apply(lambda: setattr(self.buttons[key], "disabled", False))

    def edit(self, number: int) -> None:
        prompts = self.job.prompts
        if not 1 <= number <= len(prompts):
            raise ValueError(f"there is no prompt {number}")
        self.ctx.fill_panel(prompts[number - 1], below=self)


def _suggestions_title(job) -> str:
    """"Describe fox.png" / "Shorten a very long prompt", not "Describe describe fox.png"."""
    what = job.kind.capitalize()
    subject = job.prompt or job.payload.get("image_url", "")
    first, _, rest = subject.partition(" ")
    if first.lower() == job.kind and rest:
        subject = rest
    ident = job.task_id or job.job_id
    tail = f' <span class="amj-muted">· task {html.escape(ident)}</span>' if ident else ""
    return (f'<span class="amj-muted">{html.escape(what)}</span> '
            f'<span class="amj-prompt">{html.escape(subject)}</span>{tail}')
