"""The prompt language's second pass (issue 10): one test per rule, with examples taken from
docs.midjourney.com's parameter pages (quoted in shared/spec/prompt-syntax.md).

Every prompt parsed successfully goes through `parsed()`, which also checks the round trip.
"""
from __future__ import annotations

import pytest

from apiframe_magic.prompt import (
    CURRENT_DEFAULT_VERSION, KNOWN_VERSIONS, PromptError, PromptProblem, Reference, count_jobs,
    validate,
)
from prompt_checks import only_problem, parsed, problems, warned

URL = "https://example.com/Cat.png"
URL2 = "https://example.com/Dog.jpg"


# ---------------------------------------------------------------------------------------------
# 1. Repeated list parameters are one list
# ---------------------------------------------------------------------------------------------

def test_repeated_sref_is_one_list_in_order():
    """The web app writes several style references as repeated --sref [SREF]."""
    prompt = parsed(f"a cat --sref 123 --sref 456::2 --sref {URL}")
    assert prompt.params["sref"] == [
        Reference("code", "123"), Reference("code", "456", 2.0), Reference("url", URL)]
    assert str(prompt) == f"a cat --sref 123 456::2 {URL}"


def test_repeated_profiles_merge_and_keep_their_case():
    prompt = parsed("a cat --p abc --p DeF1 --profile m7240179148589383702 --v 7")
    assert prompt.params["p"] == ["abc", "DeF1", "m7240179148589383702"]
    assert str(prompt) == "a cat --p abc DeF1 m7240179148589383702 --v 7"


def test_repeated_image_lists_merge_within_their_limit():
    assert parsed(f"a knight --cref {URL} --cref {URL2} --v 6").params["cref"] == [URL, URL2]
    problem = only_problem(f"a scene --edit {URL} {URL} --edit {URL} {URL} {URL2} --v 8.1")
    assert "at most 4 images" in problem.message


def test_a_bad_item_in_a_repeated_list_is_reported_alone():
    problem = only_problem("a cat --sref 123 --sref cats")
    assert problem.token == "cats" and "not an image URL" in problem.message


@pytest.mark.parametrize("text, hint", [
    ("a cat --no dogs --no birds", "use --no dogs, birds"),   # [NO]: one --no per prompt
    ("a cat --s 100 --stylize 200", "keep one"),
    ("a cat --ar 1:1 --ar 2:3", "keep one"),
])
def test_single_valued_parameters_and_no_stay_single(text, hint):
    problem = only_problem(text)
    assert "given twice" in problem.message and problem.hint.startswith(hint)


# ---------------------------------------------------------------------------------------------
# 2. Rounding, not rejecting: --q; stylize ranges by version
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("a cat --q 5", "rounds --q 5 to 4"),
    ("a cat --q .1", "rounds --q 0.1 to 0.25"),
    ("a cat --q 0", "rounds --q 0 to 0.25"),
    ("a cat --q 3 --v 7", "rounds --q 3 to 4 on --version 7"),
    ("a cat --q .5 --v 7", "rounds --q 0.5 to 1 on --version 7"),
    ("a cat --q 2 --v 6", "rounds --q 2 to 1 on --version 6"),
    ("a cat --q 4 --v 6.1", "rounds --q 4 to 2 on --version 6.1"),
    ("a cat --q 2 --niji 6", "rounds --q 2 to 1 on --niji 6"),
])
def test_quality_outside_the_version_set_rounds_with_a_warning_naming_the_value(text, fragment):
    """[Q]: "Other values round to closest available option"."""
    prompt = parsed(text)
    assert warned(prompt, fragment)
    assert parsed(text, version="6.1") is not None      # never an error, whatever the version


def test_quality_in_the_version_set_is_silent_and_negative_quality_is_an_error():
    assert parsed("a cat --q 4 --v 7").warnings == ()
    assert parsed("a cat --q .25 --v 5.2").warnings == ()
    assert only_problem("a cat --q -1").message.startswith("out of range")


def test_stylize_is_0_to_1000_on_every_current_model():
    problem = only_problem("a red fox --stylize 2000")
    assert (problem.message, problem.hint) == ("out of range 0–1000",
                                               "use a value between 0 and 1000")
    only_problem("a red fox --s 2000", default_version=CURRENT_DEFAULT_VERSION)
    only_problem("a red fox --s 1001 --v 7")
    assert parsed("a red fox --s 1000 --v 7").params["stylize"] == 1000


def test_stylize_on_v3_took_625_to_60000():
    assert parsed("a red fox --s 60000 --v 3").params["stylize"] == 60000
    assert parsed("a red fox --s 2500", version="3").params["stylize"] == 2500
    problem = only_problem("a red fox --s 100 --v 3")
    assert problem.message == "out of range 625–60000 for --version 3"
    only_problem("a red fox --s 60001 --v 3")


# ---------------------------------------------------------------------------------------------
# 3. Version rules that were missing
# ---------------------------------------------------------------------------------------------

VERSION_RULES = [
    # (prompt, a version that rejects it, fragment, a version that accepts it)
    ("a cat --style raw", "5", "--style raw is not compatible with --version 5", "5.1"),
    ("a cat --style cute", "6.1", "--style cute is not compatible with --version 6.1", "niji 5"),
    ("a cat --style scenic", "niji 6", "--style scenic is not compatible with --niji 6", "niji 5"),
    ("a cat --style 4b", "5.2", "--style 4b is not compatible with --version 5.2", "4"),
    ("a cat --stop 50", "7", "--stop is not compatible with --version 7", "6.1"),
    ("a cat --stop 50", "8.2", "--stop is not compatible with --version 8.2", "niji 6"),
    ("a cat --tile", "4", "--tile is not compatible with --version 4", "5.2"),
    ("a cat --weird 250", "4", "--weird is not compatible with --version 4", "5"),
    ("a cat --hd", "7", "--hd is not compatible with --version 7", "8.1"),
    ("a cat --hd", "6.1", "--hd is not compatible with --version 6.1", "3"),
]


@pytest.mark.parametrize("text, bad, fragment, good", VERSION_RULES)
def test_version_rule_is_an_error_when_named_and_passes_where_supported(text, bad, fragment, good):
    assert fragment in only_problem(text, version=bad).message
    flag = f"--niji {bad.split()[1]}" if bad.startswith("niji") else f"--v {bad}"
    assert fragment in only_problem(f"{text} {flag}").message
    prompt = parsed(text, version=good)
    assert not [w for w in prompt.warnings if "compatible" in w], prompt.warnings


@pytest.mark.parametrize("text, bad, fragment, good", VERSION_RULES)
def test_version_rule_only_warns_for_an_assumed_default(text, bad, fragment, good):
    assert warned(parsed(text, default_version=bad), fragment)


def test_style_default_is_not_a_value_and_tuner_codes_keep_their_case():
    problem = only_problem("a cat --style default")
    assert "not a style value" in problem.message
    assert problem.hint.startswith("remove --style")
    prompt = parsed("a cat --style 2QjXzx8b8 --v 5.2")
    assert prompt.params["style"] == "2QjXzx8b8"
    assert str(prompt) == "a cat --style 2QjXzx8b8 --v 5.2"
    assert warned(prompt, "not a built-in style")
    assert parsed("a cat --style RAW --v 7").params["style"] == "raw"


def test_ow_is_1_to_1000():
    """[OREF]: "--ow" accepts 1–1000, default 100."""
    assert only_problem(f"a knight --oref {URL} --ow 0 --v 7").message == "out of range 1–1000"
    assert parsed(f"a knight --oref {URL} --ow 1 --v 7").params["ow"] == 1
    assert parsed(f"a knight --oref {URL} --ow 1000 --v 7").params["ow"] == 1000


@pytest.mark.parametrize("value", [1, 2, 4])
def test_bs_takes_the_documented_batch_sizes(value):
    assert parsed(f"{URL} a cat waves --video --bs {value}").params["bs"] == value


def test_bs_rejects_other_batch_sizes():
    problem = only_problem(f"{URL} a cat waves --video --bs 3")
    assert problem.message == "--bs takes only 1, 2, 4"


def test_video_parameters_are_known_and_warn_on_a_still_image():
    """[Video]: video jobs take --motion low|high, --raw, --loop, --end and --bs #."""
    prompt = parsed(f"{URL} a cat waves --video --motion high --loop --end {URL2} --bs 2")
    assert prompt.params["end"] == URL2 and prompt.warnings == ()
    still = parsed(f"a cat --motion low --end {URL2}")
    assert warned(still, "--motion is for video jobs") and warned(still, "--end is for video")
    assert "takes one image URL" in only_problem("a cat --video --end soon").message


# ---------------------------------------------------------------------------------------------
# 4. Job counting: --repeat multiplies jobs
# ---------------------------------------------------------------------------------------------

def test_count_jobs_multiplies_permutations_by_repeat():
    assert count_jobs("a fox") == 1
    assert count_jobs("a fox --r 4") == 4
    assert count_jobs("a fox —repeat 3") == 3
    assert count_jobs("a {red, blue} fox --r 3") == 6
    assert count_jobs("a {red, blue} fox --r {2, 5}") == 14     # (2 + 5) for each colour
    assert count_jobs("a {red, blue} fox --r 99") == 2      # unreadable repeat counts once
    assert count_jobs("a {red, blue} fox --repeat") == 2
    with pytest.raises(PromptError, match="unbalanced"):
        count_jobs("a {red fox --r 3")


def test_count_jobs_of_a_huge_permutation_is_a_lower_bound_without_building_it():
    huge = " ".join("{" + ", ".join(str(i) for i in range(10)) + "}" for _ in range(30))
    assert count_jobs(huge + " --r 2") >= 10 ** 30


def test_validate_counts_repeat_in_the_job_limit():
    assert sum(p.jobs for p in validate("a {red, blue} fox --r 20")) == 40
    with pytest.raises(PromptError) as caught:
        validate("a {red, blue} fox --r 30")
    (problem,) = caught.value.problems
    assert problem.message == "2 permutations with --repeat make 60 jobs; the limit is 40"
    assert problem.hint.startswith("lower --repeat")
    text = "a {red, blue} fox --relax --r 30"
    with pytest.raises(PromptError) as caught:
        validate(text)
    (problem,) = caught.value.problems
    assert (problem.token, problem.position) == ("--r 30", text.index("--r 30"))
    with pytest.raises(PromptError, match="make 12 jobs; the limit is 10"):
        validate("a {red, blue, green} fox --r 4", max_jobs=10)
    with pytest.raises(PromptError, match="--repeat makes 12 jobs; the limit is 10"):
        validate("a fox --r 12", max_jobs=10)


def test_prompt_jobs_is_its_repeat():
    assert parsed("a fox").jobs == 1 and parsed("a fox --r 5").jobs == 5


# ---------------------------------------------------------------------------------------------
# 5. Keep what the user wrote: case of codes and references
# ---------------------------------------------------------------------------------------------

def test_canonical_form_keeps_the_case_of_codes_and_urls():
    text = f"a Cat --sref {URL}::2 Random --p Ab3dEf m123 --style Tuner7X --v 6.1"
    prompt = parsed(text)
    assert str(prompt) == f"a Cat --sref {URL}::2 random --p Ab3dEf m123 --style Tuner7X --v 6.1"
    assert parsed("a cat --CREF " + URL + " --V 6").params["cref"] == [URL]


# ---------------------------------------------------------------------------------------------
# 6. Near misses
# ---------------------------------------------------------------------------------------------

def test_three_dashes_before_a_parameter_name_is_a_typo():
    problem = only_problem("a cat ---no dogs")
    assert (problem.token, problem.position, problem.hint) == ("---no", 6, "write --no")
    assert parsed("a --- b ---- c").params == {}        # dashes alone stay text
    assert parsed("a cat ---nothing").text == "a cat ---nothing"


@pytest.mark.parametrize("text, written", [
    ("/imagine a cat --ar 2:3", "/imagine"),
    ("/imagine prompt: a cat", "/imagine prompt:"),
    ("/IMAGINE: a cat", "/IMAGINE:"),
])
def test_a_leading_imagine_is_discord_syntax(text, written):
    problem = only_problem(text)
    assert problem.position == 0 and problem.hint == f"remove {written}"
    assert parsed("/r/aww style cat").text == "/r/aww style cat"


def test_old_width_and_height_habits_get_the_matching_aspect_ratio():
    found = problems("a cat --w 1080 --h 1920")
    assert [p.token for p in found] == ["--w 1080", "--h 1920"]
    assert found[0].message == "--w now means --weird, not width"
    assert all(p.hint == "use --ar 9:16 for 1080×1920" for p in found)
    found = problems("a cat --width 1920 --height 1080")
    assert all(p.hint == "use --ar 16:9 for 1920×1080" for p in found) and len(found) == 2
    assert only_problem("a cat --h 1920").hint == "use --ar W:H instead"


def test_w_with_a_pixel_width_warns_that_it_means_weird():
    prompt = parsed("a cat --w 1080")
    assert prompt.params == {"weird": 1080}
    assert warned(prompt, "--w means --weird now")
    assert parsed("a cat --w 250").warnings == ()
    assert parsed("a cat --weird 1024").warnings == ()


def test_p_followed_by_ordinary_words_is_reported():
    problem = only_problem("a cat --p sitting on a mat")
    assert problem.token == "sitting on a mat"
    assert problem.hint == 'move "sitting on a mat" before the first --'
    assert parsed("a cat --p abc123 x7y8z9").params["p"] == ["abc123", "x7y8z9"]


@pytest.mark.parametrize("text, token, hint", [
    ('a cat --sref "123"', '"123"', "write --sref 123"),
    ("a cat --ar '16:9'", "'16:9'", "write --ar 16:9"),
    ("a cat --p “abc”", "“abc”", "write --p abc"),
])
def test_quotes_glued_to_values_are_reported(text, token, hint):
    problem = only_problem(text)
    assert (problem.token, problem.hint) == (token, hint)
    assert problem.message == "quotes around a parameter value"


def test_quotes_in_no_phrases_are_text():
    assert parsed('a sign --no "text", logo').params["no"] == ['"text"', "logo"]


@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x00", "\x7f", "\x0b"])
def test_control_characters_are_rejected(char):
    problem = only_problem(f"a cat{char}[31m red --ar 2:3")
    assert problem.position == 5
    assert f"U+{ord(char):04X}" in problem.message
    assert str(problem).isprintable()


def test_problem_lines_never_carry_control_characters():
    problem = PromptProblem("bad\nthing", "\x1b[2J", 3, "fix\x07it")
    line = str(problem)
    assert line.isprintable() and "\n" not in line
    assert line == "\\x1b[2J at character 3: bad\\x0athing; fix\\x07it"
    assert problem.line() == line


@pytest.mark.parametrize("text", ["the 1990–2000 era", "a – b", "red–green", "a cat –ish"])
def test_en_dash_used_as_punctuation_is_text(text):
    assert parsed(text).params == {}


def test_en_dash_before_a_known_parameter_name_is_a_wrong_dash():
    assert only_problem("a cat –ar 16:9").hint == "use --ar"


# ---------------------------------------------------------------------------------------------
# 7. Messages: brace errors alone, one line per wrong parameter, known confusions
# ---------------------------------------------------------------------------------------------

def test_a_brace_error_is_reported_alone():
    text = "a {red, blue bird --ar 16:9 --c 500 --stylise 3"
    (problem,) = problems(text)
    assert "unbalanced" in problem.message and problem.position == 2
    with pytest.raises(PromptError) as caught:
        validate(text)
    assert len(caught.value.problems) == 1


@pytest.mark.parametrize("text", [
    "a cat --s=2000",
    f"a cat --cref {URL} dogs cats --v 6",
    "a cat --p abc! def? --v 7",
    "a cat --sref cats dogs",
    "a cat ---ar16:9",
    "a cat —AR=1.5:1",
])
def test_one_line_per_wrong_parameter(text):
    only_problem(text)


@pytest.mark.parametrize("name, suggestion", [
    ("negative", "--no"), ("negative-prompt", "--no"), ("aspect-ratio", "--ar"),
    ("aspect_ratio", "--ar"), ("stylise", "--stylize"), ("model", "--v"), ("style-ref", "--sref"),
    ("omni", "--oref"), ("tiling", "--tile"), ("personalization", "--p"),
])
def test_known_confusions_come_before_edit_distance(name, suggestion):
    problem = only_problem(f"a cat --{name} 5")
    assert problem.message == f"unknown parameter --{name}"
    assert problem.hint == f"did you mean {suggestion}?"


def test_niji6_is_a_missing_space_and_nothing_close_gets_no_guess():
    assert only_problem("a cat --niji6").hint == "write --niji 6"
    hint = only_problem("a cat --zzzqqq 4").hint
    assert "did you mean" not in hint and hint.startswith("remove it")


# ---------------------------------------------------------------------------------------------
# 8. Assumed version
# ---------------------------------------------------------------------------------------------

def test_current_default_version_is_a_known_version():
    assert CURRENT_DEFAULT_VERSION in KNOWN_VERSIONS


def test_assumed_version_warns_and_named_version_rejects():
    assumed = parsed("a cat --stop 50", default_version=CURRENT_DEFAULT_VERSION)
    assert warned(assumed, f"--stop is not compatible with --version {CURRENT_DEFAULT_VERSION}")
    assert assumed.version == CURRENT_DEFAULT_VERSION
    only_problem("a cat --stop 50", version=CURRENT_DEFAULT_VERSION)
    assert parsed("a cat --stop 50 --v 6.1", version=CURRENT_DEFAULT_VERSION).warnings == ()
