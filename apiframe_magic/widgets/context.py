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

    @classmethod
    def from_runtime(cls, runtime, **options) -> "UiContext":
        """A context on a `runtime.Runtime` with a plain submit: validate, then one imagine per job."""
        context = cls(runtime.manager, runtime.store, runtime.images, **options)
        if context.submit is None:
            context.submit = context._plain_submit
        return context

    def _plain_submit(self, text: str, *, mode: str | None = None,
                      image_prompts: Sequence[str] = ()) -> list:
        from ..prompt import validate

        if image_prompts:
            text = " ".join([*image_prompts, text])
        prompts = validate(text, version=self.version)
        return [self.manager.imagine(str(p), aspect_ratio=p.aspect_ratio, process_mode=mode)
                for p in prompts]
