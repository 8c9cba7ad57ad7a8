"""Masks for Vary (Region): what `/inpaint` wants (a PNG data URL, white = redraw) from what a
person gives: boxes or lasso outlines in fractions of the image, a PIL image, or PNG bytes.

The mask is made at the image's own pixel size; a mask image of another size is resized to it and
the caller is told so (`Mask.note`), since a silently stretched mask repaints the wrong place.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from numbers import Real
from typing import Any, Sequence

from PIL import Image, ImageDraw

THRESHOLD = 128     # mask pixels at or above this are redrawn


class MaskError(ValueError):
    """The mask cannot be used: empty, unreadable, or a shape outside the image."""


@dataclass(frozen=True)
class Mask:
    png: bytes                 # a black-and-white PNG at the image's size
    size: tuple[int, int]
    note: str | None = None    # said when the given mask had to be resized

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @property
    def fraction(self) -> float:
        """How much of the image will be redrawn (0-1)."""
        with Image.open(io.BytesIO(self.png)) as img:
            histogram = img.convert("L").histogram()
        return sum(histogram[THRESHOLD:]) / (self.size[0] * self.size[1])


def make_mask(mask: Any, size: tuple[int, int]) -> Mask:
    """A `Mask` of `size` (width, height) from boxes/outlines, a PIL image or PNG bytes.

    A box is `(left, top, right, bottom)` and an outline a list of `(x, y)` points, all fractions
    of the image (0-1); a list may mix several. Raises MaskError for an empty mask.
    """
    width, height = size
    note = None
    if isinstance(mask, (bytes, bytearray, memoryview)):
        try:
            image = Image.open(io.BytesIO(bytes(mask)))
            image.load()
        except Exception as error:
            raise MaskError(f"the mask is not a readable image ({error})") from None
        mask = image
    if isinstance(mask, Image.Image):
        image = _binary(mask)
        if image.size != (width, height):
            note = (f"the mask was {image.width}x{image.height} pixels; resized to the image's "
                    f"{width}x{height}")
            image = image.resize((width, height), Image.Resampling.NEAREST)
    else:
        image = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(image)
        for shape in _shapes(mask):
            if len(shape) == 4 and all(isinstance(v, Real) for v in shape):
                left, top, right, bottom = shape
                x0, y0 = left * width, top * height
                draw.rectangle([x0, y0, max(x0, right * width - 1),
                                max(y0, bottom * height - 1)], fill=255)
            else:
                draw.polygon([(x * width, y * height) for x, y in shape], fill=255)
    if image.getbbox() is None:
        raise MaskError("the mask is empty: mark the part of the image to redraw first")
    buffer = io.BytesIO()
    image.convert("1").save(buffer, format="PNG", optimize=True)
    return Mask(buffer.getvalue(), (width, height), note)


def _binary(image: Image.Image) -> Image.Image:
    """White where the mask says redraw: light pixels, or opaque ones of a see-through mask."""
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        alpha = image.convert("RGBA").getchannel("A")
        if alpha.getextrema()[0] < 255:
            return alpha.point(lambda v: 255 if v >= THRESHOLD else 0)
    return image.convert("L").point(lambda v: 255 if v >= THRESHOLD else 0)


def _shapes(mask: Any) -> list[Sequence]:
    """The boxes and outlines of `mask` (one shape or a list of shapes), checked."""
    if not isinstance(mask, (list, tuple)) or not mask:
        raise MaskError("a mask is a box (left, top, right, bottom) in fractions of the image, "
                        "a list of boxes or outlines, a PIL image or PNG bytes; got "
                        f"{type(mask).__name__}")
    single = all(isinstance(v, Real) for v in mask) or \
        all(isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(v, Real) for v in p)
            for p in mask)
    shapes = [mask] if single else list(mask)
    for shape in shapes:
        _check_shape(shape)
    return shapes


def _check_shape(shape: Any) -> None:
    if isinstance(shape, (list, tuple)) and len(shape) == 4 and \
            all(isinstance(v, Real) and not isinstance(v, bool) for v in shape):
        left, top, right, bottom = shape
        if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
            raise MaskError(f"a box is (left, top, right, bottom) with 0 <= left < right <= 1 "
                            f"and 0 <= top < bottom <= 1; got {tuple(shape)}")
        return
    points = shape if isinstance(shape, (list, tuple)) else ()
    if len(points) < 3 or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 and all(
                isinstance(v, Real) and not isinstance(v, bool) and 0 <= v <= 1 for v in p)
            for p in points):
        raise MaskError("an outline is a list of at least 3 (x, y) points, fractions of the "
                        f"image from 0 to 1; got {shape!r:.80}")
