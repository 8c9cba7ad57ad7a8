"""What each action costs, in APIFRAME credits: the one table the CLI, the magic and the simulator share.

Source: APIFRAME's "Image credits" page (spec/apiframe-v1.md §3.4). Kinds are the endpoint names
without the slash, as `JobManager.submit` uses them. Fetches and `/account` are free. The two video
actions are not on the credits page; they are priced here as two grids (8), which is what the
simulator charges, and listed in `UNDOCUMENTED` so a caller can say the figure is an estimate.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

COSTS: dict[str, int] = {
    "imagine": 4, "blend": 4, "reroll": 4,
    "variations": 4, "outpaint": 4, "inpaint": 4, "pan": 4,
    "describe": 2, "shorten": 2, "seed": 2, "upscale-1x": 2,
    "faceswap": 2,
    "upscale-alt": 4,                  # subtle or creative
    "upscale-highres": 1,              # 2x; 4x is HIGHRES_COSTS["4x"]
    "imagine-video": 8, "imagine-video-extend": 8,
}
HIGHRES_COSTS: dict[str, int] = {"2x": 1, "4x": 2}
UNDOCUMENTED = frozenset({"imagine-video", "imagine-video-extend"})


def credits_for(kind: str, payload: Mapping[str, Any] | None = None) -> int:
    """Credits one `kind` task costs; `payload` matters only for upscale-highres (`type` 2x/4x).

    Accepts "/imagine" as well as "imagine". Raises ValueError for a kind with no known price.
    """
    name = str(kind).strip().lstrip("/").lower()
    if name == "upscale-highres":
        scale = str((payload or {}).get("type") or "2x").strip().lower()
        if scale not in HIGHRES_COSTS:
            raise ValueError(f"upscale-highres type must be 2x or 4x, got {scale!r}")
        return HIGHRES_COSTS[scale]
    try:
        return COSTS[name]
    except KeyError:
        raise ValueError(f"no known credit cost for {kind!r}; known: {', '.join(COSTS)}") from None


def estimate(kinds_and_payloads: Iterable[str | tuple[str, Mapping[str, Any] | None]]) -> int:
    """Total credits for several tasks: each item is a kind or a (kind, payload) pair."""
    total = 0
    for item in kinds_and_payloads:
        kind, payload = (item, None) if isinstance(item, str) else item
        total += credits_for(kind, payload)
    return total
