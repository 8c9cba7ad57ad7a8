"""Assertions shared by the prompt tests (not a test module)."""
from __future__ import annotations

import pytest

from apiframe_magic.prompt import Prompt, PromptError, PromptProblem, parse_prompt


def parsed(text: str, **kwargs) -> Prompt:
    """Parse a prompt that must be valid, and check that its canonical form round-trips."""
    prompt = parse_prompt(text, **kwargs)
    canonical = str(prompt)
    again = parse_prompt(canonical, **kwargs)
    assert again == prompt, (text, canonical)
    assert str(again) == canonical
    return prompt


def problems(text: str, **kwargs) -> list[PromptProblem]:
    with pytest.raises(PromptError) as caught:
        parse_prompt(text, **kwargs)
    return caught.value.problems


def only_problem(text: str, **kwargs) -> PromptProblem:
    found = problems(text, **kwargs)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def warned(prompt: Prompt, fragment: str) -> bool:
    return any(fragment in warning for warning in prompt.warnings)
