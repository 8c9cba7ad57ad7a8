"""Spend and budget: every submit path counts its credits and stops at the budget, sending nothing.

Against the simulator over HTTP; "nothing sent" is what the simulator received."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from traitlets import TraitError

from apiframe_magic import ApiframeClient
from apiframe_magic.errors import BadRequestError
from apiframe_magic.images import ImageCache
from apiframe_magic.jobs import WAITING, JobManager, PollingPolicy
from apiframe_magic.simulator import Simulator
from apiframe_magic.spend import BudgetExceeded, SpendLedger
from apiframe_magic.store import HistoryStore

from magic_shell import magics_of

FAST = PollingPolicy().scaled(100)


def submits(sim) -> int:
    """Task-creating requests the simulator received (reads and uploads left out)."""
    reads = {"/fetch", "/fetch-many", "/account", "/upload"}
    return sum(n for path, n in sim.request_counts.items()
               if path not in reads and not path.startswith(("/images", "/videos")))


@pytest.fixture
def manager(client, tmp_path):
    with HistoryStore(tmp_path / "history.sqlite3") as store, \
            JobManager(client, store=store, images=ImageCache(tmp_path / "images"),
                       policy=FAST) as m:
        yield m


def test_the_ledger_counts_each_submit_by_action(manager):
    grid = manager.imagine("a red fox")
    grid.wait()
    grid.upscale(2).wait()
    grid.upscale_highres("4x", index=1).wait()
    assert manager.spend.spent == 4 + 2 + 2
    assert manager.spend.by_action() == {"imagine": (1, 4), "upscale-1x": (1, 2),
                                         "upscale-highres": (1, 2)}


def test_a_refused_submit_costs_nothing(manager):
    with pytest.raises(BadRequestError):     # the service does not know this parent: a 400
        manager.submit("reroll", {"parent_task_id": "no-such-task"})
    assert manager.jobs[0].state == "rejected" and manager.spend.spent == 0


def test_a_follow_up_past_the_budget_is_refused_and_not_sent(manager, sim):
    manager.spend.budget = 6
    grid = manager.imagine("a red fox")
    grid.wait()
    before, jobs = submits(sim), len(manager.jobs)
    with pytest.raises(BudgetExceeded) as refused:
        grid.reroll()
    assert str(refused.value) == ("over budget: 4 credits spent this session + 4 for this "
                                  "reroll = 8, above the budget of 6; nothing was sent")
    assert submits(sim) == before and len(manager.jobs) == jobs
    grid.upscale(1)            # 2 more fits exactly
    assert manager.spend.spent == 6


def test_permutations_past_the_budget_send_none_of_them(manager, sim):
    manager.spend.budget = 8
    with pytest.raises(BudgetExceeded):
        manager.imagine_all("a {red, green, blue} kite")
    assert submits(sim) == 0 and manager.jobs == []


@pytest.fixture
def slow():
    """A simulator at 1x whose clock the test moves: a grid runs until the test says."""
    with Simulator(speed=1) as sim, \
            ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01) as client, \
            JobManager(client, policy=FAST, download_images=False) as m:
        yield sim, m


def advance_until_sent(sim, job) -> None:
    while job.task_id is None and not job.done:
        sim.clock.advance(600)        # any simulated task has ended by then
        job.ended_event.wait(0.05)


def test_a_waiting_follow_up_counts_at_once_and_is_refused_past_the_budget(slow):
    sim, manager = slow
    manager.spend.budget = 8
    grid = manager.imagine("a red fox")
    upscale = grid.upscale(2)
    assert upscale.state == WAITING and manager.spend.spent == 4 + 2
    with pytest.raises(BudgetExceeded):
        grid.reroll()                        # 6 + 4 > 8, though it would only wait
    assert manager.jobs == [grid, upscale]
    upscale.cancel()                         # cancelled before it was sent: free again
    assert manager.spend.spent == 4
    assert grid.reroll().state == WAITING and manager.spend.spent == 8
    assert sim.tasks_created == 1


def test_a_waiting_follow_up_sent_later_is_counted_once(slow):
    sim, manager = slow
    manager.spend.budget = 6
    grid = manager.imagine("a red fox")
    upscale = grid.upscale(2)                # 6: the whole budget
    advance_until_sent(sim, upscale)         # sent through the queue, not checked again
    assert upscale.task_id and sim.tasks_created == 2
    assert manager.spend.spent == 6 and manager.spend.by_action()["upscale-1x"] == (1, 2)


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True])
def test_a_budget_is_a_whole_number_of_credits(bad):
    with pytest.raises(ValueError):
        SpendLedger(budget=bad)


# ---------------------------------------------------------------------- the magic


def test_magic_budget_refuses_a_cell_in_one_line_and_sends_nothing(ip):
    ip.run_line_magic("config", "Imagine.display = 'text'")
    ip.run_line_magic("config", "Imagine.wait = 'never'")
    ip.run_line_magic("config", "Imagine.budget = 10")
    ip.run_cell_magic("imagine", "", "a {red, blue} fox")          # 8 credits: fits
    sim = magics_of(ip).runtime.simulator
    before = submits(sim)
    with pytest.raises(UsageError) as refused:
        ip.run_cell_magic("imagine", "", "a green fox")             # 4 more: 12 > 10
    message = str(refused.value)
    assert "\n" not in message
    assert "8 credits spent" in message and "+ 4" in message and "budget of 10" in message
    assert submits(sim) == before


def test_a_dry_run_says_when_the_run_would_pass_the_budget(ip, capsys):
    ip.run_line_magic("config", "Imagine.budget = 10")
    ip.run_cell_magic("imagine", "--dry-run", "a {red, green, blue} fox")
    out = capsys.readouterr().out
    assert "0 credits spent this session · budget 10 · over budget: nothing would be sent" \
        in out


def test_a_negative_budget_is_refused_and_the_old_one_stays(ip, caplog):
    ip.run_line_magic("config", "Imagine.budget = 12")
    ip.run_cell("%config Imagine.budget = -4")          # %config logs the refusal in one line
    assert "the budget cannot be negative (-4)" in caplog.text
    assert magics_of(ip).budget == magics_of(ip).spend.budget == 12
    with pytest.raises(TraitError, match="cannot be negative"):
        magics_of(ip).budget = -1


def test_spent_lists_credits_by_action_and_job(ip, capsys):
    ip.run_line_magic("config", "Imagine.display = 'text'")
    ip.run_line_magic("config", "Imagine.wait = 'always'")
    job = ip.run_cell_magic("imagine", "", "a red fox")
    job.upscale(3).wait()
    capsys.readouterr()
    ip.run_line_magic("imagine", "spent")
    out = capsys.readouterr().out
    assert "imagine" in out and "upscale-1x" in out
    assert job.task_id[:8] in out
    assert out.strip().endswith("spent: 6 credits (no budget set)")


def test_the_budget_holds_across_a_runtime_switch(ip):
    """The ledger belongs to the kernel: a new runtime (other speed) keeps what was spent."""
    ip.run_line_magic("config", "Imagine.display = 'text'")
    ip.run_line_magic("config", "Imagine.wait = 'always'")
    ip.run_line_magic("config", "Imagine.budget = 6")
    ip.run_cell_magic("imagine", "", "a red fox")
    ip.run_line_magic("config", "Imagine.sim_speed = 150.0")
    with pytest.raises(UsageError, match="over budget"):
        ip.run_cell_magic("imagine", "", "a blue fox")


# ---------------------------------------------------------------------- the panel


def test_the_panel_shows_spent_and_budget_and_sends_nothing_past_it(ip):
    import comm
    from test_widgets_view import RecordingComm

    original = comm.create_comm
    comm.create_comm = RecordingComm
    try:
        ip.run_line_magic("config", "Imagine.budget = 4")
        magics = magics_of(ip)
        from ipywidgets import HTML

        from apiframe_magic.widgets import ImaginePanel

        panel = ImaginePanel(magics.ui_context(), view_factory=lambda job, ctx: HTML(job.prompt))
        panel.set_prompt("a red fox")
        assert "1 job · 4 credits · 0 credits spent this session · budget 4" in panel.summary.value
        assert len(panel.imagine()) == 1
        assert "4 credits spent this session · budget 4 · over budget" in panel.summary.value
        sim = magics.runtime.simulator
        before = submits(sim)
        panel.set_prompt("a blue fox")
        assert panel.imagine() == []
        assert "over budget: 4 credits spent" in panel.status.value
        assert submits(sim) == before
        panel.close()
    finally:
        comm.create_comm = original

