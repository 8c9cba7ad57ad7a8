"""What a job does, titled as the button that started it ("Upscale (U2)", "Zoom Out 1.5x").

Where a job stands is worded in `apiframe_magic.words`, the one vocabulary the live view, the
static twin and the terminal share.
"""
from __future__ import annotations

_ACTION_TITLES = {
    "imagine": "Imagine", "reroll": "Reroll", "blend": "Blend", "inpaint": "Vary (Region)",
    "upscale-highres": "Upscale", "faceswap": "Face swap", "describe": "Describe",
    "shorten": "Shorten", "seed": "Seed", "imagine-video": "Video",
    "imagine-video-extend": "Video extend",
}


def action_title(job) -> str:
    """What a job does, as its button said: "Upscale (U2)", "Pan left", "Zoom Out 1.5x"."""
    payload, kind = job.payload or {}, job.kind
    index = str(payload.get("index", ""))
    if kind == "upscale-1x":
        return f"Upscale (U{index})"
    if kind == "variations":
        return f"Vary ({index.title()})" if index in ("strong", "subtle") else f"Variations (V{index})"
    if kind == "upscale-alt":
        return f"Upscale ({str(payload.get('type', '')).title()})"
    if kind == "upscale-highres":
        return f"Upscale {payload.get('type', '')}".strip()
    if kind == "pan":
        return f"Pan {payload.get('direction', '')}".strip()
    if kind == "outpaint":
        ratio = payload.get("zoom_ratio")
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            return "Zoom Out"
        return "Make Square" if ratio == 1 else f"Zoom Out {ratio:g}x"
    return _ACTION_TITLES.get(kind, kind)
