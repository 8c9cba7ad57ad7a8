"""What each endpoint produces: task type, kind, cost, durations, and the recipe of its outputs.

Kept apart from validation (what is allowed) and from the store (when things happen). Children
derive their pictures from their parent's recipes, which is what makes variations look related,
pans shifted and zoom-outs zoomed out.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from math import gcd
from typing import Any, Callable
from urllib.parse import urlsplit

from .. import credits
from . import texts
from .art import ArtSpec, size_for_aspect
from .images import ImageStore, InpaintImage, UploadImage
from .palettes import brush_for, mix_palettes, palette_for, subject_for
from .promptflags import MAX_SEED, parse_flags
from .tasks import DESCRIBE, GRID, SEED, SHORTEN, SINGLE, VIDEO, Draft, Task

VARIANT_SIDE = 512        # long side of each grid variant (the grid is twice that)
UPSCALE_SIDE = 1024       # long side of an upscale-1x
MAX_SIDE = 2048           # cap for 2x/4x/subtle/creative
VIDEO_SIDE = 384

# (pending, starting, processing) ranges in simulated seconds at speed 1
_GRID_TIMES = ((2, 4), (1.5, 3), (28, 40))
DURATIONS: dict[str, tuple] = {
    "/imagine": _GRID_TIMES, "/reroll": _GRID_TIMES, "/variations": _GRID_TIMES,
    "/blend": _GRID_TIMES, "/inpaint": _GRID_TIMES, "/outpaint": _GRID_TIMES,
    "/pan": _GRID_TIMES,
    "/upscale-1x": ((1, 2), (0.5, 1), (7, 10)),
    "/upscale-alt": ((1, 2), (1, 2), (15, 25)),
    "/upscale-highres": ((1, 2), (0.5, 1), (8, 12)),
    "/faceswap": ((1, 2), (1, 2), (10, 15)),
    "/describe": ((0.5, 1), (0.5, 1), (2, 4)),
    "/shorten": ((0.5, 1), (0.5, 1), (2, 4)),
    "/seed": ((0.5, 1), (0.5, 1), (1.5, 3)),
    "/imagine-video": ((2, 4), (2, 3), (60, 90)),
    "/imagine-video-extend": ((2, 4), (2, 3), (60, 90)),
}
COSTS = {"/" + kind: cost for kind, cost in credits.COSTS.items()}
HIGHRES_COSTS = credits.HIGHRES_COSTS
_STRENGTH = {"strong": 0.55, "subtle": 0.15}
_PAN_SHIFT = {"up": (0.0, -0.3), "down": (0.0, 0.3), "left": (-0.3, 0.0), "right": (0.3, 0.0)}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_BLEND_ASPECT = {"square": "1:1", "portrait": "2:3", "landscape": "3:2"}


def _hash_int(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _grid_specs(text: str, aspect: str, seed: int, sref: str | None = None) -> list[ArtSpec]:
    """Four variants of one prompt: same palette, subject and brush (the style code decides
    colours and brush), different compositions; stable per seed."""
    palette = palette_for(text, sref)
    size = size_for_aspect(aspect, VARIANT_SIDE)
    return [ArtSpec(palette, _hash_int(text, seed, i), size, subject=subject_for(text),
                    brush=brush_for(sref)) for i in range(4)]


def _aspect_of(size: tuple[int, int]) -> str:
    w, h = size
    g = gcd(w, h) or 1
    return f"{w // g}:{h // g}"


def _nearest_ratio(size: tuple[int, int]) -> str:
    """The simple ratio a person would write for a picture's pixels (512x341 -> "3:2"), as
    Midjourney's /describe suggests it: terms up to 16, the closest one, reduced."""
    w, h = size
    target = w / h
    best = min(((a, b) for a in range(1, 17) for b in range(1, 17)),
               key=lambda ab: (abs(ab[0] / ab[1] - target), ab[0] + ab[1]))
    return _aspect_of(best)


def _scaled(recipe, factor: float, cap: int = MAX_SIDE):
    w, h = recipe.size if recipe.size else (1024, 1024)
    scale = min(factor, cap / max(w, h))
    return recipe.with_size((max(16, round(w * scale)), max(16, round(h * scale))))


class RecipeBook:
    """Builds `Draft`s. `find_task` resolves ids; `base_url` lets it recognise its own URLs."""

    def __init__(self, rng: random.Random, find_task: Callable[[str], Task | None],
                 images: ImageStore, base_url: Callable[[], str]):
        self.rng = rng
        self.find_task = find_task
        self.images = images
        self.base_url = base_url

    def draft(self, endpoint: str, f: dict) -> Draft:
        method = getattr(self, "_" + endpoint.strip("/").replace("-", "_"))
        return method(f)

    # --- helpers ------------------------------------------------------------------------
    def _new_seed(self, flags) -> int:
        return flags.seed if flags.seed is not None else self.rng.randint(0, MAX_SEED)

    def _sref(self, flags, parent: Task | None) -> str | None:
        """Spec section 6: random -> fresh code (children keep their parent's), code -> echoed,
        URL or none -> omitted."""
        if flags.sref_mode == "code":
            return flags.sref_code
        if flags.sref_mode == "random":
            if parent is not None and parent.sref is not None:
                return parent.sref
            return str(self.rng.randint(0, MAX_SEED))
        return None

    def _grid_draft(self, task_type: str, prompt: str, aspect_field: str | None,
                    parent: Task | None, default_aspect: str = "1:1") -> tuple[Draft, Any]:
        flags = parse_flags(prompt)
        aspect = flags.aspect or aspect_field or default_aspect
        draft = Draft(task_type, GRID, 4, prompt=prompt, aspect=aspect,
                      seed=self._new_seed(flags), sref=self._sref(flags, parent),
                      parent_id=parent.task_id if parent else None,
                      problem=flags.problems[0] if flags.problems else None)
        return draft, flags

    def resolve_url(self, url: str):
        """(recipe, source task or None) for an image URL; unknown URLs get a stable picture.
        A loopback URL counts as its own whatever the port: a remembered task's URLs name the
        port of the run that made them."""
        base = self.base_url()
        parts = urlsplit(url)
        if url.startswith(base + "/") or parts.hostname in _LOOPBACK:
            segments = parts.path.strip("/").split("/")
            if len(segments) == 3 and segments[0] == "images":
                task = self.find_task(segments[1])
                name = segments[2].rsplit(".", 1)[0]
                if task is not None and task.images:
                    index = int(name) - 1 if name in ("1", "2", "3", "4") else 0
                    return task.images[min(index, len(task.images) - 1)], task
            if len(segments) == 2 and segments[0] == "uploads" and \
                    self.images.upload_size(segments[1]):
                return UploadImage(segments[1], self.images.upload_size(segments[1])), None
        palette = palette_for(" ".join(parts.path.replace("/", " ").split()) + parts.netloc)
        return ArtSpec(palette, _hash_int(url), size_for_aspect("1:1", VARIANT_SIDE)), None

    def _maker_of_upload(self, url: str) -> Task | None:
        """The task whose picture an uploaded file is (from its Description), if known."""
        segments = urlsplit(url).path.strip("/").split("/")
        if len(segments) != 2 or segments[0] != "uploads":
            return None
        made_by = self.images.upload_source(segments[1])
        return self.find_task(made_by[0]) if made_by else None

    # --- grid producers -------------------------------------------------------------------
    def _imagine(self, f: dict) -> Draft:
        draft, flags = self._grid_draft("imagine", f["prompt"], f.get("aspect_ratio"), None)
        draft.images = _grid_specs(flags.text, draft.aspect, draft.seed, draft.sref)
        return draft

    def _reroll(self, f: dict) -> Draft:
        parent: Task = f["parent"]
        draft, flags = self._grid_draft("reroll", f.get("prompt") or parent.prompt,
                                        f.get("aspect_ratio"), parent, parent.aspect)
        draft.images = _grid_specs(flags.text, draft.aspect, draft.seed, draft.sref)
        return draft

    def _variations(self, f: dict) -> Draft:
        parent: Task = f["parent"]
        index = f["index"]
        draft, flags = self._grid_draft(f"variation-{index}", f.get("prompt") or parent.prompt,
                                        f.get("aspect_ratio"), parent, parent.aspect)
        base = parent.images[int(index) - 1] if index.isdigit() else parent.images[0]
        amount = _STRENGTH.get(index, 0.35)
        size = size_for_aspect(draft.aspect, VARIANT_SIDE)
        draft.images = [base.with_size(size).perturbed(_hash_int(draft.seed, j), amount)
                        for j in range(4)]
        return draft

    def _blend(self, f: dict) -> Draft:
        aspect = _BLEND_ASPECT[f.get("dimension") or "square"]
        sources = [self.resolve_url(u)[0] for u in f["image_urls"]]
        palettes = [s.palette for s in sources if isinstance(s, ArtSpec)] or \
            [palette_for(" ".join(f["image_urls"]))]
        draft = Draft("blend", GRID, 4, prompt="", aspect=aspect,
                      seed=self.rng.randint(0, MAX_SEED))
        size = size_for_aspect(aspect, VARIANT_SIDE)
        palette = mix_palettes(palettes)
        draft.images = [ArtSpec(palette, _hash_int("blend", draft.seed, i), size)
                        for i in range(4)]
        return draft

    def _child_of_upscale(self, task_type: str, f: dict, aspect: str | None = None):
        parent: Task = f["parent"]
        draft, flags = self._grid_draft(task_type, f.get("prompt") or parent.prompt,
                                        aspect, parent, parent.aspect)
        if not f.get("prompt"):
            draft.sref = parent.sref
        base = parent.images[0]
        if isinstance(base, InpaintImage):   # pans and zooms of a region repaint: its setting
            base = base.base
        size = size_for_aspect(draft.aspect, VARIANT_SIDE)
        return draft, base.redrawn(size) if isinstance(base, ArtSpec) else base.with_size(size)

    def _inpaint(self, f: dict) -> Draft:
        """The parent's pixels outside the mask, four new drawings inside it."""
        draft, _ = self._child_of_upscale("inpaint", f)
        parent: Task = f["parent"]
        size = size_for_aspect(draft.aspect, VARIANT_SIDE)
        kept = parent.images[0].with_size(size)
        source = parent.images[0]
        palette = palette_for(f["prompt"]) if f.get("prompt") or not isinstance(
            source, ArtSpec) else source.palette
        draft.images = [InpaintImage(kept, ArtSpec(palette, _hash_int("inpaint", draft.seed, j),
                                                   size), f["mask"], size)
                        for j in range(4)]
        return draft

    def _outpaint(self, f: dict) -> Draft:
        ratio = f["zoom_ratio"]
        label = f"{ratio:g}"
        aspect = "1:1" if ratio == 1.0 else f.get("aspect_ratio")
        draft, base = self._child_of_upscale(f"outpaint-{label}", f, aspect)
        dx, dy, zoom = base.view
        zoomed = replace(base, view=(dx, dy, zoom / ratio), frame=zoom if ratio > 1 else None)
        draft.images = [zoomed.perturbed(_hash_int("outpaint", draft.seed, j), 0.08)
                        for j in range(4)]
        return draft

    def _pan(self, f: dict) -> Draft:
        direction = f["direction"]
        draft, base = self._child_of_upscale(f"pan-{direction}", f)
        dx, dy, zoom = base.view
        sx, sy = _PAN_SHIFT[direction]
        shifted = replace(base, view=(dx + sx / zoom, dy + sy / zoom, zoom))
        draft.images = [shifted.perturbed(_hash_int("pan", draft.seed, j), 0.08)
                        for j in range(4)]
        return draft

    # --- single images --------------------------------------------------------------------
    def _single_from(self, task_type: str, cost: int, parent: Task, recipe) -> Draft:
        return Draft(task_type, SINGLE, cost, prompt=parent.prompt, aspect=parent.aspect,
                     seed=parent.seed, sref=None, parent_id=parent.task_id, images=[recipe])

    def _upscale_1x(self, f: dict) -> Draft:
        parent: Task = f["parent"]
        index = int(f["index"])
        spec = parent.images[index - 1]   # the variant's own pixels, enlarged: same composition
        size = size_for_aspect(parent.aspect, UPSCALE_SIDE)
        recipe = spec.enlarged(size) if isinstance(spec, ArtSpec) else spec.with_size(size)
        draft = self._single_from(f"upscale#{index}", COSTS["/upscale-1x"], parent, recipe)
        draft.sref = parent.sref
        return draft

    def _upscale_alt(self, f: dict) -> Draft:
        parent: Task = f["parent"]
        kind = f["type"]
        recipe = _scaled(parent.images[0], 2)
        if kind == "creative" and isinstance(recipe, ArtSpec):
            recipe = replace(recipe.perturbed(_hash_int("creative", parent.task_id), 0.05),
                             detail=True)
        return self._single_from(f"upscale-{kind}", COSTS["/upscale-alt"], parent, recipe)

    def _upscale_highres(self, f: dict) -> Draft:
        kind = f["type"]
        factor = 2 if kind == "2x" else 4
        parent: Task | None = f.get("parent")
        if parent is not None:
            index = int(f["index"]) if parent.kind == GRID and f.get("index") else 1
            recipe = _scaled(parent.images[index - 1], factor)
            return self._single_from(f"upscale-{kind}", HIGHRES_COSTS[kind], parent, recipe)
        recipe, _ = self.resolve_url(f["image_url"])
        return Draft(f"upscale-{kind}", SINGLE, HIGHRES_COSTS[kind],
                     images=[_scaled(recipe, factor)], seed=self.rng.randint(0, MAX_SEED))

    def _faceswap(self, f: dict) -> Draft:
        target, _ = self.resolve_url(f["target_image_url"])
        if isinstance(target, ArtSpec):
            target = target.perturbed(_hash_int(f["swap_image_url"]), 0.06)
        return Draft("faceswap", SINGLE, COSTS["/faceswap"], images=[target],
                     seed=self.rng.randint(0, MAX_SEED))

    # --- text -----------------------------------------------------------------------------
    def _describe(self, f: dict) -> Draft:
        url = f["image_url"]
        recipe, source = self.resolve_url(url)
        if source is None:   # an upload of a picture made here: its own subject and shape
            source = self._maker_of_upload(url)
        subject = parse_flags(source.prompt).text if source is not None else None
        motif = recipe.palette.motif if isinstance(recipe, ArtSpec) else "hills"
        aspect = source.aspect if source is not None else \
            _nearest_ratio(recipe.size) if recipe.size else "1:1"
        return Draft("describe", DESCRIBE, COSTS["/describe"], describe_image_url=url,
                     content=texts.describe(subject, motif, aspect, url))

    def _shorten(self, f: dict) -> Draft:
        content, report = texts.shorten(f["prompt"])
        return Draft("shorten", SHORTEN, COSTS["/shorten"], prompt=f["prompt"],
                     content=content, full_content=report)

    def _seed(self, f: dict) -> Draft:
        target: Task = f["target"]
        return Draft("seed", SEED, COSTS["/seed"], parent_id=target.task_id,
                     seed_result=str(target.seed))

    # --- video (lower priority; GIF stand-ins) ----------------------------------------------
    def _imagine_video(self, f: dict) -> Draft:
        start, _ = self.resolve_url(f["image_url"])
        flags = parse_flags(f["prompt"])
        palette = start.palette if isinstance(start, ArtSpec) else palette_for(flags.text)
        seed = self._new_seed(flags)
        size = size_for_aspect(flags.aspect or "1:1", VIDEO_SIDE)
        images = [ArtSpec(palette, _hash_int("video", seed, i), size) for i in range(4)]
        return Draft("imagine-video", VIDEO, COSTS["/imagine-video"], prompt=f["prompt"],
                     seed=seed, images=images,
                     problem=flags.problems[0] if flags.problems else None)

    def _imagine_video_extend(self, f: dict) -> Draft:
        parent: Task = f["parent"]
        base = parent.images[int(f["index"]) - 1]
        seed = self.rng.randint(0, MAX_SEED)
        images = [replace(base, view=(base.view[0] + 0.16, base.view[1], base.view[2]))
                  .perturbed(_hash_int(seed, j), 0.1) for j in range(4)]
        return Draft("imagine-video-extend", VIDEO, COSTS["/imagine-video-extend"],
                     prompt=f["prompt"], seed=seed, parent_id=parent.task_id, images=images)
