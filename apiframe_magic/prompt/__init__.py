"""Midjourney prompt language: permutation expansion, parsing, validation and editing.

Pure Python (the standard library, and `settings.is_http_url` for links), no I/O and no IPython:
it runs on every keystroke in the panel, so tables and regexes are built once at import. The rules
come from shared/spec/prompt-syntax.md, checked against docs.midjourney.com. The modules follow the steps:

- `table`: the parameter table (names, aliases, kinds, widest ranges, known confusions);
- `versions`: model versions, `CURRENT_DEFAULT_VERSION` and the version-dependent rules;
- `permutations`: `{a, b}` expansion and counting;
- `tokens`, `converters`, `parser`: reading one job into a `Prompt` (`model`) or `PromptError`
  (`problems`);
- `validation`: whole prompts (`validate`, `count_jobs`); `edit`: `get_params`, `set_param`;
- `values`: the shared value readers and formatters (`reduce_ratio`: 1920:1080 -> 16:9).

Names the modules share with each other have no leading underscore; a leading underscore marks
a name used only inside its own module. The package's public API is what `__all__` lists.

    >>> p = parse_prompt("a red fox in the snow --ar 1920:1080 --s 250")
    >>> p.aspect_ratio, p.params["stylize"], str(p)
    ('16:9', 250, 'a red fox in the snow --ar 16:9 --s 250')
"""
from __future__ import annotations

from .edit import get_params, set_param
from .model import Prompt, Reference
from .parser import parse_prompt
from .permutations import count_permutations, expand_permutations
from .problems import PromptError, PromptProblem
from .table import (
    DEFAULT_MAX_JOBS, IMAGE_EXTENSIONS, MAX_BRACE_DEPTH, MAX_NUMBER_DIGITS, MAX_PROMPT_CHARS,
    QUALITY_VALUES_ANY, STYLE_KEYWORDS,
)
from .validation import count_jobs, validate
from .values import reduce_ratio
from .versions import (
    CURRENT_DEFAULT_VERSION, KNOWN_NIJI_VERSIONS, KNOWN_VERSIONS, PLAUSIBLE_DEFAULT_VERSIONS,
)

__all__ = [
    "Prompt", "PromptError", "PromptProblem", "Reference",
    "parse_prompt", "expand_permutations", "validate", "count_permutations", "count_jobs",
    "get_params", "set_param", "reduce_ratio",
    "MAX_PROMPT_CHARS", "DEFAULT_MAX_JOBS", "CURRENT_DEFAULT_VERSION",
    "KNOWN_VERSIONS", "KNOWN_NIJI_VERSIONS", "PLAUSIBLE_DEFAULT_VERSIONS",
    "QUALITY_VALUES_ANY", "STYLE_KEYWORDS", "IMAGE_EXTENSIONS", "MAX_BRACE_DEPTH",
    "MAX_NUMBER_DIGITS",
]
