"""The panel's token-level prompt edits: one parameter changes, every other character stays.

Written against the contract `prompt.edit` shares, so they hold for the stand-ins in
`widgets.prompt_edit` and, once the prompt branch is merged, for the shared functions.
"""
from __future__ import annotations

import re
from math import gcd

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiframe_magic.prompt import parse_prompt
from apiframe_magic.widgets.prompt_edit import get_params, set_param


@pytest.mark.parametrize("text, name, value, expected", [
    ("a fox --ar 3:2 --s 100", "stylize", 250, "a fox --ar 3:2 --s 250"),
    ("a fox --stylize 100\n", "stylize", 250, "a fox --stylize 250\n"),
    ("a  fox\t--ar 3:2   --tile", "aspect", "16:9", "a  fox\t--ar 16:9   --tile"),
    ("a fox —ar 3:2 --tile", "aspect", "1:1", "a fox —ar 1:1 --tile"),       # em-dash head
    ("a fox::2—ar 3:2", "aspect", "1:1", "a fox::2—ar 1:1"),                 # glued head
    ("a fox --ar=3:2", "aspect", "1:1", "a fox --ar 1:1"),                   # glued value
    ("a fox -- ar 3:2", "aspect", "1:1", "a fox --ar 1:1"),                  # spaced head
    ("a fox --s 1 --s 2 --tile", "stylize", 3, "a fox --s 3 --tile"),        # repeats go
    ("a fox --aspect 3:2", "ar", "1:1", "a fox --aspect 1:1"),               # any alias
    ("a fox --no cars, red trees --tile", "no", "cats", "a fox --no cats --tile"),
    ("a fox --sref 1 2 3 --sw 10", "sref", "random", "a fox --sref random --sw 10"),
    ("a fox --niji --ar 1:1", "niji", "6", "a fox --niji 6 --ar 1:1"),
    ("a fox --niji 6 --ar 1:1", "niji", True, "a fox --niji --ar 1:1"),
    ("a fox --q .5", "quality", 2.0, "a fox --q 2"),
    ("a {red, blue} fox --ar 3:2", "aspect", "2:3", "a {red, blue} fox --ar 2:3"),
])
def test_rewrites_in_place(text, name, value, expected):
    assert set_param(text, name, value) == expected


@pytest.mark.parametrize("text, name, expected", [
    ("a fox --ar 3:2 --s 100", "aspect", "a fox --s 100"),
    ("a fox --ar 3:2 --s 100", "stylize", "a fox --ar 3:2"),
    ("a fox --tile\n", "tile", "a fox\n"),
    ("a fox --no cars, trees --tile", "no", "a fox --tile"),
    ("a fox --style raw", "style", "a fox"),
    ("a fox", "tile", "a fox"),
    ("--tile a fox", "tile", "a fox"),
])
def test_removes_with_its_leading_space(text, name, expected):
    assert set_param(text, name, None) == set_param(text, name, False) == expected


@pytest.mark.parametrize("text, name, value, expected", [
    ("a fox", "tile", True, "a fox --tile"),
    ("a fox  \n", "aspect", "16:9", "a fox --ar 16:9  \n"),
    ("", "tile", True, "--tile"),
    ("a fox --ar 3:2", "weird", 250, "a fox --ar 3:2 --weird 250"),
    ("a fox", "no", ["text", "frame"], "a fox --no text, frame"),
])
def test_appends_a_new_parameter(text, name, value, expected):
    assert set_param(text, name, value) == expected


@pytest.mark.parametrize("name, value", [
    ("nonsense", 1), ("tile", "yes"), ("stylize", True), ("no", "cars --ar 2:1"),
])
def test_what_is_not_one_parameter_value_is_refused(name, value):
    with pytest.raises(ValueError):
        set_param("a fox", name, value)


@pytest.mark.parametrize("text, expected", [
    ("a fox --ar 3:2 --no red cars, trees --tile",
     {"aspect": "3:2", "no": "red cars, trees", "tile": True}),
    ("a fox --AR 16:9 --niji --s 2000", {"aspect": "16:9", "niji": True, "stylize": "2000"}),
    ("a {fox --ar 3:2, owl} --s 5", {"stylize": "5"}),          # a group's own is left out
    ("a fox --sref 1 --sref 2", {"sref": "1 2"}),
    ("a fox --bogus 3 --ar 1:1", {"aspect": "1:1"}),
    ("", {}),
])
def test_get_params_reads_values_as_written(text, expected):
    assert get_params(text) == expected


_VALUES = {
    "aspect": st.tuples(st.integers(1, 30), st.integers(1, 30)).map(lambda wh: f"{wh[0]}:{wh[1]}"),
    "stylize": st.integers(0, 1000),
    "chaos": st.integers(0, 100),
    "weird": st.integers(0, 3000),
    "quality": st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]),
    "tile": st.just(True),
    "no": st.lists(st.sampled_from(["cars", "red trees", "text", "frame"]), min_size=1,
                   max_size=3, unique=True),
    "sref": st.lists(st.integers(1, 10 ** 9).map(str), min_size=1, max_size=3, unique=True),
    "sw": st.integers(0, 1000),
    "style": st.just("raw"),
}


def _parsed(name, value):
    """What parse_prompt gives back for a value set_param wrote."""
    if name == "aspect":
        w, h = map(int, value.split(":"))
        return f"{w // gcd(w, h)}:{h // gcd(w, h)}"
    if name == "sref":
        return [str(item) for item in value]
    return value


@st.composite
def prompts_and_edit(draw):
    names = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=len(_VALUES)))
    words = draw(st.lists(st.sampled_from(["a", "quiet", "harbour", "fox", "at", "dawn"]),
                          min_size=1, max_size=6))
    spaces = draw(st.lists(st.sampled_from([" ", "  ", "\t", "\n"]), min_size=len(names) + 1,
                           max_size=len(names) + 1))
    text = " ".join(words)
    for name in names:
        text = set_param(text, name, draw(_VALUES[name]))
    separators = iter(spaces)
    text = re.sub(r" (?=--)", lambda _m: next(separators), text)   # varied whitespace
    target = draw(st.sampled_from(sorted(_VALUES)))
    value = draw(st.one_of(st.none(), _VALUES[target]))
    return text + spaces[-1], target, value


def _comparable(params):
    return {name: ([str(v) for v in value] if name == "sref" else value)
            for name, value in params.items()}


@settings(max_examples=300, deadline=None)
@given(prompts_and_edit())
def test_an_edit_changes_that_parameter_and_nothing_else(case):
    text, name, value = case
    before = parse_prompt(text)
    after = parse_prompt(set_param(text, name, value))
    expected = _comparable(before.params)
    if value is None:
        expected.pop(name, None)
    else:
        expected[name] = _parsed(name, value)
    assert _comparable(after.params) == expected
    assert after.text == before.text
    edited = set_param(text, name, value)
    assert edited.endswith(text[len(text.rstrip()):])      # trailing whitespace kept
