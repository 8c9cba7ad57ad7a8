"""What the panel's text means, apart from any widget: the check behind the Imagine button, the
parameters the controls show, and the image prompts typed beside the text.

Pure functions (no ipywidgets), so the rules can be read and tested on their own.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .. import submission
from ..prompt import PromptError, get_params
from ..settings import is_http_url
from ..submission import count

MODEL_PARAMS = ("version", "niji")   # one control: locking either locks both


@dataclass
class Check:
    """What validating the current form found: the jobs it makes, or why it cannot run."""

    prompts: list = field(default_factory=list)
    text: str = ""                        # what is submitted: the prompt with @style names as codes
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    image_prompts: list[str] = field(default_factory=list)
    empty: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and not self.empty and bool(self.prompts)

    @property
    def jobs(self) -> int:
        """Jobs the Imagine button starts: permutations times --repeat (`submission.count`)."""
        return count(self.prompts).jobs

    @property
    def credits(self) -> int:
        return count(self.prompts).credits


def check_prompt(text: str, *, version: str | None = None, store=None) -> Check:
    """Every problem of `text`, or the jobs it makes: the one check behind the panel's Imagine
    button and the Remix editor, by the magic's own rules (`submission.plan`)."""
    check = Check(empty=not text.strip())
    if check.empty:
        return check
    try:
        plan = submission.plan(text, default_version=version, yes=True,
                               store=store)      # --sref @name -> its code
    except PromptError as error:
        check.errors[:0] = [str(problem) for problem in error.problems]
    except ValueError as error:                  # also an unknown @style name
        check.errors.insert(0, str(error))
    else:
        check.prompts, check.text = plan.prompts, plan.text
        check.warnings = once(plan.warnings) if len(plan.prompts) > 1 else plan.warnings
    return check


def common_params(prompts: list, text: str) -> tuple[dict, set[str]]:
    """Parameters every job agrees on, and the set the controls must not edit: those that vary
    between permutation jobs or that the text writes inside `{…}`."""
    first, rest = prompts[0].params, prompts[1:]
    names = set(first).union(*(p.params for p in rest))
    values, locked = {}, set()
    written = get_params(text) if len(prompts) > 1 else None
    for name in names:
        seen = [p.params.get(name) for p in prompts]
        if all(v == seen[0] for v in seen):
            if seen[0] is not None:
                values[name] = seen[0]
        else:
            locked.add(name)
        if written is not None and name not in written:
            locked.add(name)                     # written only inside a {…} option
    if locked & set(MODEL_PARAMS):
        locked.update(MODEL_PARAMS)
    return values, locked


_POSITION_RE = re.compile(r" at character \d+")


def once(warnings: list[str]) -> list[str]:
    """Permutation jobs repeat a warning at positions of their own text, not of the typed one:
    show it once, without the position."""
    return list(dict.fromkeys(_POSITION_RE.sub("", warning) for warning in warnings))


def written(text: str, name: str) -> str:
    """The value of parameter `name` as the text writes it ("" when absent or only in braces)."""
    value = get_params(text).get(name, "")
    return value if isinstance(value, str) else ""


def image_prompt_items(text: str) -> tuple[list[str], list[str]]:
    """The image prompts typed in the box, and what is wrong with them."""
    try:
        items = shlex.split(text)
    except ValueError as error:
        return [], [f"image prompts: {error}; close the quote around a path with spaces"]
    errors = []
    for item in items:
        if is_http_url(item):
            continue
        if not Path(item).expanduser().is_file():
            errors.append(f"image prompt {item}: not a URL and no such file; give an https:// "
                          "URL or the path of an image file")
    return [i if is_http_url(i) else str(Path(i).expanduser()) for i in items], errors
