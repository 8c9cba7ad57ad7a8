"""`{a, b}` permutations: one prompt makes several jobs [PERM].

Expansion happens before parameters are read, since braces can produce parameters
(`--{v 6.1, niji 6}`). Jobs are counted before any is built, so a prompt that would make 10**30
jobs is refused at once.
"""
from __future__ import annotations

import re
from itertools import product

from .problems import PromptError, PromptProblem
from .table import DEFAULT_MAX_JOBS, MAX_BRACE_DEPTH


class _Group(list):
    """A `{…}` group: a list of options, each option a list of parts (str or _Group)."""

    __slots__ = ("position",)


_BRACE_MARK_RE = re.compile(r"\\,|[{},]")


def brace_tree(text: str) -> tuple[list, list[PromptProblem]]:
    """Parse `{a, b}` groups (nested, with `\\,` escapes) into a tree, collecting every
    unbalanced brace instead of stopping at the first. Jumps from mark to mark, so plain text
    costs one regex scan."""
    root: list = []
    stack: list[tuple[_Group, list]] = []
    current, buffer, problems, last = root, [], [], 0
    for match in _BRACE_MARK_RE.finditer(text):
        mark, index = match.group(), match.start()
        buffer.append(text[last:index])
        last = match.end()
        if not stack and mark != "{":
            if mark == "}":
                problems.append(PromptProblem(
                    "unbalanced brace: this } has no matching {", "}", index,
                    "remove it or add the missing {"))
            buffer.append(mark)
        elif mark == "\\,":           # "pastel \\, yellow" -> "pastel, yellow"
            buffer = ["".join(buffer).rstrip(" "), ","]
        elif mark == "{":
            if len(stack) >= MAX_BRACE_DEPTH:
                raise PromptError([PromptProblem(
                    f"braces nested more than {MAX_BRACE_DEPTH} deep", "{", index,
                    "flatten the permutation")])
            current.append("".join(buffer))
            group, option = _Group(), []
            group.position = index
            group.append(option)
            current.append(group)
            stack.append((group, current))
            current, buffer = option, []
        elif mark == ",":
            current.append("".join(buffer))
            option = []
            stack[-1][0].append(option)
            current, buffer = option, []
        else:
            current.append("".join(buffer))
            _group, current = stack.pop()
            buffer = []
    buffer.append(text[last:])
    current.append("".join(buffer))
    for group, _parent in stack:
        problems.append(PromptProblem(
            "unbalanced brace: this { is never closed", "{", group.position,
            "add the missing } or remove the {"))
    return root, problems


def _count_sequence(parts: list) -> int:
    total = 1
    for part in parts:
        if isinstance(part, _Group):
            total *= sum(_count_sequence(option) for option in part)
    return total


def _expand_sequence(parts: list) -> list[str]:
    """Every string the parts produce, leftmost group varying slowest (like itertools.product)."""
    choices = []
    for part in parts:
        if isinstance(part, _Group):
            choices.append([text for option in part for text in _expand_option(option)])
        else:
            choices.append([part])
    return ["".join(combination) for combination in product(*choices)]


def _expand_option(option: list) -> list[str]:
    """An option is trimmed of surrounding spaces, as Midjourney does."""
    return [text.strip() for text in _expand_sequence(option)]


_SPACES_RE = re.compile(r"[ \t]{2,}")


def _tidy(job: str) -> str:
    """Collapse the double spaces left by empty or trimmed options."""
    return _SPACES_RE.sub(" ", job).strip()


def _first_brace(tree: list) -> int:
    for part in tree:
        if isinstance(part, _Group):
            return part.position
    return 0


def count_permutations(text: str) -> int:
    """How many jobs `text` makes, without building them. Raises PromptError on bad braces."""
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    if "{" not in text and "}" not in text:
        return 1
    tree, problems = brace_tree(text)
    if problems:
        raise PromptError(problems)
    return _count_sequence(tree)


def expand_permutations(text: str, *, max_jobs: int = DEFAULT_MAX_JOBS) -> list[str]:
    """Expand `{a, b}` permutations into one prompt per job.

    Nested groups, `\\,` escapes and groups that produce parameters (`--{v 6.1, niji 6}`) work,
    since expansion happens before parameters are read. The number of jobs is counted before
    anything is built; more than `max_jobs` raises PromptError, as do unbalanced braces. A
    prompt without braces comes back unchanged, so error positions still match what was typed.
    """
    if not isinstance(text, str):
        raise PromptError(f"prompt must be a string, not {type(text).__name__}")
    if "{" not in text and "}" not in text:
        return [text]
    tree, problems = brace_tree(text)
    if problems:
        raise PromptError(problems)
    jobs = _count_sequence(tree)
    if jobs > max_jobs:
        raise PromptError([PromptProblem(
            f"the permutations make {jobs} jobs; the limit is {max_jobs}", "{",
            _first_brace(tree), "remove options or split the prompt")])
    return [_tidy(job) for job in _expand_sequence(tree)]

