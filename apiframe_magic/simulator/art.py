"""Procedural pictures for the simulator: sky, sun or moon, clouds, layered land, a motif, the
prompt's subject in front (a fox, a cat, an owl, a lighthouse, ...), all painted with the brush of
its style code (smooth, poster, painterly, ink).

Everything is a pure function of an `ArtSpec`, so the same prompt and seed always give the same
PNG. The scene lives in world coordinates and is seen through a view (shift, zoom): that is what
makes pans look shifted, zoom-outs look zoomed out and variations look related to their parent.
Soft shapes are drawn on a small canvas, blurred and scaled up, which keeps rendering fast.
"""
from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field, replace

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from .palettes import RGB, Palette

MAX_WORK_SIDE = 640     # long side of the drawing canvas; bigger outputs are scaled up
SUPERSAMPLE = 2         # crisp shapes are drawn at 2x and scaled down (cheap antialiasing)


@dataclass(frozen=True)
class ArtSpec:
    """Everything that decides one image.

    `jitter` is a chain of (seed, amount) perturbations applied to the layout: a variation of a
    variant appends one link, so children stay close to their parent. `view` is (dx, dy, zoom)
    with zoom < 1 showing more of the world; `frame` outlines the original area after a zoom-out.
    """

    palette: Palette
    layout_seed: int
    size: tuple[int, int]
    jitter: tuple[tuple[int, float], ...] = ()
    view: tuple[float, float, float] = (0.0, 0.0, 1.0)
    frame: float | None = None
    detail: bool = False
    drawn_at: tuple[int, int] | None = None   # drawn at this size, then enlarged to `size`
    subject: str | None = None                # palettes.SUBJECTS key, drawn in front
    brush: str = "smooth"                     # palettes.BRUSHES: how the style code paints

    def with_size(self, size: tuple[int, int]) -> "ArtSpec":
        return replace(self, size=size)

    def enlarged(self, size: tuple[int, int]) -> "ArtSpec":
        """The same pixels at `size`: what an upscale does to its variant (no redrawing)."""
        return replace(self, size=size, drawn_at=self.drawn_at or self.size)

    def redrawn(self, size: tuple[int, int]) -> "ArtSpec":
        """The same scene drawn afresh at `size` (children that make new pictures)."""
        return replace(self, size=size, drawn_at=None)

    def perturbed(self, seed: int, amount: float) -> "ArtSpec":
        return replace(self, jitter=self.jitter + ((seed, amount),))


@dataclass
class _Layer:
    base: float
    waves: list[tuple[float, float, float]]   # (frequency, amplitude, phase)
    shade: float                               # 0 = far (hazy), 1 = near (dark)


@dataclass
class _Layout:
    sun: tuple[float, float, float]
    layers: list[_Layer]
    clouds: list[tuple[float, float, float, float]]
    stars: list[tuple[float, float, float]] = field(default_factory=list)
    buildings: list[tuple[float, float, float]] = field(default_factory=list)
    flowers: list[tuple[float, float, float]] = field(default_factory=list)
    subject_at: tuple[float, float] = (0.5, 0.3)   # world x of its foot, height (world units)


def size_for_aspect(aspect: str, long_side: int) -> tuple[int, int]:
    """Pixel size for "W:H" with the given long side (extreme ratios are clamped to 1:4)."""
    w, h = (int(x) for x in aspect.split(":"))
    ratio = max(0.25, min(4.0, w / h))
    if ratio >= 1:
        return long_side, max(16, round(long_side / ratio))
    return max(16, round(long_side * ratio)), long_side


def _layout(spec: ArtSpec) -> _Layout:
    rnd = random.Random(spec.layout_seed)
    motif = spec.palette.motif
    sun = (rnd.uniform(0.18, 0.82), rnd.uniform(0.14, 0.36), rnd.uniform(0.06, 0.11))
    layers = []
    count = 3 if motif == "water" else 4
    for i in range(count):
        spacing = {"water": 0.05, "flowers": 0.1}.get(motif, 0.13)
        base = 0.46 + i * spacing + rnd.uniform(-0.03, 0.03)
        amp_scale = (0.11 if motif == "mountains" else 0.05) * (1.0 - 0.15 * i)
        waves = [(rnd.uniform(0.6, 1.6) * (k + 1), amp_scale / (k + 1) * rnd.uniform(0.6, 1.2),
                  rnd.uniform(0, 2 * math.pi)) for k in range(3)]
        layers.append(_Layer(base, waves, i / max(1, count - 1)))
    clouds = [(rnd.uniform(-0.1, 1.1), rnd.uniform(0.06, 0.34), rnd.uniform(0.12, 0.3),
               rnd.uniform(0.03, 0.07)) for _ in range(rnd.randint(2, 5))]
    layout = _Layout(sun, layers, clouds)
    if spec.palette.night:
        layout.stars = [(rnd.uniform(-1, 2), rnd.uniform(-0.5, 0.6), rnd.uniform(0.6, 1.6))
                        for _ in range(160)]
    if motif == "city":
        x = -1.0
        while x < 2.0:
            width = rnd.uniform(0.03, 0.08)
            layout.buildings.append((x, width, rnd.uniform(0.12, 0.4)))
            x += width + rnd.uniform(0.0, 0.015)
    if motif == "flowers":
        layout.flowers = [(rnd.uniform(-1, 2), rnd.uniform(0.0, 1.0), rnd.uniform(0.6, 1.4))
                          for _ in range(700)]
    if spec.subject:  # its own stream, so pictures without a subject are drawn as before
        placing = random.Random(f"subject|{spec.layout_seed}")
        layout.subject_at = (placing.uniform(0.3, 0.7), placing.uniform(0.26, 0.34))
    for seed, amount in spec.jitter:
        _perturb(layout, random.Random(seed), amount)
    return layout


def _perturb(layout: _Layout, rnd: random.Random, amount: float) -> None:
    """Nudge the composition by `amount` (0.1 subtle .. 0.5 strong); palette is untouched."""
    sx, sy, sr = layout.sun
    layout.sun = (sx + rnd.uniform(-0.25, 0.25) * amount, sy + rnd.uniform(-0.12, 0.12) * amount,
                  sr * (1 + rnd.uniform(-0.3, 0.3) * amount))
    for layer in layout.layers:
        layer.base += rnd.uniform(-0.05, 0.05) * amount
        layer.waves = [(f, a * (1 + rnd.uniform(-0.6, 0.6) * amount),
                        p + rnd.uniform(-1.5, 1.5) * amount) for f, a, p in layer.waves]
    layout.clouds = [(x + rnd.uniform(-0.3, 0.3) * amount, y + rnd.uniform(-0.05, 0.05) * amount,
                      w, h) for x, y, w, h in layout.clouds]
    layout.buildings = [(x, w, h * (1 + rnd.uniform(-0.5, 0.5) * amount))
                        for x, w, h in layout.buildings]
    layout.flowers = [(x + rnd.uniform(-0.05, 0.05) * amount, y, s) for x, y, s in layout.flowers]
    sx, size = layout.subject_at
    layout.subject_at = (sx + rnd.uniform(-0.1, 0.1) * amount, size * (1 + rnd.uniform(-0.2, 0.2)
                                                                       * amount))


def _lerp(a: RGB, b: RGB, t: float) -> RGB:
    t = max(0.0, min(1.0, t))
    return tuple(int(a[i] + (b[i] - a[i]) * t) for i in range(3))  # type: ignore[return-value]


class _View:
    """World <-> pixel mapping for one canvas."""

    def __init__(self, spec: ArtSpec, width: int, height: int):
        self.w, self.h = width, height
        self.dx, self.dy, self.zoom = spec.view

    def px(self, wx: float) -> float:
        return ((wx - 0.5 - self.dx) * self.zoom + 0.5) * self.w

    def py(self, wy: float) -> float:
        return ((wy - 0.5 - self.dy) * self.zoom + 0.5) * self.h

    def wx(self, px: float) -> float:
        return (px / self.w - 0.5) / self.zoom + 0.5 + self.dx

    def wy(self, py: float) -> float:
        return (py / self.h - 0.5) / self.zoom + 0.5 + self.dy

    def scale(self, world_len: float) -> float:
        return world_len * self.zoom * min(self.w, self.h) * 1.4


def _small_view(view: _View, factor: int = 4) -> _View:
    small = _View.__new__(_View)
    small.w, small.h = max(8, view.w // factor), max(8, view.h // factor)
    small.dx, small.dy, small.zoom = view.dx, view.dy, view.zoom
    return small


def _background(spec: ArtSpec, lay: _Layout, view: _View) -> Image.Image:
    """Sky gradient, sun glow and clouds: all soft, so drawn at quarter size and scaled up once."""
    pal = spec.palette
    small = _small_view(view)
    column = Image.new("RGB", (1, small.h))
    horizon = 0.62
    column.putdata([_lerp(pal.sky_top, pal.sky_bottom, (small.wy(y) + 0.15) / (horizon + 0.15))
                    for y in range(small.h)])
    sky = column.resize((small.w, small.h), Image.Resampling.NEAREST).convert("RGBA")

    # transparent pixels carry the shape's own colour, so blurring does not darken the edges
    glow = Image.new("RGBA", (small.w, small.h), pal.sun + (0,))
    d = ImageDraw.Draw(glow)
    sx, sy, sr = lay.sun
    x, y, r = small.px(sx), small.py(sy), small.scale(sr)
    d.ellipse((x - 2.6 * r, y - 2.6 * r, x + 2.6 * r, y + 2.6 * r), fill=pal.sun + (80,))
    d.ellipse((x - 1.5 * r, y - 1.5 * r, x + 1.5 * r, y + 1.5 * r), fill=pal.sun + (130,))
    sky.alpha_composite(glow.filter(ImageFilter.GaussianBlur(max(2.0, small.w / 15))))

    clouds = Image.new("RGBA", (small.w, small.h), (255, 255, 255, 0))
    d = ImageDraw.Draw(clouds)
    for cx, cy, cw, ch in lay.clouds:
        for k in range(3):
            ox = (k - 1) * cw * 0.35
            d.ellipse((small.px(cx + ox - cw / 2), small.py(cy - ch / 2 - (k == 1) * ch * 0.4),
                       small.px(cx + ox + cw / 2), small.py(cy + ch / 2)),
                      fill=(255, 255, 255, 70 if pal.night else 120))
    sky.alpha_composite(clouds.filter(ImageFilter.GaussianBlur(max(1.0, small.w / 40))))
    return sky.convert("RGB").resize((view.w, view.h), Image.Resampling.BILINEAR)


def _draw_sun(draw: ImageDraw.ImageDraw, img: Image.Image, view: _View, lay: _Layout,
              pal: Palette) -> None:
    sx, sy, sr = lay.sun
    x, y, r = view.px(sx), view.py(sy), view.scale(sr)
    if not pal.night:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=pal.sun)
        return
    # crescent moon: the disc minus an offset disc, pasted through a mask
    box = (int(x - r) - 1, int(y - r) - 1, int(x + r) + 2, int(y + r) + 2)
    mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    m = ImageDraw.Draw(mask)
    m.ellipse((x - r - box[0], y - r - box[1], x + r - box[0], y + r - box[1]), fill=255)
    off = r * 0.5
    m.ellipse((x - r + off - box[0], y - r - off * 0.5 - box[1],
               x + r + off - box[0], y + r - off * 0.5 - box[1]), fill=0)
    img.paste(pal.sun, box, mask)


def _ground_y(layer: _Layer, wx: float) -> float:
    return layer.base - sum(a * math.sin(2 * math.pi * f * wx + p) for f, a, p in layer.waves)


def _mountain_y(layer: _Layer, wx: float) -> float:
    return layer.base - sum(a * (1.3 - abs(math.sin(math.pi * f * wx + p)) * 1.6)
                            for f, a, p in layer.waves)


def _draw_scene(spec: ArtSpec, width: int, height: int) -> Image.Image:
    pal, lay = spec.palette, _layout(spec)
    view = _View(spec, width, height)
    img = _background(spec, lay, view)
    draw = ImageDraw.Draw(img)

    star = _lerp(pal.sky_top, (255, 255, 240), 0.85)
    for sx, sy, size in lay.stars:
        x, y = view.px(sx), view.py(sy)
        r = size * max(1.0, width / 700)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=star)
    _draw_sun(draw, img, view, lay, pal)

    ground = _mountain_y if pal.motif == "mountains" else _ground_y
    step = max(2, width // 160)
    for i, layer in enumerate(lay.layers):
        colour = _lerp(_lerp(pal.far, pal.sky_bottom, 0.35 * (1 - layer.shade)), pal.near,
                       layer.shade)
        if pal.motif == "water" and i == len(lay.layers) - 1:
            _draw_water(draw, view, lay, pal, layer.base)
            continue
        if pal.motif == "city" and i == 1:
            _draw_city(draw, view, lay, pal, layer.base)
        points = [(px, view.py(ground(layer, view.wx(px)))) for px in range(0, width + step, step)]
        draw.polygon([(0, height)] + points + [(width, height)], fill=colour)
        if pal.motif == "mountains" and i <= 1:
            snow = _lerp(colour, (255, 255, 255), 0.75)
            line = view.py(layer.base - 0.07)
            caps = [(px, py + max(0.0, line - py) * 0.45) for px, py in points]
            draw.polygon(points + caps[::-1], fill=snow)
    if lay.flowers:
        _draw_flowers(draw, view, lay, pal)
    if spec.subject in _SUBJECT_SHAPES:
        _draw_subject(draw, view, lay, pal, spec.subject)

    if spec.frame:
        inner = _View(replace(spec, view=(spec.view[0], spec.view[1], spec.frame)), width, height)
        box = (view.px(inner.wx(0)), view.py(inner.wy(0)),
               view.px(inner.wx(width)), view.py(inner.wy(height)))
        draw.rectangle(box, outline=_lerp(pal.sky_bottom, (255, 255, 255), 0.6),
                       width=max(2, width // 250))
    return img


def _draw_water(draw, view: _View, lay: _Layout, pal: Palette, base: float) -> None:
    top = view.py(base)
    water_top = _lerp(pal.sky_bottom, pal.far, 0.4)
    for y in range(int(max(0, top)), view.h, 2):
        t = (y - top) / max(1, view.h - top)
        draw.line((0, y, view.w, y), fill=_lerp(water_top, pal.near, t), width=2)
    sx = view.px(lay.sun[0])
    rnd = random.Random(int(base * 1e6))
    for k in range(60):
        y = top + (view.h - top) * (k / 60) ** 1.3
        half = view.scale(lay.sun[2]) * (1.2 - k / 80) * rnd.uniform(0.4, 1.0)
        draw.line((sx - half, y, sx + half, y), fill=_lerp(water_top, pal.sun, 0.7), width=max(1, view.h // 300))


def _draw_city(draw, view: _View, lay: _Layout, pal: Palette, base: float) -> None:
    body = _lerp(pal.near, pal.far, 0.4)
    for x, width, height in lay.buildings:
        x0, x1 = view.px(x), view.px(x + width)
        y0, y1 = view.py(base - height), view.py(base + 0.2)
        if x1 < 0 or x0 > view.w:
            continue
        draw.rectangle((x0, y0, x1, y1), fill=body)
        cell = max(3, (x1 - x0) / 5)
        rnd = random.Random(int(x * 1e5))
        yy = y0 + cell
        while yy < y1 - cell:
            xx = x0 + cell * 0.6
            while xx < x1 - cell * 0.6:
                if rnd.random() < 0.45:
                    draw.rectangle((xx, yy, xx + cell * 0.45, yy + cell * 0.55),
                                   fill=pal.accent)
                xx += cell
            yy += cell * 1.3


def _draw_flowers(draw, view: _View, lay: _Layout, pal: Palette) -> None:
    near = lay.layers[-1]
    centre = _lerp(pal.near, (40, 20, 0), 0.5)
    for fx, depth, size in sorted(lay.flowers, key=lambda f: f[1]):
        ground = _ground_y(near, fx)
        wy = ground + 0.02 + depth * (1.1 - ground)
        x, y = view.px(fx), view.py(wy)
        if not (-20 < x < view.w + 20 and -20 < y < view.h + 20):
            continue
        r = view.scale(0.005 + 0.03 * depth) * size * 0.6
        draw.ellipse((x - r, y - r * 0.8, x + r, y + r * 0.8), fill=pal.accent)
        draw.ellipse((x - r * 0.4, y - r * 0.35, x + r * 0.4, y + r * 0.35), fill=centre)


# Subjects as shapes in a unit frame: (0, 0) is the foot, v goes up, 1 is the subject's height.
# Each part: ("poly", points) or ("oval", (u0, v0, u1, v1)), in "body" or "mark" colour.
_SUBJECT_SHAPES = {
    "fox": [("body", "poly", [(-0.75, 0.05), (-1.45, 0.2), (-1.2, 0.42), (-0.6, 0.3)]),  # tail
            ("body", "oval", (-0.75, 0.0, 0.35, 0.5)),
            ("body", "poly", [(0.05, 0.35), (0.3, 0.95), (0.75, 0.6), (0.95, 0.55), (0.55, 0.35)]),
            ("body", "poly", [(0.3, 0.85), (0.33, 1.1), (0.45, 0.82)]),
            ("body", "poly", [(0.48, 0.8), (0.56, 1.05), (0.62, 0.75)]),
            ("mark", "poly", [(-1.45, 0.2), (-1.3, 0.32), (-1.2, 0.24)]),
            ("mark", "oval", (0.42, 0.68, 0.5, 0.76))],
    "cat": [("body", "poly", [(0.3, 0.05), (0.7, 0.1), (0.75, 0.45), (0.62, 0.5), (0.6, 0.15)]),
            ("body", "oval", (-0.35, 0.0, 0.35, 0.62)),
            ("body", "oval", (-0.26, 0.5, 0.26, 0.92)),
            ("body", "poly", [(-0.25, 0.8), (-0.22, 1.05), (-0.05, 0.88)]),
            ("body", "poly", [(0.25, 0.8), (0.22, 1.05), (0.05, 0.88)]),
            ("mark", "oval", (-0.14, 0.7, -0.06, 0.78)),
            ("mark", "oval", (0.06, 0.7, 0.14, 0.78))],
    "owl": [("body", "oval", (-0.38, 0.0, 0.38, 0.85)),
            ("body", "poly", [(-0.36, 0.7), (-0.3, 1.02), (-0.12, 0.8)]),
            ("body", "poly", [(0.36, 0.7), (0.3, 1.02), (0.12, 0.8)]),
            ("mark", "oval", (-0.3, 0.5, -0.02, 0.78)),
            ("mark", "oval", (0.02, 0.5, 0.3, 0.78)),
            ("body", "oval", (-0.2, 0.58, -0.1, 0.68)),
            ("body", "oval", (0.1, 0.58, 0.2, 0.68)),
            ("mark", "poly", [(-0.05, 0.5), (0.05, 0.5), (0.0, 0.4)])],
    "lighthouse": [("body", "poly", [(-0.16, 0.0), (0.16, 0.0), (0.1, 0.78), (-0.1, 0.78)]),
                   ("mark", "poly", [(-0.145, 0.2), (0.145, 0.2), (0.135, 0.32), (-0.135, 0.32)]),
                   ("mark", "poly", [(-0.125, 0.48), (0.125, 0.48), (0.115, 0.6), (-0.115, 0.6)]),
                   ("mark", "poly", [(-0.08, 0.8), (0.08, 0.8), (0.08, 0.92), (-0.08, 0.92)]),
                   ("body", "poly", [(-0.1, 0.92), (0.1, 0.92), (0.0, 1.0)]),
                   ("mark", "poly", [(0.08, 0.88), (1.2, 1.0), (1.2, 0.72)])],
    "boat": [("body", "poly", [(-0.7, 0.18), (0.7, 0.18), (0.5, 0.0), (-0.5, 0.0)]),
             ("body", "poly", [(-0.02, 0.18), (0.02, 0.18), (0.02, 1.0), (-0.02, 1.0)]),
             ("mark", "poly", [(0.05, 0.25), (0.05, 0.95), (0.55, 0.25)]),
             ("mark", "poly", [(-0.05, 0.3), (-0.05, 0.8), (-0.4, 0.3)])],
    "tree": [("body", "poly", [(-0.06, 0.0), (0.06, 0.0), (0.04, 0.45), (-0.04, 0.45)]),
             ("mark", "oval", (-0.4, 0.35, 0.4, 1.0)),
             ("mark", "oval", (-0.5, 0.3, 0.05, 0.75)),
             ("mark", "oval", (-0.05, 0.3, 0.5, 0.75))],
    "house": [("body", "poly", [(-0.45, 0.0), (0.45, 0.0), (0.45, 0.55), (-0.45, 0.55)]),
              ("mark", "poly", [(-0.55, 0.55), (0.55, 0.55), (0.0, 1.0)]),
              ("mark", "poly", [(-0.3, 0.2), (-0.1, 0.2), (-0.1, 0.4), (-0.3, 0.4)]),
              ("mark", "poly", [(0.1, 0.0), (0.3, 0.0), (0.3, 0.35), (0.1, 0.35)])],
}


def _draw_subject(draw, view: _View, lay: _Layout, pal: Palette, subject: str) -> None:
    """The prompt's subject standing on the nearest land, in the palette's own colours."""
    foot_x, size = lay.subject_at
    foot_y = _ground_y(lay.layers[-1], foot_x) + 0.04
    colours = {"body": _lerp(pal.near, (0, 0, 0), 0.25), "mark": _lerp(pal.accent, pal.sun, 0.3)}
    x0, y0, unit = view.px(foot_x), view.py(foot_y), view.scale(size) / 1.4

    def at(u: float, v: float) -> tuple[float, float]:
        return x0 + u * unit, y0 - v * unit

    for colour, kind, shape in _SUBJECT_SHAPES[subject]:
        if kind == "oval":
            (left, top), (right, bottom) = at(shape[0], shape[3]), at(shape[2], shape[1])
            draw.ellipse((left, top, right, bottom), fill=colours[colour])
        else:
            draw.polygon([at(u, v) for u, v in shape], fill=colours[colour])


def _painted(img: Image.Image, brush: str) -> Image.Image:
    """The style code's brush over the drawn picture."""
    if brush == "poster":
        return ImageOps.posterize(img, 2)
    if brush == "painterly":  # softened shapes under long horizontal strokes
        strokes = Image.effect_noise((max(1, img.width // 12), img.height), 64)
        strokes = strokes.resize(img.size, Image.Resampling.BILINEAR).convert("RGB")
        return Image.blend(img.filter(ImageFilter.RankFilter(5, 12)), strokes, 0.14)
    if brush == "ink":
        lines = ImageOps.invert(img.convert("L").filter(ImageFilter.FIND_EDGES)).convert("RGB")
        return Image.blend(ImageOps.posterize(img, 3), lines, 0.45)
    return img


def render(spec: ArtSpec) -> Image.Image:
    """The image for `spec`, at exactly `spec.size`."""
    width, height = spec.size
    if spec.drawn_at is not None and spec.drawn_at != spec.size:
        img = render(replace(spec, size=spec.drawn_at, drawn_at=None, detail=False))
        return _with_detail(spec, img.resize((width, height), Image.Resampling.LANCZOS))
    scale = min(1.0, MAX_WORK_SIDE / max(width, height))
    work_w, work_h = max(16, round(width * scale)), max(16, round(height * scale))
    img = _draw_scene(spec, work_w * SUPERSAMPLE, work_h * SUPERSAMPLE)
    img = _painted(img.reduce(SUPERSAMPLE), spec.brush)
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BICUBIC)
    return _with_detail(spec, img)


def _with_detail(spec: ArtSpec, img: Image.Image) -> Image.Image:
    """Upscale (Creative) adds fine grain on top of the picture."""
    if not spec.detail:
        return img
    width, height = img.size
    grain = Image.effect_noise((max(1, width // 2), max(1, height // 2)), 40)
    grain = grain.resize((width, height), Image.Resampling.NEAREST).convert("RGB")
    return Image.blend(img, grain, 0.06)


def to_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def render_png(spec: ArtSpec) -> bytes:
    return to_png(render(spec))


def grid_png(variants: list[Image.Image]) -> bytes:
    """The 2x2 composite of four equally sized variants, as Midjourney shows a job."""
    w, h = variants[0].size
    grid = Image.new("RGB", (2 * w, 2 * h))
    for i, variant in enumerate(variants[:4]):
        grid.paste(variant, ((i % 2) * w, (i // 2) * h))
    return to_png(grid)
