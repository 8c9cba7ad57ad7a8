"""Describe to imagine: send an image (a URL, or a local file uploaded first) to `/describe`, and
read the prompts the service writes back so each can be imagined as it is.

The service numbers its suggestions with keycap digits ("1️⃣ a field of …"); those bullets are
not part of a prompt, so `suggested_prompts` removes them. A local file is checked before anything
is sent (`uploads.check_image_file`: exists, at most the upload limit, an image by its signature
and Pillow's check), so a wrong path, a PDF or a private key never leaves the machine.
"""
from __future__ import annotations

import os
import re
from typing import Iterable

from .settings import is_http_url
from .uploads import check_image_file

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
