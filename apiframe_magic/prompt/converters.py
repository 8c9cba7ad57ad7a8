"""Value converters: one per kind of parameter (see `table.py`).

Each reads the value tokens of one parameter, reports its own problems through the parser, and
returns the typed value or `INVALID`.
"""
from __future__ import annotations

import re
from fractions import Fraction
from math import isfinite

from ..settings import is_http_url
from .model import Reference
from .table import (
    ASPECT, CODES, FLAG, FLOAT, INT, KEYWORD, KEYWORD_VALUES, NIJI, OPTINT, REFS, URL,
    URLS, VERSION, WORDS, MAX_NUMBER_DIGITS, STYLE_KEYWORDS, STYLE_NOT_VALUES, Spec,
)
from .tokens import Head
from .values import (
    ASPECT_RE, CODE_RE, DECIMAL_ASPECT_RE, FLOAT_RE, INT_RE, KEYWORD_RE, SIGNED_RE,
    VERSION_RE, WEIGHTED_RE, between, format_plain, range_text, reduce_ratio,
    strip_trailing_punctuation,
)
from .versions import KNOWN_NIJI_VERSIONS, KNOWN_VERSIONS, normalise_version_number

INVALID = object()


def _flag(head: Head) -> str:
    """The parameter as the user spelled it (lower-cased), so hints read like their prompt."""
    return "--" + head.name


def _single(parser, spec: Spec, head: Head, values) -> str | object:
    """The one value of a single-value parameter, or INVALID after reporting it missing."""
    if not values:
        parser.error(f"{_flag(head)} needs a value", head.raw, parser.pos(head.index),
                     _value_example(spec, _flag(head)))
        return INVALID
    return values[0][0]


def _value_example(spec: Spec, flag: str) -> str:
    if spec.kind == ASPECT:
        return f"e.g. {flag} 16:9"
    if spec.kind == VERSION:
        return f"e.g. {flag} 7"
    if spec.kind == URL:
        return f"e.g. {flag} https://…/image.png"
    if spec.kind == KEYWORD:
        return f"e.g. {flag} raw" if spec.name == "style" else f"e.g. {flag} high"
    if spec.high is None:
        return f"e.g. {flag} 1"
    return between(spec.low, spec.high) if spec.low is not None else ""


def _punctuation_hint(flag: str, raw: str, pattern: re.Pattern) -> str | None:
    stripped = strip_trailing_punctuation(raw)
    if stripped != raw and pattern.match(stripped):
        return f"strip punctuation: {flag} {stripped}"
    return None


def _out_of_range(parser, spec, token, position) -> object:
    if spec.high is None:
        parser.error(f"out of range: {format_plain(spec.low)} or more", token, position,
                     f"e.g. --{spec.spelling or spec.name} 1")
    else:
        parser.error(f"out of range {range_text(spec.low, spec.high)}", token, position,
                     between(spec.low, spec.high))
    return INVALID


def _convert_flag(parser, spec, head, values, token):
    if values:      # only a glued value reaches here ("--tile5")
        parser.error(f"{_flag(head)} takes no value", token, parser.pos(head.index),
                     f"write {_flag(head)}")
    return True


def _convert_int(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is INVALID:
        return raw
    return _read_int(parser, spec, _flag(head), raw, token, head.index)


def _read_int(parser, spec, flag, raw: str, token: str, where):
    """A whole number in the widest range; `where` is resolved to a position only on error."""
    if INT_RE.match(raw):
        value = int(raw) if len(raw) <= MAX_NUMBER_DIGITS else None
        if value is not None and spec.low <= value <= (spec.legacy_high or spec.high):
            if spec.choices and value not in spec.choices:
                allowed = ", ".join(str(choice) for choice in spec.choices)
                parser.error(f"{flag} takes only {allowed}", token, parser.at(where),
                             f"e.g. {flag} {spec.choices[-1]}")
                return INVALID
            return value
        return _out_of_range(parser, spec, token, parser.at(where))
    punctuation = _punctuation_hint(flag, raw, INT_RE)
    if punctuation:
        parser.error("trailing punctuation in the value", token, parser.at(where), punctuation)
    elif FLOAT_RE.match(raw):
        whole = round(float(raw)) if len(raw) <= MAX_NUMBER_DIGITS else int(spec.high)
        parser.error("needs a whole number", token, parser.at(where),
                     f"use whole numbers: {flag} {whole}")
    elif SIGNED_RE.fullmatch(raw):
        return _out_of_range(parser, spec, token, parser.at(where))
    else:
        parser.error("needs a whole number", token, parser.at(where), between(spec.low, spec.high))
    return INVALID


def _convert_float(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is INVALID:
        return raw
    if FLOAT_RE.match(raw):
        value = float(raw)
        if spec.low <= value and (spec.high is None or value <= spec.high) and isfinite(value):
            return value
        return _out_of_range(parser, spec, token, parser.pos(head.index))
    punctuation = _punctuation_hint(_flag(head), raw, FLOAT_RE)
    if punctuation:
        parser.error("trailing punctuation in the value", token, parser.pos(head.index),
                     punctuation)
    elif SIGNED_RE.fullmatch(raw):
        return _out_of_range(parser, spec, token, parser.pos(head.index))
    else:
        parser.error("needs a number", token, parser.pos(head.index),
                     _value_example(spec, _flag(head)))
    return INVALID


def _convert_aspect(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is INVALID:
        return raw
    match = ASPECT_RE.match(raw)
    if match and max(len(match.group(1)), len(match.group(2))) <= MAX_NUMBER_DIGITS:
        width, height = int(match.group(1)), int(match.group(2))
        if width and height:
            return reduce_ratio(width, height)
        parser.error("aspect ratio sides must be positive", token, parser.pos(head.index),
                     f"e.g. {_flag(head)} 16:9")
        return INVALID
    message, hint = _aspect_problem(_flag(head), raw)
    parser.error(message, token, parser.pos(head.index), hint)
    return INVALID


def _aspect_problem(flag: str, raw: str) -> tuple[str, str]:
    """Say why an aspect ratio is malformed and what to write instead."""
    punctuation = _punctuation_hint(flag, raw, ASPECT_RE)
    if punctuation:
        return "trailing punctuation in the value", punctuation
    decimal = DECIMAL_ASPECT_RE.match(raw)
    if decimal and "." not in decimal.groups() and all(decimal.groups()) and len(raw) <= 40:
        try:
            ratio = Fraction(decimal.group(1)) / Fraction(decimal.group(2))
        except (ValueError, ZeroDivisionError):
            ratio = None
        if ratio:
            return ("aspect ratios cannot contain decimals",
                    f"use whole numbers: {flag} {ratio.numerator}:{ratio.denominator}")
    if ASPECT_RE.match(raw):
        return "aspect ratio numbers are too large", f"use smaller whole numbers, e.g. {flag} 16:9"
    return "aspect ratio must be W:H in whole numbers", f"e.g. {flag} 16:9"


def _convert_version(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is INVALID:
        return raw
    return _read_version(parser, _flag(head), raw, token, head.index, KNOWN_VERSIONS)


def _read_version(parser, flag, raw, token, where, known):
    """A version number: known ones pass, plausible unknown ones warn, the rest are errors."""
    match = VERSION_RE.match(raw)
    known_list = "known versions: " + ", ".join(sorted(known, key=float))
    if not match or len(raw) > 12 or (flag == "--niji" and match.group(2)):
        punctuation = _punctuation_hint(flag, raw, VERSION_RE)
        message = "trailing punctuation in the value" if punctuation else "not a version number"
        parser.error(message, token, parser.at(where), punctuation or known_list)
        return INVALID
    label = normalise_version_number(*match.groups())
    if label in known:
        return label
    if 1 <= float(label) < 10:
        parser.warn(f"{flag} {label} is not a version this parser knows", token, parser.at(where),
                    known_list)
        return label
    parser.error(f"{flag} {label} is not a Midjourney version", token, parser.at(where), known_list)
    return INVALID


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
    if raw is INVALID:
        return raw
    if not KEYWORD_RE.match(raw):
        punctuation = _punctuation_hint(_flag(head), raw, KEYWORD_RE)
        parser.error("trailing punctuation in the value" if punctuation else "not a keyword",
                     token, parser.pos(head.index),
                     punctuation or _value_example(spec, _flag(head)))
        return INVALID
    value, allowed = raw.lower(), KEYWORD_VALUES.get(spec.name)
    if allowed is not None and value not in allowed:
        parser.error(f"{_flag(head)} takes one of {', '.join(sorted(allowed))}", token,
                     parser.pos(head.index), _value_example(spec, _flag(head)))
        return INVALID
    if spec.name != "style" or value in STYLE_KEYWORDS:
        return value
    if value in STYLE_NOT_VALUES:
        parser.error(f"--style {raw} is not a style value", token, parser.pos(head.index),
                     "remove --style for the default style, or write --style raw")
        return INVALID
    parser.warn(f"--style {raw} is not a built-in style", token, parser.pos(head.index),
                "Style Tuner codes are legacy; --style raw is the current one")
    return raw      # a Style Tuner code: case-sensitive, kept as written


def _convert_words(parser, spec, head, values, token):
    phrases = split_phrases(values)
    if not phrases:
        parser.error("--no needs at least one word", head.raw, parser.pos(head.index),
                     "e.g. --no text, frame")
        return INVALID
    return phrases


def _convert_refs(parser, spec, head, values, token):
    if not values:
        parser.error("--sref needs a URL, a style code or random", head.raw, parser.pos(head.index),
                     "e.g. --sref 762351716")
        return INVALID
    references = []
    for raw, where in values:      # the first bad item is reported: one line per parameter
        reference = _read_reference(parser, raw, where)
        if reference is INVALID:
            return INVALID
        references.append(reference)
    return references


def _read_reference(parser, raw: str, where):
    """One `--sref` item with its optional `::w` weight (an sref weight, not a multi-prompt)."""
    item, weight = raw, None
    match = WEIGHTED_RE.match(raw)
    if match:
        item, weight = match.group(1), float(match.group(2))
        if not isfinite(weight) or len(match.group(2)) > MAX_NUMBER_DIGITS:
            parser.error("style reference weight is too large", raw, parser.at(where), "e.g. ::2")
            return INVALID
    if is_http_url(item):
        return Reference("url", item, weight)
    if INT_RE.match(item):
        return Reference("code", item, weight)
    if item.lower() == "random":
        return Reference("random", "random", weight)
    stripped = strip_trailing_punctuation(item)
    hint = ("separate references with spaces, without punctuation" if stripped != item and stripped
            else "e.g. --sref 762351716, --sref https://…/style.png or --sref random")
    parser.error("not an image URL, style code or random", raw, parser.at(where), hint)
    return INVALID


def _convert_urls(parser, spec, head, values, token):
    flag = _flag(head)
    if not values:
        parser.error(f"{flag} needs an image URL", head.raw, parser.pos(head.index),
                     f"e.g. {flag} https://…/image.png")
        return INVALID
    bad = [(raw, where) for raw, where in values if not is_http_url(raw)]
    if bad:
        words = " ".join(raw for raw, _ in bad)
        parser.error(f"{flag} takes image URLs only", words, parser.at(bad[0][1]),
                     "move words before the first --")
        return INVALID
    if spec.high is not None and len(values) > spec.high:
        parser.error(f"{flag} takes at most {int(spec.high)} images", token, parser.pos(head.index),
                     "remove some")
        return INVALID
    return [raw for raw, _ in values]


def _convert_url(parser, spec, head, values, token):
    raw = _single(parser, spec, head, values)
    if raw is INVALID:
        return raw
    if not is_http_url(raw):
        parser.error(f"{_flag(head)} takes one image URL", token, parser.pos(head.index),
                     _value_example(spec, _flag(head)))
        return INVALID
    return raw


def _convert_codes(parser, spec, head, values, token):
    bad = [(raw, where) for raw, where in values if not CODE_RE.match(raw)]
    if bad:
        raw, where = bad[0]
        stripped = strip_trailing_punctuation(raw)
        hint = ("separate codes with spaces" if stripped != raw and CODE_RE.match(stripped or "?")
                else "profile and moodboard codes are letters, digits, - and _")
        parser.error("not a personalization code", " ".join(r for r, _ in bad), parser.at(where),
                     hint)
        return INVALID
    if len(values) > 1 and any(raw in _COMMON_WORDS for raw, _ in values):
        words = " ".join(raw for raw, _ in values)
        parser.error(f"{_flag(head)} takes profile or moodboard codes, not words", words,
                     parser.at(values[0][1]), f"move \"{_clip_words(words)}\" before the first --")
        return INVALID
    return [raw for raw, _ in values]


# Words that are never a profile code but often follow "--p" when prose runs on after it
# ("a cat --p sitting on a mat").
_COMMON_WORDS = frozenset("""
a an the and or but of on in at to for with from by into onto over under near behind beside
is are was were be being sitting standing lying walking running holding wearing looking
his her its their my your our this that these those very""".split())


def _clip_words(words: str) -> str:
    return words if len(words) <= 40 else words[:39] + "…"


_QUOTED_RE = re.compile("^[\"'“”‘’„‟«»]|[\"'“”‘’„‟«»]$")


def quoted_value(values) -> tuple[str, object] | None:
    """The first value token wrapped in (or starting or ending with) a quote, if any."""
    for raw, where in values:
        if _QUOTED_RE.search(raw):
            return raw, where
    return None


CONVERTERS = {
    FLAG: _convert_flag, INT: _convert_int, FLOAT: _convert_float, ASPECT: _convert_aspect,
    VERSION: _convert_version, NIJI: _convert_niji, KEYWORD: _convert_keyword,
    WORDS: _convert_words, REFS: _convert_refs, URLS: _convert_urls, URL: _convert_url,
    CODES: _convert_codes, OPTINT: _convert_optint,
}



def split_phrases(values: list[tuple[str, int]]) -> list[str]:
    """`--no` values: comma-separated phrases, whitespace collapsed, empty ones dropped."""
    joined = " ".join(value for value, _ in values)
    return [phrase.strip() for phrase in joined.split(",") if phrase.strip()]
