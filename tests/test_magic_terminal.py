"""The magic in a terminal IPython: the summary is the whole output (no bare `Out[N]:` after it),
`%imagine history` is a table whose columns hold, and the progress line says each word once."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import apiframe_magic
from magic_shell import magics_of

FOX = "a red fox in the snow --ar 3:2"


def test_a_shown_job_gets_no_out_prompt_but_stays_the_cells_value(ip, capsys):
    ip.run_cell("%%imagine\n" + FOX, store_history=True)
    out = capsys.readouterr().out
    job = ip.user_ns["_"]
    assert job.state == "finished" and f"task {job.task_id}" in out
    assert "Out[" not in out
    ip.run_cell("40 + 2", store_history=True)      # anything else still gets its prompt
    assert re.search(r"Out\[\d+\]: 42", capsys.readouterr().out)


def test_history_is_a_table_with_a_header_and_columns_that_hold(ip, capsys):
    store = magics_of(ip).current_runtime().store
    rows = [("imagine", "a" * 300, "short prompt", None),
            ("upscale-highres", "t-2", "line one\nline two\x1b]0;title\x07 " + "long " * 40, "x"),
            ("seed", "t-3", "", None)]
    for kind, task_id, prompt, failure in rows:
        job_id = store.record_submitting(kind, {}, prompt=prompt)
        store.mark_submitted(job_id, task_id)
        if failure:
            store.mark_failed(job_id, failure)
    capsys.readouterr()
    ip.run_line_magic("imagine", "history")
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == ["created", "task", "id", "kind", "state", "sref", "prompt"]
    assert len(lines) == 3
    starts = {name: header.index(name) for name in ("task id", "kind", "state", "prompt")}
    by_kind = {line[starts["kind"]:starts["state"]].strip(): line for line in lines}
    assert set(by_kind) == {"imagine", "upscale-highres", "seed"}
    assert by_kind["upscale-highres"][starts["state"]:].startswith("failed ")
    long_id = by_kind["imagine"][starts["task id"]:starts["kind"]]
    assert long_id.rstrip().endswith("…") and len(long_id.rstrip()) == 36
    prompt = by_kind["upscale-highres"][starts["prompt"]:]
    assert prompt.startswith("line one line two") and prompt.endswith("…") and len(prompt) == 60
    assert "\x1b" not in prompt and "\x07" not in prompt


def test_progress_line_says_the_percentage_once():
    from apiframe_magic.ipython.presenter import progress_line

    job = SimpleNamespace(state="active", status="processing", percentage=48, done=False,
                          notice=None)
    assert progress_line([job], width=10) == "[####------]  48% Processing"


def terminal_ipython(tmp_path, lines: list[str], speed: str = "200"):
    """Run `lines` in a terminal IPython (the embedded simulator at `speed`)."""
    root = str(Path(apiframe_magic.__file__).parents[1])
    env = {**os.environ, "APIFRAME_SIM_SPEED": speed,
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "IPython", "--simple-prompt", "--no-banner",
                           "--colors=nocolor", "--HistoryManager.enabled=False"],
                          input="\n".join(["%load_ext apiframe_magic", *lines, ""]),
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def bare_out_prompts(out: str) -> list[str]:
    return [line for line in out.splitlines() if re.search(r"Out\[\d+\]:\s*$", line)]


def test_terminal_ipython_prints_the_summary_without_a_bare_out_prompt(tmp_path):
    done = terminal_ipython(tmp_path, ["%imagine -- " + FOX, "_.state", "%imagine history"])
    out = done.stdout
    assert "task " in out and "Out[3]: 'finished'" in out, out + done.stderr
    assert not bare_out_prompts(out)
    assert re.search(r"^(In \[\d+\]: )?created +task id +kind +state +sref +prompt$", out, re.M)


def test_waiting_for_a_running_jobs_values_prints_no_bare_out_prompt(tmp_path):
    """`{{job.attr}}`, show and save of running jobs wait in a terminal too, and end in their
    output, never in an empty `Out[N]:`."""
    done = terminal_ipython(tmp_path, [
        "%imagine --no-wait -- " + FOX + " --sref random", "fox = _", "big = fox.upscale(1)",
        "%imagine styles name {{fox.sref}} dusk", "%imagine show {{big.task_id}}",
        "%imagine save {{fox.task_id}} kept", "len(fox.save('also'))", "%imagine wait all"],
        speed="20")
    out = done.stdout
    assert re.search(r"^\S+: .+: " + re.escape(FOX) + " --sref random$", out, re.M), out
    assert "--sref @dusk now means --sref " in out, out + done.stderr
    assert re.search(r"^task \S+ · Finished", out, re.M) and "Out[8]: 5" in out
    assert len(list((tmp_path / "kept").iterdir())) == 5
    assert not bare_out_prompts(out) and "Traceback" not in out + done.stderr
