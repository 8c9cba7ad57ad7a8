"""Token-level edits of a prompt, for the panel's controls: change one parameter, leave the rest.

Stand-ins until `prompt.set_param` lands (a parallel branch adds it); swap the import in panel.py
then. Both functions read the text exactly as the parser does (its tokenizer, its parameter heads,
its arity rules), so a glued "::2—ar" or an "--ar=16:9" is found where the parser finds it.
"""
from __future__ import annotations

from .. import prompt as _p


class NotEditable(ValueError):
    """The parameter is written inside a `{…}` permutation: only the text can change it."""


def param_span(text: str, name: str) -> tuple[int, int] | None:
    """Character span (start, end) of the first `--name …` outside braces, with its values.

    `name` is canonical ("aspect", "stylize", "no", ...). None when the text does not set it;
    NotEditable when it is set inside a permutation group or its value holds one.
    """
    parser = _p._Parser(text, None, None)
    tokens, heads = parser.tokens, parser.heads
    offsets = _p._token_offsets(text, tokens)
    for index, head in enumerate(heads):
        if head is None:
            continue
        spec = _p._ALIASES.get(head.name)
        if spec is None or spec.name != name:
            continue
        values, after = parser.take_values(head)
        start = offsets[index]
        last = after - 1
        end = offsets[last] + len(tokens[last])
        depth = text.count("{", 0, start) - text.count("}", 0, start)
        if depth or "{" in text[start:end] or "}" in text[start:end]:
            raise NotEditable(f"--{name} is set inside a {{…}} permutation; edit it in the text")
        return start, end
    return None


def set_param(text: str, name: str, value) -> str:
    """`text` with parameter `name` set to `value` (None or False removes it, True is a flag, a
    string is written as given, numbers and lists as the parser writes them).

    Only that parameter's characters change: an existing one is rewritten in place with the
    spelling the user chose ("--stylize 250" stays long), a new one is appended after the last
    word, a removed one takes its leading space with it.
    """
    span = param_span(text, name)
    if value is None or value is False:
        if span is None:
            return text
        start, end = span
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        if start == 0:
            while end < len(text) and text[end] in " \t":
                end += 1
        return text[:start] + text[end:]
    if isinstance(value, str):   # a value as the user typed it, e.g. "cars, trees" for --no
        rendered = f"{_p._render_parameter(name, True)} {value.strip()}"
    else:
        rendered = _p._render_parameter(name, value)
    if span is None:
        cut = len(text.rstrip())
        return text[:cut] + (" " if cut else "") + rendered + text[cut:]
    start, end = span
    written = text[start:end].split(None, 1)[0]
    flag, _, rest = rendered.partition(" ")
    if written.startswith("--") and written.islower() \
            and _p._ALIASES.get(written[2:]) is _p._ALIASES.get(name):
        flag = written
    return text[:start] + " ".join(part for part in (flag, rest) if part) + text[end:]
