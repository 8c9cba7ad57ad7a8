"""get_params / set_param: controls that mirror one parameter of the prompt text box."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiframe_magic.prompt import get_params, parse_prompt, set_param

from test_prompt_properties import parameter_soup

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
TEXT = "a cat  —AR 16:9 --s 250 --tile --sref 1 --sref 2"


def test_get_params_reads_values_as_written():
    assert get_params(TEXT) == {"aspect": "16:9", "stylize": "250", "tile": True, "sref": "1 2"}
    assert get_params("a cat --p --niji") == {"p": True, "niji": True}
    assert get_params("a cat --sref 1 --sref --sref 2") == {"sref": "1 2"}


def test_get_params_tolerates_invalid_prompts():
    assert get_params("a cat --s 2000 --ar --zz 5 --h 1920 --c 1 --c 2") == {
        "stylize": "2000", "aspect": True, "chaos": "1"}
    assert get_params("a cat --ar16:9") == {"aspect": "16:9"}
    assert get_params("a {red, blue bird --ar 2:3") == {}       # inside an open brace
    assert get_params("") == {} and get_params(None) == {}


def test_set_param_rewrites_in_place_and_keeps_the_users_spelling():
    assert set_param(TEXT, "ar", "2:3") == "a cat  —AR 2:3 --s 250 --tile --sref 1 --sref 2"
    assert set_param(TEXT, "--stylize", 750) == "a cat  —AR 16:9 --s 750 --tile --sref 1 --sref 2"
    assert set_param("a cat --ar16:9 words", "aspect", "1:1") == "a cat --ar 1:1 words"


def test_set_param_removes_every_occurrence():
    assert set_param(TEXT, "stylize", None) == "a cat  —AR 16:9 --tile --sref 1 --sref 2"
    assert set_param(TEXT, "tile", None) == "a cat  —AR 16:9 --s 250 --sref 1 --sref 2"
    assert set_param(TEXT, "sref", "9") == "a cat  —AR 16:9 --s 250 --tile --sref 9"
    assert set_param(TEXT, "sref", "") == "a cat  —AR 16:9 --s 250 --tile"
    assert set_param("--s 5 a cat", "s", None) == "a cat"
    assert set_param("a cat", "chaos", None) == "a cat"


def test_set_param_appends_with_the_canonical_spelling():
    assert set_param("a cat", "raw", True) == "a cat --raw"
    assert set_param("a cat\n", "no", ["dogs", "wet cats"]) == "a cat --no dogs, wet cats\n"
    assert set_param("a cat", "quality", 0.5) == "a cat --q .5"
    assert set_param("a cat", "p", True) == "a cat --p"
    assert set_param("a cat --p", "p", "abc") == "a cat --p abc"
    assert set_param("", "ar", "1:1") == "--ar 1:1"
    assert set_param("a cat {--ar 1:1, x}", "ar", "3:2") == "a cat {--ar 1:1, x} --ar 3:2"


def test_set_param_result_parses_to_the_value():
    text = set_param(set_param("a red fox --s 50", "aspect", "1920:1080"), "s", 250)
    assert parse_prompt(text).params == {"stylize": 250, "aspect": "16:9"}


@pytest.mark.parametrize("name, value, message", [
    ("zz", "1", "unknown Midjourney parameter"),
    ("tile", "5", "is a flag"),
    ("ar", True, "needs a value"),
    ("ar", "16:9 --s 5", "is not a value"),
])
def test_set_param_refuses_what_is_not_one_parameter_value(name, value, message):
    with pytest.raises(ValueError, match=message):
        set_param("a cat", name, value)


no_braces = parameter_soup.filter(lambda t: "{" not in t and "}" not in t and t.strip())


@SETTINGS
@given(no_braces, st.sampled_from(["ar", "s", "sref", "tile", "no", "p"]))
def test_set_then_get_reads_back_and_removing_restores(text, name):
    value = {"ar": "3:2", "s": "250", "sref": "123", "tile": True, "no": "dogs", "p": True}[name]
    canonical = {"ar": "aspect", "s": "stylize"}.get(name, name)
    written = set_param(text, name, value)
    assert get_params(written)[canonical] == value
    if canonical not in get_params(text):
        assert set_param(written, name, None) == text
        assert set_param(text, name, None) == text


@SETTINGS
@given(st.text(max_size=200))
def test_get_params_never_raises(text):
    assert isinstance(get_params(text), dict)
    assert isinstance(set_param(text, "ar", "1:1"), str)
