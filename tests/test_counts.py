"""One count of jobs and credits: the prompt panel, `%%imagine --dry-run`, the submission and the
CLI's confirmation agree, for `--repeat`, permutations and both together; upscales and blends
cost what the credits table says. Every expected number is written here, not recomputed."""
from __future__ import annotations

import pytest

from apiframe_magic import runtime, submission
from apiframe_magic.credits import credits_for
from apiframe_magic.jobs import PollingPolicy
from apiframe_magic.widgets import ImaginePanel, UiContext
from clirun import one_line_error, run_cli

# prompt, jobs (Midjourney runs and charges), credits, /imagine requests sent, panel summary
RUNS = [
    ("a fox --repeat 3", 3, 12, 1, "3 jobs (--repeat) · 12 credits"),
    ("a fox --r 2", 2, 8, 1, "2 jobs (--repeat) · 8 credits"),
    ("a {red, blue, green} fox", 3, 12, 3, "3 jobs (permutations) · 12 credits"),
    ("a {red, blue} fox --repeat 3", 6, 24, 2, "6 jobs (2 permutations × --repeat) · 24 credits"),
]


@pytest.fixture
def rt(sim, tmp_path):
    started = runtime.start(api_key=sim.api_key, base_url=sim.url, home=tmp_path / "home",
                            policy=PollingPolicy().scaled(100))
    yield started
    started.close()


@pytest.mark.parametrize("text, jobs, credits, requests, summary", RUNS)
def test_the_panel_counts_permutations_times_repeat(rt, text, jobs, credits, requests, summary):
    panel = ImaginePanel(UiContext.from_runtime(rt))
    try:
        panel.set_prompt(text)
        assert summary in panel.summary.value
        assert (panel.check.jobs, panel.check.credits) == (jobs, credits)
        assert panel.imagine_button.description == f"Imagine {jobs} jobs"
    finally:
        panel.close()


@pytest.mark.parametrize("text, jobs, credits, requests, summary", RUNS)
def test_the_dry_run_counts_permutations_times_repeat(ip, capsys, text, jobs, credits, requests,
                                                       summary):
    ip.run_cell_magic("imagine", "--dry-run --yes", text)
    out = capsys.readouterr().out
    assert f"dry run: {jobs} jobs, {credits} credits" in out
    assert out.count("POST /imagine") == requests
    assert out.count(f"({credits // requests} credits)") == requests   # each request's share


@pytest.mark.parametrize("text, jobs, credits, requests, summary", RUNS)
def test_the_submission_sends_what_was_counted(rt, sim, text, jobs, credits, requests, summary):
    plan = submission.plan(text, yes=True)
    assert (plan.jobs, plan.credits) == (jobs, credits)
    sent = submission.submit(plan, rt.manager, rt.client)
    assert len(sent) == requests and sim.request_counts["/imagine"] == requests


@pytest.mark.parametrize("text, jobs, credits, requests, summary", RUNS)
def test_the_cli_asks_before_spending_what_was_counted(sim, tmp_path, text, jobs, credits,
                                                        requests, summary):
    line = one_line_error(run_cli("imagine", text, "--confirm-above", "1", "--out",
                                  tmp_path / "out", sim=sim,
                                  env_extra={"APIFRAME_MAGIC_HOME": str(tmp_path / "home")}))
    assert f"{jobs} tasks for {credits} credits" in line
    assert sim.tasks_created == 0


def test_upscales_and_blends_cost_what_the_table_says(rt, sim):
    assert (credits_for("upscale-1x"), credits_for("blend")) == (2, 4)
    grid = rt.manager.imagine("a fox in the snow")
    grid.wait(timeout=60)
    before = sim.credits
    grid.upscale(2).wait(timeout=60)
    assert before - sim.credits == 2
    before = sim.credits
    urls = list(grid.result.image_urls[:2])
    rt.manager.submit("blend", {"image_urls": urls}).wait(timeout=60)
    assert before - sim.credits == 4
