"""Realistic images (`APIFRAME_SIM_IMAGES=realistic`, `Simulator(images="realistic")`): Midjourney's
real dimensions and weight, so the client meets what the service really sends.

The light default (512-px variants of ~55 KB) keeps tests fast. Realistic mode enlarges the same
pictures to Midjourney's sizes (v6: a 1:1 variant is 1024x1024, 16:9 is 1456x816; the grid is
twice that; upscales 2x and 4x) and adds photo-like grain, which PNG cannot compress away: a
variant weighs 1-1.5 MB, a grid about 5 MB, a 4x upscale 30-40 MB (colour grain, as detailed as
a real one). The picture itself comes from art.py untouched; only size and grain are added here.
Everything is Pillow (no numpy): effect_noise, ImageChops.add, one resize.
"""
from __future__ import annotations

import io
import math
import os
import re

from PIL import Image, ImageChops

from ..settings import SIM_IMAGES_ENV
from .tasks import GRID, Task

LIGHT, REALISTIC = "light", "realistic"
IMAGE_STYLES = (LIGHT, REALISTIC)
GRAIN_SIGMA = 10  # standard deviation of the grain, in 8-bit levels: visible only up close

# Midjourney v6's variant sizes by aspect ratio (the portrait ones are these, turned); other
# ratios keep the same area, on a 16-pixel grid.
_VARIANT_SIZES = {"1:1": (1024, 1024), "4:3": (1232, 928), "3:2": (1344, 896),
                  "16:9": (1456, 816), "21:9": (1680, 720)}
_ASPECT = re.compile(r"^\s*([1-9]\d*)\s*:\s*([1-9]\d*)\s*$")
_UPSCALE_FACTORS = {"upscale-2x": 2, "upscale-subtle": 2, "upscale-creative": 2, "upscale-4x": 4}


def image_style(value: str | None = None) -> str:
    """`value`, or the environment's choice, checked: "light" (the default) or "realistic"."""
    chosen = value if value is not None else os.environ.get(SIM_IMAGES_ENV) or LIGHT
    style = str(chosen).strip().lower()
    if style not in IMAGE_STYLES:
        source = "images=" if value is not None else f"{SIM_IMAGES_ENV}="
        raise ValueError(f"{source}{chosen!r} is not an image style; use one of "
                         f"{', '.join(IMAGE_STYLES)}")
    return style


def variant_size(aspect: str, fallback: tuple[int, int]) -> tuple[int, int]:
    """A grid variant's real size for "W:H" (`fallback`'s shape when the ratio is unreadable)."""
    match = _ASPECT.match(aspect or "")
    width, height = (int(match[1]), int(match[2])) if match else fallback
    landscape = _VARIANT_SIZES.get(f"{max(width, height) // math.gcd(width, height)}:"
                                   f"{min(width, height) // math.gcd(width, height)}")
    if landscape is None:
        ratio = width / height
        landscape = (_on_grid(1024 * math.sqrt(max(ratio, 1 / ratio))),
                     _on_grid(1024 / math.sqrt(max(ratio, 1 / ratio))))
    return landscape if width >= height else landscape[::-1]


def real_size(task: Task, light: tuple[int, int]) -> tuple[int, int]:
    """The size Midjourney gives this task's image: a variant, or a single image upscaled."""
    width, height = variant_size(task.aspect, light)
    factor = 1 if task.kind == GRID else _UPSCALE_FACTORS.get(task.task_type, 1)
    return width * factor, height * factor


def render_png(light_png: bytes, task: Task) -> bytes:
    """The light render of a task image at its real size and weight."""
    with Image.open(io.BytesIO(light_png)) as light:
        size = real_size(task, light.size)
        image = light.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    colour = task.kind != GRID and size[0] * size[1] > 2 * 1024 * 1024  # 2x and 4x upscales
    return _png(with_grain(image, colour))


def with_grain(image: Image.Image, colour: bool = False) -> Image.Image:
    """Photo-like grain: the same noise on every channel (luminance), or its own per channel."""
    planes = [Image.effect_noise(image.size, GRAIN_SIGMA) for _ in range(3 if colour else 1)]
    noise = Image.merge("RGB", planes if colour else planes * 3)
    return ImageChops.add(image, noise, 1.0, -128)


def _on_grid(value: float) -> int:
    return max(16, int(round(value / 16)) * 16)


def _png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=1)
    return output.getvalue()
