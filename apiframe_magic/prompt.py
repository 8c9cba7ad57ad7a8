"""Midjourney prompt language: permutation expansion, parsing and validation.

Pure Python, standard library only, no I/O and no IPython: it runs on every keystroke in the panel,
so tables and regexes are built once at import and the common path avoids anything heavier than a
string method. The rules come from shared/spec/prompt-syntax.md.

The policy in one line: reject what Midjourney certainly rejects (plus what the spec asks us to
reject as policy), warn where the outcome depends on a model version we cannot see, and never reject
a prompt Midjourney would accept.

    >>> p = parse_prompt("a red fox in the snow --ar 1920:1080 --s 250")
    >>> p.aspect_ratio, p.params["stylize"], str(p)
    ('16:9', 250, 'a red fox in the snow --ar 16:9 --s 250')
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from itertools import product
from math import gcd, isfinite
from typing import Callable, Iterable

__all__ = [
    "Prompt", "PromptError", "PromptProblem", "Reference",
    "parse_prompt", "expand_permutations", "validate", "count_permutations",
    "MAX_PROMPT_CHARS", "DEFAULT_MAX_JOBS",
]

MAX_PROMPT_CHARS = 6000       # Discord's cap on the /imagine string option [DISC]
DEFAULT_MAX_JOBS = 40         # older docs: "a maximum of 40 jobs" per permutation prompt
MAX_BRACE_DEPTH = 32          # far beyond any real prompt; keeps recursion bounded
MAX_NUMBER_DIGITS = 30        # longer digit strings are out of range anyway (and int() has limits)

# When neither the prompt nor the caller names a version, version rules are checked against the
# models an account default has plausibly been set to lately, and only ever warn.
PLAUSIBLE_DEFAULT_VERSIONS = ("6.1", "7", "8.1")

KNOWN_VERSIONS = frozenset({"1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8.1", "8.2"})
KNOWN_NIJI_VERSIONS = frozenset({"4", "5", "6", "7"})
QUALITY_VALUES_ANY = (0.25, 0.5, 1.0, 2.0, 4.0)
STYLE_KEYWORDS = frozenset({
    "raw", "cute", "expressive", "original", "scenic", "4a", "4b", "4c",
    "random", "random-16", "random-32", "random-64", "random-128",
})
IMAGE_EXTENSIONS = frozenset({"png", "gif", "jpg", "jpeg", "webp"})


# --------------------------------------------------------------------------------------------
# Problems and the error
# --------------------------------------------------------------------------------------------

def _clip(token: str, limit: int = 60) -> str:
    """Keep messages one readable line even when a token is a whole paragraph."""
    return token if len(token) <= limit else token[: limit - 1] + "…"


@dataclass(frozen=True)
class PromptProblem:
    """One thing wrong with a prompt.

    `position` is a 0-based character offset into the text that was parsed (for `validate`, into
    that permutation job, numbered by `job` from 1), or None when the problem is not in the text.
    """

    message: str
    token: str = ""
    position: int | None = None
    hint: str = ""
    job: int | None = None

    def __str__(self) -> str:
        where = f"at character {self.position}" if self.position is not None else ""
        subject = " ".join(part for part in (_clip(self.token), where) if part)
        line = f"{subject}: {self.message}" if subject else self.message
        if self.hint:
            line += f"; {self.hint}"
        return f"job {self.job}: {line}" if self.job is not None else line


class PromptError(ValueError):
    """A prompt Midjourney would reject. `problems` lists every problem found, in prompt order.

    `str(err)` has one line per problem, so its first line stands alone as a one-line message.
    """

    def __init__(self, problems: Iterable[PromptProblem] | str):
        if isinstance(problems, str):
            problems = [PromptProblem(problems)]
        self.problems: list[PromptProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self):
        return (type(self), (self.problems,))


def _problem_order(problem: PromptProblem) -> tuple:
    return (problem.job or 0, -1 if problem.position is None else problem.position)


# --------------------------------------------------------------------------------------------
# The parsed prompt
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    """One `--sref` item: `kind` is "url", "code" or "random"; `weight` is its `::w`, if any."""

    kind: str
    value: str
    weight: float | None = None

    def __str__(self) -> str:
        return self.value if self.weight is None else f"{self.value}::{_format_number(self.weight)}"


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


# --------------------------------------------------------------------------------------------
# Parameter table
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    """How one parameter is read: `kind` picks arity and converter; `low`/`high` is the widest
    range any version accepts; `spelling` is how the canonical prompt writes it."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    spelling: str = ""


_FLAG, _INT, _FLOAT, _ASPECT, _VERSION, _NIJI, _KEYWORD = (
    "flag", "int", "float", "aspect", "version", "niji", "keyword")
_WORDS, _REFS, _URLS, _URL, _CODES, _OPTINT = "words", "refs", "urls", "url", "codes", "optint"
_LIST_KINDS = frozenset({_WORDS, _REFS, _URLS, _CODES})
_OPTIONAL_KINDS = frozenset({_NIJI, _OPTINT})

_SPECS_LIST = [
    _Spec("aspect", _ASPECT, ("ar",), spelling="ar"),
    _Spec("chaos", _INT, ("c",), 0, 100, spelling="c"),
    _Spec("quality", _FLOAT, ("q",), 0.25, 4, spelling="q"),
    _Spec("stylize", _INT, ("s",), 0, 1000, spelling="s"),
    _Spec("weird", _INT, ("w",), 0, 3000, spelling="weird"),
    _Spec("seed", _INT, (), 0, 4294967295),
    _Spec("stop", _INT, (), 10, 100),
    _Spec("repeat", _INT, ("r",), 1, 40, spelling="r"),
    _Spec("version", _VERSION, ("v",), spelling="v"),
    _Spec("niji", _NIJI),
    _Spec("style", _KEYWORD),
    _Spec("no", _WORDS),
    _Spec("iw", _FLOAT, (), 0, 3),
    _Spec("sref", _REFS),
    _Spec("sw", _INT, (), 0, 1000),
    _Spec("sv", _INT, (), 1, 7),
    _Spec("cref", _URLS),
    _Spec("cw", _INT, (), 0, 100),
    _Spec("oref", _URL),
    _Spec("ow", _INT, (), 0, 1000),
    _Spec("p", _CODES, ("profile", "personalize"), spelling="p"),
    _Spec("exp", _INT, (), 0, 100),
    _Spec("edit", _URLS, (), 1, 4),
    _Spec("sameseed", _OPTINT, (), 0, 4294967295),
    _Spec("motion", _KEYWORD),
    _Spec("bs", _INT, (), 1, 4),
] + [_Spec(name, _FLAG) for name in (
    "tile", "raw", "draft", "relax", "fast", "turbo", "hd", "video", "preview", "loop",
    "test", "testp", "creative", "uplight", "upbeta")]

_SPECS: dict[str, _Spec] = {spec.name: spec for spec in _SPECS_LIST}
_ALIASES: dict[str, _Spec] = {}
for _spec in _SPECS_LIST:
    for _name in (_spec.name, *_spec.aliases):
        _ALIASES[_name] = _spec

_DEPRECATED = {
    "width": "use --ar W:H instead", "height": "use --ar W:H instead", "h": "use --ar W:H instead",
    "hq": "use --q", "vibe": "remove it", "upanime": "remove it", "newclip": "remove it",
    "nostretch": "remove it", "old": "remove it",
}
_KNOWN_NAMES = frozenset(_ALIASES) | frozenset(_DEPRECATED)
_SUGGESTABLE = sorted(_ALIASES)
_NAMES_LONGEST_FIRST = sorted(_ALIASES, key=len, reverse=True)
_SPEED_FLAGS = ("relax", "fast", "turbo")
_KEYWORD_VALUES = {"style": None, "motion": frozenset({"low", "high"})}


# --------------------------------------------------------------------------------------------
# Regexes and small value helpers
# --------------------------------------------------------------------------------------------

_HEAD_RE = re.compile(r"(--|—|[–−]{1,2}|-[–−]|[–−]-)([^\W\d_]*)(.*)\Z", re.S)
_GLUED_RE = re.compile(r"(--|—)([A-Za-z]+)\Z")
_URL_RE = re.compile(r"https?://\S", re.I)
_INT_RE = re.compile(r"[0-9]+\Z")
_FLOAT_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)\Z")
_SIGNED_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_ASPECT_RE = re.compile(r"([0-9]+):([0-9]+)\Z")
_DECIMAL_ASPECT_RE = re.compile(r"([0-9]*\.?[0-9]*):([0-9]*\.?[0-9]*)\Z")
_VERSION_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?\Z")
_WEIGHTED_RE = re.compile(r"(.+?)::(-?(?:[0-9]+\.?[0-9]*|\.[0-9]+))\Z", re.S)
_CODE_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
_MOODBOARD_RE = re.compile(r"m[0-9]+\Z")
_KEYWORD_RE = re.compile(r"[A-Za-z0-9-]+\Z")
_VERSION_LABEL_RE = re.compile(
    r"\s*(?:-{1,2}|—)?\s*(niji|version|v)?\s*([0-9]+(?:\.[0-9]+)?)?\s*\Z", re.I)
_TRAILING_PUNCTUATION = ".,;:!?"
_DASH_STARTS = frozenset("-—–−")


def _format_number(value: float) -> str:
    """Shortest decimal that reads back as the same float, never in exponent form: "0.5" -> ".5"
    like the docs write it, "2.0" -> "2"."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _closest(value: float, allowed: tuple[float, ...]) -> float:
    """The allowed value Midjourney rounds to; ties go up (`--q 3` becomes 4 on V7)."""
    return min(allowed, key=lambda candidate: (abs(candidate - value), -candidate))


def _strip_trailing_punctuation(raw: str) -> str:
    return raw.rstrip(_TRAILING_PUNCTUATION)


def _is_url(token: str) -> bool:
    return _URL_RE.match(token) is not None


def _range_text(low: float, high: float) -> str:
    return f"{_format_plain(low)}–{_format_plain(high)}"


def _between(low: float, high: float) -> str:
    return f"use a value between {_format_plain(low)} and {_format_plain(high)}"


def _format_plain(value: float) -> str:
    """Numbers for humans in messages: 0.25 rather than .25."""
    text = _format_number(value)
    return "0" + text if text.startswith(".") else text


def _reduce_ratio(width: int, height: int) -> str:
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Version:
    """An effective model: family "v" or "niji", number (None for a bare `--niji`)."""

    family: str
    number: float | None
    label: str

    @property
    def flag(self) -> str:
        """How Midjourney names it in its own errors: "--version 7", "--niji 6"."""
        if self.family == "niji":
            return "--niji" if self.number is None else f"--niji {self.label.split()[-1]}"
        return f"--version {self.label}"


def _normalise_version_number(major: str, minor: str | None) -> str:
    """"6.0" -> "6", "06.10" -> "6.1": one spelling per version so round trips are exact."""
    major = major.lstrip("0") or "0"
    minor = (minor or "").rstrip("0")
    return f"{major}.{minor}" if minor else major


def _version_from_label(label: str) -> _Version:
    """Read a caller-supplied label: "7", "v6.1", "--v 6", "niji 6", "niji"."""
    match = _VERSION_LABEL_RE.match(label) if isinstance(label, str) else None
    family = (match.group(1) or "v").lower() if match else ""
    number = match.group(2) if match else None
    if not match or (family != "niji" and number is None) or (number and len(number) > 12):
        raise PromptError([PromptProblem(
            f"version {label!r} is not a Midjourney version",
            hint='use e.g. "7", "6.1" or "niji 6"')])
    family = "niji" if family == "niji" else "v"
    if number is None:
        return _Version("niji", None, "niji")
    major, _, minor = number.partition(".")
    text = _normalise_version_number(major, minor or None)
    return _Version(family, float(text), f"niji {text}" if family == "niji" else text)


_VERSION_CACHE: dict[str, _Version] = {}


def _cached_version(label) -> _Version:
    """`_version_from_label` for the few labels a session sees, without re-running the regex."""
    if isinstance(label, str) and label in _VERSION_CACHE:
        return _VERSION_CACHE[label]
    version = _version_from_label(label)
    if len(_VERSION_CACHE) < 256:
        _VERSION_CACHE[label] = version
    return version


_PLAUSIBLE_DEFAULTS = tuple(_version_from_label(label) for label in PLAUSIBLE_DEFAULT_VERSIONS)

# A version rule answers, for one version: None (fine), or (verdict, reason) where verdict is
# "no" (Midjourney rejects it) or "maybe" (unverified: worth a warning, never an error).


def _rule_cref(version: _Version):
    ok = (6 <= version.number < 7) if version.family == "v" else version.number == 6
    if version.family == "niji" and version.number is None:
        return ("maybe", f"may not be compatible with {version.flag}")
    return None if ok else ("no", f"is not compatible with {version.flag}")


def _rule_oref(version: _Version):
    ok = version.family == "v" and 7 <= version.number < 8
    return None if ok else ("no", f"is not compatible with {version.flag}")


def _rule_v7_plus(version: _Version):
    if version.family == "v":
        return None if version.number >= 7 else ("no", f"is not compatible with {version.flag}")
    if version.number is None or version.number >= 7:
        return ("maybe", f"may not be compatible with {version.flag}")
    return ("no", f"is not compatible with {version.flag}")


def _rule_v6_plus(version: _Version):
    if version.number is None:
        return None
    return None if version.number >= 6 else ("no", f"is not compatible with {version.flag}")


def _rule_v8_plus(version: _Version):
    ok = version.family == "v" and version.number >= 8
    return None if ok else ("no", f"is not compatible with {version.flag}")


def _rule_multi_prompt(version: _Version):
    if version.family == "v":
        if version.number < 7:
            return None
        return ("no", f"multi-prompts (::) are not supported by {version.flag}")
    if version.number is None or version.number >= 7:
        return ("maybe", f"multi-prompts (::) may not be supported by {version.flag}")
    return None


def _quality_values(version: _Version) -> tuple[tuple[float, ...], bool]:
    """The `--q` values a version knows, and whether its lower bound is unverified (V7 .5)."""
    number = version.number
    if version.family == "niji":
        return ((0.25, 0.5, 1.0), False) if number in (5, 6) else (QUALITY_VALUES_ANY, False)
    if number is None or number < 5 or number >= 8:
        return QUALITY_VALUES_ANY, False
    if number < 6.1:
        return (0.25, 0.5, 1.0), False
    if number < 7:
        return (0.25, 0.5, 1.0, 2.0), False
    return (1.0, 2.0, 4.0), True


def _rule_quality(value: float):
    def rule(version: _Version):
        allowed, low_unverified = _quality_values(version)
        if allowed[0] <= value <= allowed[-1]:
            return None
        reason = f"is out of range {_range_text(allowed[0], allowed[-1])} for {version.flag}"
        return ("maybe" if value < allowed[0] and low_unverified else "no", reason)
    return rule


def _rule_range(value: float, bounds: Callable[[_Version], tuple[float, float, str] | None]):
    """A numeric range that depends on the version; `bounds` gives (low, high, verdict)."""
    def rule(version: _Version):
        found = bounds(version)
        if found is None or found[0] <= value <= found[1]:
            return None
        low, high, verdict = found
        return (verdict, f"is out of range {_range_text(low, high)} for {version.flag}")
    return rule


def _iw_bounds(version: _Version):
    number = version.number
    if version.family == "niji":
        return (0, 2, "no") if number == 7 else (0, 2, "maybe")
    return (0, 2, "no") if 5 <= number < 6 else (0, 2, "maybe") if number < 5 else (0, 3, "no")


def _sv_bounds(version: _Version):
    number = version.number
    if version.family == "niji":
        if number == 6:
            return (1, 4, "no")
        return (1, 4, "maybe") if number is None or number > 6 else None
    if number < 6:
        return None
    return (1, 4, "no") if number < 7 else (1, 6, "no") if number < 8 else (1, 7, "no")


# --------------------------------------------------------------------------------------------
# Permutations
# --------------------------------------------------------------------------------------------

class _Group(list):
    """A `{…}` group: a list of options, each option a list of parts (str or _Group)."""

    __slots__ = ("position",)


_BRACE_MARK_RE = re.compile(r"\\,|[{},]")


def _brace_tree(text: str) -> tuple[list, list[PromptProblem]]:
    """Parse `{a, b}` groups (nested, with `\\,` escapes) into a tree, collecting every
    unbalanced brace instead of stopping at the first. Jumps from mark to mark, so plain text
    costs one regex scan."""
    root: list = []
    stack: list[tuple[_Group, list]] = []
    current, buffer, problems, last = root, [], [], 0
    for match in _BRACE_MARK_RE.finditer(text):
        mark, index = match.group(), match.start()
        buffer.append(text[last:index])
        last = match.end()
        if not stack and mark != "{":
            if mark == "}":
                problems.append(PromptProblem(
                    "unbalanced brace: this } has no matching {", "}", index,
                    "remove it or add the missing {"))
            buffer.append(mark)
        elif mark == "\\,":           # "pastel \\, yellow" -> "pastel, yellow"
            buffer = ["".join(buffer).rstrip(" "), ","]
        elif mark == "{":
            if len(stack) >= MAX_BRACE_DEPTH:
                raise PromptError([PromptProblem(
                    f"braces nested more than {MAX_BRACE_DEPTH} deep", "{", index,
                    "flatten the permutation")])
            current.append("".join(buffer))
            group, option = _Group(), []
            group.position = index
            group.append(option)
            current.append(group)
            stack.append((group, current))
            current, buffer = option, []
        elif mark == ",":
            current.append("".join(buffer))
            option = []
            stack[-1][0].append(option)
            current, buffer = option, []
        else:
            current.append("".join(buffer))
            _group, current = stack.pop()
            buffer = []
    buffer.append(text[last:])
    current.append("".join(buffer))
    for group, _parent in stack:
        problems.append(PromptProblem(
            "unbalanced brace: this { is never closed", "{", group.position,
            "add the missing } or remove the {"))
    return root, problems


def _count_sequence(parts: list) -> int:
    total = 1
    for part in parts:
        if isinstance(part, _Group):
            total *= sum(_count_sequence(option) for option in part)
    return total


def _expand_sequence(parts: list) -> list[str]:
    """Every string the parts produce, leftmost group varying slowest (like itertools.product)."""
    choices = []
    for part in parts:
        if isinstance(part, _Group):
            choices.append([text for option in part for text in _expand_option(option)])
        else:
            choices.append([part])
    return ["".join(combination) for combination in product(*choices)]


def _expand_option(option: list) -> list[str]:
    """An option is trimmed of surrounding spaces, as Midjourney does."""
    return [text.strip() for text in _expand_sequence(option)]


_SPACES_RE = re.compile(r"[ \t]{2,}")


def _tidy(job: str) -> str:
    """Collapse the double spaces left by empty or trimmed options."""
    return _SPACES_RE.sub(" ", job).strip()


def _first_brace(tree: list) -> int:
    for part in tree:
        if isinstance(part, _Group):
            return part.position
    return 0


def count_permutations(text: str) -> int:
    """How many jobs `text` makes, without building them. Raises PromptError on bad braces."""
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    if "{" not in text and "}" not in text:
        return 1
    tree, problems = _brace_tree(text)
    if problems:
        raise PromptError(problems)
    return _count_sequence(tree)


def expand_permutations(text: str, *, max_jobs: int = DEFAULT_MAX_JOBS) -> list[str]:
    """Expand `{a, b}` permutations into one prompt per job.

    Nested groups, `\\,` escapes and groups that produce parameters (`--{v 6.1, niji 6}`) work,
    since expansion happens before parameters are read. The number of jobs is counted before
    anything is built; more than `max_jobs` raises PromptError, as do unbalanced braces. A
    prompt without braces comes back unchanged, so error positions still match what was typed.
    """
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    if "{" not in text and "}" not in text:
        return [text]
    tree, problems = _brace_tree(text)
    if problems:
        raise PromptError(problems)
    jobs = _count_sequence(tree)
    if jobs > max_jobs:
        raise PromptError([PromptProblem(
            f"the permutations make {jobs} jobs; the limit is {max_jobs}", "{",
            _first_brace(tree), "remove options or split the prompt")])
    return [_tidy(job) for job in _expand_sequence(tree)]


# --------------------------------------------------------------------------------------------
# Tokens and parameter heads
# --------------------------------------------------------------------------------------------

@dataclass
class _Head:
    """Where a parameter starts: `raw` as written (for messages), `name` lower-cased without
    dashes, `index` its token, `next` the token after the head, `dash` "" or the kind of dash
    problem, `glued` a value written without a space ("--ar16:9")."""

    raw: str
    name: str
    index: int
    next: int
    dash: str = ""
    glued: str = ""


# Cheap whole-text screens, so the per-token work only runs on prompts that need it.
_GLUED_SCREEN_RE = re.compile(r"[^\s—–−-](?:--|—)[A-Za-z]")
_SINGLE_DASH_SCREEN_RE = re.compile(r"(?:^|\s)(?:-[A-Za-z]|—\s)")
_SMART_QUOTE_SCREEN_RE = re.compile("[“”„‟]")


def _tokenize(text: str) -> list[str]:
    """Whitespace tokens (str.split and the regex \\s agree on Unicode whitespace). A parameter
    glued to a number or punctuation ("::7—ar") is split off, as Midjourney accepts that."""
    tokens = text.split()
    if not _GLUED_SCREEN_RE.search(text):
        return tokens
    split: list[str] = []
    for token in tokens:
        cut = 0 if _is_url(token) else _glued_parameter_cut(token)
        split.extend((token[:cut], token[cut:]) if cut else (token,))
    return split


def _token_offsets(text: str, tokens: list[str]) -> list[int]:
    """Character offset of every token; only computed when a problem needs a position."""
    offsets, position = [], 0
    for token in tokens:
        position = text.find(token, position)
        offsets.append(position)
        position += len(token)
    return offsets


def _glued_parameter_cut(token: str) -> int:
    """Index where a known parameter glued to non-letters begins, or 0."""
    match = _GLUED_RE.search(token)
    if not match or match.start() == 0 or match.group(2).lower() not in _KNOWN_NAMES:
        return 0
    before = token[match.start() - 1]
    return 0 if before.isalpha() or before in _DASH_STARTS else match.start()


def _read_heads(tokens: list[str]) -> list[_Head | None]:
    heads: list[_Head | None] = [None] * len(tokens)
    for index in [i for i, token in enumerate(tokens) if token[0] in _DASH_STARTS]:
        heads[index] = _read_head(tokens, index)
    return heads


def _read_head(tokens: list[str], index: int) -> _Head | None:
    """A parameter head at `index`, or None when the token is ordinary text."""
    token = tokens[index]
    match = _HEAD_RE.match(token)
    if match is None:
        return None
    dash, letters, rest = match.groups()
    name = letters.lower()
    if dash in ("--", "—"):
        if letters:
            if name in _KNOWN_NAMES and rest:
                return _Head(dash + letters, name, index, index + 1, glued=rest)
            return _Head(token, (letters + rest).lower(), index, index + 1)
        if dash == "--" and not rest:
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following.lower() in _KNOWN_NAMES:
                return _Head(f"-- {following}", following.lower(), index, index + 2,
                             dash="spaced")
            return _Head("--", "", index, index + 1)     # a lone "--": reported, not text
        return None
    if name in _KNOWN_NAMES:
        return _Head(dash + letters, name, index, index + 1, dash="endash", glued=rest)
    return None


def _is_flag(name: str) -> bool:
    spec = _ALIASES.get(name)
    return spec is not None and spec.kind == _FLAG


def _is_numberish(token: str) -> bool:
    return token[0] in "0123456789."


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------

# A value is (text, where): `where` is its token index, or (token index, offset) for a value
# glued to its parameter name. Positions are resolved only when a problem is reported.


class _Parser:
    """One pass over one prompt: split it, read each parameter, then check the rules that
    span parameters. Problems are collected, never raised early."""

    def __init__(self, text: str, version: str | None, default_version: str | None):
        self.source = text
        self.errors: list[PromptProblem] = []
        self.warnings: list[PromptProblem] = []
        self.params: dict = {}
        self.where: dict[str, tuple[_Head, list]] = {}    # canonical name -> (head, values)
        self.caller_version = _cached_version(version) if version is not None else None
        self.default_version = (
            _cached_version(default_version) if default_version is not None else None)
        self.tokens = _tokenize(text)
        self.heads = _read_heads(self.tokens)
        self.offsets: list[int] | None = None

    # -- positions and reporting ------------------------------------------------------------
    def pos(self, index: int) -> int:
        if self.offsets is None:
            self.offsets = _token_offsets(self.source, self.tokens)
        return self.offsets[index] if index < len(self.offsets) else len(self.source)

    def at(self, where) -> int:
        return self.pos(where[0]) + where[1] if isinstance(where, tuple) else self.pos(where)

    def place(self, name: str) -> tuple[str, int]:
        """(token as written, position) of a parameter already read."""
        head, values = self.where[name]
        return " ".join([head.raw] + [text for text, _ in values]), self.pos(head.index)

    def error(self, message: str, token: str, position: int | None, hint: str = "") -> None:
        self.errors.append(PromptProblem(message, token, position, hint))

    def warn(self, message: str, token: str, position: int | None, hint: str = "") -> None:
        self.warnings.append(PromptProblem(message, token, position, hint))

    # -- the pass -----------------------------------------------------------------------
    def run(self) -> Prompt:
        self.check_braces()
        heads, tokens = self.heads, self.tokens
        first_head = next((i for i, head in enumerate(heads) if head), len(tokens))
        image_end = self.leading_images(first_head)
        self.text_start, self.text_end = image_end, first_head
        self.images = tuple(tokens[:image_end])
        self.text = " ".join(tokens[image_end:first_head])
        self.read_parameters(first_head)
        self.check_text()
        if self.images:
            self.check_images()
        if self.where:
            self.check_combinations()
            self.check_versions()
        elif "::" in self.text:
            self.check_versions()
        canonical = _render_parts(self.images, self.text, self.params)
        self.check_length(canonical)
        if self.errors:
            raise PromptError(sorted(self.errors, key=_problem_order))
        warnings = (tuple(str(w) for w in sorted(self.warnings, key=_problem_order))
                    if self.warnings else ())
        prompt = Prompt(self.text, self.images, self.params, warnings,
                        self.effective_version_label())
        object.__setattr__(prompt, "_canonical", canonical)
        return prompt

    def check_braces(self) -> None:
        if "{" not in self.source and "}" not in self.source:
            return
        try:
            _tree, problems = _brace_tree(self.source)
        except PromptError as too_deep:
            problems = too_deep.problems
        self.errors.extend(problems)
        if not problems:
            position = self.source.index("{") if "{" in self.source else None
            self.error("{…} permutations make several jobs, not one prompt", "{", position,
                       "expand them first with validate() or expand_permutations()")

    def leading_images(self, stop: int) -> int:
        index = 0
        while index < stop and _is_url(self.tokens[index]):
            index += 1
        return index

    # -- parameters -----------------------------------------------------------------------
    def read_parameters(self, index: int) -> None:
        previous: _Head | None = None
        while index < len(self.tokens):
            head = self.heads[index]
            if head is None:
                index = self.leftover_words(index, previous)
                continue
            values, index = self.take_values(head)
            self.add_parameter(head, values)
            previous = head

    def take_values(self, head: _Head) -> tuple[list, int]:
        """The value tokens that belong to `head`, by the arity of its kind."""
        spec = _ALIASES.get(head.name)
        values = []
        if head.glued:      # "--ar=16:9" reads the value as 16:9 (after the spacing error)
            value = head.glued.lstrip("=:")
            offset = len(head.raw) + len(head.glued) - len(value)
            values = [(value, (head.index, offset))] if value else []
        index, tokens, heads = head.next, self.tokens, self.heads
        kind = spec.kind if spec else None
        if kind is None or kind in _LIST_KINDS:
            while index < len(tokens) and heads[index] is None:
                values.append((tokens[index], index))
                index += 1
        elif kind == _FLAG:
            pass
        elif not values and index < len(tokens) and heads[index] is None:
            if kind not in _OPTIONAL_KINDS or _is_numberish(tokens[index]):
                values.append((tokens[index], index))
                index += 1
        return values, index

    def leftover_words(self, index: int, previous: _Head | None) -> int:
        """Words after a parameter's value: Midjourney calls them unrecognized parameters."""
        end = index
        while end < len(self.tokens) and self.heads[end] is None:
            end += 1
        words = " ".join(self.tokens[index:end])
        hint = "move these words before the first --"
        if previous is not None and previous.name == "oref":
            hint = "--oref takes exactly one image; remove the others"
        elif previous is not None and _is_flag(previous.name):
            hint = f"--{previous.name} takes no value; " + hint
        self.error("words after the parameters", words, self.pos(index), hint)
        return end

    def add_parameter(self, head: _Head, values: list) -> None:
        token = " ".join([head.raw] + [text for text, _ in values]) if values else head.raw
        if head.dash or head.glued or not head.raw.islower():
            self.check_head_spelling(head)
        if head.name in _DEPRECATED:
            self.error(f"--{head.name} is deprecated and no longer accepted", token,
                       self.pos(head.index), _DEPRECATED[head.name])
            return
        spec = _ALIASES.get(head.name)
        if spec is None and not head.name:
            self.error("-- without a parameter name", token, self.pos(head.index),
                       "remove it, or write the name right after the dashes, e.g. --ar")
            return
        if spec is None:
            self.error(f"unknown parameter --{head.name}", token, self.pos(head.index),
                       _suggest(head.name))
            return
        if spec.name in self.where:
            self.duplicate(spec, token, head, values)
            return
        value = _CONVERTERS[spec.kind](self, spec, head, values, token)
        self.where[spec.name] = (head, values)
        if value is not _INVALID:
            self.params[spec.name] = value

    def check_head_spelling(self, head: _Head) -> None:
        name, position = head.name, self.pos(head.index)
        if head.dash == "endash":
            self.error("an en-dash or minus sign is not a parameter dash", head.raw,
                       position, f"use --{name}")
        elif head.dash == "spaced":
            self.error("space after --", head.raw, position, f"write --{name}")
        elif head.glued and name in _ALIASES and not _is_flag(name):
            value = head.glued.lstrip("=:-")
            self.error(f"no space between --{name} and its value", head.raw + head.glued,
                       position, f"write --{name} {value}".rstrip())
        letters = head.raw.lstrip("-—–− ")
        if letters != letters.lower() and name in _KNOWN_NAMES:
            self.warn("parameter names are lower-case", head.raw, position, f"read as --{name}")

    def duplicate(self, spec: _Spec, token: str, head: _Head, values) -> None:
        first_token, first_position = self.place(spec.name)
        hint = f"keep one (the first is {_clip(first_token, 40)} at character {first_position})"
        if spec.name == "no":
            merged = ", ".join(self.params.get("no", []) + _split_phrases(values))
            hint = f"use --no {merged}"
        elif spec.kind in _LIST_KINDS:
            hint = f"list every item after a single --{spec.name}"
        self.error(f"--{spec.name} given twice", token, self.pos(head.index), hint)

    # -- text, images and cross-parameter rules ---------------------------------------------
    def check_text(self) -> None:
        if self.text:
            if _SMART_QUOTE_SCREEN_RE.search(self.text):
                self.check_smart_quotes()
            if "::" in self.text:
                self.check_multi_prompt_weights()
            if _SINGLE_DASH_SCREEN_RE.search(self.text):
                self.check_single_dash_lookalikes()
            return
        token = self.tokens[0] if self.tokens else ""
        position = self.pos(0) if self.tokens else 0
        if not self.images:
            self.error("the prompt has no text", token, position,
                       "write what you want to see before the parameters")
        elif len(self.images) == 1:
            self.error("a single image prompt needs text or a second image", token, position,
                       "add a description after the image URL")
        for name in ("sref", "cref", "oref"):
            if name in self.where:
                self.error(f"--{name} needs prompt text", *self.place(name),
                           "add a description of the image")

    def text_tokens(self):
        for index in range(self.text_start, self.text_end):
            yield index, self.tokens[index]

    def text_position(self, needle: str) -> int | None:
        for index, token in self.text_tokens():
            found = token.find(needle)
            if found >= 0:
                return self.pos(index) + found
        return None

    def check_smart_quotes(self) -> None:
        for index, token in self.text_tokens():
            if not _is_url(token) and _SMART_QUOTE_SCREEN_RE.search(token):
                self.warn("curly quotes do not mark text in the image", token, self.pos(index),
                          'use straight double quotes: "like this"')
                return

    def check_multi_prompt_weights(self) -> None:
        total = sum(_multi_prompt_weights(self.text))
        if not total > 0:
            self.error(f"multi-prompt weights add up to {_format_plain(total)}", "::",
                       self.text_position("::"), "the sum of all weights must be positive")

    def check_single_dash_lookalikes(self) -> None:
        """Near-misses that stay text: "-ar 16:9" and a spaced "— no"."""
        tokens = self.tokens
        for index, token in self.text_tokens():
            if (len(token) > 2 and token[0] == "-" and token[1] != "-"
                    and token[1:].lower() in _ALIASES):
                self.warn("this is read as text", token, self.pos(index),
                          f"did you mean --{token[1:].lower()}?")
            elif token == "—" and index + 1 < self.text_end:
                following = tokens[index + 1].lower()
                if following in _ALIASES and _ALIASES[following].kind != _FLAG:
                    self.warn("read as text", f"— {following}", self.pos(index),
                              f"for a parameter write —{following} or --{following}")

    def check_images(self) -> None:
        for index, token in enumerate(self.images):
            path = token.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
            extension = path.rsplit(".", 1)[-1].lower() if "." in path else ""
            if extension and extension not in IMAGE_EXTENSIONS and "/" in token[8:]:
                self.warn("this image URL does not end in .png .gif .jpg .jpeg or .webp",
                          token, self.pos(index), "check that it links to an image")

    def check_combinations(self) -> None:
        where, params, place = self.where, self.params, self.place
        if "version" in where and "niji" in where:
            self.error("--v and --niji cannot be used together", *place("niji"),
                       "pick one of them")
        speeds = [name for name in _SPEED_FLAGS if name in where]
        if len(speeds) > 1:
            self.error("more than one speed: " + ", ".join("--" + s for s in speeds),
                       *place(speeds[1]), "keep one of --relax, --fast, --turbo")
        for weight, reference in (("sw", "sref"), ("sv", "sref"), ("cw", "cref"), ("ow", "oref")):
            if weight in where and reference not in where:
                self.warn(f"--{weight} has no effect without --{reference}", *place(weight),
                          f"add --{reference} or remove --{weight}")
        if "iw" in where and not self.images:
            self.warn("--iw has no effect without an image prompt", *place("iw"),
                      "put image URLs first or remove --iw")
        if "oref" in where:
            if params.get("quality") == 4:
                self.error("--oref is not compatible with --q 4", *place("quality"),
                           "use --q 1 or 2")
            if "draft" in where:
                self.error("--oref is not compatible with --draft", *place("draft"),
                           "remove --draft")
        if "repeat" in where and "relax" in where:
            self.warn("--repeat runs in Fast or Turbo mode only", *place("repeat"),
                      "remove --relax or --repeat")
        if "p" in params and any(_MOODBOARD_RE.match(code) for code in params["p"]):
            for name in ("sw", "sv"):
                if name in where:
                    self.warn(f"--{name} is not compatible with a moodboard --p", *place(name),
                              f"remove --{name}")

    # -- versions ---------------------------------------------------------------------------
    def effective_version(self) -> tuple[_Version | None, str]:
        """(version, certainty): "named" when the prompt or caller names it, "assumed" for a
        configured default, "unknown" otherwise."""
        if "version" in self.params:
            return _cached_version(self.params["version"]), "named"
        if "niji" in self.params:
            niji = self.params["niji"]
            return _cached_version("niji" if niji is True else f"niji {niji}"), "named"
        if "version" in self.where or "niji" in self.where:
            return None, "unknown"
        if self.caller_version is not None:
            return self.caller_version, "named"
        if self.default_version is not None:
            return self.default_version, "assumed"
        return None, "unknown"

    def effective_version_label(self) -> str | None:
        version = self.caller_version or self.default_version
        return version.label if version else None

    def check_versions(self) -> None:
        version, certainty = self.effective_version()
        where, params = self.where, self.params
        for name, rule, hint in _GATES:
            if name in where:
                self.apply_rule(rule, f"--{name}", name, hint, version, certainty)
        if "quality" in params:
            self.apply_rule(_rule_quality(params["quality"]), "--q", "quality",
                            "use a --q value this version accepts", version, certainty)
            self.check_quality_rounding(version)
        if "iw" in params:
            self.apply_rule(_rule_range(params["iw"], _iw_bounds), "--iw", "iw",
                            "lower --iw", version, certainty)
        if "sv" in params:
            self.apply_rule(_rule_range(params["sv"], _sv_bounds), "--sv", "sv",
                            "V6 and Niji 6 take --sv 1–4, V7 4 or 6", version, certainty)
        if "::" in self.text:
            self.apply_rule(_rule_multi_prompt, "", "::",
                            "remove the :: weights (--no still works) or add --v 6.1",
                            version, certainty)

    def locate(self, name: str) -> tuple[str, int | None]:
        """(token, position) of a parameter, or of the first `::` for multi-prompts."""
        return ("::", self.text_position("::")) if name == "::" else self.place(name)

    def apply_rule(self, rule, subject, name, hint, version, certainty) -> None:
        """Errors when the version is named; warnings when it is assumed, unknown or the rule
        itself is unverified."""
        if certainty == "unknown":
            failures = [found[1] for found in map(rule, _PLAUSIBLE_DEFAULTS)
                        if found and found[0] == "no"]
            if failures:
                also = f" (and {len(failures) - 1} more recent model)" if len(failures) > 1 else ""
                message = f"{subject} {failures[0]}{also}".lstrip()
                self.warn(f"{message}; the account's default model is unknown here",
                          *self.locate(name), hint)
            return
        found = rule(version)
        if found is None:
            return
        verdict, reason = found
        reason = f"{subject} {reason}".lstrip()
        if verdict == "no" and certainty == "named":
            self.error(reason, *self.locate(name), hint)
        else:
            self.warn(reason, *self.locate(name), hint)

    def check_quality_rounding(self, version: _Version | None) -> None:
        value = self.params["quality"]
        allowed = QUALITY_VALUES_ANY if version is None else _quality_values(version)[0]
        if value in allowed:
            return
        rounded = _closest(value, allowed)
        self.warn(f"Midjourney rounds --q {_format_plain(value)} to {_format_plain(rounded)}",
                  *self.place("quality"), f"write --q {_format_number(rounded)}")

    # -- length ---------------------------------------------------------------------------
    def check_length(self, canonical: str) -> None:
        """The limit applies to what is sent, i.e. the canonical prompt (or, when parameters
        could not be read, the prompt with its whitespace collapsed)."""
        length = len(canonical) if not self.errors else len(" ".join(self.tokens))
        if length > MAX_PROMPT_CHARS:
            position = min(MAX_PROMPT_CHARS, len(self.source))
            self.error(f"the prompt is {length} characters; the limit is {MAX_PROMPT_CHARS}",
                       "", position, "shorten it")


_GATES = (
    ("cref", _rule_cref, "on V7 use --oref; otherwise add --v 6.1"),
    ("oref", _rule_oref, "--oref needs --v 7 (on V8 use --edit)"),
    ("exp", _rule_v7_plus, "--exp needs V7 or later: add --v 7"),
    ("draft", _rule_v7_plus, "--draft needs V7 or later: add --v 7"),
    ("sref", _rule_v6_plus, "style references need V6 or later"),
    ("p", _rule_v6_plus, "personalization needs V6 or later"),
    ("edit", _rule_v8_plus, "--edit needs V8: add --v 8.1"),
    ("preview", _rule_v8_plus, "--preview needs V8: add --v 8.1"),
)


def _suggest(name: str) -> str:
    """A fix for an unknown parameter: a missing space, else the closest known name."""
    for known in _NAMES_LONGEST_FIRST:
        if name.startswith(known) and not name[len(known)].isalpha():
            return f"add a space: --{known} {name[len(known):].lstrip('=:-')}"
    close = difflib.get_close_matches(name, _SUGGESTABLE, n=1, cutoff=0.6)
    if close:
        return f"did you mean --{_ALIASES[close[0]].name}?"
    return "remove it or check the parameter list"


def _split_phrases(values: list[tuple[str, int]]) -> list[str]:
    """`--no` values: comma-separated phrases, whitespace collapsed, empty ones dropped."""
    joined = " ".join(value for value, _ in values)
    return [phrase.strip() for phrase in joined.split(",") if phrase.strip()]


def _multi_prompt_weights(text: str) -> list[float]:
    """One weight per `::` segment: a signed number right after `::` weighs the segment before
    it; segments without one weigh 1."""
    parts = text.split("::")
    weights = []
    for index in range(1, len(parts)):
        match = _SIGNED_RE.match(parts[index])
        weights.append(float(match.group()) if match else 1.0)
        if match:
            parts[index] = parts[index][match.end():]
    if parts[-1].strip():
        weights.append(1.0)
    return weights


# --------------------------------------------------------------------------------------------
# Value converters: one per kind; each reports its own problems and returns a value or _INVALID
# --------------------------------------------------------------------------------------------

_INVALID = object()


def _flag(head: _Head) -> str:
    """The parameter as the user spelled it (lower-cased), so hints read like their prompt."""
    return "--" + head.name


def _single(parser: _Parser, spec: _Spec, head: _Head, values) -> str | object:
    """The one value of a single-value parameter, or _INVALID after reporting it missing."""
    if not values:
        parser.error(f"{_flag(head)} needs a value", head.raw, parser.pos(head.index),
                     _value_example(spec, _flag(head)))
        return _INVALID
    return values[0][0]


def _value_example(spec: _Spec, flag: str) -> str:
    if spec.kind == _ASPECT:
        return f"e.g. {flag} 16:9"
    if spec.kind == _VERSION:
        return f"e.g. {flag} 7"
    if spec.kind == _URL:
        return f"e.g. {flag} https://…/image.png"
    if spec.kind == _KEYWORD:
        return f"e.g. {flag} raw" if spec.name == "style" else f"e.g. {flag} high"
    return _between(spec.low, spec.high) if spec.low is not None else ""


def _punctuation_hint(flag: str, raw: str, pattern: re.Pattern) -> str | None:
    stripped = _strip_trailing_punctuation(raw)
    if stripped != raw and pattern.match(stripped):
        return f"strip punctuation: {flag} {stripped}"
    return None


def _out_of_range(parser, spec, token, position) -> object:
    parser.error(f"out of range {_range_text(spec.low, spec.high)}", token, position,
                 _between(spec.low, spec.high))
    return _INVALID


def _convert_flag(parser, spec, head, values, token):
    if values:      # only a glued value reaches here ("--tile5")
        parser.error(f"{_flag(head)} takes no value", token, parser.pos(head.index),
                     f"write {_flag(head)}")
    return True


def _convert_int(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    return _read_int(parser, spec, _flag(head), raw, token, head.index)


def _read_int(parser, spec, flag, raw: str, token: str, where):
    """A whole number in the widest range; `where` is resolved to a position only on error."""
    if _INT_RE.match(raw):
        value = int(raw) if len(raw) <= MAX_NUMBER_DIGITS else None
        if value is not None and spec.low <= value <= spec.high:
            return value
        return _out_of_range(parser, spec, token, parser.at(where))
    punctuation = _punctuation_hint(flag, raw, _INT_RE)
    if punctuation:
        parser.error("trailing punctuation in the value", token, parser.at(where), punctuation)
    elif _FLOAT_RE.match(raw):
        whole = round(float(raw)) if len(raw) <= MAX_NUMBER_DIGITS else int(spec.high)
        parser.error("needs a whole number", token, parser.at(where),
                     f"use whole numbers: {flag} {whole}")
    elif _SIGNED_RE.fullmatch(raw):
        return _out_of_range(parser, spec, token, parser.at(where))
    else:
        parser.error("needs a whole number", token, parser.at(where), _between(spec.low, spec.high))
    return _INVALID


def _convert_float(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    if _FLOAT_RE.match(raw):
        value = float(raw)
        if spec.low <= value <= spec.high:
            return value
        return _out_of_range(parser, spec, token, parser.pos(head.index))
    punctuation = _punctuation_hint(_flag(head), raw, _FLOAT_RE)
    if punctuation:
        parser.error("trailing punctuation in the value", token, parser.pos(head.index),
                     punctuation)
    elif _SIGNED_RE.fullmatch(raw):
        return _out_of_range(parser, spec, token, parser.pos(head.index))
    else:
        parser.error("needs a number", token, parser.pos(head.index), _between(spec.low, spec.high))
    return _INVALID


def _convert_aspect(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    match = _ASPECT_RE.match(raw)
    if match and max(len(match.group(1)), len(match.group(2))) <= MAX_NUMBER_DIGITS:
        width, height = int(match.group(1)), int(match.group(2))
        if width and height:
            return _reduce_ratio(width, height)
        parser.error("aspect ratio sides must be positive", token, parser.pos(head.index),
                     f"e.g. {_flag(head)} 16:9")
        return _INVALID
    message, hint = _aspect_problem(_flag(head), raw)
    parser.error(message, token, parser.pos(head.index), hint)
    return _INVALID


def _aspect_problem(flag: str, raw: str) -> tuple[str, str]:
    """Say why an aspect ratio is malformed and what to write instead."""
    punctuation = _punctuation_hint(flag, raw, _ASPECT_RE)
    if punctuation:
        return "trailing punctuation in the value", punctuation
    decimal = _DECIMAL_ASPECT_RE.match(raw)
    if decimal and "." not in decimal.groups() and all(decimal.groups()) and len(raw) <= 40:
        try:
            ratio = Fraction(decimal.group(1)) / Fraction(decimal.group(2))
        except (ValueError, ZeroDivisionError):
            ratio = None
        if ratio:
            return ("aspect ratios cannot contain decimals",
                    f"use whole numbers: {flag} {ratio.numerator}:{ratio.denominator}")
    if _ASPECT_RE.match(raw):
        return "aspect ratio numbers are too large", f"use smaller whole numbers, e.g. {flag} 16:9"
    return "aspect ratio must be W:H in whole numbers", f"e.g. {flag} 16:9"


def _convert_version(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    return _read_version(parser, _flag(head), raw, token, head.index, KNOWN_VERSIONS)


def _read_version(parser, flag, raw, token, where, known):
    """A version number: known ones pass, plausible unknown ones warn, the rest are errors."""
    match = _VERSION_RE.match(raw)
    known_list = "known versions: " + ", ".join(sorted(known, key=float))
    if not match or len(raw) > 12 or (flag == "--niji" and match.group(2)):
        punctuation = _punctuation_hint(flag, raw, _VERSION_RE)
        message = "trailing punctuation in the value" if punctuation else "not a version number"
        parser.error(message, token, parser.at(where), punctuation or known_list)
        return _INVALID
    label = _normalise_version_number(*match.groups())
    if label in known:
        return label
    if 1 <= float(label) < 10:
        parser.warn(f"{flag} {label} is not a version this parser knows", token, parser.at(where),
                    known_list)
        return label
    parser.error(f"{flag} {label} is not a Midjourney version", token, parser.at(where), known_list)
    return _INVALID


def _convert_niji(parser, spec, head, values, token):
    if not values:
        return True
    return _read_version(parser, "--niji", values[0][0], token, head.index, KNOWN_NIJI_VERSIONS)


def _convert_optint(parser, spec, head, values, token):
    if not values:
        return True
    return _read_int(parser, spec, _flag(head), values[0][0], token, head.index)


def _convert_keyword(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    if not _KEYWORD_RE.match(raw):
        punctuation = _punctuation_hint(_flag(head), raw, _KEYWORD_RE)
        parser.error("trailing punctuation in the value" if punctuation else "not a keyword",
                     token, parser.pos(head.index),
                     punctuation or _value_example(spec, _flag(head)))
        return _INVALID
    value, allowed = raw.lower(), _KEYWORD_VALUES.get(spec.name)
    if allowed is not None and value not in allowed:
        parser.error(f"{_flag(head)} takes one of {', '.join(sorted(allowed))}", token,
                     parser.pos(head.index), _value_example(spec, _flag(head)))
        return _INVALID
    if spec.name == "style" and value not in STYLE_KEYWORDS:
        parser.warn(f"--style {value} is not a built-in style", token, parser.pos(head.index),
                    "Style Tuner codes are legacy; --style raw is the current one")
    return value


def _convert_words(parser, spec, head, values, token):
    phrases = _split_phrases(values)
    if not phrases:
        parser.error("--no needs at least one word", head.raw, parser.pos(head.index),
                     "e.g. --no text, frame")
        return _INVALID
    return phrases


def _convert_refs(parser, spec, head, values, token):
    if not values:
        parser.error("--sref needs a URL, a style code or random", head.raw, parser.pos(head.index),
                     "e.g. --sref 762351716")
        return _INVALID
    references = [_read_reference(parser, raw, where) for raw, where in values]
    return _INVALID if _INVALID in references else references


def _read_reference(parser, raw: str, where):
    """One `--sref` item with its optional `::w` weight (an sref weight, not a multi-prompt)."""
    item, weight = raw, None
    match = _WEIGHTED_RE.match(raw)
    if match:
        item, weight = match.group(1), float(match.group(2))
        if not isfinite(weight) or len(match.group(2)) > MAX_NUMBER_DIGITS:
            parser.error("style reference weight is too large", raw, parser.at(where), "e.g. ::2")
            return _INVALID
    if _is_url(item):
        return Reference("url", item, weight)
    if _INT_RE.match(item):
        return Reference("code", item, weight)
    if item.lower() == "random":
        return Reference("random", "random", weight)
    stripped = _strip_trailing_punctuation(item)
    hint = ("separate references with spaces, without punctuation" if stripped != item and stripped
            else "e.g. --sref 762351716, --sref https://…/style.png or --sref random")
    parser.error("not an image URL, style code or random", raw, parser.at(where), hint)
    return _INVALID


def _convert_urls(parser, spec, head, values, token):
    flag = _flag(head)
    if not values:
        parser.error(f"{flag} needs an image URL", head.raw, parser.pos(head.index),
                     f"e.g. {flag} https://…/image.png")
        return _INVALID
    bad = [(raw, where) for raw, where in values if not _is_url(raw)]
    for raw, where in bad:
        parser.error(f"{flag} takes image URLs only", raw, parser.at(where),
                     "move words before the first --")
    if spec.high is not None and len(values) > spec.high:
        parser.error(f"{flag} takes at most {int(spec.high)} images", token, parser.pos(head.index),
                     "remove some")
        return _INVALID
    return _INVALID if bad else [raw for raw, _ in values]


def _convert_url(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is _INVALID:
        return raw
    if not _is_url(raw):
        parser.error(f"{_flag(head)} takes one image URL", token, parser.pos(head.index),
                     _value_example(spec, _flag(head)))
        return _INVALID
    return raw


def _convert_codes(parser, spec, head, values, token):
    bad = [(raw, where) for raw, where in values if not _CODE_RE.match(raw)]
    for raw, where in bad:
        stripped = _strip_trailing_punctuation(raw)
        hint = ("separate codes with spaces" if stripped != raw and _CODE_RE.match(stripped or "?")
                else "profile and moodboard codes are letters, digits, - and _")
        parser.error("not a personalization code", raw, parser.at(where), hint)
    return _INVALID if bad else [raw for raw, _ in values]


_CONVERTERS = {
    _FLAG: _convert_flag, _INT: _convert_int, _FLOAT: _convert_float, _ASPECT: _convert_aspect,
    _VERSION: _convert_version, _NIJI: _convert_niji, _KEYWORD: _convert_keyword,
    _WORDS: _convert_words, _REFS: _convert_refs, _URLS: _convert_urls, _URL: _convert_url,
    _CODES: _convert_codes, _OPTINT: _convert_optint,
}


# --------------------------------------------------------------------------------------------
# Canonical form
# --------------------------------------------------------------------------------------------

def _render_prompt(prompt: Prompt) -> str:
    return _render_parts(prompt.image_prompts, prompt.text, prompt.params)


def _render_parts(images: tuple[str, ...], text: str, params: dict) -> str:
    parts = list(images)
    if text:
        parts.append(text)
    for name, value in params.items():
        parts.append(_render_parameter(name, value))
    return " ".join(parts)


def _render_parameter(name: str, value) -> str:
    spec = _SPECS.get(name)
    flag = "--" + (spec.spelling or spec.name if spec else name)
    if value is True:
        return flag
    if spec is not None and spec.kind == _WORDS:
        return f"{flag} {', '.join(value)}"
    if isinstance(value, (list, tuple)):
        return " ".join([flag] + [str(item) for item in value])
    if isinstance(value, (int, float)):
        return f"{flag} {_format_number(value)}"
    return f"{flag} {value}"


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

def parse_prompt(text: str, *, version: str | None = None,
                 default_version: str | None = None) -> Prompt:
    """Parse and validate one prompt (one job; expand `{…}` first, or use `validate`).

    `version` is the model the caller knows the job will use ("7", "6.1", "niji 6"):
    version-dependent rules are then errors, as they are when the prompt has `--v`/`--niji`.
    `default_version` is a configured guess of the account default: its rules only warn. With
    neither, rules are checked against recent default models and only warn.

    Raises PromptError (and nothing else) listing every problem found.
    """
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    return _Parser(text, version, default_version).run()


def validate(text: str, *, version: str | None = None, default_version: str | None = None,
             max_jobs: int = DEFAULT_MAX_JOBS) -> list[Prompt]:
    """Expand permutations, then parse every job; problems from all jobs come back in one
    PromptError (each numbered by job when there are several, repeats reported once)."""
    jobs = expand_permutations(text, max_jobs=max_jobs)
    prompts, problems, seen = [], [], set()
    for number, job in enumerate(jobs, start=1):
        try:
            prompts.append(parse_prompt(job, version=version, default_version=default_version))
        except PromptError as error:
            for problem in error.problems:
                key = (problem.message, problem.token, problem.hint)
                if key not in seen:
                    seen.add(key)
                    problems.append(replace(problem, job=number if len(jobs) > 1 else None))
    if problems:
        raise PromptError(problems)
    if len(prompts) > 1 and any("relax" in prompt.params for prompt in prompts):
        warning = "--relax: permutations run in Fast or Turbo mode only; remove --relax"
        prompts = [replace(p, warnings=p.warnings + (warning,)) for p in prompts]
    return prompts
