"""How many prompts per second does `parse_prompt` validate? (It runs on every keystroke.)

Measures, in the same run and on the same prompts:

- baseline: a naive splitter, the first step of midjargon-style parsers and of most hand-written
  ones: ``text.split(" --")`` and then ``name, value = part.split(None, 1)`` into a dict. No
  validation, no positions, no version rules, no canonical form. It is the least any parser has to
  do, so the ratio says what the checks cost on top of merely cutting the string.
- ``parse_prompt`` on typical valid prompts (text, 2-5 parameters, some with image URLs or
  --sref lists, some that draw warnings);
- ``parse_prompt`` on prompts as they look half-typed in the panel (errors: unknown name, value
  out of range, missing value), where a PromptError is built and raised;
- ``validate`` on a permutation prompt making 8 jobs (reported per job);
- ``set_param`` rewriting one parameter of a typical prompt, and ``count_jobs``, which the panel
  calls on every keystroke too.

Time is the best of several rounds of this process's CPU time (``time.process_time``), i.e. what
one core does even when the machine is shared. Run: ``python benchmarks/bench_prompt.py [N]``
(N = prompts parsed per round, default 20,000).
"""
from __future__ import annotations

import gc
import sys
import time

from apiframe_magic.prompt import PromptError, count_jobs, parse_prompt, set_param, validate

TYPICAL = [
    "a cinematic photo of a red fox in the snow, golden hour, 35mm --ar 16:9 --s 250 --v 6.1",
    "portrait of an old sailor, dramatic lighting, oil on canvas --ar 2:3 --style raw --v 6.1",
    "isometric cozy cabin in the woods, tilt-shift --sref 762351716 --sw 200 --no people, cars",
    "https://s.mj.run/NueRyP4V_No a watercolor version of this cat --iw 1.5 --ar 1:1",
    "minimalist logo of a hummingbird, flat vector, white background --no text --c 10 --v 7",
    "a bustling night market in Taipei, neon signs, rain --ar 21:9 --chaos 20 --weird 50 --v 7",
    "anime girl with a paper umbrella in a bamboo forest --niji 6 --ar 9:16 --s 400",
    "macro photograph of a dew drop on a spider web --q 2 --v 6.1 --seed 12345",
    "a knight in ornate armour --sref https://example.com/style.png::2 random --sv 4 --v 6.1",
    "still life of lemons and a copper jug, Dutch golden age --ar 4:5 --p --stylize 150",
    "a lighthouse — stormy sea, “keep out” sign —ar 3:2 —s 1000",
    "retro travel poster of the Swiss Alps, 1950s --ar 2:3 --tile --relax",
]

HALF_TYPED = [
    "a cinematic photo of a red fox in the snow --ar 16:",
    "portrait of an old sailor --stylise 250",
    "isometric cozy cabin --s 2000 --v 6.1",
    "a knight --cref https://example.com/k.png --v 7",
    "a watercolor cat --ar 16:9 --",
    "a bustling night market --c",
]

PERMUTATION = "a {red, blue} {fox, owl} in the {snow, rain} --ar 16:9 --s 250 --v 6.1"


def naive_split(text: str) -> dict:
    """The baseline: cut on " --" and split each part into name and value."""
    head, *parts = text.split(" --")
    params = {}
    for part in parts:
        name, _, value = part.partition(" ")
        params[name] = value
    return {"text": head, "params": params}


def set_stylize(text: str) -> str:
    return set_param(text, "stylize", 500)


def parse_or_error(text: str):
    try:
        return parse_prompt(text)
    except PromptError as error:
        return error


def rate(function, prompts: list[str], count: int, rounds: int = 5) -> float:
    """Best prompts per second over `rounds` rounds of `count` calls."""
    batch = (prompts * (count // len(prompts) + 1))[:count]
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        for text in batch:
            function(text)
        best = min(best, time.process_time() - start)
    return count / best


def main(count: int = 20_000) -> None:
    for text in TYPICAL:            # the benchmark is only honest if these really are valid
        parse_prompt(text)
    baseline = rate(naive_split, TYPICAL, count)
    results = [
        ("baseline: naive ' --' split", baseline),
        ("parse_prompt, typical valid prompts", rate(parse_prompt, TYPICAL, count)),
        ("parse_prompt, half-typed (PromptError)", rate(parse_or_error, HALF_TYPED, count)),
        ("validate, 8-job permutation (per job)", 8 * rate(validate, [PERMUTATION], count // 8)),
        ("set_param stylize, typical prompts", rate(set_stylize, TYPICAL, count)),
        ("count_jobs, typical prompts", rate(count_jobs, TYPICAL, count)),
    ]
    print(f"{count} prompts per round, best of 5, one core\n")
    print(f"{'what':42} {'prompts/s':>12} {'time/prompt':>12} {'x baseline cost':>16}")
    for label, per_second in results:
        print(f"{label:42} {per_second:12,.0f} {1e6 / per_second:10.1f}us "
              f"{baseline / per_second:16.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
