"""The parsed prompt (`Prompt`, `Reference`) and its canonical form.

The canonical form is what is sent: parameters in the user's order with their short spellings,
values as the user wrote them where the service reads them (codes and URLs keep their case).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .table import SPECS, WORDS
from .values import format_number


@dataclass(frozen=True)
class Reference:
    """One `--sref` item: `kind` is "url", "code" or "random"; `weight` is its `::w`, if any."""

    kind: str
    value: str
    weight: float | None = None

    def __str__(self) -> str:
        return self.value if self.weight is None else f"{self.value}::{format_number(self.weight)}"


@dataclass(frozen=True)
class Prompt:
    """One Midjourney job, parsed.

    - `text`: the prose with whitespace collapsed; `::` multi-prompt weights are kept as written.
    - `image_prompts`: the leading image URLs.
    - `params`: long canonical names (no dashes) to typed values. Flags are True; `no` is a list
      of phrases; `sref` a list of `Reference`; `cref`, `edit` lists of URLs; `p` a list of codes
      (empty for a bare `--p`); `version` a label such as "6.1"; `niji` a label such as "6" or
      True for a bare `--niji`; `aspect` the reduced "W:H".
    - `warnings`: human-readable strings, same format as `PromptError` lines.
    - `context_version`: the version the caller supplied or assumed (used by `.version` when the
      prompt names none).

    Equality and hashing use `text`, `image_prompts` and `params` only: warnings such as
    "upper-case parameter name" rightly vanish once the prompt is in canonical form, and the
    caller's context is not part of the prompt. With that definition `parse_prompt(str(p)) == p`
    for every valid prompt, and `str()` is idempotent.
    """

    text: str
    image_prompts: tuple[str, ...] = ()
    params: dict = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    context_version: str | None = field(default=None, compare=False, repr=False)
    _canonical: str | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "image_prompts", tuple(self.image_prompts))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def __str__(self) -> str:
        if self._canonical is None:
            object.__setattr__(self, "_canonical", _render_prompt(self))
        return self._canonical

    @property
    def aspect_ratio(self) -> str | None:
        """The reduced "W:H" of `--ar`/`--aspect`, ready for the request's `aspect_ratio` field."""
        return self.params.get("aspect")

    @property
    def version(self) -> str | None:
        """The effective model: "7", "6.1", "niji 6", "niji" (default Niji), or None if unknown."""
        if "niji" in self.params:
            niji = self.params["niji"]
            return "niji" if niji is True else f"niji {niji}"
        if "version" in self.params:
            return self.params["version"]
        return self.context_version

    def without(self, *names: str) -> "Prompt":
        """A copy without the given parameters (e.g. `without("aspect")` once it is sent apart)."""
        params = {name: value for name, value in self.params.items() if name not in names}
        return replace(self, params=params)

    @property
    def jobs(self) -> int:
        """How many jobs this prompt runs: its `--repeat`, else 1."""
        return self.params.get("repeat", 1)


# --------------------------------------------------------------------------------------------
# Canonical form
# --------------------------------------------------------------------------------------------

def _render_prompt(prompt: Prompt) -> str:
    return render_parts(prompt.image_prompts, prompt.text, prompt.params)


def render_parts(images: tuple[str, ...], text: str, params: dict) -> str:
    parts = list(images)
    if text:
        parts.append(text)
    for name, value in params.items():
        parts.append(_render_parameter(name, value))
    return " ".join(parts)


def _render_parameter(name: str, value) -> str:
    spec = SPECS.get(name)
    flag = "--" + (spec.spelling or spec.name if spec else name)
    if value is True:
        return flag
    if spec is not None and spec.kind == WORDS:
        return f"{flag} {', '.join(value)}"
    if isinstance(value, (list, tuple)):
        return " ".join([flag] + [str(item) for item in value])
    if isinstance(value, (int, float)):
        return f"{flag} {format_number(value)}"
    return f"{flag} {value}"

