"""Text results: /describe's four prompts and /shorten's three shorter prompts plus report.

Deterministic from their input, phrased like Midjourney's own output (keycap-digit bullets,
a trailing `--ar` on describe suggestions, a markdown token report on shorten).
"""
from __future__ import annotations

import hashlib
import random
import re

KEYCAPS = ["1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3"]

_STYLES = ["in the style of soft watercolor washes", "luminous matte painting",
           "minimalist vector illustration", "dreamy impressionist brushwork",
           "cinematic lighting, 35mm film grain", "studio ghibli inspired landscape",
           "atmospheric perspective, muted tones", "vibrant gouache on paper",
           "flat color poster art", "hazy golden hour light"]
_SUBJECTS = {
    "flowers": "a field of flowers rolling towards gentle hills",
    "water": "a calm sea under a glowing sun, light shimmering on the water",
    "mountains": "layered mountain ridges fading into the distance",
    "city": "a city skyline with lit windows against a dusky sky",
    "dunes": "sweeping sand dunes under a wide sky",
    "hills": "soft rolling hills beneath a luminous sky",
}
_FILLER = {"a", "an", "the", "of", "very", "really", "beautiful", "stunning", "amazing",
           "highly", "detailed", "ultra", "realistic", "hyper", "masterpiece", "best",
           "quality", "8k", "4k", "hd", "trending", "on", "artstation", "with", "and", "in",
           "award", "winning", "incredibly", "extremely", "intricate"}


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def describe(subject_text: str | None, motif: str, aspect: str, key: str) -> list[str]:
    """Four prompt suggestions for an image. `subject_text` is the prompt that made the image,
    when the image is one of ours; otherwise the motif of its palette stands in."""
    rnd = _rng("describe", key)
    subject = (subject_text or "").strip() or _SUBJECTS.get(motif, _SUBJECTS["hills"])
    styles = rnd.sample(_STYLES, 4)
    openers = ["", "a dreamy view of ", "an illustration of ", "a serene scene: "]
    return [f"{KEYCAPS[i]} {openers[i]}{subject}, {styles[i]} --ar {aspect}" for i in range(4)]


def shorten(prompt: str) -> tuple[list[str], str]:
    """Three shorter prompts and a markdown report of which tokens matter."""
    flags = " ".join(re.findall(r"(?:^|\s)(--\S+(?:\s+[^-\s]\S*)?)", prompt))
    text = re.sub(r"(?:^|\s)--\S+(?:\s+[^-\s]\S*)?", " ", prompt)
    words = re.findall(r"[\w'-]+", text)
    important = [w for w in words if w.lower() not in _FILLER] or words[:3] or ["image"]
    rnd = _rng("shorten", prompt)
    weights = {w: round(rnd.uniform(0.2, 1.0), 2) for w in important}
    ranked = sorted(important, key=lambda w: -weights[w])
    options = [important, [w for w in important if w in ranked[: max(2, len(ranked) * 2 // 3)]],
               [w for w in important if w in ranked[: max(1, len(ranked) // 2)]]]
    suffix = f" {flags}" if flags else ""
    content = [f"{KEYCAPS[i]} {' '.join(opt)}{suffix}" for i, opt in enumerate(options)]
    report = ["## Important tokens", " ".join(f"**{w}**" for w in ranked[:5]), "",
              "## Token weights", *[f"- {w}: {weights[w]}" for w in ranked],
              "", "## Removed", ", ".join(w for w in words if w not in important) or "(none)"]
    return content, "\n".join(report)
