"""The magic waits for what a running job will have: `{{job.attr}}` in a subcommand line or an
`--expand` cell, `show` and `save` of a running job. Ctrl-C stops the waiting in one line, never
the job, and nothing is sent; from Python (`job.save()`, `job.wait()`) too, in any `%xmode`.

The simulator runs at real speed, so a job ends only when the test moves its clock forward, which
it does (or interrupts) once the main thread is seen waiting in its stack: no outcome depends on
how fast the machine is.
"""
from __future__ import annotations

import threading
import time

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from apiframe_magic.errors import Interrupted, StoppedWaiting
from apiframe_magic.ipython.presenter import wait_for
from apiframe_magic.jobs import Job
from history_fixtures import FAST
from interrupts import interrupt_main_when, main_thread_in, when
from magic_shell import magics_of, make_shell

KEY = "sk-waiting-test-0123456789abcdef"
STOPPED = str(StoppedWaiting())
LONG_ENOUGH = 600   # simulated seconds: every simulator task has ended by then
def when_waiting(action) -> threading.Thread:
    """Run `action()` in a thread once the main thread waits in `wait_for` or `Job.wait`."""
    return when(lambda: main_thread_in(wait_for, Job.wait), action)


def finish_when_waiting(sim, *jobs: Job) -> threading.Thread:
    """Once the main thread waits, move the clock on until every job has its images."""

    def finish():
        end = time.monotonic() + 60
        while not all(job.images_event.is_set() for job in jobs) and time.monotonic() < end:
            sim.clock.advance(LONG_ENOUGH)
            time.sleep(0.05)

    return when_waiting(finish)


def interrupt_when_waiting() -> threading.Thread:
    return interrupt_main_when(lambda: main_thread_in(wait_for, Job.wait))


def slow_shell(**config):
    """A shell whose simulator runs at real speed, polled at a fast simulator's pace."""
    shell = make_shell(sim_speed=1.0, **config)
    rt = magics_of(shell).current_runtime()
    rt.manager.policy = FAST
    return shell, rt


@pytest.fixture
def slow(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shell, rt = slow_shell()
    capsys.readouterr()
    try:
        yield shell, rt.simulator
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


def running(shell, name: str, prompt: str) -> Job:
    job = shell.run_cell_magic("imagine", "--no-wait", prompt)
    shell.user_ns[name] = job
    assert not job.done
    return job


def run(shell, code: str, capsys) -> tuple[str, object]:
    """Run a cell as a person would (errors printed, not raised): its whole output and error."""
    capsys.readouterr()
    result = InteractiveShell.run_cell(shell, code)
    captured = capsys.readouterr()
    return captured.out + captured.err, result.error_in_exec


def said(output: str) -> list[str]:
    """The lines of an output, less the progress line (`[###---]  40% Processing`)."""
    return [line for line in output.replace("\r", "\n").splitlines()
            if line.strip() and not line.startswith("[")]


# ---------------------------------------------------------------------- values are waited for


def test_a_line_waits_for_the_sref_of_a_running_job(slow, capsys):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow --sref random")
    finish_when_waiting(sim, fox)
    shell.run_line_magic("imagine", "styles name {{fox.sref}} dusk")
    assert fox.sref and f"--sref @dusk now means --sref {fox.sref}" in capsys.readouterr().out


def test_an_expand_cell_waits_for_the_value_then_sends(slow, capsys):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow --sref random")
    finish_when_waiting(sim, fox)
    shell.run_cell_magic("imagine", "--expand --dry-run", "a lighthouse --sref {{fox.sref}}")
    assert f"'prompt': 'a lighthouse --sref {fox.sref}'" in capsys.readouterr().out


def test_the_task_id_of_a_waiting_follow_up_is_waited_for(slow, capsys):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow")
    shell.user_ns["big"] = big = fox.upscale(1)
    assert big.state == "waiting" and big.task_id is None
    finish_when_waiting(sim, fox, big)
    shell.run_line_magic("imagine", "show {{big.task_id}}")
    assert big.task_id and f"task {big.task_id} · Finished" in capsys.readouterr().out


def test_reading_a_running_jobs_attributes_from_python_stays_instant(slow):
    shell, _sim = slow
    fox = running(shell, "fox", "a red fox in the snow --sref random")
    read = {}
    reader = threading.Thread(target=lambda: read.update(
        sref=fox.sref, result=fox.result, paths=fox.image_paths, task_id=fox.task_id),
        daemon=True)
    reader.start()
    reader.join(30)
    assert read == {"sref": None, "result": None, "paths": {}, "task_id": fox.task_id}
    assert not fox.done


def test_show_and_save_of_a_running_job_wait_for_it(slow, capsys, tmp_path):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow")
    finish_when_waiting(sim, fox)
    shell.run_line_magic("imagine", f"save {fox.task_id[:8]} {tmp_path / 'kept'}")
    assert len(list((tmp_path / "kept").iterdir())) == 5
    owl = running(shell, "owl", "an owl at night")
    finish_when_waiting(sim, owl)
    capsys.readouterr()
    shell.run_line_magic("imagine", f"show {owl.task_id[:8]}")
    assert f"task {owl.task_id} · Finished" in capsys.readouterr().out


def test_a_value_still_missing_after_the_end_is_one_usage_error(slow):
    shell, sim = slow
    plain = running(shell, "plain", "a red fox in the snow")
    finish_when_waiting(sim, plain)
    with pytest.raises(UsageError, match=r"^plain has no sref: the prompt had no --sref random"):
        shell.run_line_magic("imagine", "styles name {{plain.sref}} dusk")
    assert plain.state == "finished"
    with pytest.raises(UsageError, match=r"^plain has no prompts: only a describe or a shorten"):
        shell.run_line_magic("imagine", "show {{plain.prompts}}")
    with pytest.raises(UsageError, match=r"^plain.result has no seed: the service gave none"):
        shell.run_line_magic("imagine", "show {{plain.result.seed}}")


def test_a_follow_up_of_a_failed_job_has_no_task_id_in_words(slow):
    shell, sim = slow
    sim.set_faults(fail_prompts=("doomed",))
    ship = running(shell, "ship", "a doomed ship")
    shell.user_ns["big"] = big = ship.upscale(1)
    finish_when_waiting(sim, ship, big)
    with pytest.raises(UsageError, match=r"^big has no task_id: Failed: .*Simulated failure"):
        shell.run_line_magic("imagine", "show {{big.task_id}}")
    assert ship.state == big.state == "failed" and sim.tasks_created == 1


# ---------------------------------------------------------------------- Ctrl-C stops the waiting


def test_ctrl_c_while_a_cell_waits_for_a_value_is_one_line_and_sends_nothing(slow, capsys):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow --sref random")
    interrupt_when_waiting()
    output, error = run(shell, "%%imagine --expand\na lighthouse --sref {{fox.sref}}", capsys)
    assert isinstance(error, UsageError)
    assert said(output) == [f"UsageError: {STOPPED}"]
    assert sim.tasks_created == 1 and not fox.done
    sim.clock.advance(LONG_ENOUGH)
    assert fox.wait(60).sref


def test_ctrl_c_while_imagine_wait_waits_is_one_line(slow, capsys):
    shell, sim = slow
    fox = running(shell, "fox", "a red fox in the snow")
    interrupt_when_waiting()
    output, error = run(shell, f"%imagine wait {fox.task_id[:8]}", capsys)
    assert error is None
    assert said(output) == [STOPPED]
    assert not fox.done
    sim.clock.advance(LONG_ENOUGH)
    assert fox.wait(60).finished


@pytest.fixture
def keyed(tmp_path, monkeypatch):
    """A shell with a key (a simulator at real speed behind it), in Verbose traceback mode."""
    from apiframe_magic.simulator import Simulator

    monkeypatch.chdir(tmp_path)
    with Simulator(speed=1, api_key=KEY) as sim:
        monkeypatch.setenv("APIFRAME_API_KEY", KEY)
        shell, _rt = slow_shell(base_url=sim.url)
        shell.run_line_magic("xmode", "Verbose")
        shell.run_line_magic("colors", "nocolor")
        try:
            yield shell, sim
        finally:
            shell.extension_manager.unload_extension("apiframe_magic")


@pytest.mark.parametrize("code", ["fox.save('kept')", "fox.wait()"])
def test_ctrl_c_while_python_waits_is_one_line_without_the_key(keyed, capsys, code):
    shell, sim = keyed
    fox = running(shell, "fox", "a red fox in the snow")
    interrupt_when_waiting()
    output, error = run(shell, code, capsys)
    assert isinstance(error, KeyboardInterrupt)
    assert said(output) == [STOPPED]
    assert KEY not in output and not fox.done
    sim.clock.advance(LONG_ENOUGH)
    assert fox.wait(60).finished


def test_the_one_line_handler_comes_and_goes_with_the_extension(slow):
    shell, _sim = slow
    assert shell.custom_exceptions == (Interrupted,)   # StoppedWaiting and CallInterrupted
    shell.extension_manager.unload_extension("apiframe_magic")
    assert shell.custom_exceptions == ()
    shell.set_custom_exc((ValueError,), lambda *args, **kwargs: None)
    shell.extension_manager.load_extension("apiframe_magic")
    assert shell.custom_exceptions == (ValueError,)   # someone else's handler is kept


def test_ctrl_c_while_prompts_wait_is_one_line(keyed, capsys):
    shell, sim = keyed
    fox = running(shell, "fox", "a red fox in the snow")
    sim.clock.advance(LONG_ENOUGH)
    fox.wait(60)
    described = magics_of(shell).runtime.manager.submit(
        "describe", {"image_url": fox.result.original_image_url})
    shell.user_ns["described"] = described
    interrupt_when_waiting()
    output, error = run(shell, "described.prompts", capsys)
    assert isinstance(error, KeyboardInterrupt) and said(output) == [STOPPED]
    assert not described.done and sim.tasks_created == 2
