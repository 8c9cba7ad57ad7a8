"""The few Midjourney flags the simulator must read from a prompt: --ar/--aspect, --sref, --seed.

Deliberately tiny and independent of `apiframe_magic.prompt`: the service itself only passes the
prompt through, and the simulator needs just enough to shape images and report `sref`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..settings import is_http_url

ASPECT_RE = re.compile(r"^(\d+):(\d+)$")
MAX_SEED = 4294967295


@dataclass
class PromptFlags:
    """What the simulator learned from a prompt. `problems` make the task fail like MJ would."""

    text: str = ""                      # the prompt without its --flags (drives palette and captions)
    aspect: str | None = None           # "W:H" from --ar/--aspect, if valid
    sref_mode: str | None = None        # None (no --sref), "random", "code" or "url"
    sref_code: str | None = None        # the numeric code when sref_mode == "code"
    seed: int | None = None             # --seed value
    problems: list[str] = field(default_factory=list)


def _normalise_dashes(prompt: str) -> str:
    """Midjourney and phones turn `--` into an em or en dash; treat them alike."""
    return re.sub(r"(^|\s)[\u2014\u2013](?=[A-Za-z])", r"\1--", prompt)


def parse_flags(prompt: str) -> PromptFlags:
    """Split `prompt` into text and the flags we care about; other flags are kept out of `text`."""
    tokens = _normalise_dashes(prompt or "").split()
    flags = PromptFlags()
    words: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or len(token) == 2:
            words.append(token)
            i += 1
            continue
        name = token[2:].lower()
        values = []
        i += 1
        while i < len(tokens) and not tokens[i].startswith("--"):
            values.append(tokens[i])
            i += 1
        _apply_flag(flags, name, values)
    flags.text = " ".join(w for w in words if not is_http_url(w))
    return flags


def _apply_flag(flags: PromptFlags, name: str, values: list[str]) -> None:
    if name in ("ar", "aspect"):
        value = values[0] if values else ""
        match = ASPECT_RE.match(value)
        if match and int(match.group(1)) > 0 and int(match.group(2)) > 0:
            flags.aspect = value
        else:
            flags.problems.append(f"Invalid aspect ratio: --{name} {value}".rstrip())
    elif name == "sref":
        _apply_sref(flags, values)
    elif name == "seed":
        value = values[0] if values else ""
        if value.isdigit() and int(value) <= MAX_SEED:
            flags.seed = int(value)
        else:
            flags.problems.append(f"Invalid seed: --seed {value}".rstrip())


def _apply_sref(flags: PromptFlags, values: list[str]) -> None:
    """`random` wins, then the first numeric code; URLs alone give no code to report."""
    bare = [v.split("::", 1)[0] for v in values]
    if any(v.lower() == "random" for v in bare):
        flags.sref_mode = "random"
    elif any(v.isdigit() for v in bare):
        flags.sref_mode = "code"
        flags.sref_code = next(v for v in bare if v.isdigit())
    elif bare:
        flags.sref_mode = "url"
    else:
        flags.problems.append("Invalid parameter: --sref needs a value")
