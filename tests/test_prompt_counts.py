"""prompt.validation: how many jobs a prompt runs (permutations times each one's --repeat) and how
validation numbers its problems, against numbers written here."""
from __future__ import annotations

import pytest

from apiframe_magic.prompt import PromptError, count_jobs, validate


@pytest.mark.parametrize("text, jobs", [
    ("a fox", 1),
    ("a fox --repeat 40", 40),                    # the highest --repeat counts in full
    ("a fox --r 3", 3),
    ("a fox --repeat 41", 1),                     # out of range: unreadable, counted once
    ("a fox --repeat 0040", 1),                   # four digits: unreadable
    ("a fox --repeat", 1),
    ("a {red, blue} fox --repeat 3", 6),
    ("a {red --repeat 2, blue --repeat 5} fox", 7),   # each permutation its own --repeat
    ("a {red, blue} fox", 2),
    ("a {red} fox --repeat 4", 4),               # braces with one option
    ("a fox --no {cats, dogs}", 2),
])
def test_count_jobs(text, jobs):
    assert count_jobs(text) == jobs


def test_past_the_expansion_limit_the_count_is_the_permutations():
    text = "a " + " ".join("{a, b}" for _ in range(13)) + " fox --repeat 2"    # 8192
    assert count_jobs(text) == 8192
    text = "a " + " ".join("{a, b}" for _ in range(12)) + " fox --repeat 2"    # 4096: expanded
    assert count_jobs(text) == 8192


def test_problems_of_two_jobs_say_which_job():
    with pytest.raises(PromptError) as info:
        validate("a fox --chaos {5, 500}")
    assert [problem.job for problem in info.value.problems] == [2]


def test_a_problem_of_a_single_job_has_no_job_number():
    with pytest.raises(PromptError) as info:
        validate("a fox --chaos 500")
    assert [problem.job for problem in info.value.problems] == [None]


def test_too_many_jobs_names_the_repeat_token_and_the_limit():
    with pytest.raises(PromptError) as info:
        validate("a {red, blue} fox --repeat 30", max_jobs=40)
    (problem,) = info.value.problems
    assert problem.message == "2 permutations with --repeat make 60 jobs; the limit is 40"
    assert problem.token == "--repeat 30" and problem.position == 18
    with pytest.raises(PromptError, match="--repeat makes 30 jobs; the limit is 20"):
        validate("a fox --r 30", max_jobs=20)


def test_too_many_jobs_from_a_repeat_made_by_permutations_points_at_no_token():
    with pytest.raises(PromptError) as info:
        validate("a fox --{r 30, r 20}", max_jobs=40)     # no --repeat as typed
    (problem,) = info.value.problems
    assert problem.message == "2 permutations with --repeat make 50 jobs; the limit is 40"
    assert (problem.token, problem.position) == ("", None)


def test_relax_in_a_permutation_warns_once_per_job():
    prompts = validate("a {red, blue} fox --relax")
    assert [p.warnings[-1] for p in prompts] == [
        "--relax: permutations run in Fast or Turbo mode only; remove --relax"] * 2


def test_the_assumed_version_only_warns():
    (prompt,) = validate("a fox --stop 50", default_version="7")
    assert prompt.warnings[0].startswith("--stop 50 at character 6: --stop is not compatible "
                                         "with --version 7;")


def test_permutations_past_max_jobs_are_refused():
    with pytest.raises(PromptError):
        validate("a {a, b, c} fox", max_jobs=2)


def test_the_repeat_token_is_its_flag_and_value_only():
    with pytest.raises(PromptError) as info:
        validate("a {red, blue} fox --repeat 30 --ar 3:2", max_jobs=40)
    assert info.value.problems[0].token == "--repeat 30"


def test_max_jobs_above_the_default_lets_more_permutations_through():
    text = "a {" + ", ".join(f"c{i}" for i in range(41)) + "} fox"
    assert len(validate(text, max_jobs=200)) == 41
    with pytest.raises(PromptError):
        validate(text)                                   # the default limit is 40
