"""Image bytes the simulator serves: task images rendered on first request, and uploads.

Renders are cached in a byte-bounded LRU, so a notebook re-displaying a grid costs nothing and
memory stays flat in long demos. In the realistic style (realistic.py) task images get
Midjourney's real sizes and weight; the cache is larger then (a 4x upscale is 30-40 MB).

Like Midjourney's own files, every task PNG carries its prompt and job id in a `Description` text
chunk, so a picture saved and uploaded again is known for what it shows (describe tells its
subject).
"""
from __future__ import annotations

import base64
import io
import re
import struct
import threading
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass, replace

from PIL import Image

from . import art, realistic
from .tasks import GRID, VIDEO, Task

CACHE_BYTES = 96 * 1024 * 1024
REALISTIC_CACHE_BYTES = 512 * 1024 * 1024
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_PIXELS = 25_000_000            # a 6000x4000 photo; a 2 MB PNG can claim 100x more
UPLOADS_BYTES = 64 * 1024 * 1024          # uploads kept; the oldest are forgotten first
_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"),
            "WEBP": ("webp", "image/webp"), "GIF": ("gif", "image/gif")}
_JOB_ID = re.compile(r"Job ID: ([0-9a-f-]{36})(?: Image: (\w+))?")


def with_description(png: bytes, text: str) -> bytes:
    """`png` with a `Description` tEXt chunk right after its header: no re-encoding."""
    data = b"Description\0" + text.encode("latin-1", "replace")
    chunk = (struct.pack(">I", len(data)) + b"tEXt" + data
             + struct.pack(">I", zlib.crc32(b"tEXt" + data)))
    header_end = 8 + 25       # the signature, then IHDR: length, type, 13 bytes, crc
    return png[:header_end] + chunk + png[header_end:]


def description_of(task: Task, name: str) -> str:
    return f"{task.prompt} Job ID: {task.task_id} Image: {name}"


@dataclass(frozen=True)
class UploadImage:
    """An image recipe that is an uploaded picture, optionally resized (upscales of uploads)."""

    upload_id: str
    size: tuple[int, int] | None = None

    def with_size(self, size: tuple[int, int]) -> "UploadImage":
        return replace(self, size=size)


@dataclass(frozen=True)
class InpaintImage:
    """Vary (Region): `base` kept outside the mask, `redraw` painted where the mask is white.
    `mask` is the PNG as sent (base64 or a data URL), resized to the picture when drawn."""

    base: object
    redraw: object
    mask: str
    size: tuple[int, int]

    def with_size(self, size: tuple[int, int]) -> "InpaintImage":
        return replace(self, base=self.base.with_size(size), redraw=self.redraw.with_size(size),
                       size=size)

    def perturbed(self, seed: int, amount: float) -> "InpaintImage":
        """A variation moves only what was redrawn."""
        return replace(self, redraw=self.redraw.perturbed(seed, amount))


def decode_mask(mask: str) -> Image.Image:
    """The mask of an /inpaint request as an "L" image; ValueError when it is not an image."""
    data = mask.split(",", 1)[1] if mask.startswith("data:") else mask
    try:
        image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
        image.load()
    except Exception as exc:
        raise ValueError("mask must be a base64 PNG (or a data URL of one)") from exc
    return image.convert("L")


class UploadError(ValueError):
    """The upload is not an acceptable image; the message goes into a 400."""


class ImageStore:
    """Uploaded files plus an LRU of rendered PNGs. Thread-safe. `style` is "light" or
    "realistic" (None: `APIFRAME_SIM_IMAGES`, else light)."""

    def __init__(self, cache_bytes: int | None = None, style: str | None = None,
                 upload_bytes: int = UPLOADS_BYTES):
        self.style = realistic.image_style(style)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        default = REALISTIC_CACHE_BYTES if self.style == realistic.REALISTIC else CACHE_BYTES
        self._cache_bytes = cache_bytes or default
        self._cached = 0
        self._uploads: OrderedDict[str, tuple[bytes, str, tuple[int, int]]] = OrderedDict()
        self._uploaded = 0
        self.upload_bytes = upload_bytes

    # --- uploads ------------------------------------------------------------------------
    def add_upload(self, data: bytes) -> str:
        """Store an uploaded image; returns its file name (`<id>.<ext>`)."""
        if not data:
            raise UploadError("image is required")
        if len(data) > MAX_UPLOAD_BYTES:
            raise UploadError("image must not be larger than 2 MB")
        try:
            with Image.open(io.BytesIO(data)) as img:   # reads the header, draws nothing
                fmt, size = img.format, img.size
                made_here = _JOB_ID.search(str(img.info.get("Description", "")))
                if size[0] * size[1] > MAX_UPLOAD_PIXELS:
                    raise UploadError(f"image must not have more than {MAX_UPLOAD_PIXELS:,} "
                                      f"pixels (this one is {size[0]}x{size[1]})")
                img.verify()
        except UploadError:
            raise
        except Image.DecompressionBombError as exc:
            raise UploadError(f"image must not have more than {MAX_UPLOAD_PIXELS:,} "
                              "pixels") from exc
        except Exception as exc:
            raise UploadError("image must be a PNG, JPEG, WEBP or GIF file") from exc
        if fmt not in _FORMATS:
            raise UploadError("image must be a PNG, JPEG, WEBP or GIF file")
        ext, content_type = _FORMATS[fmt]
        name = f"{uuid.uuid4()}.{ext}"
        source = (made_here[1], made_here[2] or "image") if made_here else None
        with self._lock:
            self._uploads[name] = (data, content_type, size, source)
            self._uploaded += len(data)
            while self._uploaded > self.upload_bytes and len(self._uploads) > 1:
                _, (old, *_) = self._uploads.popitem(last=False)
                self._uploaded -= len(old)
        return name

    def upload(self, name: str) -> tuple[bytes, str] | None:
        with self._lock:
            found = self._uploads.get(name)
        return (found[0], found[1]) if found else None

    def upload_size(self, name: str) -> tuple[int, int] | None:
        with self._lock:
            found = self._uploads.get(name)
        return found[2] if found else None

    def upload_source(self, name: str) -> tuple[str, str] | None:
        """(task id, image name) an uploaded file's Description names, if one of ours."""
        with self._lock:
            found = self._uploads.get(name)
        return found[3] if found else None

    # --- task images ----------------------------------------------------------------------
    def task_png(self, task: Task, name: str) -> bytes | None:
        """PNG bytes of `grid`, `1`..`4` (grid tasks) or `image` (single-image tasks)."""
        if task.kind == GRID:
            if name == "grid":
                return self._cached_render((task.task_id, "grid"), lambda: with_description(
                    art.grid_png([Image.open(io.BytesIO(self.task_png(task, str(i))))
                                  for i in range(1, 5)]), description_of(task, name)))
            if name in ("1", "2", "3", "4"):
                return self._cached_render((task.task_id, name),
                                           lambda: self._render(task, task.images[int(name) - 1],
                                                                name))
            return None
        if name == "image" and task.images and task.kind != VIDEO:
            return self._cached_render((task.task_id, name),
                                       lambda: self._render(task, task.images[0], name))
        return None

    def _render(self, task: Task, recipe, name: str) -> bytes:
        light = self.render_recipe(recipe)
        png = realistic.render_png(light, task) if self.style == realistic.REALISTIC else light
        return with_description(png, description_of(task, name))

    def task_gif(self, task: Task, name: str) -> bytes | None:
        """A short animated GIF standing in for a video (Pillow cannot write MP4)."""
        if task.kind != VIDEO or name not in ("1", "2", "3", "4"):
            return None

        def render() -> bytes:
            spec = task.images[int(name) - 1]
            frames = [art.render(replace(spec, view=(spec.view[0] + k * 0.02, spec.view[1],
                                                     spec.view[2]))) for k in range(8)]
            buf = io.BytesIO()
            frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                           duration=120, loop=0)
            return buf.getvalue()

        return self._cached_render((task.task_id, "video", name), render)

    def render_recipe(self, recipe) -> bytes:
        if isinstance(recipe, InpaintImage):
            base = Image.open(io.BytesIO(self.render_recipe(recipe.base))).convert("RGB")
            redraw = Image.open(io.BytesIO(self.render_recipe(recipe.redraw))).convert("RGB")
            try:
                mask = decode_mask(recipe.mask).resize(base.size, Image.Resampling.NEAREST)
            except ValueError:      # an unreadable mask (accepted at submit): all redrawn
                mask = Image.new("L", base.size, 255)
            base.paste(redraw.resize(base.size), (0, 0), mask)
            return art.to_png(base)
        if isinstance(recipe, UploadImage):
            found = self.upload(recipe.upload_id)
            if found is None:
                return art.to_png(Image.new("RGB", recipe.size or (512, 512), (128, 128, 128)))
            img = Image.open(io.BytesIO(found[0])).convert("RGB")
            if recipe.size:
                img = img.resize(recipe.size, Image.Resampling.BICUBIC)
            return art.to_png(img)
        return art.render_png(recipe)

    def _cached_render(self, key: tuple, render) -> bytes:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        data = render()           # outside the lock: renders may run in parallel
        with self._lock:
            if key not in self._cache:
                self._cache[key] = data
                self._cached += len(data)
                while self._cached > self._cache_bytes and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._cached -= len(old)
        return data
