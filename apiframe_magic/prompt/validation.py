"""Whole prompts as the user types them: permutations expanded, every job parsed, jobs counted.

A prompt makes `permutations × --repeat` jobs; the job limit and the credit count both use that.
"""
from __future__ import annotations

from dataclasses import replace

from .model import Prompt
from .parser import parse_prompt
from .permutations import count_permutations, expand_permutations
from .problems import PromptError, PromptProblem
from .table import ALIASES, DEFAULT_MAX_JOBS
from .tokens import read_heads, take_values, token_offsets, tokenize
from .values import INT_RE

# Beyond this many permutations count_jobs does not build them to read each --repeat; the
# answer is then a lower bound, far above any job limit anyway.
_COUNT_EXPANSION_LIMIT = 4096


def validate(text: str, *, version: str | None = None, default_version: str | None = None,
             max_jobs: int = DEFAULT_MAX_JOBS) -> list[Prompt]:
    """Expand permutations, then parse every job; problems from all jobs come back in one
    PromptError (each numbered by job when there are several, repeats reported once). The jobs,
    `--repeat` included, must not exceed `max_jobs`."""
    jobs = expand_permutations(text, max_jobs=max_jobs)
    prompts, problems, seen = [], [], set()
    for number, job in enumerate(jobs, start=1):
        try:
            prompts.append(parse_prompt(job, version=version, default_version=default_version))
        except PromptError as error:
            for problem in error.problems:
                key = (problem.message, problem.token, problem.hint)
                if key not in seen:
                    seen.add(key)
                    problems.append(replace(problem, job=number if len(jobs) > 1 else None))
    if problems:
        raise PromptError(problems)
    total = sum(prompt.jobs for prompt in prompts)
    if total > max_jobs:
        raise PromptError([_too_many_jobs(text, len(prompts), total, max_jobs)])
    if len(prompts) > 1 and any("relax" in prompt.params for prompt in prompts):
        warning = "--relax: permutations run in Fast or Turbo mode only; remove --relax"
        prompts = [replace(p, warnings=p.warnings + (warning,)) for p in prompts]
    return prompts


def _too_many_jobs(text: str, permutations: int, total: int, max_jobs: int) -> PromptProblem:
    made = (f"{permutations} permutations with --repeat make {total} jobs" if permutations > 1
            else f"--repeat makes {total} jobs")
    tokens = tokenize(text)
    heads = read_heads(tokens)
    index = next((h.index for h in heads if h is not None and h.name in ("r", "repeat")), None)
    token = " ".join(tokens[index:index + 2]) if index is not None else ""
    position = token_offsets(text, tokens)[index] if index is not None else None
    return PromptProblem(f"{made}; the limit is {max_jobs}", token, position,
                         "lower --repeat or remove permutation options")


def count_jobs(text: str) -> int:
    """How many jobs `text` runs: each permutation times its `--repeat` (1 when absent or
    unreadable). For the job limit and the credit count; it does not validate the prompt, but
    raises PromptError on unbalanced braces like `count_permutations`. Beyond a few thousand
    permutations the count is a lower bound (each counted once)."""
    permutations = count_permutations(text)
    if permutations > _COUNT_EXPANSION_LIMIT:
        return permutations
    return sum(_repeat_of(job) for job in expand_permutations(text, max_jobs=permutations))


def _repeat_of(job: str) -> int:
    """The first readable `--repeat`/`--r` value of one job, else 1."""
    if "-r" not in job and "—r" not in job:
        return 1
    tokens = tokenize(job)
    heads = read_heads(tokens)
    spec = ALIASES["repeat"]
    for head in heads:
        if head is not None and head.name in ("r", "repeat"):
            values, _ = take_values(tokens, heads, head)
            raw = values[0][0] if values else ""
            if INT_RE.match(raw) and len(raw) < 4 and spec.low <= int(raw) <= spec.high:
                return int(raw)
    return 1
