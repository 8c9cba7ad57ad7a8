"""Read and rewrite single parameters in prompt text, for controls that mirror a text box.

Both work on prompts that do not parse (half-typed, or with problems the user is fixing), and
never touch anything but the parameter in question: the rest of the text stays byte for byte.
Parameters inside `{…}` permutation groups are left alone (they belong to one option).
"""
from __future__ import annotations

from .table import ALIASES, CODES, FLAG, MERGED_KINDS, NIJI, OPTINT, WORDS, Spec
from .tokens import read_heads, take_values, token_offsets, tokenize
from .values import DASH_STARTS, format_number

_BARE_KINDS = frozenset({FLAG, NIJI, CODES, OPTINT})    # kinds that may stand without a value


def get_params(text: str) -> dict[str, str | bool]:
    """The parameters written in `text`: canonical name -> value as written (several value
    tokens joined by one space), or True for a parameter written without a value. Unknown names
    and deprecated ones are left out; a repeated list parameter (`--sref 1 --sref 2`) is joined
    in order, any other repeated one keeps its first value. Never raises for a string.

        >>> get_params("a cat --AR 16:9 --tile --s 2000 --sref 1 --sref 2")
        {'aspect': '16:9', 'tile': True, 'stylize': '2000', 'sref': '1 2'}
    """
    if not isinstance(text, str):
        return {}
    found: dict[str, str | bool] = {}
    for spec, _start, _end, values in _occurrences(text):
        value = " ".join(values) if values else True
        if spec.name not in found:
            found[spec.name] = value
        elif spec.kind in MERGED_KINDS and value is not True:
            earlier = found[spec.name]
            found[spec.name] = value if earlier is True else f"{earlier} {value}"
    return found


def set_param(text: str, name: str, value) -> str:
    """`text` with parameter `name` (any alias: "ar", "aspect", "--s") set to `value`.

    - `value` None, False or "" removes every occurrence of the parameter.
    - True writes it without a value: for flags (`--tile`, `--raw`) and for `--niji`, `--p`.
    - A number is written the short way (0.5 -> ".5"), a list space-separated (`--no`: with
      commas), a string as given.
    The first occurrence is rewritten in place, keeping the user's spelling of the name
    (`—ar`, `--aspect`); later ones are removed; without one, the parameter is appended.
    Raises ValueError for an unknown name or a value that is not one parameter value.
    """
    spec = ALIASES.get(name.lstrip("-—").lower()) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown Midjourney parameter {name!r}")
    rendered = _render_value(spec, value)
    mine = [(start, end, head) for found, start, end, _values, head
            in _occurrences(text, with_heads=True) if found is spec]
    if not mine:
        if rendered is None:
            return text
        body = text.rstrip()
        written = _write(spec, None, rendered)
        return f"{body} {written}{text[len(body):]}" if body else written
    result = text
    for number, (start, end, head) in reversed(list(enumerate(mine))):
        if number == 0 and rendered is not None:
            result = result[:start] + _write(spec, head, rendered) + result[end:]
        else:
            result = _cut(result, start, end)
    return result


def _render_value(spec: Spec, value) -> str | bool | None:
    """The value as it is written after the name; True for none; None to remove."""
    if value is None or value is False or value == "":
        return None
    if value is True:
        if spec.kind not in _BARE_KINDS:
            raise ValueError(f"--{spec.name} needs a value")
        return True
    if spec.kind == FLAG:
        raise ValueError(f"--{spec.name} is a flag: pass True to set it, None to remove it")
    if isinstance(value, (list, tuple)):
        items = [format_number(v) if isinstance(v, (int, float)) else str(v) for v in value]
        rendered = (", " if spec.kind == WORDS else " ").join(items)
    elif isinstance(value, (int, float)):
        rendered = format_number(value)
    else:
        rendered = str(value)
    words = rendered.split()
    if not words:
        return None
    if any(word[0] in DASH_STARTS and len(word) > 1 for word in words):
        raise ValueError(f"{rendered!r} is not a value for --{spec.name}")
    return " ".join(words)


def _write(spec: Spec, head, rendered) -> str:
    """Name and value; a name the user wrote cleanly keeps their spelling."""
    if head is not None and not head.dash and not head.glued:
        flag = head.raw
    else:
        flag = "--" + (spec.spelling or spec.name)
    return flag if rendered is True else f"{flag} {rendered}"


def _cut(text: str, start: int, end: int) -> str:
    """Remove text[start:end] and the whitespace that separated it from what came before."""
    before = text[:start].rstrip()
    after = text[end:]
    if not before:
        return after.lstrip()
    return before + after if after[:1].isspace() or not after else before + " " + after


def _occurrences(text: str, with_heads: bool = False) -> list[tuple]:
    """(spec, start, end, value tokens[, head]) for each known parameter outside braces."""
    tokens = tokenize(text)
    if not tokens:
        return []
    heads = read_heads(tokens)
    if not any(heads):
        return []
    offsets = token_offsets(text, tokens)
    depths = _brace_depths(text, offsets) if "{" in text else None
    found, index = [], 0
    while index < len(tokens):
        head = heads[index]
        if head is None:
            index += 1
            continue
        values, after = take_values(tokens, heads, head)
        spec = ALIASES.get(head.name)
        if spec is not None and (depths is None or depths[index] == 0):
            last = after - 1
            start, end = offsets[index], offsets[last] + len(tokens[last])
            item = (spec, start, end, [value for value, _ in values])
            found.append(item + (head,) if with_heads else item)
        index = after
    return found


def _brace_depths(text: str, offsets: list[int]) -> list[int]:
    """The `{…}` nesting depth at each token's start (escapes ignored: this is only a guard)."""
    depths, depth, position = [], 0, 0
    for offset in offsets:
        for char in text[position:offset]:
            if char == "{":
                depth += 1
            elif char == "}" and depth:
                depth -= 1
        depths.append(depth)
        position = offset
    return depths
