"""The four clips of an Animate job, inline: `<video>` muted, looping, with controls for video
files, `<img>` for animated images (what the offline simulator sends). URLs are escaped and only
http(s) ones are shown.
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit

from ..settings import is_http_url

ANIMATED_IMAGES = (".gif", ".webp", ".apng", ".png")


def media_html(url: str, label: str) -> str:
    """One clip as HTML: a playing, muted, looping video (or an animated image)."""
    if not is_http_url(url):
        return f'<span class="amj-muted">{html.escape(label)}: {html.escape(url)}</span>'
    src, name = html.escape(url, quote=True), html.escape(label, quote=True)
    if urlsplit(url).path.lower().endswith(ANIMATED_IMAGES):
        return f'<img class="amj-clip" src="{src}" alt="{name}" title="{name}">'
    return (f'<video class="amj-clip" src="{src}" title="{name}" aria-label="{name}" muted '
            'loop autoplay controls playsinline preload="auto"></video>')
