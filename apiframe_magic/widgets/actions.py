"""Which buttons a finished job offers, and what each one does.

A job's kind decides its buttons (Midjourney's own, as in its web app): a grid gets U1-U4, V1-V4,
Reroll and Vary; an upscaled image gets the upscales, pans and zooms. Each `Action` names the
`Job` method that starts the follow-up, so a view only has to call `start(job)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..followup_checks import GRID_KINDS, IMAGE_KINDS as SINGLE_KINDS  # noqa: F401

# What an action does when clicked: start a follow-up job, fill the prompt panel, or save.
JOB, STYLE, SAVE = "job", "style", "save"


@dataclass(frozen=True)
class Action:
    key: str                      # stable name: "U1", "pan-left", "save"
    label: str                    # the button's visible text
    tooltip: str
    does: str = JOB
    start: Callable | None = None  # start(job) -> Job, for JOB actions
    image: int | None = None       # 1-4 for per-image actions on a grid


def tile_actions(k: int) -> list[Action]:
    """The small buttons on tile `k` of a grid, always shown: Midjourney's U k and V k."""
    return [
        Action(f"U{k}", f"U{k}", f"Upscale image {k} (upscale-1x, 2 credits)",
               start=lambda job: job.upscale(k), image=k),
        Action(f"V{k}", f"V{k}", f"Four variations of image {k} (4 credits)",
               start=lambda job: job.vary(k), image=k),
    ]


def enlarged_tile_actions(k: int) -> list[Action]:
    """More buttons for image `k`, shown beside U k and V k while the tile is shown large.

    The place for per-image "use" actions: each label names its image, so every button's
    accessible name is unique in the view."""
    return [
        Action(f"style{k}", f"Use image {k} as style reference",
               f"Put this prompt in the prompt panel with image {k} as --sref",
               does=STYLE, image=k),
    ]


_VARY_TIPS = {"strong": "Four variations that change a lot (4 credits)",
              "subtle": "Four variations that stay close (4 credits)"}


def _vary(strength: str) -> list[Action]:
    return [Action(f"vary-{strength}", f"Vary ({strength.title()})", _VARY_TIPS[strength],
                   start=lambda job: job.vary(strength))]


def grid_actions() -> list[Action]:
    """The row under a grid."""
    return [
        Action("reroll", "Reroll", "Run the same prompt again (4 credits)",
               start=lambda job: job.reroll()),
        *_vary("strong"), *_vary("subtle"),
    ]


def _highres() -> list[Action]:
    return [Action(f"upscale-{size}", f"Upscale {size}",
                   f"Upscale to {size} the size (upscale-highres, {credits} credit"
                   f"{'s' if credits > 1 else ''})",
                   start=lambda job, size=size: job.upscale_highres(size))
            for size, credits in (("2x", 1), ("4x", 2))]


def single_action_rows(kind: str) -> list[list[Action]]:
    """Groups of buttons under an upscaled image of `kind` (one wrapping toolbar shows them)."""
    if kind == "upscale-highres":
        return []
    if kind != "upscale-1x":
        return [_highres()]  # upscale-alt and faceswap results: only the high-res upscales
    upscales = [
        Action(f"upscale-{kind_}", f"Upscale ({kind_.title()})",
               f"Upscale ({kind_.title()}): twice the size, {what} (4 credits)",
               start=lambda job, kind_=kind_: job.upscale_alt(kind_))
        for kind_, what in (("subtle", "close to this image"), ("creative", "with new detail"))
    ]
    moves = [
        *[Action(f"pan-{d}", f"Pan {d}", f"Extend the image {d} (pan, 4 credits)",
                 start=lambda job, d=d: job.pan(d)) for d in ("left", "right", "up", "down")],
        Action("zoom-1.5", "Zoom Out 1.5x", "Zoom out 1.5x (outpaint, 4 credits)",
               start=lambda job: job.zoom_out(1.5)),
        Action("zoom-2", "Zoom Out 2x", "Zoom out 2x (outpaint, 4 credits)",
               start=lambda job: job.zoom_out(2)),
        Action("square", "Make Square", "Extend to a square image (outpaint, 4 credits)",
               start=lambda job: job.make_square()),
    ]
    return [upscales + _highres(), moves, _vary("strong") + _vary("subtle")]


def style_actions(kind: str) -> list[Action]:
    """Style reuse and Save, last in every image view."""
    per_image = ([Action("style", "Use as style reference",
                         "Put this prompt in the prompt panel with this image as --sref",
                         does=STYLE)]
                 if kind in SINGLE_KINDS else [])
    return [*per_image,
            Action("reuse-style", "Reuse style", "Put this prompt in the prompt panel with "
                   "this result's --sref code", does=STYLE),
            Action("save", "Save", "Save the full-size images to the save folder", does=SAVE)]


def prompt_with_sref(prompt: str | None, reference: str) -> str:
    """`prompt` with its `--sref` values replaced by `reference` (added when it had none).

    Token logic on purpose: the user's text stays as written, even a prompt the parser would
    reject, and `--sw`/`--sv` that tune the reference are kept.
    """
    tokens = (prompt or "").split()
    kept: list[str] = []
    skipping = False
    for token in tokens:
        if token.lower() in ("--sref", "—sref"):
            skipping = True
            continue
        if skipping and not token.startswith(("--", "—")):
            continue
        skipping = False
        kept.append(token)
    return " ".join([*kept, "--sref", reference])
