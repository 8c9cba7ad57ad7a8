"""The parameter table: every name Midjourney reads, its spelling, what it takes, its widest range.

Readable on its own: this is the summary of docs.midjourney.com's parameter pages that the parser
works from (see shared/spec/prompt-syntax.md for sources). Version-dependent limits live in
`versions.py`; this table holds what is true whatever the model.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_PROMPT_CHARS = 6000       # Discord's cap on the /imagine string option [DISC]
DEFAULT_MAX_JOBS = 40         # older docs: "a maximum of 40 jobs" per permutation prompt
MAX_BRACE_DEPTH = 32          # far beyond any real prompt; keeps recursion bounded
MAX_NUMBER_DIGITS = 30        # longer digit strings are out of range anyway (and int() has limits)

QUALITY_VALUES_ANY = (0.25, 0.5, 1.0, 2.0, 4.0)
# Built-in `--style` values, and the models that have them [RAW][PL-old][LEG]
STYLE_RAW = "raw"                                            # V5.1 and later, Niji 6 and later
STYLE_NIJI5 = frozenset({"cute", "expressive", "original", "scenic"})   # Niji 5 only
STYLE_V4 = frozenset({"4a", "4b", "4c"})                      # V4 only
STYLE_RANDOM = frozenset({"random", "random-16", "random-32", "random-64", "random-128"})  # legacy
STYLE_KEYWORDS = frozenset({STYLE_RAW}) | STYLE_NIJI5 | STYLE_V4 | STYLE_RANDOM
STYLE_NOT_VALUES = frozenset({"default", "standard", "none", "normal"})
IMAGE_EXTENSIONS = frozenset({"png", "gif", "jpg", "jpeg", "webp"})


@dataclass(frozen=True)
class Spec:
    """How one parameter is read: `kind` picks arity and converter; `low`/`high` is the widest
    range any version accepts (`high` None: no upper bound); `choices` the only documented values
    of a whole number; `spelling` is how the canonical prompt writes it; `legacy_high` a larger
    bound only an old model accepts (checked once the version is known)."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    spelling: str = ""
    choices: tuple[int, ...] = ()
    legacy_high: float | None = None    # read up to this; a version rule checks the rest


FLAG, INT, FLOAT, ASPECT, VERSION, NIJI, KEYWORD = (
    "flag", "int", "float", "aspect", "version", "niji", "keyword")
WORDS, REFS, URLS, URL, CODES, OPTINT = "words", "refs", "urls", "url", "codes", "optint"
LIST_KINDS = frozenset({WORDS, REFS, URLS, CODES})
OPTIONAL_KINDS = frozenset({NIJI, OPTINT})
# Lists the web app writes as repeated parameters (`--sref 1 --sref 2`): read as one list, in order.
MERGED_KINDS = frozenset({REFS, URLS, CODES})

_SPECS_LIST = [
    Spec("aspect", ASPECT, ("ar",), spelling="ar"),
    Spec("chaos", INT, ("c",), 0, 100, spelling="c"),
    # "Other values round to closest available option" [Q]: any non-negative number is read.
    Spec("quality", FLOAT, ("q",), 0, None, spelling="q"),
    # 0–1000 on every model since V4; V3 took 625–60000 (checked by version) [STY]
    Spec("stylize", INT, ("s",), 0, 1000, spelling="s", legacy_high=60000),
    Spec("weird", INT, ("w",), 0, 3000, spelling="weird"),
    Spec("seed", INT, (), 0, 4294967295),
    Spec("stop", INT, (), 10, 100),
    Spec("repeat", INT, ("r",), 1, 40, spelling="r"),
    Spec("version", VERSION, ("v",), spelling="v"),
    Spec("niji", NIJI),
    Spec("style", KEYWORD),
    Spec("no", WORDS),
    Spec("iw", FLOAT, (), 0, 3),
    Spec("sref", REFS),
    Spec("sw", INT, (), 0, 1000),
    Spec("sv", INT, (), 1, 7),
    Spec("cref", URLS),
    Spec("cw", INT, (), 0, 100),
    Spec("oref", URL),
    Spec("ow", INT, (), 1, 1000),                      # [OREF]: 1–1000, default 100
    Spec("p", CODES, ("profile", "personalize"), spelling="p"),
    Spec("exp", INT, (), 0, 100),
    Spec("edit", URLS, (), 1, 4),
    Spec("sameseed", OPTINT, (), 0, 4294967295),
    Spec("motion", KEYWORD),                           # video: low | high
    Spec("bs", INT, (), 1, 4, choices=(1, 2, 4)),      # video batch size: 1, 2 or 4
    Spec("end", URL),                                  # video: the last frame's image
] + [Spec(name, FLAG) for name in (
    "tile", "raw", "draft", "relax", "fast", "turbo", "hd", "video", "preview", "loop",
    "test", "testp", "creative", "uplight", "upbeta")]

SPECS: dict[str, Spec] = {spec.name: spec for spec in _SPECS_LIST}
ALIASES: dict[str, Spec] = {}
for _spec in _SPECS_LIST:
    for _name in (_spec.name, *_spec.aliases):
        ALIASES[_name] = _spec

DEPRECATED = {
    "width": "use --ar W:H instead", "height": "use --ar W:H instead", "h": "use --ar W:H instead",
    "hq": "use --q", "vibe": "remove it", "upanime": "remove it", "newclip": "remove it",
    "nostretch": "remove it", "old": "remove it",
}
KNOWN_NAMES = frozenset(ALIASES) | frozenset(DEPRECATED)
SUGGESTABLE = sorted(ALIASES)
NAMES_LONGEST_FIRST = sorted(ALIASES, key=len, reverse=True)
SPEED_FLAGS = ("relax", "fast", "turbo")
KEYWORD_VALUES = {"style": None, "motion": frozenset({"low", "high"})}
# Only meaningful for a video job [docs "Video": "--motion low, --motion high, --raw, --loop,
# --end, and --bs #"]; --raw also applies to images, so it is not listed here.
VIDEO_ONLY = ("motion", "loop", "end", "bs")

# Names people type for a parameter, from other tools or older habits, and what Midjourney calls
# it. Checked before edit distance, which cannot guess these.
CONFUSIONS = {
    "negative": "no", "neg": "no", "negative-prompt": "no", "negative_prompt": "no",
    "negativeprompt": "no", "not": "no",
    "aspect-ratio": "ar", "aspect_ratio": "ar", "aspectratio": "ar", "ratio": "ar",
    "stylise": "stylize", "style-strength": "stylize",
    "model": "v", "ver": "v", "quality-level": "q",
    "variety": "chaos", "chaotic": "chaos",
    "weirdness": "weird", "imageweight": "iw", "image-weight": "iw",
    "styleref": "sref", "style-ref": "sref", "style-reference": "sref", "stylereference": "sref",
    "style_reference": "sref", "stylecode": "sref", "style-code": "sref",
    "styleweight": "sw", "style-weight": "sw", "styleversion": "sv", "style-version": "sv",
    "charref": "cref", "character": "cref", "character-reference": "cref", "characterref": "cref",
    "omni": "oref", "omniref": "oref", "omni-reference": "oref", "omni-ref": "oref",
    "personalization": "p", "personalisation": "p", "personalise": "p", "moodboard": "p",
    "tiles": "tile", "tiling": "tile", "tileable": "tile", "seamless": "tile",
    "repeats": "repeat", "batch-size": "bs", "batchsize": "bs",
    "relaxed": "relax", "experimental": "exp", "experiment": "exp", "seeds": "seed",
    "anime": "niji", "nijijourney": "niji",
}
