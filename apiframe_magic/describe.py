"""Describe to imagine: send an image (a URL, or a local file uploaded first) to `/describe`, and
read the prompts the service writes back so each can be imagined as it is.

The service numbers its suggestions with keycap digits ("1️⃣ a field of …"); those bullets are
not part of a prompt, so `suggested_prompts` removes them. A local file is checked before anything
is sent (exists, at most the upload limit, starts like a PNG, JPEG, GIF or WebP and holds up to
Pillow's check), so a wrong path, a PDF or a private key never leaves the machine;
`check_upload` does the same for every upload (`--image`, blend).
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import BinaryIO, Iterable

from PIL import Image, UnidentifiedImageError

from .client import MAX_UPLOAD_BYTES
from .errors import InvalidArgumentError
from .settings import is_http_url

# "1️⃣ ", "1⃣ ", "1. ", "1) " at the start of a suggestion.
_BULLET_RE = re.compile(r"\A\s*(?:[0-9#*]\ufe0f?\u20e3|[0-9]{1,2}[.)](?=\s))\s*")
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")  # WebP: RIFF....WEBP


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


def check_upload(image, *, label: str = "upload") -> None:
    """Refuse, before it leaves the machine, an upload that is not an image: a path (say, a
    private key typed by mistake) or bytes. A PIL image is one by construction."""
    if isinstance(image, (str, os.PathLike)):
        check_image_file(image, label=label)
    elif isinstance(image, (bytes, bytearray)):
        _check_image(io.BytesIO(image), len(image), "the bytes", label, MAX_UPLOAD_BYTES)


def check_image_file(source: str | os.PathLike, *, max_bytes: int = MAX_UPLOAD_BYTES,
                     label: str = "describe") -> Path:
    """`source` as a Path if it is a readable image file within `max_bytes`; else a one-line
    InvalidArgumentError saying what is wrong and what to do."""
    path = Path(source).expanduser()
    if not path.is_file():
        raise InvalidArgumentError(f"{label}: no image file at {str(path)!r}; give an image "
                                   "URL (https://…) or the path of a PNG, JPEG, GIF or WebP file")
    try:
        with open(path, "rb") as stream:
            _check_image(stream, os.fstat(stream.fileno()).st_size, path.name, label, max_bytes)
    except OSError as exc:
        raise InvalidArgumentError(f"{label}: {path.name} cannot be read "
                                   f"({exc.strerror or exc})") from None
    return path


def _check_image(stream: BinaryIO, size: int, name: str, label: str, max_bytes: int) -> None:
    """Size first, then the format's signature in the first bytes, then Pillow's structural
    check (which reads the header and chunks without decoding the pixels)."""
    if size > max_bytes:
        raise InvalidArgumentError(
            f"{label}: {name} is {size / 2**20:.1f} MB; the upload limit is "
            f"{max_bytes / 2**20:.0f} MB. Save it smaller (JPEG, or fewer pixels) and try again")
    head = stream.read(16)
    stream.seek(0)
    if not head.startswith(_SIGNATURES) and not (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        raise InvalidArgumentError(f"{label}: {name} is not an image; give a PNG, JPEG, GIF "
                                   "or WebP file")
    try:
        with Image.open(stream) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidArgumentError(f"{label}: {name} is unreadable ({exc}); give a PNG, JPEG, "
                                   "GIF or WebP file") from None
