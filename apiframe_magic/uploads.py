"""What may be uploaded: an image, checked on this machine before anything leaves it.

A wrong path, a PDF or a private key typed by mistake must never reach `/upload`, whoever calls
it: `ApiframeClient.upload` called from Python, `--image`, blend and `%imagine describe PATH`
all use `check_upload`. The check is the file's size, the format's signature in its first bytes
(PNG, JPEG, GIF or WebP) and Pillow's structural check, which reads the header and chunks without
decoding the pixels. It sits below the client so both the client and `describe` can use it.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from .errors import InvalidArgumentError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024   # the service's limit for /upload
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")  # WebP: RIFF....WEBP


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
