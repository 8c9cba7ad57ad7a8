"""Tests for apiframe_magic.prompt: parameters, errors, warnings, versions and round trips.

Every prompt a test parses successfully goes through `parsed()`, which also checks the round
trip `parse_prompt(str(p)) == p` and that the canonical string is a fixed point.
"""
from __future__ import annotations

import pickle

import pytest

from apiframe_magic.prompt import (
    DEFAULT_MAX_JOBS, MAX_PROMPT_CHARS, PromptError, PromptProblem, Reference,
    count_permutations, expand_permutations, parse_prompt, validate,
)
from prompt_checks import only_problem, parsed, problems, warned

URL = "https://example.com/cat.png"
URL2 = "https://example.com/dog.jpg"


# ---------------------------------------------------------------------------------------------
# Every parameter and alias
# ---------------------------------------------------------------------------------------------

PARAMETERS = [
    # (suffix, canonical name, value)
    ("--ar 16:9", "aspect", "16:9"),
    ("--aspect 2:3", "aspect", "2:3"),
    ("--chaos 40", "chaos", 40),
    ("--c 0", "chaos", 0),
    ("--quality .5", "quality", 0.5),
    ("--q 2", "quality", 2.0),
    ("--stylize 1000", "stylize", 1000),
    ("--s 250", "stylize", 250),
    ("--weird 3000", "weird", 3000),
    ("--w 250", "weird", 250),
    ("--seed 4294967295", "seed", 4294967295),
    ("--stop 10", "stop", 10),
    ("--tile", "tile", True),
    ("--no dogs, birds", "no", ["dogs", "birds"]),
    ("--no modern clothing", "no", ["modern clothing"]),
    ("--repeat 40", "repeat", 40),
    ("--r 3", "repeat", 3),
    ("--version 6.1", "version", "6.1"),
    ("--v 7", "version", "7"),
    ("--v 5.2", "version", "5.2"),
    ("--v 6.0", "version", "6"),
    ("--niji", "niji", True),
    ("--niji 6", "niji", "6"),
    ("--style raw", "style", "raw"),
    ("--style RAW", "style", "raw"),
    ("--raw", "raw", True),
    ("--iw .5", "iw", 0.5),
    ("--sref 762351716", "sref", [Reference("code", "762351716")]),
    ("--sref random", "sref", [Reference("random", "random")]),
    ("--sw 0", "sw", 0),
    ("--sv 4", "sv", 4),
    ("--cref " + URL, "cref", [URL]),
    ("--cw 0", "cw", 0),
    ("--oref " + URL, "oref", URL),
    ("--ow 1000", "ow", 1000),
    ("--p", "p", []),
    ("--p abc123 m7240179148589383702", "p", ["abc123", "m7240179148589383702"]),
    ("--profile abc123", "p", ["abc123"]),
    ("--personalize abc123", "p", ["abc123"]),
    ("--exp 25", "exp", 25),
    ("--draft", "draft", True),
    ("--relax", "relax", True),
    ("--fast", "fast", True),
    ("--turbo", "turbo", True),
    ("--hd", "hd", True),
    ("--video", "video", True),
    ("--preview", "preview", True),
    ("--edit " + URL + " " + URL2, "edit", [URL, URL2]),
    ("--sameseed", "sameseed", True),
    ("--sameseed 12", "sameseed", 12),
    ("--test", "test", True),
    ("--testp", "testp", True),
    ("--creative", "creative", True),
    ("--uplight", "uplight", True),
    ("--upbeta", "upbeta", True),
    ("--motion high", "motion", "high"),
    ("--loop", "loop", True),
    ("--bs 2", "bs", 2),
]


@pytest.mark.parametrize("suffix, name, value", PARAMETERS)
def test_every_parameter_and_alias(suffix, name, value):
    prompt = parsed("a quiet harbour at dawn " + suffix)
    assert prompt.params == {name: value}
    assert prompt.text == "a quiet harbour at dawn"


@pytest.mark.parametrize("suffix, name, value", PARAMETERS)
def test_every_parameter_with_em_dash(suffix, name, value):
    prompt = parsed("a quiet harbour at dawn " + suffix.replace("--", "—", 1))
    assert prompt.params == {name: value}


def test_several_parameters_keep_their_order_in_the_canonical_form():
    prompt = parsed("a fox --v 6.1 --stylize 250 --aspect 1920:1080 --chaos 5 --no snow")
    assert str(prompt) == "a fox --v 6.1 --s 250 --ar 16:9 --c 5 --no snow"
    assert list(prompt.params) == ["version", "stylize", "aspect", "chaos", "no"]


def test_aspect_ratio_is_reduced_and_exposed():
    prompt = parsed("a fox --ar 1920:1080")
    assert prompt.params["aspect"] == "16:9"
    assert prompt.aspect_ratio == "16:9"
    assert parsed("a fox").aspect_ratio is None
    assert parsed("a fox --ar 7:3").aspect_ratio == "7:3"
    assert parsed("a fox --ar 100:100").aspect_ratio == "1:1"


def test_numbers_accept_the_documented_spellings():
    assert parsed("a fox --iw .5").params["iw"] == 0.5
    assert parsed("a fox --iw 0.5").params["iw"] == 0.5
    assert parsed("a fox --iw 2.").params["iw"] == 2.0
    assert str(parsed("a fox --q 1.0")) == "a fox --q 1"
    assert str(parsed("a fox --iw 0.50")) == "a fox --iw .5"


def test_sref_items_with_weights_urls_codes_and_random():
    prompt = parsed(f"a cute owl --sref {URL}::2 {URL2}::1 404370912::3 random --v 7")
    assert prompt.params["sref"] == [
        Reference("url", URL, 2.0), Reference("url", URL2, 1.0),
        Reference("code", "404370912", 3.0), Reference("random", "random")]
    assert str(prompt).endswith(f"--sref {URL}::2 {URL2}::1 404370912::3 random --v 7")


def test_sref_weights_are_not_multi_prompts_even_on_v7():
    prompt = parsed("a cute owl --sref 404370912::3 3712786097::1 --v 7")
    assert prompt.warnings == ()


def test_lists_run_until_the_next_parameter():
    prompt = parsed(f"a knight --cref {URL} {URL2} --cw 50 --no horse, castle walls --v 6")
    assert prompt.params["cref"] == [URL, URL2]
    assert prompt.params["cw"] == 50
    assert prompt.params["no"] == ["horse", "castle walls"]


def test_niji_and_p_take_zero_or_more_values():
    assert parsed("a cat --niji --ar 2:3").params == {"niji": True, "aspect": "2:3"}
    assert parsed("a cat --niji 6 --p").params == {"niji": "6", "p": []}
    assert str(parsed("a cat --p --tile")) == "a cat --p --tile"


def test_image_prompts_are_the_leading_urls_only():
    prompt = parsed(f"{URL} {URL2} a cat reading https://example.org/page --iw 2")
    assert prompt.image_prompts == (URL, URL2)
    assert prompt.text == "a cat reading https://example.org/page"
    assert prompt.params == {"iw": 2.0}
    assert prompt.warnings == ()


def test_two_images_without_text_are_a_valid_prompt():
    prompt = parsed(f"{URL} {URL2} --ar 1:1")
    assert prompt.image_prompts == (URL, URL2) and prompt.text == ""


def test_image_url_without_extension_is_fine_and_odd_extension_warns():
    assert parsed("https://s.mj.run/NueRyP4V_No a cat").warnings == ()
    assert warned(parsed("https://example.com/page.html a cat"), "does not end in")


def test_prompt_repr_and_equality_ignore_warnings_and_context():
    one = parse_prompt("a fox --AR 16:9")
    two = parse_prompt("a fox   --ar 16:9", version="7")
    assert one.warnings and not two.warnings
    assert one == two and hash(one) == hash(two)
    assert one != parse_prompt("a fox --ar 16:10")


def test_without_drops_parameters():
    prompt = parsed("a fox --ar 16:9 --s 50")
    assert str(prompt.without("aspect")) == "a fox --s 50"
    assert prompt.params == {"aspect": "16:9", "stylize": 50}


# ---------------------------------------------------------------------------------------------
# Errors, whatever the version
# ---------------------------------------------------------------------------------------------

def test_error_message_names_token_position_and_fix():
    problem = only_problem("a red fox --stylize 2000")
    assert problem.token == "--stylize 2000"
    assert problem.position == 10
    assert "out of range 0–1000" in problem.message
    assert problem.hint == "use a value between 0 and 1000"
    assert str(problem) == ("--stylize 2000 at character 10: out of range 0–1000; "
                            "use a value between 0 and 1000")


@pytest.mark.parametrize("text, suggestion", [
    ("a cat --stylise 200", "did you mean --stylize?"),
    ("a cat --sytlize 200", "did you mean --stylize?"),
    ("a cat --aspct 2:3", "did you mean --aspect?"),
    ("a cat --chaoss 5", "did you mean --chaos?"),
    ("a cat --ar16:9", "write --ar 16:9"),
    ("a cat --s250", "write --s 250"),
])
def test_unknown_parameter_suggests_a_fix(text, suggestion):
    problem = only_problem(text)
    assert problem.hint == suggestion
    assert problem.position == 6


def test_unknown_parameter_without_a_close_match():
    problem = only_problem("a cat --zzzzqqq 4")
    assert "unknown parameter --zzzzqqq" in problem.message
    assert problem.token == "--zzzzqqq 4"


@pytest.mark.parametrize("name", ["hq", "width", "h", "vibe", "upanime", "newclip", "nostretch", "old"])
def test_deprecated_parameters_are_rejected(name):
    assert "deprecated" in only_problem(f"a cat --{name}").message


@pytest.mark.parametrize("dash", ["–", "−", "––"])
def test_en_dash_and_minus_sign_are_not_parameter_dashes(dash):
    problem = only_problem(f"a cat --ar 16:9 {dash}v 5")
    assert problem.token == f"{dash}v"
    assert problem.position == 16
    assert problem.hint == "use --v"


def test_en_dash_inside_text_is_just_text():
    assert parsed("the 1990–2000 era – a retrospective").params == {}


def test_em_dash_is_accepted_and_normalised():
    prompt = parsed("a cat —ar 16:9 —s 1000")
    assert str(prompt) == "a cat --ar 16:9 --s 1000"


def test_bot_example_only_flags_the_en_dash():
    """ISS22: the bot answered "Unrecognized parameter(s): –v, 5" to this prompt and did not
    complain about `::7—ar` (em-dash glued to a weight)."""
    problem = only_problem("portrait of a woman, ornate::7—ar 16:9 —s 1000 –v 5")
    assert problem.token == "–v"
    prompt = parsed("portrait of a woman, ornate::7—ar 16:9 —s 1000 --v 5")
    assert prompt.text == "portrait of a woman, ornate::7"
    assert prompt.params == {"aspect": "16:9", "stylize": 1000, "version": "5"}


def test_em_dash_in_prose_stays_text():
    prompt = parsed("a lighthouse — stormy sea, a cat—sleeping")
    assert prompt.text == "a lighthouse — stormy sea, a cat—sleeping"
    assert prompt.params == {}


def test_em_dash_glued_to_a_word_is_text_with_a_warning_for_spaced_lookalikes():
    prompt = parsed("a world — no people")
    assert prompt.text == "a world — no people"
    assert warned(prompt, "read as text")


@pytest.mark.parametrize("text, hint", [
    ("a cat --ar 1.39:1", "use whole numbers: --ar 139:100"),
    ("a cat --ar 1.5:1", "use whole numbers: --ar 3:2"),
    ("a cat --ar 16x9", "e.g. --ar 16:9"),
    ("a cat --ar 0:1", "e.g. --ar 16:9"),
    ("a cat --ar 16:9.", "strip punctuation: --ar 16:9"),
    ("a cat --v 6,", "strip punctuation: --v 6"),
    ("a cat --s 250;", "strip punctuation: --s 250"),
    ("a cat --q 2!", "strip punctuation: --q 2"),
    ("a cat --style raw,", "strip punctuation: --style raw"),
    ("a cat --c 2.5", "use whole numbers: --c 2"),
    ("a cat --s high", "use a value between 0 and 1000"),
    ("a cat --iw big", "use a value between 0 and 3"),
    ("a cat --v six", "known versions: 1, 2, 3, 4, 5, 5.1, 5.2, 6, 6.1, 7, 8.1, 8.2"),
])
def test_malformed_values(text, hint):
    problem = only_problem(text)
    assert problem.hint == hint
    assert problem.position == 6


@pytest.mark.parametrize("text", [
    "a cat --c 101", "a cat --chaos -1", "a cat --s 1001", "a cat --weird 3001",
    "a cat --seed 4294967296", "a cat --stop 9", "a cat --stop 101", "a cat --r 41",
    "a cat --r 0", "a cat --q -1", "a cat --iw 3.5", "a cat --sw 1001",
    "a cat --sv 0", "a cat --sv 8", "a cat --cw 101", "a cat --ow 1001", "a cat --exp 101",
    "a cat --bs 5", "a cat --seed 99999999999999999999999999999999999999",
])
def test_values_outside_the_widest_range_are_errors(text):
    assert only_problem(text).message.startswith("out of range")


@pytest.mark.parametrize("text", ["a cat --v 42", "a cat --v 0", "a cat --niji 6.5", "a cat --niji 12"])
def test_impossible_versions_are_errors(text):
    only_problem(text)


def test_plausible_unknown_version_only_warns():
    assert warned(parsed("a cat --v 8"), "not a version this parser knows")
    assert warned(parsed("a cat --niji 8"), "not a version this parser knows")


@pytest.mark.parametrize("text, hint", [
    ("a cat --s 100 --stylize 200", "keep one"),
    ("a cat --ar 1:1 --aspect 2:3", "keep one"),
    ("a cat --v 7 --version 7", "keep one"),
    ("a cat --no dogs --no birds", "use --no dogs, birds"),
    ("a cat --tile --tile", "keep one"),
    ("a cat --c 1 --chaos 1", "keep one"),
])
def test_the_same_parameter_twice_is_an_error(text, hint):
    problem = only_problem(text)
    assert "given twice" in problem.message
    assert problem.hint.startswith(hint)


def test_words_after_the_parameters():
    problem = only_problem("a cat --ar 16:9 beautiful lighting")
    assert problem.token == "beautiful lighting"
    assert problem.position == 16
    assert problem.hint == "move these words before the first --"


def test_words_after_a_flag_and_a_second_oref_image():
    assert "--tile takes no value" in only_problem("a cat --tile 5").hint
    problem = only_problem(f"a cat --oref {URL} {URL2} --v 7")
    assert problem.hint == "--oref takes exactly one image; remove the others"


@pytest.mark.parametrize("text", ["", "   \n\t ", "--ar 16:9", "—s 100 --v 7", URL, f"{URL} --iw 2"])
def test_a_prompt_needs_text(text):
    found = problems(text)
    assert any("text" in problem.message for problem in found)


@pytest.mark.parametrize("name", ["sref 123", f"cref {URL}", f"oref {URL}"])
def test_references_need_text_even_with_two_images(name):
    found = problems(f"{URL} {URL2} --{name}")
    assert any("needs prompt text" in p.message for p in found)


def test_v_with_niji_is_an_error():
    problem = only_problem("a cat --v 6 --niji 6")
    assert "--v and --niji" in problem.message and problem.token == "--niji 6"


@pytest.mark.parametrize("flags", ["--relax --fast", "--fast --turbo", "--relax --turbo", "--turbo --fast --relax"])
def test_more_than_one_speed_is_an_error(flags):
    assert "more than one speed" in only_problem(f"a cat {flags}").message


@pytest.mark.parametrize("text", ["a cat::-1", "hot::-1 dog::-1", "a::1 b::-1", "nothing::0"])
def test_multi_prompt_weights_must_sum_to_a_positive_number(text):
    problem = only_problem(text + " --v 6")
    assert "weights add up to" in problem.message
    assert problem.token == "::"


def test_unbalanced_braces():
    found = problems("a } {red, blue} {open")
    assert [(p.token, p.position) for p in found] == [("}", 2), ("{", 16)]
    assert all("unbalanced" in p.message for p in found)
    with pytest.raises(PromptError) as caught:
        expand_permutations("a } {red, blue} {open")
    assert [p.position for p in caught.value.problems] == [2, 16]


def test_parse_prompt_refuses_unexpanded_permutations():
    problem = only_problem("a {red, blue} bird")
    assert problem.position == 2
    assert "validate()" in problem.hint


def test_too_many_permutation_jobs():
    with pytest.raises(PromptError) as caught:
        expand_permutations("a {1,2,3,4,5,6,7} {a,b,c,d,e,f,g}")
    assert "49 jobs; the limit is 40" in str(caught.value)
    assert caught.value.problems[0].position == 2
    assert len(expand_permutations("a {1,2,3,4,5} {a,b,c,d,e,f,g,h}")) == 40


def test_job_count_is_checked_before_building():
    huge = " ".join("{" + ", ".join(str(i) for i in range(10)) + "}" for _ in range(30))
    assert count_permutations(huge) == 10 ** 30
    with pytest.raises(PromptError, match="jobs; the limit is 40"):
        expand_permutations(huge)   # would never finish if it built the jobs first


def test_prompt_longer_than_the_limit():
    problem = only_problem("word " * 1300)
    assert "the limit is 6000" in problem.message
    assert len(str(parsed("w" * MAX_PROMPT_CHARS))) == MAX_PROMPT_CHARS
    only_problem("w" * (MAX_PROMPT_CHARS + 1))


def test_whitespace_does_not_count_toward_the_limit():
    prompt = parsed("a" + " " * 7000 + "cat")
    assert str(prompt) == "a cat"


def test_all_problems_are_collected_in_one_pass():
    text = "a cat --stylise 200 --ar 1.5:1 –v 6 --c 101 --no a --no b --relax --fast"
    found = problems(text)
    tokens = [problem.token for problem in found]
    assert tokens[:3] == ["--stylise 200", "--ar 1.5:1", "–v"]
    assert len(found) == 6
    positions = [problem.position for problem in found]
    assert positions == sorted(positions)
    for problem in found:
        assert text[problem.position:].startswith(problem.token.split(" ")[0])


def test_error_string_is_one_line_per_problem_and_first_line_stands_alone():
    with pytest.raises(PromptError) as caught:
        parse_prompt("a cat --c 101 --s 2000")
    lines = str(caught.value).splitlines()
    assert lines == [
        "--c 101 at character 6: out of range 0–100; use a value between 0 and 100",
        "--s 2000 at character 14: out of range 0–1000; use a value between 0 and 1000",
    ]
    assert isinstance(caught.value, ValueError)


def test_prompt_error_pickles_and_accepts_a_plain_message():
    error = PromptError([PromptProblem("bad", "--x", 3, "fix it")])
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) == "--x at character 3: bad; fix it"
    assert str(PromptError("plain message")) == "plain message"


@pytest.mark.parametrize("value", [None, 42, b"a cat", ["a cat"]])
def test_non_string_input_raises_prompt_error(value):
    with pytest.raises(PromptError):
        parse_prompt(value)
    with pytest.raises(PromptError):
        expand_permutations(value)


@pytest.mark.parametrize("label", ["", "eleven", "v", "--x 7", 7])
def test_bad_version_argument_raises_prompt_error(label):
    with pytest.raises(PromptError):
        parse_prompt("a cat", version=label)


def test_missing_values():
    assert "needs a value" in only_problem("a cat --ar").message
    assert "needs a value" in only_problem("a cat --s --ar 1:1").message
    assert "needs a URL" in only_problem("a cat --sref --v 7").message
    assert "needs at least one word" in only_problem("a cat --no , --v 7").message
    assert "needs an image URL" in only_problem("a cat --cref --v 6").message


def test_bad_list_items():
    assert only_problem("a cat --sref 123, 456").hint.startswith("separate references")
    assert "not an image URL" in only_problem("a cat --sref cats").message
    assert "takes image URLs only" in only_problem(f"a cat --cref {URL} dogs --v 6").message
    assert "takes one image URL" in only_problem("a cat --oref dogs --v 7").message
    assert "at most 4 images" in only_problem("a cat --edit " + " ".join([URL] * 5) + " --v 8.1").message
    assert "personalization code" in only_problem("a cat --p abc!").message


def test_spaced_and_glued_dashes():
    assert only_problem("a cat -- ar 16:9").hint == "write --ar"
    assert only_problem("a cat --ar=16:9").hint == "write --ar 16:9"
    assert only_problem("a cat --tile5").message == "--tile takes no value"


@pytest.mark.parametrize("text", ["a cat --", "a cat -- sleeping", "a cat --ar 16:9 --"])
def test_a_lone_double_dash_is_reported(text):
    problem = only_problem(text)
    assert problem.message == "-- without a parameter name"
    assert problem.position == text.rindex("--")
    assert problem.token.startswith("--")


def test_dashes_that_are_not_parameters_stay_text():
    assert parsed("a --- b ---- c - d").text == "a --- b ---- c - d"


def test_keyword_values():
    assert warned(parsed("a cat --style cute --niji 5"), "") is False
    assert warned(parsed("a cat --style 2qjxzx8b8"), "not a built-in style")
    assert "takes one of high, low" in only_problem("a cat --motion fast").message


# ---------------------------------------------------------------------------------------------
# Version-dependent rules: errors when named, warnings otherwise
# ---------------------------------------------------------------------------------------------

VERSION_RULES = [
    # (prompt, version named in the argument, fragment of the message)
    (f"a knight --cref {URL}", "7", "--cref is not compatible with --version 7"),
    (f"a knight --cref {URL}", "8.1", "--cref is not compatible with --version 8.1"),
    (f"a knight --oref {URL}", "6.1", "--oref is not compatible with --version 6.1"),
    (f"a knight --oref {URL}", "8.1", "--oref is not compatible with --version 8.1"),
    (f"a knight --oref {URL}", "niji 6", "--oref is not compatible with --niji 6"),
    ("a knight --exp 10", "6.1", "--exp is not compatible with --version 6.1"),
    ("a knight --draft", "6", "--draft is not compatible with --version 6"),
    ("a knight --draft", "niji 6", "--draft is not compatible with --niji 6"),
    ("hot:: dog", "7", "multi-prompts (::) are not supported by --version 7"),
    ("hot:: dog", "8.2", "multi-prompts (::) are not supported by --version 8.2"),
    (f"{URL} a knight --iw 2.5", "5.2", "--iw is out of range 0–2 for --version 5.2"),
    (f"{URL} a knight --iw 2.5", "niji 7", "--iw is out of range 0–2 for --niji 7"),
    ("a knight --sref 1 --sv 6", "6.1", "--sv is out of range 1–4 for --version 6.1"),
    ("a knight --sref 1 --sv 7", "7", "--sv is out of range 1–6 for --version 7"),
    ("a knight --sref 1 --sv 5", "niji 6", "--sv is out of range 1–4 for --niji 6"),
    ("a knight --sref 1", "5.2", "--sref is not compatible with --version 5.2"),
    ("a knight --p", "5.2", "--p is not compatible with --version 5.2"),
    (f"a knight --edit {URL}", "7", "--edit is not compatible with --version 7"),
]


@pytest.mark.parametrize("text, version, fragment", VERSION_RULES)
def test_version_rule_is_an_error_when_the_argument_names_the_version(text, version, fragment):
    problem = only_problem(text, version=version)
    assert fragment in problem.message


@pytest.mark.parametrize("text, version, fragment", VERSION_RULES)
def test_version_rule_is_an_error_when_the_prompt_names_the_version(text, version, fragment):
    flag = f"--niji {version.split()[1]}" if version.startswith("niji") else f"--v {version}"
    problem = only_problem(f"{text} {flag}")
    assert fragment in problem.message


@pytest.mark.parametrize("text, version, fragment", VERSION_RULES)
def test_version_rule_only_warns_for_an_assumed_default(text, version, fragment):
    prompt = parsed(text, default_version=version)
    assert warned(prompt, fragment)


@pytest.mark.parametrize("text, fragment", [
    (f"a knight --cref {URL}", "--cref is not compatible with --version 7"),
    (f"a knight --oref {URL}", "--oref is not compatible with --version 6.1"),
    ("a knight --exp 10", "--exp is not compatible with --version 6.1"),
    ("a knight --draft", "--draft is not compatible with --version 6.1"),
    ("hot:: dog", "multi-prompts (::) are not supported by --version 7"),
    ("a knight --sref 1 --sv 6", "--sv is out of range 1–4 for --version 6.1"),
])
def test_version_rule_warns_when_no_version_is_known(text, fragment):
    prompt = parsed(text)
    assert warned(prompt, fragment)
    assert warned(prompt, "default model is unknown")


@pytest.mark.parametrize("text", [
    f"a knight --cref {URL} --cw 50 --v 6.1",
    f"a knight --cref {URL} --niji 6",
    f"a knight --oref {URL} --ow 400 --v 7",
    "a knight --exp 50 --draft --v 7",
    "a knight --draft --v 8.1",
    "hot:: dog --v 6.1",
    "hot::2 dog --niji 6",
    "a knight --q 4 --v 7",
    "a knight --q 2 --v 6.1",
    "a knight --q .25 --v 5.2",
    f"{URL} a knight --iw 3 --v 7",
    "a knight --sref 1 --sv 4 --v 6",
    "a knight --sref 1 --sv 6 --v 7",
    "a knight --sref 1 --sv 7 --v 8.1",
    f"a knight --edit {URL} --v 8.2",
])
def test_version_rule_passes_on_a_version_that_supports_it(text):
    prompt = parsed(text)
    assert not [w for w in prompt.warnings if "compatible" in w or "range" in w], prompt.warnings


def test_unverified_combinations_only_warn_even_when_named():
    assert warned(parsed("a knight --q .5 --v 7"), "rounds --q 0.5 to 1 on --version 7")
    assert warned(parsed(f"{URL} a knight --iw 2.5 --niji 6"), "--iw is out of range 0–2")
    assert warned(parsed("a knight --exp 5 --niji 7"), "may not be compatible")


def test_prompt_version_beats_the_argument():
    prompt = parsed(f"a knight --cref {URL} --v 6.1", version="7")
    assert prompt.version == "6.1"
    assert prompt.warnings == ()


def test_effective_version_label():
    assert parsed("a cat --v 6.1").version == "6.1"
    assert parsed("a cat --niji 6").version == "niji 6"
    assert parsed("a cat --niji").version == "niji"
    assert parsed("a cat").version is None
    assert parsed("a cat", version="v7").version == "7"
    assert parsed("a cat", version="--niji 6").version == "niji 6"
    assert parsed("a cat", default_version="6.0").version == "6"


def test_oref_incompatibilities():
    assert "--q 4" in only_problem(f"a knight --oref {URL} --q 4 --v 7").message
    assert "--draft" in only_problem(f"a knight --oref {URL} --draft --v 7").message


# ---------------------------------------------------------------------------------------------
# Warnings
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("a cat --sw 200", "--sw has no effect without --sref"),
    ("a cat --sv 4", "--sv has no effect without --sref"),
    ("a cat --cw 20", "--cw has no effect without --cref"),
    ("a cat --ow 20", "--ow has no effect without --oref"),
    ("a cat --iw 2", "--iw has no effect without an image prompt"),
])
def test_weights_without_their_reference_warn(text, fragment):
    assert warned(parsed(text), fragment)


@pytest.mark.parametrize("text, fragment", [
    ("a cat --q .3", "rounds --q 0.3 to 0.25"),
    ("a cat --q 3 --v 7", "rounds --q 3 to 4"),
    ("a cat --q 1.4 --v 6.1", "rounds --q 1.4 to 1"),
    ("a cat --q .75", "rounds --q 0.75 to 1"),
])
def test_quality_is_rounded_with_a_warning(text, fragment):
    prompt = parsed(text)
    assert warned(prompt, fragment)


def test_quality_in_the_allowed_set_does_not_warn_about_rounding():
    assert not warned(parsed("a cat --q 2 --v 7"), "rounds")


def test_smart_quotes_warn_but_not_inside_urls():
    prompt = parsed("a sign that says “hello” --v 6.1")
    assert warned(prompt, "curly quotes")
    assert prompt.text == "a sign that says “hello”"
    assert parsed('a sign that says "hello" --v 6.1').warnings == ()
    assert parsed("https://example.com/“x”.png a sign --v 6.1").warnings == ()


def test_upper_case_parameter_names_are_normalised_with_a_warning():
    prompt = parse_prompt("a cat --AR 16:9 --Stylize 50")
    assert prompt.params == {"aspect": "16:9", "stylize": 50}
    assert str(prompt) == "a cat --ar 16:9 --s 50"
    assert sum("lower-case" in w for w in prompt.warnings) == 2
    assert parse_prompt(str(prompt)) == prompt and not parse_prompt(str(prompt)).warnings


def test_single_dash_lookalike_warns():
    prompt = parsed("a cat -ar 16:9")
    assert prompt.text == "a cat -ar 16:9"
    assert warned(prompt, "did you mean --ar?")


def test_moodboard_with_sw_or_sv_warns_and_repeat_with_relax_warns():
    assert warned(parsed("a cat --p m7240179148589383702 --sref 1 --sw 50"), "moodboard")
    assert warned(parsed("a cat --r 4 --relax"), "Fast or Turbo")


def test_warnings_use_the_error_format():
    (warning,) = parsed("a cat --sw 200").warnings
    assert warning == "--sw 200 at character 6: --sw has no effect without --sref; add --sref or remove --sw"


# ---------------------------------------------------------------------------------------------
# Unicode, emoji, newlines, spacing, length
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected_text", [
    ("🦊", "🦊"),
    ("一只狐狸在雪中 --ar 16:9", "一只狐狸在雪中"),
    ("  a\tfox\n\nin   the\r\nsnow \u00a0 --s 50  ", "a fox in the snow"),
    ("Ünïcödé façade, naïve café --v 6", "Ünïcödé façade, naïve café"),
    ("a cat, --ar 2:3", "a cat,"),
    ("a cat\n--ar 2:3\n--s 10", "a cat"),
    ("mañana 🌅 Привет مرحبا --niji 6", "mañana 🌅 Привет مرحبا"),
])
def test_unicode_and_odd_spacing(text, expected_text):
    assert parsed(text).text == expected_text


def test_very_long_valid_prompt():
    text = ("a very detailed scene with many elements " * 140).strip() + " --ar 3:2 --s 750"
    assert len(text) < MAX_PROMPT_CHARS
    prompt = parsed(text)
    assert prompt.params == {"aspect": "3:2", "stylize": 750}


def test_positions_refer_to_the_original_text_with_odd_spacing():
    text = "a  cat\n\n  --ar 16:9   --c   500"
    problem = only_problem(text)
    assert problem.position == text.index("--c")


# ---------------------------------------------------------------------------------------------
# Permutations (spec section 5) and validate()
# ---------------------------------------------------------------------------------------------

def test_doc_example_three_colours():
    assert expand_permutations("a {red, green, yellow} bird") == [
        "a red bird", "a green bird", "a yellow bird"]


def test_doc_example_groups_multiply():
    assert expand_permutations("a {red, green} bird in the {jungle, desert}") == [
        "a red bird in the jungle", "a red bird in the desert",
        "a green bird in the jungle", "a green bird in the desert"]


def test_doc_example_nesting():
    jobs = expand_permutations("A {sculpture, painting} of a {seagull {on a pier, on a beach}, "
                               "poodle {on a sofa, in a truck}}")
    assert len(jobs) == 8
    assert jobs[0] == "A sculpture of a seagull on a pier"
    assert jobs[-1] == "A painting of a poodle in a truck"
    assert len(set(jobs)) == 8


def test_doc_example_escaped_comma():
    assert expand_permutations("{red, pastel \\, yellow} bird") == ["red bird", "pastel, yellow bird"]
    assert expand_permutations("{red, pastel\\, yellow} bird") == ["red bird", "pastel, yellow bird"]


def test_doc_example_permuted_parameter_values():
    prompts = validate("a bird --ar {3:2, 1:1, 2:3, 1:2}")
    assert [p.aspect_ratio for p in prompts] == ["3:2", "1:1", "2:3", "1:2"]


def test_doc_example_braces_that_produce_parameters():
    prompts = validate("a bird --{v 5, niji, test}")
    assert [p.params for p in prompts] == [{"version": "5"}, {"niji": True}, {"test": True}]
    assert expand_permutations("a bird --{v 6.1, niji 6}") == ["a bird --v 6.1", "a bird --niji 6"]


def test_permutations_of_image_urls_and_weights():
    prompts = validate("{https://a.com/1.png, https://a.com/2.png} a fox --iw {1, 2}")
    assert [(p.image_prompts[0][-5:], p.params["iw"]) for p in prompts] == [
        ("1.png", 1.0), ("1.png", 2.0), ("2.png", 1.0), ("2.png", 2.0)]


def test_empty_options_collapse_the_double_space():
    assert expand_permutations("a {red, } bird") == ["a red bird", "a bird"]
    assert expand_permutations("a {} bird") == ["a bird"]


def test_text_without_braces_comes_back_unchanged():
    text = "  a   bird\n--ar 2:3 "
    assert expand_permutations(text) == [text]


def test_escaped_comma_outside_braces_is_left_alone():
    assert expand_permutations("a\\, b {x}") == ["a\\, b x"]


def test_max_jobs_is_configurable():
    assert len(expand_permutations("{a,b,c} {d,e}", max_jobs=6)) == 6
    with pytest.raises(PromptError, match="6 jobs; the limit is 5"):
        expand_permutations("{a,b,c} {d,e}", max_jobs=5)
    assert DEFAULT_MAX_JOBS == 40


def test_deep_nesting_is_a_prompt_error_not_a_crash():
    with pytest.raises(PromptError, match="nested"):
        expand_permutations("{" * 500 + "a" + "}" * 500)
    with pytest.raises(PromptError):
        parse_prompt("{" * 500 + "a" + "}" * 500)


def test_validate_collects_problems_across_jobs_and_numbers_them():
    with pytest.raises(PromptError) as caught:
        validate("a bird --s {100, 2000, 5000} --c 500")
    found = caught.value.problems
    assert [(p.job, p.token) for p in found] == [(1, "--c 500"), (2, "--s 2000"), (3, "--s 5000")]
    assert str(caught.value).splitlines()[0].startswith("job 1: --c 500 at character")


def test_validate_warns_that_permutations_do_not_run_in_relax_mode():
    prompts = validate("a {red, blue} bird --relax")
    assert all(warned(p, "Fast or Turbo") for p in prompts)
    assert not validate("a red bird --relax")[0].warnings


def test_validate_single_job_has_no_job_number():
    with pytest.raises(PromptError) as caught:
        validate("a bird --s 2000")
    assert caught.value.problems[0].job is None


def test_validate_passes_the_version_through():
    with pytest.raises(PromptError, match="--version 7"):
        validate("a {knight, queen} --cref " + URL, version="7")
    assert len(validate("a {knight, queen} --cref " + URL, version="6.1")) == 2


def test_validate_rejects_unbalanced_braces_and_too_many_jobs():
    with pytest.raises(PromptError, match="unbalanced"):
        validate("a {red bird")
    with pytest.raises(PromptError, match="41 jobs"):
        validate("{" + ",".join(str(i) for i in range(41)) + "} cat")


# ---------------------------------------------------------------------------------------------
# Multi-prompts (spec section 5)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "space:: ship", "space::2 ship", "hot:: dog", "hot::1 dog::1", "hot::100 dog::100",
    "vibrant tulip fields:: red::-.5", "still life gouache painting::.5 --no red",
    "a::2 b::-1", "cat::",
])
def test_doc_multi_prompts_parse_with_weights_kept_in_the_text(text):
    prompt = parsed(text + " --v 6.1")
    assert prompt.text == text.split(" --")[0]
    assert prompt.warnings == ()


def test_no_is_the_documented_equivalent_of_a_negative_weight():
    assert parsed("vibrant tulip fields --no red --v 7").params["no"] == ["red"]
    assert only_problem("vibrant tulip fields:: red::-.5 --v 7").token == "::"


# ---------------------------------------------------------------------------------------------
# Round trip of every valid prompt used above
# ---------------------------------------------------------------------------------------------

VALID_PROMPTS = [
    "a cinematic photo of a red fox in the snow, golden hour --ar 16:9 --s 250 --v 6.1",
    f"{URL} {URL2} blend these two --iw 1.5 --ar 1:1 --c 10 --weird 100",
    f"a knight --sref {URL}::2 762351716::1 random --sw 300 --sv 4 --v 6.1 --relax",
    "a cat --no dogs, birds, modern clothing --tile --seed 42 --stop 50 --r 4 --turbo",
    "anime girl --niji 5 --style cute --q .5",
    "a cat —ar 16:9 —s 1000 —v 5",
    "a cat --AR 3:2 --STYLE RAW",
    "a cat, --ar 2:3",
    "mañana 🌅 --p m7240179148589383702 abc --v 7 --exp 25 --draft --fast",
    "a sign that says “hello” --v 6.1",
    "portrait, ornate::7—ar 16:9 —s 1000 --v 5",
    "a lighthouse — stormy sea",
    "a cat -ar 16:9",
    "a world — no people",
    f"a knight --oref {URL} --ow 250 --v 7 --q 2",
    f"a knight --cref {URL} {URL2} --cw 0 --v 6",
    f"a scene --edit {URL} {URL2} --v 8.1 --hd --preview",
    "a cat --sameseed 5 --test --testp --creative --uplight --upbeta --video --loop --motion low --bs 4",
    "a\\, b x",
]


@pytest.mark.parametrize("text", VALID_PROMPTS)
def test_valid_prompts_round_trip(text):
    prompt = parsed(text)
    assert parse_prompt(str(prompt)) == prompt
