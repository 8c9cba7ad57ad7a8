"""The rest of Midjourney's web-app buttons in a job view, and what each one does.

Use prompt / Use image fill the prompt panel (the style reference is actions.STYLE), Save image
copies one image under a readable name, Vary (Region) opens the mask editor, Animate starts the
videos, Extend lengthens one of them, and the Remix switch makes Reroll, Vary and V1-V4 open
their prompt for editing first. `JobView` builds these with the rows of actions.py and hands
their clicks to `perform`; follow-ups still start through the view's one `_start`.
"""
from __future__ import annotations

from ..followup_checks import VIDEO_KINDS  # noqa: F401 - for the view
from ..settings import is_http_url
from .actions import SAVE, Action

USE_PROMPT, USE_IMAGE, SAVE_IMAGE, REGION = "use-prompt", "use-image", "save-image", "region"
EXTRA = frozenset({USE_PROMPT, USE_IMAGE, SAVE_IMAGE, REGION})
NEEDS_IMAGES = frozenset({SAVE, SAVE_IMAGE, REGION})   # enabled once the files are on disk


def tile_actions(k: int) -> list[Action]:
    """Use image k and Save image k: on tile `k` of a grid while it is shown large (with
    `actions.enlarged_tile_actions`), so the four small tiles keep one short row each."""
    return [
        Action(f"image{k}", f"Use image {k}",
               f"Put image {k} in the prompt panel as an image prompt, before this prompt",
               does=USE_IMAGE, image=k),
        Action(f"save{k}", f"Save image {k}",
               f"Save image {k} at full size into the save folder, named from the prompt",
               does=SAVE_IMAGE, image=k),
    ]


def use_actions(kind: str, single: bool) -> list[Action]:
    """Use prompt for every result; Use image and Save image for a single image."""
    actions = [Action("use-prompt", "Use prompt", "Put this prompt in the prompt panel",
                      does=USE_PROMPT)]
    if single:
        actions += [
            Action("use-image", "Use image",
                   "Put this image in the prompt panel as an image prompt, before this prompt",
                   does=USE_IMAGE),
            Action("save-image", "Save image",
                   "Save this image at full size into the save folder, named from the prompt",
                   does=SAVE_IMAGE),
        ]
    return actions


def image_actions(kind: str) -> list[Action]:
    """Vary (Region) on U1-U4's image, and Animate on every single image."""
    region = [Action("region", "Vary (Region)",
                     "Draw the part to repaint (rectangles or a lasso), then submit (inpaint, "
                     "4 credits)", does=REGION)] if kind == "upscale-1x" else []
    return region + [
        Action(f"animate-{motion}", f"Animate ({motion.title()} motion)",
               f"Four short videos starting from this image, {what} (imagine-video, 8 credits)",
               start=lambda job, motion=motion: job.animate(motion))
        for motion, what in (("low", "calm"), ("high", "lively"))]


def video_actions(count: int = 4) -> list[Action]:
    """Extend under each video of an Animate job."""
    return [Action(f"extend{k}", f"Extend {k}", f"Make video {k} longer (imagine-video-extend, "
                   "8 credits)", start=lambda job, k=k: job.extend(k), image=k)
            for k in range(1, count + 1)]


def remix_switch(layout) -> "widgets.ToggleButton":
    """The Remix switch: while on, Reroll, Vary and V1-V4 open their prompt for editing."""
    import ipywidgets as widgets

    return widgets.ToggleButton(description="Remix", layout=layout,
                                tooltip="Reroll, Vary and V1-V4 open the prompt for editing "
                                "before they are sent", _dom_classes=("amj-remix-switch",))


def remix_starter(key: str):
    """How the action `key` starts with a remixed prompt, or None when it takes none."""
    if key == "reroll":
        return lambda job, prompt: job.reroll(prompt=prompt)
    if key.startswith("vary-"):
        return lambda job, prompt: job.vary(key[len("vary-"):], prompt=prompt)
    if len(key) == 2 and key[0] == "V" and key[1] in "1234":
        return lambda job, prompt: job.vary(int(key[1]), prompt=prompt)
    return None


def prompt_with_image(prompt: str | None, url: str) -> str:
    """`prompt` with `url` as its image prompt (first, as Midjourney writes them), replacing the
    image prompts it had."""
    words = (prompt or "").split()
    while words and is_http_url(words[0]):
        words.pop(0)
    return " ".join([url, *words])


def image_url(job, image: int | None) -> str:
    result = job.result
    if result is None:
        raise ValueError("the job has no result yet")
    url = result.image_urls[image - 1] if image is not None else result.image_url
    if not url:
        raise ValueError("this image has no URL")
    return url


def perform(view, action: Action) -> None:
    """What a click on one of this module's buttons does (main thread)."""
    job = view.job
    if action.does == USE_PROMPT:
        view.ctx.fill_panel(job.prompt or "", below=view)
    elif action.does == USE_IMAGE:
        view.ctx.fill_panel(prompt_with_image(job.prompt, image_url(job, action.image)),
                            below=view)
    elif action.does == SAVE_IMAGE:
        from ..filenames import save_images

        name = str(action.image) if action.image is not None else "image"
        view.show_saved(save_images(job, view.ctx.save_dir, [name]))
    elif action.does == REGION:
        from .region import RegionEditor

        view.add_child(RegionEditor(view, action))
    view._show_note("")


def open_remix(view, action: Action) -> None:
    """The Remix editor under the view, for `action` (Reroll, Vary, V1-V4)."""
    from .remix import RemixEditor

    view.add_child(RemixEditor(view, action, remix_starter(action.key)))
