"""Property-based tests for apiframe_magic.prompt (hypothesis).

1. Arbitrary text and arbitrary "parameter soup" never raise anything but PromptError, and every
   problem points inside the text.
2. Whatever parses round-trips: `parse_prompt(str(p)) == p`, and `str()` is a fixed point.
3. Prompts assembled only from valid pieces are never rejected (the parser must not refuse what
   Midjourney accepts), and read back the parameters they were built from.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiframe_magic.prompt import (
    Prompt, PromptError, expand_permutations, parse_prompt, validate,
)
from apiframe_magic.prompt.converters import _COMMON_WORDS as COMMON_WORDS
from apiframe_magic.prompt.table import STYLE_KEYWORDS, STYLE_NOT_VALUES

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

NAMES = [
    "ar", "aspect", "c", "chaos", "q", "quality", "s", "stylize", "w", "weird", "seed", "stop",
    "tile", "no", "r", "repeat", "v", "version", "niji", "style", "raw", "iw", "sref", "sw", "sv",
    "cref", "cw", "oref", "ow", "p", "profile", "exp", "draft", "relax", "fast", "turbo", "hd",
    "video", "edit", "preview", "sameseed", "test", "hq", "width", "h", "AR", "Stylize", "stylise",
    "sytlize", "", "x", "ärger", "ar16:9", "s250", "no-dogs", "ar=3:2",
]
DASHES = ["--", "—", "–", "−", "-", "-- ", "—— ", "––", ""]
VALUES = [
    "16:9", "1920:1080", "1.39:1", "0:1", "16x9", "16:9.", "7", "6.1", "5.2", "niji", "0", "1",
    "100", "1000", "1001", "-5", ".5", "2.", "0.25", "4", "250;", "6,", "raw", "RAW", "cute",
    "random", "762351716::2", "https://example.com/a.png", "https://example.com/a.png::1.5",
    "http://x", "dogs, birds", "m7240179148589383702", "abc!", "9" * 40, "1e5", "nan", "inf",
    "::", "::-1", "::.5", "{a, b}", "{", "}", "\\,", "“hi”", "🦊", "日本", "",
]
WORDS = ["a", "cat", "red fox", "in the snow,", "🦊", "Привет", "“quoted”", '"quoted"', "::2",
         "hot::", "dog::-.5", "https://example.com/x.jpg", "{red, blue}", "x—ar", "1990–2000",
         "—", "a\\, b", "café", "\u200b", "\u00a0"]
SEPARATORS = [" ", "  ", "\n", "\t", " \r\n ", "", "\u00a0", "\u2003"]


def soup_piece():
    parameter = st.builds(lambda d, n, sep, v: f"{d}{n}{sep}{v}", st.sampled_from(DASHES),
                          st.sampled_from(NAMES), st.sampled_from([" ", "", "  "]),
                          st.sampled_from(VALUES))
    return st.one_of(parameter, st.sampled_from(WORDS), st.sampled_from(VALUES),
                     st.text(max_size=8))


parameter_soup = st.lists(st.tuples(soup_piece(), st.sampled_from(SEPARATORS)), max_size=14).map(
    lambda pieces: "".join(piece + separator for piece, separator in pieces))


def assert_only_prompt_errors(text: str, **kwargs) -> Prompt | None:
    """Parse; a PromptError is fine (and must be well formed), anything else fails the test."""
    try:
        prompt = parse_prompt(text, **kwargs)
    except PromptError as error:
        assert error.problems, "a PromptError must list its problems"
        assert str(error).splitlines()[0]
        for problem in error.problems:
            assert problem.position is None or 0 <= problem.position <= len(text)
            assert problem.message
        return None
    assert isinstance(prompt, Prompt)
    return prompt


def assert_round_trip(prompt: Prompt, **kwargs) -> None:
    canonical = str(prompt)
    again = parse_prompt(canonical, **kwargs)
    assert again == prompt, (canonical, prompt.params, again.params)
    assert str(again) == canonical


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text_only_raises_prompt_error(text):
    prompt = assert_only_prompt_errors(text)
    if prompt is not None:
        assert_round_trip(prompt)
    try:
        for job in expand_permutations(text):
            assert isinstance(job, str)
    except PromptError:
        pass


@SETTINGS
@given(parameter_soup, st.sampled_from([None, "7", "6.1", "niji 6", "5.2", "8.1"]))
def test_parameter_soup_only_raises_prompt_error_and_valid_soup_round_trips(text, version):
    prompt = assert_only_prompt_errors(text, version=version)
    if prompt is not None:
        assert_round_trip(prompt, version=version)


@SETTINGS
@given(parameter_soup)
def test_validate_only_raises_prompt_error(text):
    try:
        prompts = validate(text)
    except PromptError as error:
        assert error.problems
        return
    for prompt in prompts:
        assert_round_trip(prompt)


# ---------------------------------------------------------------------------------------------
# Valid prompts built from valid pieces are never rejected
# ---------------------------------------------------------------------------------------------

word = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                           blacklist_characters="{}-—–−:,\\“”„‟\u2028\u2029\x1c\x1d\x1e\x1f\x85"),
    min_size=1, max_size=10)
url = st.from_regex(r"https://[a-z]{1,8}\.com/[A-Za-z0-9_]{1,8}\.(png|jpg|webp)", fullmatch=True)
# profile codes are random letters and digits; ordinary words after --p are reported as prose
code = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,12}", fullmatch=True).filter(
    lambda c: c not in COMMON_WORDS)
weight = st.sampled_from(["", "::2", "::.5", "::1.25", "::-1", "::100"])
sref_item = st.tuples(st.one_of(url, st.integers(0, 2**32 - 1).map(str), st.just("random")),
                      weight).map("".join)

VALID_PARAMETERS = {
    "aspect": st.tuples(st.integers(1, 5000), st.integers(1, 5000)).map(lambda r: f"--ar {r[0]}:{r[1]}"),
    "chaos": st.integers(0, 100).map("--c {}".format),
    "quality": st.sampled_from([".25", ".5", "1", "2", "0.3", "1.5"]).map("--q {}".format),
    "stylize": st.integers(0, 1000).map("--stylize {}".format),
    "weird": st.integers(0, 3000).map("--w {}".format),
    "seed": st.integers(0, 2**32 - 1).map("--seed {}".format),
    "stop": st.integers(10, 100).map("--stop {}".format),
    "tile": st.just("--tile"),
    "no": st.lists(word, min_size=1, max_size=3).map(lambda ws: "--no " + ", ".join(ws)),
    "repeat": st.integers(1, 40).map("--repeat {}".format),
    "style": st.sampled_from(["raw", "cute", "scenic"]).map("--style {}".format),
    "raw": st.just("--raw"),
    "iw": st.floats(0, 3, allow_nan=False).map(lambda x: f"--iw {round(x, 3)}"),
    "sref": st.lists(sref_item, min_size=1, max_size=3).map(lambda items: "--sref " + " ".join(items)),
    # the web app repeats list parameters: `--sref 1 --sref 2` is one list
    "sref again": st.lists(sref_item, min_size=1, max_size=2).map(
        lambda items: "--sref " + " ".join(items)),
    "p again": st.lists(code, min_size=1, max_size=2).map(lambda cs: " ".join(["--p", *cs])),
    "sw": st.integers(0, 1000).map("--sw {}".format),
    "sv": st.integers(1, 7).map("--sv {}".format),
    "cref": st.lists(url, min_size=1, max_size=2).map(lambda us: "--cref " + " ".join(us)),
    "cw": st.integers(0, 100).map("--cw {}".format),
    "oref": url.map("--oref {}".format),
    "ow": st.integers(1, 1000).map("--ow {}".format),
    "p": st.lists(code, max_size=2).map(lambda cs: " ".join(["--p", *cs])),
    "exp": st.integers(0, 100).map("--exp {}".format),
    "speed": st.sampled_from(["--relax", "--fast", "--turbo"]),
    "hd": st.just("--hd"),
    # a Style Tuner code (legacy, case-sensitive)
    "style code": st.from_regex(r"[A-Za-z0-9]{6,10}", fullmatch=True).filter(
        lambda c: c.lower() not in STYLE_KEYWORDS | STYLE_NOT_VALUES).map("--style {}".format),
}
CASE_KEPT = ("sref", "sref again", "p", "p again", "cref", "oref", "style code")


@st.composite
def valid_prompt(draw):
    images = draw(st.lists(url, max_size=2))
    words = draw(st.lists(word, min_size=1, max_size=8))
    names = draw(st.lists(st.sampled_from(sorted(VALID_PARAMETERS)), unique=True, max_size=8))
    if "style" in names and "style code" in names:
        names.remove("style code")
    parameters = [draw(VALID_PARAMETERS[name]) for name in names]
    if "oref" in names:     # documented incompatibility: --oref with --q 4 is excluded anyway
        parameters = [p for p in parameters if p != "--q 4"]
    separators = draw(st.lists(st.sampled_from([" ", "  ", "\n", " \t "]),
                               min_size=1, max_size=1))
    return separators[0].join(images + words + parameters), names, dict(zip(names, parameters))


@SETTINGS
@given(valid_prompt())
def test_prompts_built_from_valid_pieces_are_accepted_and_round_trip(built):
    text, names, pieces = built
    prompt = parse_prompt(text)      # must not raise: these are prompts Midjourney accepts
    expected = {_CANONICAL.get(n, n) for n in names}
    got = {("relax" if n in ("relax", "fast", "turbo") else n) for n in prompt.params}
    assert got == expected
    assert_round_trip(prompt)
    canonical = str(prompt)
    for name in CASE_KEPT:       # codes and URLs are written back exactly as the user wrote them
        if name in pieces:
            assert pieces[name].partition(" ")[2] in canonical, (pieces[name], canonical)


_CANONICAL = {"speed": "relax", "sref again": "sref", "p again": "p", "style code": "style"}


# ---------------------------------------------------------------------------------------------
# Permutations against an independent reference expansion
# ---------------------------------------------------------------------------------------------

plain = st.text(alphabet="ab xyz.:-\t", max_size=6)
escaped_comma = st.just(("\\,", ","))


def brace_tree(depth: int = 0):
    """(template, expected jobs before tidying) for a random sequence of text and groups."""
    # the docs define the \, escape inside braces only; outside it is left as typed
    unescaped = (lambda e: [e[1]]) if depth else (lambda e: [e[0]])
    leaf = st.one_of(plain.map(lambda t: (t, [t])), escaped_comma.map(lambda e: (e[0], unescaped(e))))
    if depth >= 3:
        parts = st.lists(leaf, max_size=3)
    else:
        group = st.lists(st.deferred(lambda: brace_tree(depth + 1)), min_size=1, max_size=3).map(
            lambda options: ("{" + ",".join(t for t, _ in options) + "}",
                             [job.strip() for _, jobs in options for job in jobs]))
        parts = st.lists(st.one_of(leaf, group), max_size=3)
    return parts.map(_join_parts)


def _join_parts(parts):
    template = "".join(t for t, _ in parts)
    jobs = [""]
    for _, options in parts:
        jobs = [job + option for job in jobs for option in options]
    return template, jobs


def _reference_tidy(job: str) -> str:
    import re
    return re.sub(r"[ \t]{2,}", " ", job).strip()


@SETTINGS
@given(brace_tree())
def test_permutations_match_a_reference_expansion(built):
    template, jobs = built
    if "{" not in template:
        assert expand_permutations(template) == [template]
        return
    # the reference keeps spaces before an escaped comma; the expander drops them ("a \, b")
    expected = [_reference_tidy(job) for job in jobs]
    if "\\," in template and any(" ," in job for job in expected):
        return
    assert expand_permutations(template, max_jobs=10**9) == expected
    from apiframe_magic.prompt import count_permutations
    assert count_permutations(template) == len(expected)
