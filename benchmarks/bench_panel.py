"""What does the prompt panel cost per keystroke, per control change, and per history refresh?

Measures, in the same run, without a browser (widgets on ipywidgets' dummy comm):

- baseline: ``parse_prompt`` (or its PromptError) on the same text, the parser alone;
- a keystroke: ``panel.prompt.value = prefix`` for every prefix of typical prompts, as typed one
  character at a time (most prefixes are half-typed and invalid): validation through the magic's
  own ``submission.plan``, the controls set from the text, the messages as HTML;
- a control change: moving the stylize slider (``set_param`` on the text, then the same checks);
- a permutation prompt making 8 jobs (every job parsed, locks worked out);
- the history: ``refresh_history()`` over N finished jobs (reading them and filling the Select)
  against ``HistoryStore.list()`` alone, and one search keystroke (words in prompt, sref or task
  id, the Select refilled) against a bare substring filter of the prompts.

Time is the best of several rounds; ratios are against the baseline of the same row. Run:
``python benchmarks/bench_panel.py [N]`` (N = history size, default 10,000).
"""
from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from apiframe_magic.prompt import PromptError, parse_prompt
from apiframe_magic.store import HistoryStore
from apiframe_magic.widgets import ImaginePanel, UiContext

TYPICAL = [
    "a cinematic photo of a red fox in the snow, golden hour --ar 16:9 --s 250 --v 6.1",
    "isometric cozy cabin in the woods --sref 762351716 --sw 200 --no people, cars",
    "a bustling night market in Taipei, neon --ar 21:9 --chaos 20 --weird 50 --v 7",
    "anime girl with a paper umbrella in a bamboo forest --niji 6 --ar 9:16 --s 400",
]
PERMUTATION = "a {red, blue} {fox, owl} in the {snow, rain} --ar 16:9 --s 250 --v 6.1"


def best(function, rounds: int = 5) -> float:
    """Best wall time of `rounds` calls of `function`."""
    fastest = float("inf")
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def parse_or_error(text: str):
    try:
        return parse_prompt(text)
    except PromptError as error:
        return error


def prefixes() -> list[str]:
    return [text[:n] for text in TYPICAL for n in range(1, len(text) + 1)]


def populate(store: HistoryStore, count: int) -> None:
    for n in range(count):
        prompt = f"{TYPICAL[n % len(TYPICAL)]} #{n}"
        job_id = store.record_submitting("imagine", {"prompt": prompt}, prompt=prompt)
        store.mark_submitted(job_id, f"task-{n:08d}")
        store.mark_finished(job_id, {"task_id": f"task-{n:08d}", "status": "finished",
                                     "sref": str(10 ** 9 + n), "image_urls": []})


def main(history_size: int = 10_000) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as home:
        store = HistoryStore(Path(home) / "history.sqlite3", durable=False)
        ctx = UiContext(manager=SimpleNamespace(jobs=[]), store=store)
        panel = ImaginePanel(ctx, view_factory=lambda job, context: None)

        typed = prefixes()

        def type_all():
            for text in typed:
                panel.prompt.value = text

        def parse_all():
            for text in typed:
                parse_or_error(text)

        rows.append((f"keystroke ({len(typed)} prefixes)", len(typed),
                     best(parse_all), best(type_all)))

        panel.set_prompt(TYPICAL[0])
        panel.controls["stylize_on"].value = True
        values = [100 + (n % 400) for n in range(200)]

        def slide():
            for value in values:
                panel.controls["stylize"].value = value

        def parse_slid():
            for value in values:
                parse_prompt(TYPICAL[0].replace("--s 250", f"--s {value}"))

        rows.append(("stylize slider change", len(values), best(parse_slid), best(slide)))

        pair = [PERMUTATION, PERMUTATION.replace("--s 250", "--s 300")]

        def permute():
            for n in range(50):
                panel.prompt.value = pair[n % 2]

        def parse_jobs():
            from apiframe_magic.prompt import validate

            for n in range(50):
                validate(pair[n % 2])

        rows.append(("8-job permutation keystroke", 50, best(parse_jobs), best(permute)))

        populate(store, history_size)
        rows.append((f"history refresh ({history_size} jobs)", 1,
                     best(store.list, 3), best(panel.refresh_history, 3)))
        queries = ["fox", "10000012", "cabin woods", ""]

        def search():
            for query in queries:
                panel.history_filter.value = query

        records = store.list()

        def naive_filter():
            for query in queries:
                [r for r in records if query in (r.prompt or "")]

        rows.append(("history search keystroke", len(queries), best(naive_filter, 3),
                     best(search, 3)))
        panel.close()
        store.close()

    print(f"{'what':36} {'per call':>12} {'baseline':>12} {'x baseline':>11}")
    for label, calls, baseline, measured in rows:
        ratio = f"{measured / baseline:11.1f}" if baseline > 1e-6 else f"{'-':>11}"
        print(f"{label:36} {measured / calls * 1e3:10.3f}ms {baseline / calls * 1e3:10.3f}ms "
              f"{ratio}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
