"""Regexes and small helpers for reading and writing values, shared by the parser and the editor."""
from __future__ import annotations

import re
from decimal import Decimal
from math import gcd

HEAD_RE = re.compile(r"(--|—|[–−]{1,2}|-[–−]|[–−]-)([^\W\d_]*)(.*)\Z", re.S)
GLUED_RE = re.compile(r"(--|—)([A-Za-z]+)\Z")
INT_RE = re.compile(r"[0-9]+\Z")
FLOAT_RE = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)\Z")
SIGNED_RE = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
ASPECT_RE = re.compile(r"([0-9]+):([0-9]+)\Z")
DECIMAL_ASPECT_RE = re.compile(r"([0-9]*\.?[0-9]*):([0-9]*\.?[0-9]*)\Z")
VERSION_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?\Z")
WEIGHTED_RE = re.compile(r"(.+?)::(-?(?:[0-9]+\.?[0-9]*|\.[0-9]+))\Z", re.S)
CODE_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
MOODBOARD_RE = re.compile(r"m[0-9]+\Z")
KEYWORD_RE = re.compile(r"[A-Za-z0-9-]+\Z")
VERSION_LABEL_RE = re.compile(
    r"\s*(?:-{1,2}|—)?\s*(niji|version|v)?\s*([0-9]+(?:\.[0-9]+)?)?\s*\Z", re.I)
_TRAILING_PUNCTUATION = ".,;:!?"
QUOTES = "\"'“”‘’„‟«»"
# C0 controls other than tab, newline and carriage return, and DEL: never meant, and they can
# rewrite a terminal when the prompt is echoed. Lone surrogates (half of a character lost in a
# copy) cannot be encoded to send or store at all.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
DASH_STARTS = frozenset("-—–−")


def format_number(value: float) -> str:
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


def closest(value: float, allowed: tuple[float, ...]) -> float:
    """The allowed value Midjourney rounds to; ties go up (`--q 3` becomes 4 on V7)."""
    return min(allowed, key=lambda candidate: (abs(candidate - value), -candidate))


def strip_trailing_punctuation(raw: str) -> str:
    return raw.rstrip(_TRAILING_PUNCTUATION)


def range_text(low: float, high: float) -> str:
    return f"{format_plain(low)}–{format_plain(high)}"


def between(low: float, high: float) -> str:
    return f"use a value between {format_plain(low)} and {format_plain(high)}"


def format_plain(value: float) -> str:
    """Numbers for humans in messages: 0.25 rather than .25."""
    text = format_number(value)
    return "0" + text if text.startswith(".") else text


def reduce_ratio(width: int, height: int) -> str:
    """W:H in lowest terms: 1920, 1080 -> "16:9"."""
    divisor = gcd(width, height)
    return f"{width // divisor}:{height // divisor}"

