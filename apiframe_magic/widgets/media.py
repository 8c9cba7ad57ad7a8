"""The four clips of an Animate job, inline: `<video>` muted, looping, with controls for video
files, `<img>` for animated images (what the offline simulator sends). URLs are escaped and only
http(s) ones are shown.
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit

ANIMATED_IMAGES = (".gif", ".webp", ".apng", ".png")


def media_html(url: str, label: str) -> str:
    """One clip as HTML: a playing, muted, looping video (or an animated image)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f'<span class="amj-muted">{html.escape(label)}: {html.escape(url)}</span>'
    src, name = html.escape(url, quote=True), html.escape(label, quote=True)
    if parts.path.lower().endswith(ANIMATED_IMAGES):
        return f'<img class="amj-clip" src="{src}" alt="{name}" title="{name}">'
    return (f'<video class="amj-clip" src="{src}" title="{name}" aria-label="{name}" muted '
            'loop autoplay controls playsinline preload="auto"></video>')
