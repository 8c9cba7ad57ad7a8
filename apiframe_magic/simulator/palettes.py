"""Prompt words and style codes -> colours, brush, landscape motif and subject for the art.

A style code (`--sref CODE`) decides the colours and the brush, as Midjourney's style references
do: one code looks alike across prompts. Without one, a few evocative words (sunflower, ocean,
forest, night, ...) pick a hand-made palette, and anything else gets a palette from a hash of the
words. The words always decide the landscape motif and the subject drawn in front (a fox, a cat,
an owl, a lighthouse, ...), so different subjects look different under one style.
"""
from __future__ import annotations

import colorsys
import hashlib
import re
from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """Colours of one scene; `motif` picks the foreground ("hills", "mountains", "water",
    "flowers", "city", "dunes"); `night` swaps the sun for a moon and adds stars."""

    sky_top: RGB
    sky_bottom: RGB
    sun: RGB
    far: RGB
    near: RGB
    accent: RGB
    motif: str = "hills"
    night: bool = False


_BASE = {
    "sunflower": Palette((64, 124, 204), (252, 214, 140), (255, 236, 170), (120, 150, 90),
                         (58, 98, 36), (250, 196, 24), "flowers"),
    "ocean": Palette((28, 84, 164), (246, 178, 126), (255, 226, 170), (52, 84, 124),
                     (18, 46, 84), (250, 250, 255), "water"),
    "forest": Palette((96, 150, 170), (214, 230, 200), (255, 244, 200), (70, 120, 96),
                      (18, 56, 36), (150, 200, 120), "hills"),
    "sunset": Palette((70, 40, 110), (252, 140, 80), (255, 210, 120), (120, 60, 90),
                      (40, 20, 50), (255, 120, 60), "hills"),
    "night": Palette((8, 12, 40), (60, 50, 120), (235, 235, 220), (40, 40, 90),
                     (12, 12, 36), (255, 240, 180), "hills", True),
    "snow": Palette((96, 140, 204), (228, 238, 250), (255, 252, 236), (150, 170, 206),
                    (64, 84, 124), (200, 220, 255), "mountains"),
    "desert": Palette((96, 160, 220), (250, 220, 170), (255, 246, 210), (220, 160, 100),
                      (190, 110, 60), (250, 200, 130), "dunes"),
    "red": Palette((120, 20, 30), (250, 130, 90), (255, 220, 160), (150, 40, 40),
                   (70, 10, 20), (255, 80, 60), "hills"),
    "blue": Palette((14, 40, 120), (130, 190, 240), (230, 246, 255), (50, 90, 170),
                    (16, 36, 90), (120, 200, 255), "mountains"),
    "pink": Palette((200, 120, 170), (255, 214, 222), (255, 244, 236), (210, 140, 170),
                    (140, 70, 110), (255, 170, 200), "flowers"),
    "purple": Palette((60, 30, 110), (200, 150, 230), (255, 230, 250), (110, 70, 160),
                      (50, 24, 80), (220, 170, 255), "hills"),
    "green": Palette((110, 170, 220), (220, 240, 210), (255, 250, 220), (120, 180, 100),
                     (40, 110, 50), (250, 240, 120), "hills"),
    "gold": Palette((160, 90, 40), (255, 210, 120), (255, 244, 200), (190, 120, 50),
                    (100, 50, 20), (255, 190, 60), "hills"),
    "neon": Palette((20, 6, 50), (200, 40, 140), (80, 240, 255), (60, 20, 100),
                    (14, 6, 30), (0, 255, 220), "city", True),
}

_WORDS = {
    "sunflower": ("sunflower", "sunflowers", "yellow", "van gogh"),
    "ocean": ("ocean", "sea", "beach", "wave", "waves", "lake", "coast", "island", "harbor"),
    "forest": ("forest", "tree", "trees", "woods", "jungle", "moss", "fern"),
    "sunset": ("sunset", "dusk", "sunrise", "dawn", "evening", "orange"),
    "night": ("night", "moon", "moonlight", "star", "stars", "space", "galaxy", "midnight"),
    "snow": ("snow", "winter", "ice", "frozen", "glacier", "arctic", "white"),
    "desert": ("desert", "dune", "dunes", "sand", "sahara", "canyon"),
    "red": ("red", "crimson", "fire", "volcano", "lava", "scarlet", "ruby"),
    "blue": ("blue", "azure", "cobalt", "sapphire", "river"),
    "pink": ("pink", "cherry", "blossom", "sakura", "rose", "flamingo"),
    "purple": ("purple", "lavender", "violet", "magenta", "dream", "dreamy"),
    "green": ("green", "meadow", "spring", "grass", "valley"),
    "gold": ("gold", "golden", "autumn", "amber", "honey", "fall"),
    "neon": ("neon", "cyberpunk", "city", "cityscape", "skyline", "tokyo", "synthwave"),
}

_MOTIF_WORDS = {
    "flowers": ("flower", "flowers", "field", "fields", "garden", "sunflower", "sunflowers",
                "tulip", "tulips", "poppy", "poppies", "meadow", "blossom"),
    "water": ("ocean", "sea", "lake", "beach", "river", "water", "coast", "harbor", "harbour",
              "reflection"),
    "mountains": ("mountain", "mountains", "alps", "peak", "peaks", "himalaya", "cliff"),
    "city": ("city", "cityscape", "skyline", "town", "street", "tokyo", "buildings"),
    "dunes": ("desert", "dune", "dunes", "sahara"),
}
_NIGHT_WORDS = set(_WORDS["night"]) | {"nocturnal", "dark"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _matches(word: str, keys: tuple[str, ...]) -> bool:
    """Exact match, or a longer form of a key of 4+ letters ("snowy", "mountainous")."""
    return word in keys or any(len(k) >= 4 and word.startswith(k) for k in keys)


def _hashed_palette(text: str) -> Palette:
    """A harmonious palette from a hash: one hue for the sky, a neighbouring one for the land."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    hue = digest[0] / 255
    shift = 0.08 + digest[1] / 255 * 0.25

    def hsv(h, s, v) -> RGB:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
        return (int(r * 255), int(g * 255), int(b * 255))

    return Palette(
        sky_top=hsv(hue, 0.65, 0.55), sky_bottom=hsv(hue + 0.05, 0.35, 0.98),
        sun=hsv(hue + 0.12, 0.25, 1.0), far=hsv(hue + shift, 0.45, 0.62),
        near=hsv(hue + shift + 0.05, 0.7, 0.28), accent=hsv(hue + 0.5, 0.6, 0.95),
        motif=("hills", "mountains", "water", "dunes")[digest[2] % 4],
    )


BRUSHES = ("smooth", "poster", "painterly", "ink")

# Subjects drawn in the foreground (art.py draws each), and the words that call for them.
SUBJECTS = {
    "fox": ("fox", "foxes"),
    "cat": ("cat", "cats", "kitten", "kittens", "kitty"),
    "owl": ("owl", "owls"),
    "lighthouse": ("lighthouse", "lighthouses", "beacon"),
    "boat": ("boat", "boats", "harbour", "harbor", "ship", "sailboat", "port"),
    "tree": ("tree", "oak", "pine", "willow"),
    "house": ("house", "cottage", "cabin", "castle", "village"),
}


def subject_for(text: str) -> str | None:
    """The subject the prompt's words name first, if it is one the art can draw."""
    for word in _words(text):
        for subject, keys in SUBJECTS.items():
            if word in keys:
                return subject
    return None


def brush_for(style_code: str | None) -> str:
    """How a style code paints (the same code, the same brush); no code paints smooth."""
    if not style_code:
        return "smooth"
    digest = hashlib.sha256(f"brush|{style_code}".encode("utf-8")).digest()
    return BRUSHES[digest[0] % len(BRUSHES)]


def palette_for(text: str, style_code: str | None = None) -> Palette:
    """The palette of a prompt: its style code's colours when it has one, else the colours its
    words call for; the motif and night always follow the words. Stable for the same input."""
    words = _words(text)
    joined = " ".join(words)
    base = _hashed_palette(f"sref|{style_code}") if style_code else None
    for name, keys in _WORDS.items():
        if base is not None:
            break
        if any(_matches(w, keys) for w in words) or any(" " in k and k in joined for k in keys):
            base = _BASE[name]
    if base is None:
        base = _hashed_palette(joined or "untitled")
    motif = next((m for m, keys in _MOTIF_WORDS.items() if any(_matches(w, keys) for w in words)),
                 base.motif)
    night = base.night or any(w in _NIGHT_WORDS for w in words)
    return Palette(base.sky_top, base.sky_bottom, base.sun, base.far, base.near, base.accent,
                   motif, night)


def mix_palettes(palettes: list[Palette]) -> Palette:
    """Average colours (for /blend); the first palette decides motif and night."""
    def avg(attr: str) -> RGB:
        cols = [getattr(p, attr) for p in palettes]
        return tuple(sum(c[i] for c in cols) // len(cols) for i in range(3))  # type: ignore

    first = palettes[0]
    return Palette(avg("sky_top"), avg("sky_bottom"), avg("sun"), avg("far"), avg("near"),
                   avg("accent"), first.motif, first.night)
