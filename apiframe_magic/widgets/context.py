"""What the widgets need from the rest of the extension, in one object.

The magic builds a `UiContext` around its runtime and its own submit path (validation, uploads,
confirmation); tests build one with `UiContext.from_runtime(rt)`. Views and the panel only talk to
the engine through it, so they can be built and clicked without IPython.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence


@dataclass
class UiContext:
    manager: Any                     # jobs.JobManager
    store: Any = None                # store.HistoryStore (history list, show)
    images: Any = None               # images.ImageCache (thumbnails, save)
    # submit(prompt_text, mode=None, image_prompts=()) -> list[Job]; validates first and raises
    # prompt.PromptError / ValueError / errors.ApiframeError with a message fit to show a user.
    submit: Callable[..., list] | None = None
    version: str | None = None       # assumed Midjourney version for validation
    save_dir: Path = Path("apiframe-images")
    max_live_views: int = 20
    panel: Any = None                # the ImaginePanel that "Reuse style" fills, once one exists
    views: list = field(default_factory=list)  # live JobViews, oldest first (for closing old ones)
    # panel_factory(context) -> a new panel with .set_prompt(text); None means ImaginePanel.
    panel_factory: Callable[["UiContext"], Any] | None = None

    @classmethod
    def from_runtime(cls, runtime, **options) -> "UiContext":
        """A context on a `runtime.Runtime` with a plain submit: validate, then one imagine per job."""
        context = cls(runtime.manager, runtime.store, runtime.images, **options)
        if context.submit is None:
            context.submit = context._plain_submit
        return context

    # ------------------------------------------------------------------ the prompt panel

    def fill_panel(self, text: str, *, below=None, reference: str | None = None):
        """Offer `text` to the notebook's one prompt panel, shown right under `below` (the
        view or library whose button was clicked), and put the keyboard focus in it (main
        thread).

        The panel is made under `below` the first time; later it moves there from the view
        that held it. A prompt the user has edited is never replaced silently: the panel asks
        (use `reference` in the edited prompt, replace it, or keep it). Returns the panel.
        """
        panel = self.panel
        if panel is None or _closed(panel):
            if below is None:
                raise ValueError("no prompt panel is open: open one with `%imagine panel`")
            panel = self._new_panel()
            self.panel = panel
            below.add_child(panel)
            panel.set_prompt(text)
        else:
            if below is not None:
                self._move_panel(panel, below)
            offer = getattr(panel, "offer_prompt", None)
            if offer is not None:
                offer(text, reference)
            else:
                panel.set_prompt(text)
        focus = getattr(panel, "focus_prompt", None)
        if focus is not None:
            focus()
        return panel

    def _move_panel(self, panel, below) -> None:
        """Show the panel under `below`, out of the views that showed it before; not when
        `below` is inside the panel (a job it submitted): it would hold itself."""
        if _contains(panel, below):
            return
        for view in list(self.views):
            box = getattr(view, "children_box", None)
            if view is not below and box is not None and panel in box.children:
                view.remove_child(panel)
        below.add_child(panel)

    def _new_panel(self):
        if self.panel_factory is not None:
            return self.panel_factory(self)
        from .panel import ImaginePanel

        return ImaginePanel(self)

    # ------------------------------------------------------------------ live views

    def register_view(self, view) -> None:
        """Track a new live view, then close the oldest finished ones past `max_live_views`."""
        self.views.append(view)
        self.trim_views()

    def forget_view(self, view) -> None:
        self.views[:] = [v for v in self.views if v is not view]

    def after_cell(self, *_args) -> None:
        """IPython's post_run_cell: views of jobs that finished since are closed past the
        limit (main thread)."""
        self.trim_views()

    def trim_views(self) -> int:
        """Close whole finished trees (a top view and its follow-ups), oldest first, until at
        most `max_live_views` views are live. A tree holding the open panel stays. Returns how
        many views were closed; their static twins stay in the notebook."""
        if not self.max_live_views or self.max_live_views <= 0:
            return 0
        closed = 0
        for view in list(self.views)[:-1]:  # never the view just made
            excess = len(self.views) - self.max_live_views
            if excess <= 0:
                break
            if view.parent_view is not None or not view.tree_done():
                continue
            if self.panel is not None and view.holds(self.panel):
                continue
            before = len(self.views)
            view.close()
            closed += before - len(self.views)
        return closed

    def _plain_submit(self, text: str, *, mode: str | None = None,
                      image_prompts: Sequence[str] = ()) -> list:
        from ..prompt import validate

        if image_prompts:
            text = " ".join([*image_prompts, text])
        prompts = validate(text, default_version=self.version)
        return [self.manager.imagine(str(p), aspect_ratio=p.aspect_ratio, process_mode=mode)
                for p in prompts]


def _contains(container, widget) -> bool:
    """True when `widget` is `container` or shown anywhere inside it."""
    if container is widget:
        return True
    return any(_contains(child, widget) for child in getattr(container, "children", ()) or ())


def _closed(panel) -> bool:
    closed = getattr(panel, "closed", None)
    if isinstance(closed, bool):
        return closed
    return getattr(panel, "comm", None) is None
