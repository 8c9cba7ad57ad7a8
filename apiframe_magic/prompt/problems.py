"""What is wrong with a prompt: one `PromptProblem` per wrong thing, gathered in a `PromptError`.

A problem prints as one line (what, where, how to fix), so the magic, the CLI and the panel can
show each one as it is, and control characters in what the user typed cannot rewrite a terminal.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# C0 controls and DEL shown as \xNN: a problem line stays one line and cannot drive a terminal.
_VISIBLE = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)}


def clip(token: str, limit: int = 60) -> str:
    """Keep messages one readable line even when a token is a whole paragraph."""
    return token if len(token) <= limit else token[: limit - 1] + "…"


@dataclass(frozen=True)
class PromptProblem:
    """One thing wrong with a prompt.

    `position` is a 0-based character offset into the text that was parsed (for `validate`, into
    that permutation job, numbered by `job` from 1), or None when the problem is not in the text.
    `str(problem)` (same as `problem.line()`) is one line: "job 2: --c 101 at character 6: out of
    range 0–100; use a value between 0 and 100".
    """

    message: str
    token: str = ""
    position: int | None = None
    hint: str = ""
    job: int | None = None

    def __str__(self) -> str:
        where = f"at character {self.position}" if self.position is not None else ""
        subject = " ".join(part for part in (clip(self.token), where) if part)
        line = f"{subject}: {self.message}" if subject else self.message
        if self.hint:
            line += f"; {self.hint}"
        line = f"job {self.job}: {line}" if self.job is not None else line
        return line.translate(_VISIBLE) if not line.isprintable() else line

    def line(self) -> str:
        """The problem as one display line: what, where and how to fix it."""
        return str(self)


class PromptError(ValueError):
    """A prompt Midjourney would reject. `problems` lists every problem found, in prompt order.

    `str(err)` has one line per problem, so its first line stands alone as a one-line message.
    """

    def __init__(self, problems: Iterable[PromptProblem] | str):
        if isinstance(problems, str):
            problems = [PromptProblem(problems)]
        self.problems: list[PromptProblem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self):
        return (type(self), (self.problems,))


def problem_order(problem: PromptProblem) -> tuple:
    return (problem.job or 0, -1 if problem.position is None else problem.position)
