"""What Remix, Vary (Region), Animate and Extend send, checked before anything is.

Each function takes the job a button (or a `Job` method) acts on and returns the request body of
the follow-up; bad input is a `ValueError` (or `prompt.PromptError`, a ValueError) of one line
saying what to do instead. `Job.reroll/vary/vary_region/animate/extend` delegate here.
"""
from __future__ import annotations

from typing import Any

from . import prompt as prompts

GRID_KINDS = frozenset({"imagine", "reroll", "variations", "blend", "inpaint", "outpaint", "pan"})
IMAGE_KINDS = frozenset({"upscale-1x", "upscale-alt", "upscale-highres", "faceswap"})
VIDEO_KINDS = frozenset({"imagine-video", "imagine-video-extend"})
MOTIONS = ("low", "high")


def remixed(text: Any) -> str:
    """A Remix prompt, validated by the same rules as `%%imagine` (one job: no `{a, b}`)."""
    if not isinstance(text, str) or not text.strip():
        raise prompts.PromptError("the remixed prompt is empty: write the prompt to use")
    return str(prompts.validate(text, max_jobs=1)[0])


def region(job, mask: Any, prompt: str | None = None) -> tuple[dict, str | None]:
    """The /inpaint body for Vary (Region) of `job` with `mask` (see masks.make_mask), and the
    note to show when the mask had to be resized."""
    from .masks import make_mask

    _needs_finished(job, "Vary (Region)", single=True)
    if job.kind != "upscale-1x":
        raise ValueError(f"Vary (Region) works on an image made by U1-U4 (upscale-1x); this is "
                         f"{_a(job.kind)} result: upscale an image of its grid first")
    size = image_size(job)
    made = make_mask(mask, size)
    body = {"mask": made.data_url}
    if prompt is not None:
        body["prompt"] = remixed(prompt)
    return body, made.note


def animation(job, motion: str = "low", prompt: str | None = None) -> dict:
    """The /imagine-video body: `job`'s image as the start frame, `motion` low or high."""
    _needs_finished(job, "Animate", single=True)
    url = job.result.image_url if job.result is not None else None
    if not url:
        raise ValueError("Animate needs the image's URL, and this result has none")
    return {"prompt": _video_prompt(job, prompt), "image_url": url, "motion": _motion(motion)}


def extension(job, index: int, prompt: str | None = None, motion: str | None = None) -> dict:
    """The /imagine-video-extend body for video `index` (1-4) of the video job `job`."""
    if job.kind not in VIDEO_KINDS:
        raise ValueError(f"Extend works on a video: this is {_a(job.kind)} job (Animate an "
                         "upscaled image first: job.animate())")
    if job.state != "finished" or job.result is None or not job.result.video_urls:
        raise ValueError("Extend needs the finished videos: wait until the job has finished")
    count = len(job.result.video_urls)
    if isinstance(index, bool) or not isinstance(index, int) or not 1 <= index <= count:
        raise ValueError(f"choose a video from 1 to {count} to extend, not {index!r}")
    body = {"index": str(index), "prompt": _video_prompt(job, prompt)}
    if motion is not None:
        body["motion"] = _motion(motion)
    return body


def image_size(job) -> tuple[int, int]:
    """The pixel size of `job`'s single image, read from the downloaded file."""
    from PIL import Image

    job.wait(images=True)
    path = job.image_paths.get("image")
    if path is None:
        raise ValueError("the image is not downloaded, so its size is unknown: "
                         "try again once it is shown")
    with Image.open(path) as image:
        return image.size


def _needs_finished(job, action: str, *, single: bool) -> None:
    if single and job.kind in GRID_KINDS:
        raise ValueError(f"{action} works on one image, not a grid: pick one first with "
                         "U1-U4 (job.upscale(i))")
    if single and job.kind not in IMAGE_KINDS:
        raise ValueError(f"{action} works on an upscaled image, not {_a(job.kind)} result")
    if job.state != "finished" or job.result is None:
        raise ValueError(f"{action} needs the finished image: wait until the job has finished")


def _video_prompt(job, prompt: str | None) -> str:
    if prompt is not None:
        return remixed(prompt)
    return job.prompt or ""


def _motion(motion: Any) -> str:
    if motion not in MOTIONS:
        raise ValueError(f"motion is 'low' or 'high', not {motion!r}")
    return motion


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"
