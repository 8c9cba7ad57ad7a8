"""ImaginePanel without a browser: controls and text in sync both ways, live validation, submits
that reach the simulator over HTTP, errors in words, the double-click guard, and the history."""
from __future__ import annotations

import comm
import ipywidgets as widgets
import pytest

from apiframe_magic import runtime
from apiframe_magic.jobs import FINISHED, PollingPolicy
from apiframe_magic.prompt import parse_prompt
from apiframe_magic.widgets import ImaginePanel, UiContext
from apiframe_magic.widgets.panel import DOUBLE_CLICK_SECONDS

SPEED = 100  # the conftest simulator's speed
BASE = ("a red fox in the snow --ar 3:2 --s 250 --c 10 --weird 20 --q 2 --v 7 --style raw "
        "--tile --no cars, trees --sref 123 --sw 50")


class TrackedComm:
    """A comm that remembers whether it was closed, so a test can count models left open."""

    kernel = "tracked"
    opened: list["TrackedComm"] = []

    def __init__(self, *args, **kwargs):
        self.comm_id = kwargs.get("comm_id") or f"tracked-{id(self):x}"
        self.closed = False
        TrackedComm.opened.append(self)

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, callback):
        pass

    def send(self, *args, **kwargs):
        pass

    def close(self, *args, **kwargs):
        self.closed = True


@pytest.fixture(autouse=True)
def tracked_comms(monkeypatch):
    TrackedComm.opened = []
    monkeypatch.setattr(comm, "create_comm", TrackedComm)
    yield TrackedComm.opened


class FakeView(widgets.VBox):
    """Stands in for JobView (another branch): remembers its job."""

    def __init__(self, job, ctx):
        super().__init__()
        self.job, self.ctx = job, ctx


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def start(sim, home, api_key=None):
    """A runtime on the simulator with its own history under `home`."""
    return runtime.start(api_key=api_key or sim.api_key, base_url=sim.url, home=home,
                         policy=PollingPolicy().scaled(SPEED))


@pytest.fixture
def rt(sim, tmp_path):
    with_history = start(sim, tmp_path / "home")
    yield with_history
    with_history.close()


@pytest.fixture
def ctx(rt):
    return UiContext.from_runtime(rt)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def panel(ctx, clock):
    made = ImaginePanel(ctx, view_factory=FakeView, clock=clock)
    yield made
    made.close()


def values(panel) -> dict:
    return {name: control.value for name, control in panel.controls.items()}


# ---------------------------------------------------------------------- text -> controls


def test_text_sets_every_control(panel):
    panel.set_prompt(BASE)
    got = values(panel)
    assert got["aspect"] == "3:2" and panel.controls["aspect_custom"].disabled
    assert got["model"] == "7" and got["quality"] == "2"
    assert (got["stylize_on"], got["stylize"]) == (True, 250)
    assert (got["chaos_on"], got["chaos"]) == (True, 10)
    assert (got["weird_on"], got["weird"]) == (True, 20)
    assert (got["sw_on"], got["sw"]) == (True, 50)
    assert got["raw"] is True and got["tile"] is True
    assert got["no"] == "cars, trees" and got["sref"] == "123"
    assert not any(panel.controls[name].disabled for name in ("stylize", "chaos", "weird", "sw"))


@pytest.mark.parametrize("text, expected", [
    ("a fox --ar 1920:1080", {"aspect": "16:9"}),
    ("a fox --ar 5:4", {"aspect": "custom", "aspect_custom": "5:4"}),
    ("a fox --niji 6", {"model": "niji 6"}),
    ("a fox --niji", {"model": "niji"}),
    ("a fox --v 5.1", {"model": "5.1"}),          # not in the list: added as an option
    ("a fox --raw", {"raw": True}),
    ("a fox --style cute", {"raw": False}),
    ("a fox --q .5", {"quality": ".5"}),
    ("a fox --q 3", {"quality": "3"}),
    ("a fox --niji 5", {"model": "niji 5"}),
    ("a fox --stylize 0", {"stylize_on": True, "stylize": 0}),
    ("a fox --sref 123::2 https://example.com/s.png random",
     {"sref": "123::2 https://example.com/s.png random"}),
    ("a fox", {"aspect": "", "model": "", "quality": "", "stylize_on": False, "stylize": 100,
               "raw": False, "tile": False, "no": "", "sref": "", "sw_on": False}),
])
def test_text_to_controls_cases(panel, text, expected):
    panel.set_prompt(BASE)
    panel.set_prompt(text)
    got = values(panel)
    assert {name: got[name] for name in expected} == expected
    assert panel.prompt.value == text              # reading the text never writes it


def test_an_unusual_version_or_quality_is_added_without_touching_the_text(panel):
    panel.set_prompt("a fox --v 7 --q 2")
    panel.set_prompt("a fox --v 5.1")
    assert panel.prompt.value == "a fox --v 5.1" and values(panel)["model"] == "5.1"
    panel.set_prompt("a fox --q 3")
    assert panel.prompt.value == "a fox --q 3" and values(panel)["quality"] == "3"
    panel.controls["quality"].value = "1"
    assert panel.prompt.value == "a fox --q 1"


def test_removing_a_parameter_from_the_text_unsets_its_control(panel):
    panel.set_prompt(BASE)
    panel.set_prompt(BASE.replace(" --s 250", ""))
    assert panel.controls["stylize_on"].value is False
    assert panel.controls["stylize"].disabled


def test_invalid_text_leaves_the_controls_as_they_were(panel):
    panel.set_prompt(BASE)
    before = values(panel)
    panel.set_prompt("a red fox --ar 16:9 --s 5000 --tile")     # --s out of range: invalid
    assert values(panel) == before
    assert panel.imagine_button.disabled


def test_controls_never_write_the_text_back_while_it_is_read(panel):
    changes = []
    panel.prompt.observe(lambda change: changes.append(change["new"]), names="value")
    panel.set_prompt("a fox --stylize 250 --ar 1920:1080")
    assert changes == ["a fox --stylize 250 --ar 1920:1080"]   # no echo, no canonical rewrite


# ---------------------------------------------------------------------- controls -> text


@pytest.mark.parametrize("name, value, old, new", [
    ("aspect", "16:9", "--ar 3:2", "--ar 16:9"),
    ("aspect", "", " --ar 3:2", ""),
    ("model", "6.1", "--v 7", "--v 6.1"),
    ("model", "", " --v 7", ""),
    ("quality", "4", "--q 2", "--q 4"),
    ("quality", "", " --q 2", ""),
    ("stylize", 300, "--s 250", "--s 300"),
    ("stylize_on", False, " --s 250", ""),
    ("chaos", 55, "--c 10", "--c 55"),
    ("weird", 999, "--weird 20", "--weird 999"),
    ("sw", 400, "--sw 50", "--sw 400"),
    ("raw", False, " --style raw", ""),
    ("tile", False, " --tile", ""),
    ("no", "cars, people", "--no cars, trees", "--no cars, people"),
    ("no", "", " --no cars, trees", ""),
    ("sref", "456 random", "--sref 123", "--sref 456 random"),
])
def test_a_control_rewrites_only_its_token(panel, name, value, old, new):
    panel.set_prompt(BASE)
    panel.controls[name].value = value
    assert panel.prompt.value == BASE.replace(old, new, 1)
    assert panel.check.ok


@pytest.mark.parametrize("name, value, added", [
    ("aspect", "21:9", "--ar 21:9"),
    ("model", "niji 6", "--niji 6"),
    ("model", "niji", "--niji"),
    ("quality", ".5", "--q .5"),
    ("stylize_on", True, "--s 100"),
    ("chaos_on", True, "--c 0"),
    ("weird_on", True, "--weird 0"),
    ("raw", True, "--style raw"),
    ("tile", True, "--tile"),
    ("no", "text, frame", "--no text, frame"),
    ("sref", "random", "--sref random"),
])
def test_a_control_adds_its_token_at_the_end(panel, name, value, added):
    panel.set_prompt("a red fox  \n")
    panel.controls[name].value = value
    assert panel.prompt.value == f"a red fox {added}  \n"


def test_a_rewritten_token_keeps_the_users_spelling(panel):
    panel.set_prompt("a fox --stylize 250 --aspect 2:3")
    panel.controls["stylize"].value = 500
    panel.controls["aspect"].value = "1:1"
    assert panel.prompt.value == "a fox --stylize 500 --aspect 1:1"


def test_model_switch_replaces_v_with_niji_and_back(panel):
    panel.set_prompt("a fox --v 7 --ar 3:2")
    panel.controls["model"].value = "niji 6"
    assert panel.prompt.value == "a fox --ar 3:2 --niji 6"
    panel.controls["model"].value = "6.1"
    assert panel.prompt.value == "a fox --ar 3:2 --v 6.1"


def test_custom_aspect_is_written_as_typed_and_does_not_jump(panel):
    panel.set_prompt("a fox --ar 3:2")
    panel.controls["aspect"].value = "custom"
    assert not panel.controls["aspect_custom"].disabled
    panel.controls["aspect_custom"].value = "32:18"
    assert panel.prompt.value == "a fox --ar 32:18"
    assert values(panel)["aspect"] == "custom"          # not flipped to 16:9 while typing
    panel.controls["aspect_custom"].value = "5:"
    assert panel.prompt.value == "a fox --ar 5:" and panel.imagine_button.disabled
    assert "aspect ratio" in panel.messages.value


def test_unticking_raw_also_removes_the_raw_flag(panel):
    panel.set_prompt("a fox --raw --v 7")
    assert panel.controls["raw"].value
    panel.controls["raw"].value = False
    assert panel.prompt.value == "a fox --v 7"


def test_one_control_change_is_one_text_change(panel):
    panel.set_prompt(BASE)
    changes = []
    panel.prompt.observe(lambda change: changes.append(change["new"]), names="value")
    panel.controls["chaos"].value = 70
    assert changes == [BASE.replace("--c 10", "--c 70")]


def test_a_parameter_set_by_a_permutation_locks_its_control(panel):
    panel.set_prompt("a {red, blue} fox --s {100, 200} --ar 3:2")
    assert panel.controls["stylize"].disabled and panel.controls["stylize_on"].disabled
    assert not panel.controls["aspect"].disabled and panel.controls["aspect"].value == "3:2"
    panel.controls["aspect"].value = "1:1"                     # outside braces: editable
    assert panel.prompt.value == "a {red, blue} fox --s {100, 200} --ar 1:1"
    panel.set_prompt("a fox --{v 7, niji 6}")
    assert panel.controls["model"].disabled


# ---------------------------------------------------------------------- validation


def test_an_empty_prompt_cannot_be_imagined(panel):
    assert panel.imagine_button.disabled
    assert "Write a prompt" in panel.summary.value
    assert panel.messages.value == ""


def test_every_error_is_shown_escaped_and_imagine_is_disabled(panel):
    panel.set_prompt("a fox --s 5000 --c 500 <b>bold</b>")
    messages = panel.messages.value
    assert messages.count('class="amj-error"') == 3
    assert "out of range 0–1000" in messages and "out of range 0–100" in messages
    assert "&lt;b&gt;bold&lt;/b&gt;" in messages and "<b>" not in messages
    assert panel.imagine_button.disabled
    assert "Fix the errors" in panel.summary.value


def test_warnings_are_shown_and_do_not_block(panel):
    panel.set_prompt("a fox --sw 50")
    assert 'class="amj-warning"' in panel.messages.value
    assert "--sw has no effect without --sref" in panel.messages.value
    assert not panel.imagine_button.disabled


def test_a_warning_every_permutation_job_has_is_shown_once(panel):
    panel.set_prompt("a {red, blue} fox --sw 80")
    assert panel.messages.value.count("--sw has no effect without --sref") == 1
    assert "at character" not in panel.messages.value       # job positions, not the text's


def test_fixing_the_prompt_enables_imagine_again(panel):
    panel.set_prompt("a fox --s 5000")
    assert panel.imagine_button.disabled
    panel.set_prompt("a fox --s 500")
    assert not panel.imagine_button.disabled and panel.messages.value == ""


@pytest.mark.parametrize("text, summary, jobs, credits, button", [
    ("a fox", "1 job · 4 credits", 1, 4, "Imagine"),
    ("a {red, green, blue} fox", "3 jobs (permutations) · 12 credits", 3, 12, "Imagine 3 jobs"),
    ("a {red, blue} fox in {snow, rain, fog}", "6 jobs (permutations) · 24 credits", 6, 24,
     "Imagine 6 jobs"),
])
def test_jobs_and_credits_are_counted(panel, text, summary, jobs, credits, button):
    panel.set_prompt(text)
    assert summary in panel.summary.value
    assert (panel.check.jobs, panel.check.credits) == (jobs, credits)
    assert panel.imagine_button.description == button


@pytest.mark.parametrize("text, jobs, credits", [
    ("a fox --repeat 3", 3, 12),
    ("a {red, blue} fox --repeat 2", 4, 16),
])
def test_repeat_multiplies_the_jobs_and_credits(panel, text, jobs, credits):
    panel.set_prompt(text)
    assert (panel.check.jobs, panel.check.credits) == (jobs, credits)
    assert f"{credits} credits" in panel.summary.value
    assert panel.imagine_button.description == f"Imagine {jobs} jobs"


def test_validation_uses_the_assumed_version_as_a_default_only(rt):
    ctx = UiContext.from_runtime(rt, version="5.2")
    made = ImaginePanel(ctx, view_factory=FakeView)
    assert made.controls["model"].options[0] == ("account default (checked as 5.2)", "")
    made.set_prompt("a fox --sref 123")
    assert 'class="amj-warning"' in made.messages.value       # V5.2 assumed: a warning
    assert not made.imagine_button.disabled
    made.set_prompt("a fox --sref 123 --v 5.2")               # named: an error
    assert made.imagine_button.disabled
    made.close()


def test_image_prompts_are_checked(panel, tmp_path):
    panel.set_prompt("a fox")
    panel.controls["image_prompts"].value = "https://example.com/a.png /no/such/file.png"
    assert "/no/such/file.png" in panel.messages.value and panel.imagine_button.disabled
    picture = tmp_path / "my picture.png"
    picture.write_bytes(b"\x89PNG")
    panel.controls["image_prompts"].value = f'https://example.com/a.png "{picture}"'
    assert not panel.imagine_button.disabled
    assert panel.check.image_prompts == ["https://example.com/a.png", str(picture)]
    panel.controls["image_prompts"].value = '"unclosed'
    assert panel.imagine_button.disabled and "quote" in panel.messages.value


# ---------------------------------------------------------------------- submitting


def test_imagine_submits_real_tasks_and_shows_them_newest_first(panel, sim, clock):
    panel.set_prompt("a {red, blue} fox --ar 3:2")
    panel.imagine_button.click()
    first = [view.job for view in panel.jobs_box.children]
    assert len(first) == 2 and sim.tasks_created == 2
    assert [job.prompt for job in first] == ["a blue fox --ar 3:2", "a red fox --ar 3:2"]
    clock.now += DOUBLE_CLICK_SECONDS + 1
    panel.set_prompt("a green owl")
    panel.imagine_button.click()
    shown = [view.job for view in panel.jobs_box.children]
    assert [job.prompt for job in shown] == ["a green owl", *[job.prompt for job in first]]
    assert panel.views == list(panel.jobs_box.children)
    for job in shown:
        assert job.wait(timeout=30).finished and job.state == FINISHED
    assert sorted(sim.tasks) == sorted(job.task_id for job in shown)    # and nothing else sent
    assert "Submitted 1 job" in panel.status.value
    assert not panel.imagine_button.disabled


def test_mode_and_image_prompts_travel_with_the_submit(rt, clock):
    calls = []
    ctx = UiContext.from_runtime(rt)
    real = ctx.submit

    def recording_submit(text, *, mode=None, image_prompts=()):
        calls.append((text, mode, tuple(image_prompts)))
        return real(text, mode=mode, image_prompts=image_prompts)

    ctx.submit = recording_submit
    made = ImaginePanel(ctx, view_factory=FakeView, clock=clock)
    made.set_prompt("a fox")
    made.controls["mode"].value = "turbo"
    made.controls["image_prompts"].value = "https://example.com/a.png https://example.com/b.png"
    assert made.prompt.value == "a fox"                       # not written into the prompt
    jobs = made.imagine()
    assert calls == [("a fox", "turbo", ("https://example.com/a.png",
                                         "https://example.com/b.png"))]
    assert jobs[0].payload["process_mode"] == "turbo"
    assert jobs[0].payload["prompt"] == "https://example.com/a.png https://example.com/b.png a fox"
    made.close()


def test_a_refused_submit_is_shown_and_imagine_works_again(sim, tmp_path):
    wrong = start(sim, tmp_path / "wrong", api_key="not-the-simulators-key")
    try:
        made = ImaginePanel(UiContext.from_runtime(wrong), view_factory=FakeView)
        made.set_prompt("a fox")
        assert made.imagine() == []
        assert 'class="amj-error"' in made.status.value
        assert "APIFRAME_API_KEY" in made.status.value           # says how to fix it
        assert "not-the-simulators-key" not in made.status.value
        assert made.jobs_box.children == () and sim.tasks_created == 0
        assert not made.imagine_button.disabled
        assert " · rejected · a fox" in made.history_select.options[0][0]
        made.close()
    finally:
        wrong.close()


def test_a_prompt_error_from_the_submit_path_is_shown(rt):
    from apiframe_magic.prompt import validate

    ctx = UiContext.from_runtime(rt, version="5.2")

    def strict_submit(text, **options):            # a submit path that names V5.2
        validate(text, version="5.2")
        return []

    ctx.submit = strict_submit
    made = ImaginePanel(ctx, view_factory=FakeView)
    made.set_prompt("a <i>fox</i> --sref 123")    # only a warning while V5.2 is assumed
    assert not made.imagine_button.disabled
    made.imagine_button.click()
    assert "--sref is not compatible with --version 5.2" in made.status.value
    assert "<i>" not in made.status.value
    assert made.jobs_box.children == ()
    made.close()


def test_an_unexpected_failure_is_shown_in_words(panel, ctx):
    def broken(text, **options):
        raise RuntimeError("disk <full>")

    ctx.submit = broken
    panel.set_prompt("a fox")
    panel.imagine_button.click()
    assert "unexpected error (RuntimeError): disk &lt;full&gt;" in panel.status.value
    assert not panel.imagine_button.disabled


def test_a_double_click_submits_once(panel, sim, clock):
    panel.set_prompt("a fox")
    panel.imagine_button.click()
    panel.imagine_button.click()             # the queued second half of a double click
    assert sim.tasks_created == 1 and len(panel.jobs_box.children) == 1
    clock.now += DOUBLE_CLICK_SECONDS + 0.1
    panel.imagine_button.click()             # a deliberate second run of the same prompt
    assert sim.tasks_created == 2


def test_a_changed_prompt_is_not_taken_for_a_double_click(panel, sim):
    panel.set_prompt("a fox")
    panel.imagine_button.click()
    panel.set_prompt("an owl")
    panel.imagine_button.click()
    assert sim.tasks_created == 2


def test_a_click_during_a_submit_sends_nothing(panel, ctx, sim):
    real, inner = ctx.submit, []

    def submit_and_click_again(text, **options):
        assert panel.imagine_button.disabled
        inner.append(panel.imagine())
        return real(text, **options)

    ctx.submit = submit_and_click_again
    panel.set_prompt("a fox")
    panel.imagine_button.click()
    assert inner == [[]] and sim.tasks_created == 1


def test_set_prompt_replaces_the_text_and_returns_the_panel(panel, sim):
    panel.set_prompt("old words --ar 2:3")
    assert panel.set_prompt("a cute owl --sref 762351716 --ar 16:9") is panel
    assert panel.prompt.value == "a cute owl --sref 762351716 --ar 16:9"
    assert values(panel)["sref"] == "762351716" and values(panel)["aspect"] == "16:9"
    assert not panel.imagine_button.disabled and sim.tasks_created == 0


def test_the_panel_registers_itself_and_close_closes_every_model(ctx, tracked_comms):
    made = ImaginePanel(ctx, view_factory=FakeView)
    assert ctx.panel is made
    made.set_prompt("a fox")
    made.imagine()
    assert any(not c.closed for c in tracked_comms)
    made.close()
    assert ctx.panel is None
    assert [c for c in tracked_comms if not c.closed] == []


def test_every_control_has_a_label_and_a_tooltip(panel):
    def tooltip(widget):            # `description_tooltip` in ipywidgets 7
        return getattr(widget, "tooltip", None) or getattr(widget, "description_tooltip", None)

    for name, control in panel.controls.items():
        assert tooltip(control), name
        label = getattr(control, "description", "")
        assert label or name in ("stylize", "chaos", "weird", "sw"), name   # beside a checkbox
    for button in (panel.imagine_button, panel.open_button, panel.refresh_button):
        assert button.description and tooltip(button)
    assert tooltip(panel.history_filter) and tooltip(panel.history_select)
    assert "amj-panel" in panel._dom_classes


def test_the_stylesheet_only_styles_project_classes():
    from apiframe_magic.widgets.panel import CSS

    for rule in CSS.replace("\n", " ").split("}"):
        selectors = rule.split("{")[0].strip()
        for selector in filter(None, (s.strip() for s in selectors.split(","))):
            assert ".amj-panel" in selector, selector


# ---------------------------------------------------------------------- history


def finished_jobs(ctx, *prompts):
    jobs = [ctx.submit(text)[0] for text in prompts]
    for job in jobs:
        job.wait(timeout=30, images=True)
    return jobs


def labels(panel):
    return [label for label, _ in panel.history_select.options]


def test_history_lists_past_jobs_and_filters_by_prompt_and_sref(panel, ctx):
    fox, owl, styled = finished_jobs(ctx, "a red fox", "a snowy owl", "a lighthouse --sref random")
    code = styled.sref
    assert code and code.isdigit()
    panel.refresh_history()
    assert len(labels(panel)) == 3 and "lighthouse" in labels(panel)[0]   # newest first
    panel.history_filter.value = "FOX"
    assert [job_id for _, job_id in panel.history_select.options] == [fox.job_id]
    panel.history_filter.value = code
    assert [job_id for _, job_id in panel.history_select.options] == [styled.job_id]
    assert f"sref {code}" in labels(panel)[0]
    panel.history_filter.value = "snowy owl"
    assert [job_id for _, job_id in panel.history_select.options] == [owl.job_id]
    panel.history_filter.value = "zebra"
    assert panel.history_select.options == () and "Nothing in 3" in panel.history_status.value


def test_history_refreshes_after_a_submit(panel):
    assert panel.history_select.options == () and "No past jobs" in panel.history_status.value
    panel.set_prompt("a red fox")
    panel.imagine()
    assert len(panel.history_select.options) == 1


def test_open_shows_the_live_job_on_top(panel, ctx):
    (fox,) = finished_jobs(ctx, "a red fox")
    panel.refresh_history()
    assert panel.open_button.disabled
    panel.history_select.value = fox.job_id
    assert not panel.open_button.disabled
    panel.open_button.click()
    assert panel.jobs_box.children[0].job is fox


def test_open_rebuilds_a_finished_job_from_disk_in_a_new_session(sim, tmp_path):
    home = tmp_path / "home"
    first = start(sim, home)
    (old,) = finished_jobs(UiContext.from_runtime(first), "a lighthouse --sref random")
    first.close()
    later = start(sim, home)
    try:
        ctx = UiContext.from_runtime(later)
        made = ImaginePanel(ctx, view_factory=FakeView)
        made.history_filter.value = old.sref
        made.history_select.value = old.job_id
        made.open_button.click()
        job = made.jobs_box.children[0].job
        assert job is not old and job.manager is later.manager
        assert job.state == FINISHED and job.task_id == old.task_id and job.sref == old.sref
        assert job.result.image_urls == old.result.image_urls
        assert set(job.image_paths) == {"grid", "1", "2", "3", "4"}
        assert "Opened" in made.history_status.value
        made.close()
    finally:
        later.close()


def test_opening_a_record_that_cannot_be_reopened_says_why(panel, ctx):
    record_id = ctx.store.record_queued("imagine", {"prompt": "a ghost"}, prompt="a ghost")
    panel.refresh_history()
    panel.history_select.value = record_id
    panel.open_button.click()
    assert 'class="amj-error"' in panel.history_status.value
    assert "resume" in panel.history_status.value
    assert panel.jobs_box.children == ()


def test_history_search_and_labels_escape_nothing_and_cap_rows(panel, ctx):
    from apiframe_magic.widgets import panel as panel_module

    for n in range(panel_module.HISTORY_ROWS + 5):
        ctx.store.record_submitting("imagine", {"prompt": f"<b>job {n}</b>"},
                                    prompt=f"<b>job {n}</b>")
    panel.refresh_history()
    assert len(panel.history_select.options) == panel_module.HISTORY_ROWS
    assert "first 50 of 55" in panel.history_status.value
    assert labels(panel)[0].endswith("<b>job 54</b>")       # a Select shows text, not HTML


def test_prompt_round_trip_after_many_control_edits_stays_valid(panel):
    panel.set_prompt("a quiet harbour at dawn")
    edits = [("aspect", "16:9"), ("model", "7"), ("stylize_on", True), ("stylize", 750),
             ("chaos_on", True), ("chaos", 30), ("raw", True), ("quality", "2"),
             ("no", "boats"), ("sref", "123"), ("sw_on", True), ("sw", 200), ("tile", True),
             ("model", "6.1"), ("aspect", "custom"), ("aspect_custom", "5:4")]
    for name, value in edits:
        panel.controls[name].value = value
    parsed = parse_prompt(panel.prompt.value)
    assert parsed.text == "a quiet harbour at dawn"
    assert parsed.params == {"aspect": "5:4", "version": "6.1", "stylize": 750, "chaos": 30,
                             "style": "raw", "quality": 2.0, "no": ["boats"],
                             "sref": parsed.params["sref"], "sw": 200, "tile": True}
    assert [str(r) for r in parsed.params["sref"]] == ["123"]
    assert panel.check.ok


# ---------------------------------------------------------------------- with the real JobView


def test_reuse_style_from_a_panel_job_fills_the_panel_and_the_new_job_keeps_the_sref(ctx, clock):
    from apiframe_magic.widgets import JobView

    made = ImaginePanel(ctx, clock=clock)             # the default view: JobView
    made.set_prompt("a lighthouse --sref random")
    (job,) = made.imagine()
    view = made.jobs_box.children[0]
    assert isinstance(view, JobView) and view.job is job and ctx.views == [view]
    job.wait(timeout=30, images=True)
    code = job.sref
    view.buttons["reuse-style"].click()
    assert ctx.panel is made and made not in view.children_box.children
    assert made.prompt.value == f"a lighthouse --sref {code}"
    assert made.controls["sref"].value == code and not made.imagine_button.disabled
    clock.now += DOUBLE_CLICK_SECONDS + 1
    (again,) = made.imagine()
    assert again.wait(timeout=30).sref == code
    assert [v.job for v in made.jobs_box.children] == [again, job]
    made.close()
    assert view.closed and ctx.views == []


def test_reuse_style_without_a_panel_opens_one_under_the_view(ctx):
    from apiframe_magic.widgets import JobView

    (job,) = ctx.submit("a cat --sref random")
    view = JobView(job, ctx)
    job.wait(timeout=30, images=True)
    view.buttons["reuse-style"].click()
    assert isinstance(ctx.panel, ImaginePanel) and ctx.panel in view.children_box.children
    assert ctx.panel.prompt.value == f"a cat --sref {job.sref}"
    opened = ctx.panel
    view.close()
    assert opened.closed and ctx.panel is None


def test_views_the_context_closes_leave_the_jobs_box(ctx, clock):
    ctx.max_live_views = 1
    made = ImaginePanel(ctx, clock=clock)
    made.set_prompt("a red fox")
    (first,) = made.imagine()
    first.wait(timeout=30, images=True)
    old_view = made.jobs_box.children[0]
    made.set_prompt("a snowy owl")
    (second,) = made.imagine()
    assert old_view.closed
    assert [v.job for v in made.jobs_box.children] == [second] and made.views == [
        made.jobs_box.children[0]]
    second.wait(timeout=30)
    made.close()


def test_a_submit_adds_its_jobs_on_top_of_the_history(panel, ctx, monkeypatch):
    from apiframe_magic.widgets import history

    for n in range(5):
        ctx.store.record_submitting("imagine", {"prompt": f"old {n}"}, prompt=f"old {n}")
    panel.refresh_history()
    panel.set_prompt("a {red, blue} fox")
    panel.imagine()
    assert [label.rsplit(" · ", 1)[1] for label in labels(panel)[:3]] == [
        "a blue fox", "a red fox", "old 4"]
    assert "of 7 past jobs" in panel.history_status.value
    monkeypatch.setattr(history, "RECENT_WINDOW", 2)   # more new jobs than the window
    panel.set_prompt("a {green, grey, gold} owl")
    panel.imagine()
    assert "of 10 past jobs" in panel.history_status.value
    assert len({job_id for _, job_id in panel.history_select.options}) == 10


# ---------------------------------------------------------------------- through the magic


def test_imagine_panel_in_a_notebook_submits_through_the_magic(tmp_path, monkeypatch):
    from magic_shell import magics_of, make_shell

    monkeypatch.chdir(tmp_path)
    shell = make_shell(display="widgets")
    try:
        assert shell.run_line_magic("imagine", "panel") is None   # shown, never returned
        (output,) = shell.display_pub.outputs()
        assert "application/vnd.jupyter.widget-view+json" in output["data"]
        ctx = magics_of(shell).ui_context()
        made = ctx.panel
        assert isinstance(made, ImaginePanel)
        assert output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == \
            made.model_id
        made.set_prompt("a {red, blue} fox --ar 3:2")
        made.controls["mode"].value = "turbo"
        made.imagine_button.click()
        jobs = [view.job for view in made.jobs_box.children]
        assert [job.prompt for job in jobs] == ["a blue fox --ar 3:2", "a red fox --ar 3:2"]
        assert all(job.payload["process_mode"] == "turbo" for job in jobs)
        assert all(job.wait(30).finished for job in jobs)
        assert magics_of(shell).runtime.simulator.tasks_created == 2
        made.close()
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


def test_a_local_image_prompt_is_uploaded_first_through_the_magic(tmp_path, monkeypatch):
    from PIL import Image as PILImage

    from magic_shell import magics_of, make_shell

    monkeypatch.chdir(tmp_path)
    picture = tmp_path / "sketch.png"
    PILImage.new("RGB", (64, 64), "teal").save(picture)
    shell = make_shell(display="widgets")
    try:
        shell.run_line_magic("imagine", "panel")
        made = magics_of(shell).ui_context().panel
        made.set_prompt("a teal bird")
        made.controls["image_prompts"].value = str(picture)
        (job,) = made.imagine()
        uploaded, rest = job.payload["prompt"].split(" ", 1)
        assert uploaded.startswith("http") and rest == "a teal bird"
        assert magics_of(shell).runtime.simulator.request_counts["/upload"] == 1
        assert job.wait(30).finished
        made.close()
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


def test_a_named_style_is_checked_and_sent_as_its_code(panel, ctx, sim, clock):
    from apiframe_magic.styles import name_style

    (styled,) = finished_jobs(ctx, "a lighthouse --sref random")
    name_style(ctx.store, styled.sref, "stormy")
    panel.set_prompt("a harbour --sref @stormy::2")
    assert panel.check.ok and values(panel)["sref"] == "@stormy::2"   # as typed
    panel.set_prompt("a harbour --sref @stromy")
    assert panel.imagine_button.disabled
    assert "unknown style name in --sref: @stromy (did you mean @stormy?)" in panel.messages.value
    panel.set_prompt("a harbour --sref @stormy")
    (job,) = panel.imagine()
    assert job.prompt == f"a harbour --sref {styled.sref}"
    assert job.wait(timeout=30).sref == styled.sref


# ---------------------------------------------------------------------- placement (issue 15)


def test_the_panel_has_a_heading(panel):
    assert "Prompt panel" in panel.heading.value and panel.children[1] is panel.heading


def test_a_prompt_put_in_by_a_button_is_replaced_by_the_next(panel):
    panel.offer_prompt("a fox --sref 1", "1")
    panel.offer_prompt("a fox --sref 2", "2")
    assert panel.prompt.value == "a fox --sref 2" and panel.offer.children == ()


def test_an_edited_prompt_is_kept_until_the_user_chooses(panel):
    panel.offer_prompt("a fox --sref 1", "1")
    panel.prompt.value = "an owl at night --ar 3:2"          # typed by the user
    panel.offer_prompt("a fox --sref 2", "2")
    assert panel.prompt.value == "an owl at night --ar 3:2"
    labels = [b.description for b in panel.offer.children[1:]]
    assert labels == ["Use --sref 2 in my prompt", "Replace my prompt", "Keep mine"]
    assert panel.offer.layout.display == "flex"
    panel.offer.children[1].click()
    assert panel.prompt.value == "an owl at night --ar 3:2 --sref 2"
    assert panel.offer.children == () and panel.offer.layout.display == "none"

    panel.prompt.value = "a heron"
    panel.offer_prompt("a fox --sref 3", "3")
    panel.offer.children[2].click()                           # Replace my prompt
    assert panel.prompt.value == "a fox --sref 3"
    panel.prompt.value = "a crane"
    panel.offer_prompt("a fox --sref 4", "4")
    panel.offer.children[3].click()                           # Keep mine
    assert panel.prompt.value == "a crane" and panel.offer.children == ()


def test_a_style_button_brings_the_one_panel_under_its_view_with_the_focus(ctx, monkeypatch):
    from apiframe_magic.widgets import JobView

    focused: list = []
    monkeypatch.setattr(ImaginePanel, "focus_prompt", lambda self: focused.append(self))
    first_job, second_job = ctx.submit("a cat --sref random")[0], ctx.submit("a dog")[0]
    for job in (first_job, second_job):
        job.wait(timeout=30, images=True)
    first, second = JobView(first_job, ctx), JobView(second_job, ctx)
    first.buttons["reuse-style"].click()
    made = ctx.panel
    assert first.children_box.children == (made,)
    second.buttons["style1"].click()
    assert second.children_box.children == (made,) and made not in first.children_box.children
    assert made.prompt.value.endswith(f"--sref {second_job.result.image_urls[0]}")
    assert focused == [made, made]
    made.close()
    first.close()
    second.close()
