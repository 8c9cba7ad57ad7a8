"""Readable names for saved images: `red-fox-in-snow_3f2a91c4_u2.png`, from the prompt, the task
and which image it is, so a folder of saves can be read without the history.

Saving goes through `images.save`, which never overwrites: the same file again is a no-op, a
different one gets a `-2`, `-3` ... suffix.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from .images import save
from .settings import is_http_url

SLUG_WORDS = 6
SLUG_CHARS = 48
_WORD = re.compile(r"[a-z0-9]+")


def slug(prompt: str | None) -> str:
    """The first words of a prompt's text (no URLs, no --parameters), lower case, with dashes."""
    words: list[str] = []
    for token in (prompt or "").split():
        if token.startswith(("--", "—")):
            break
        if token.startswith("<") or is_http_url(token):
            continue
        words += _WORD.findall(token.lower())
    text = "-".join(words[:SLUG_WORDS])[:SLUG_CHARS].strip("-")
    return text or "image"


def image_label(job, name: str) -> str:
    """`grid`, `1`-`4` for a grid's images; `u2` for U2's image; the job's kind otherwise."""
    if name != "image":
        return name
    if job.kind == "upscale-1x":
        return f"u{job.payload.get('index', '')}"
    if job.kind == "upscale-alt":
        return f"upscale-{job.payload.get('type', 'alt')}"
    if job.kind == "upscale-highres":
        return f"upscale-{job.payload.get('type', '2x')}"
    return job.kind


def stem(job) -> str:
    ident = (job.task_id or job.job_id or "unsent").replace("-", "")[:8]
    return f"{slug(job.prompt)}_{ident}"


def save_images(job, directory: str | os.PathLike, names: list[str] | None = None) -> list[Path]:
    """Copy the job's downloaded images (all, or those in `names`: "grid", "1"-"4", "image")
    into `directory` under readable names; returns the paths."""
    paths = dict(job.image_paths)
    wanted = list(paths) if names is None else names
    missing = [name for name in wanted if name not in paths]
    if missing or not wanted:
        raise ValueError("the images are not on disk yet: save again once they are shown")
    return save(stem(job), {image_label(job, name): paths[name] for name in wanted}, directory)
