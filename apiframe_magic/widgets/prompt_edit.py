"""`get_params` and `set_param` for the panel: read or rewrite one parameter, leave the rest.

The shared versions live in `prompt.edit` on the prompt branch; once that is merged they are
imported here and the stand-ins below are unused (delete them then). The stand-ins keep the same
contract, and read the text as the parser does (its tokenizer, parameter heads and arities):

- only parameters outside `{…}` permutation groups count (a group's parameter belongs to one
  option, so no single value can be written for it);
- `set_param(text, name, value)`: None, False or "" removes every occurrence; True writes a flag
  (or a bare `--niji`); numbers the short way (0.5 -> ".5"); lists space-separated (`--no`: with
  commas); strings as given. The first occurrence is rewritten in place with the user's spelling
  of the name, later ones removed; without one the parameter is appended after the last word.
  ValueError for an unknown name or a value that is not one parameter value.
- `get_params(text)`: canonical name -> value as written (True when written without one).
"""
from __future__ import annotations

from .. import prompt as _p


def _get_params(text: str) -> dict:
    found: dict = {}
    for spec, _start, _end, values, _head in _occurrences(text):
        value = " ".join(values) if values else True
        if spec.name not in found:
            found[spec.name] = value
        elif spec.kind in _p._LIST_KINDS and value is not True:
            earlier = found[spec.name]
            found[spec.name] = value if earlier is True else f"{earlier} {value}"
    return found


def _set_param(text: str, name: str, value) -> str:
    spec = _p._ALIASES.get(name.lstrip("-—").lower()) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown Midjourney parameter {name!r}")
    rendered = _render(spec, value)
    mine = [(start, end, head) for found, start, end, _values, head in _occurrences(text)
            if found is spec]
    if not mine:
        if rendered is None:
            return text
        body = text.rstrip()
        written = _write(spec, None, rendered)
        return f"{body} {written}{text[len(body):]}" if body else written
    for number, (start, end, head) in reversed(list(enumerate(mine))):
        if number == 0 and rendered is not None:
            text = text[:start] + _write(spec, head, rendered) + text[end:]
        else:
            before, after = text[:start].rstrip(), text[end:]
            text = (after.lstrip() if not before else
                    before + after if not after or after[0].isspace() else f"{before} {after}")
    return text


def _render(spec, value):
    """The value as written after the name; True for none; None to remove."""
    if value is None or value is False or value == "":
        return None
    if value is True:
        if spec.kind not in (_p._FLAG, _p._NIJI, _p._CODES, _p._OPTINT):
            raise ValueError(f"--{spec.name} needs a value")
        return True
    if spec.kind == _p._FLAG:
        raise ValueError(f"--{spec.name} is a flag: pass True to set it, None to remove it")
    if isinstance(value, (list, tuple)):
        items = [_p._format_number(v) if isinstance(v, (int, float)) else str(v) for v in value]
        rendered = (", " if spec.kind == _p._WORDS else " ").join(items)
    elif isinstance(value, (int, float)):
        rendered = _p._format_number(value)
    else:
        rendered = str(value)
    words = rendered.split()
    if not words:
        return None
    if any(word[0] in _p._DASH_STARTS and len(word) > 1 for word in words):
        raise ValueError(f"{rendered!r} is not a value for --{spec.name}")
    return " ".join(words)


def _write(spec, head, rendered) -> str:
    flag = head.raw if head is not None and not head.dash and not head.glued else \
        "--" + (spec.spelling or spec.name)
    return flag if rendered is True else f"{flag} {rendered}"


def _occurrences(text: str) -> list[tuple]:
    """(spec, start, end, value tokens, head) of each known parameter outside braces."""
    parser = _p._Parser(text, None, None)
    tokens, heads = parser.tokens, parser.heads
    if not any(heads):
        return []
    offsets = _p._token_offsets(text, tokens)
    found, index = [], 0
    while index < len(tokens):
        head = heads[index]
        if head is None:
            index += 1
            continue
        values, after = parser.take_values(head)
        spec = _p._ALIASES.get(head.name)
        start = offsets[index]
        if spec is not None and text.count("{", 0, start) == text.count("}", 0, start):
            end = offsets[after - 1] + len(tokens[after - 1])
            found.append((spec, start, end, [value for value, _ in values], head))
        index = after
    return found


try:   # the shared ones, once the prompt branch is merged
    from ..prompt import get_params, set_param  # type: ignore[attr-defined]
except ImportError:
    get_params, set_param = _get_params, _set_param
