"""Describe to imagine: send an image (a URL, or a local file uploaded first) to `/describe`, and
read the prompts the service writes back so each can be imagined as it is.

The service numbers its suggestions with keycap digits ("1️⃣ a field of …"); those bullets are
not part of a prompt, so `suggested_prompts` removes them. A local file is checked before anything
is sent (exists, is an image Pillow can read, at most the upload limit), so a wrong path or a PDF
costs nothing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

from PIL import Image, UnidentifiedImageError

from .client import MAX_UPLOAD_BYTES
from .errors import InvalidArgumentError
from .settings import is_http_url

# "1️⃣ ", "1⃣ ", "1. ", "1) " at the start of a suggestion.
_BULLET_RE = re.compile(r"\A\s*(?:[0-9#*]\ufe0f?\u20e3|[0-9]{1,2}[.)](?=\s))\s*")


def suggested_prompts(content: Iterable[str] | None) -> list[str]:
    """The prompts of a describe (or shorten) result, without their numbering bullets."""
    prompts = [_BULLET_RE.sub("", str(item)).strip() for item in content or ()]
    return [prompt for prompt in prompts if prompt]


def describe_image(manager, source: str | os.PathLike) -> "Job":  # noqa: F821 - jobs.Job
    """Submit a describe of `source`: an http(s) URL as it is, or a local image file, uploaded
    first. Raises InvalidArgumentError (a ValueError) before sending anything for a file that is
    missing, not an image or too large."""
    text = os.fspath(source)
    if isinstance(text, str) and is_http_url(text.strip()):
        return manager.submit("describe", {"image_url": text.strip()})
    path = check_image_file(text)
    url = manager.client.upload(path)
    return manager.submit("describe", {"image_url": url})


def check_image_file(source: str | os.PathLike, *, max_bytes: int = MAX_UPLOAD_BYTES,
                     what: str = "describe") -> Path:
    """`source` as a Path if it is a readable image file within `max_bytes`; else a one-line
    InvalidArgumentError, starting with `what` asked for it, saying what is wrong and what to do."""
    path = Path(source).expanduser()
    if not path.is_file():
        raise InvalidArgumentError(f"{what}: no image file at {str(path)!r}; give an image "
                                   "URL (https://…) or the path of a PNG, JPEG, GIF or WebP file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidArgumentError(
            f"{what}: {path.name} is {size / 2**20:.1f} MB; the upload limit is "
            f"{max_bytes / 2**20:.0f} MB. Save it smaller (JPEG, or fewer pixels) and try again")
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        reason = "not an image" if isinstance(exc, UnidentifiedImageError) else f"unreadable ({exc})"
        raise InvalidArgumentError(f"{what}: {path.name} is {reason}; give a PNG, JPEG, GIF "
                                   "or WebP file") from None
    return path
