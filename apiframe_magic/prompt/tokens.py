"""Tokens and parameter heads: where each parameter starts and which tokens are its value.

Shared by the parser and by `edit.py`, which must find parameters in prompts that do not parse.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .table import ALIASES, CONFUSIONS, FLAG, KNOWN_NAMES, LIST_KINDS, OPTIONAL_KINDS
from ..settings import is_http_url
from .values import DASH_STARTS, GLUED_RE, HEAD_RE


@dataclass
class Head:
    """Where a parameter starts: `raw` as written (for messages), `name` lower-cased without
    dashes, `index` its token, `next` the token after the head, `dash` "" or the kind of dash
    problem, `glued` a value written without a space ("--ar16:9")."""

    raw: str
    name: str
    index: int
    next: int
    dash: str = ""
    glued: str = ""


_COMPOUND_RE = re.compile(r"[^\W\d]+(?:-[^\W\d_]+)*")
_TRIPLE_RE = re.compile(r"(-{3,})([^\W\d_]+)(.*)\Z", re.S)

# Cheap whole-text screens, so the per-token work only runs on prompts that need it.
_GLUED_SCREEN_RE = re.compile(r"[^\s—–−-](?:--|—)[A-Za-z]")
SINGLE_DASH_SCREEN_RE = re.compile(r"(?:^|\s)(?:-[A-Za-z]|—\s)")
SMART_QUOTE_SCREEN_RE = re.compile("[“”„‟]")


def tokenize(text: str) -> list[str]:
    """Whitespace tokens (str.split and the regex \\s agree on Unicode whitespace). A parameter
    glued to a number or punctuation ("::7—ar") is split off, as Midjourney accepts that."""
    tokens = text.split()
    if not _GLUED_SCREEN_RE.search(text):
        return tokens
    split: list[str] = []
    for token in tokens:
        cut = 0 if is_http_url(token) else _glued_parameter_cut(token)
        split.extend((token[:cut], token[cut:]) if cut else (token,))
    return split


def token_offsets(text: str, tokens: list[str]) -> list[int]:
    """Character offset of every token; only computed when a problem needs a position."""
    offsets, position = [], 0
    for token in tokens:
        position = text.find(token, position)
        offsets.append(position)
        position += len(token)
    return offsets


def _glued_parameter_cut(token: str) -> int:
    """Index where a known parameter glued to non-letters begins, or 0."""
    match = GLUED_RE.search(token)
    if not match or match.start() == 0 or match.group(2).lower() not in KNOWN_NAMES:
        return 0
    before = token[match.start() - 1]
    return 0 if before.isalpha() or before in DASH_STARTS else match.start()


def read_heads(tokens: list[str]) -> list[Head | None]:
    heads: list[Head | None] = [None] * len(tokens)
    for index in [i for i, token in enumerate(tokens) if token[0] in DASH_STARTS]:
        heads[index] = _read_head(tokens, index)
    return heads


def _read_head(tokens: list[str], index: int) -> Head | None:
    """A parameter head at `index`, or None when the token is ordinary text."""
    token = tokens[index]
    match = HEAD_RE.match(token)
    if match is None:
        return None
    dash, letters, rest = match.groups()
    name = letters.lower()
    if dash in ("--", "—"):
        if letters:
            if rest and rest[0] in "-_":        # "--aspect-ratio", "--negative_prompt"
                compound = _COMPOUND_RE.match(token, len(dash)).group().lower()
                if compound in CONFUSIONS:
                    return Head(token, compound, index, index + 1)
            if name in KNOWN_NAMES and rest:
                return Head(dash + letters, name, index, index + 1, glued=rest)
            return Head(token, (letters + rest).lower(), index, index + 1)
        if dash == "--" and rest[:1] == "-":    # "---no": a typo for a parameter, not text
            extra = _TRIPLE_RE.match(token)
            if extra and extra.group(2).lower() in KNOWN_NAMES:
                return Head(extra.group(1) + extra.group(2), extra.group(2).lower(), index,
                             index + 1, dash="triple", glued=extra.group(3))
            return None
        if dash == "--" and not rest:
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following.lower() in KNOWN_NAMES:
                return Head(f"-- {following}", following.lower(), index, index + 2,
                             dash="spaced")
            return Head("--", "", index, index + 1)     # a lone "--": reported, not text
        return None
    if name in KNOWN_NAMES:
        return Head(dash + letters, name, index, index + 1, dash="endash", glued=rest)
    return None


def is_flag(name: str) -> bool:
    spec = ALIASES.get(name)
    return spec is not None and spec.kind == FLAG


def _is_numberish(token: str) -> bool:
    return token[0] in "0123456789."



# A value is (text, where): `where` is its token index, or (token index, offset) for a value
# glued to its parameter name. Positions are resolved only when a problem is reported.

def take_values(tokens: list[str], heads: list, head: Head) -> tuple[list, int]:
    """The value tokens that belong to `head`, by the arity of its kind, and the index after."""
    spec = ALIASES.get(head.name)
    values = []
    if head.glued:      # "--ar=16:9" reads the value as 16:9 (after the spacing error)
        value = head.glued.lstrip("=:")
        offset = len(head.raw) + len(head.glued) - len(value)
        values = [(value, (head.index, offset))] if value else []
    index = head.next
    kind = spec.kind if spec else None
    if kind is None or kind in LIST_KINDS:
        while index < len(tokens) and heads[index] is None:
            values.append((tokens[index], index))
            index += 1
    elif kind == FLAG:
        pass
    elif not values and index < len(tokens) and heads[index] is None:
        if kind not in OPTIONAL_KINDS or _is_numberish(tokens[index]):
            values.append((tokens[index], index))
            index += 1
    return values, index
