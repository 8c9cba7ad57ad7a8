"""JobView without a browser: real jobs against the simulator over HTTP, clicks with
`Button.click()`, and a comm that records what would reach the frontend."""
from __future__ import annotations

import io
import threading
import time
from dataclasses import replace

import comm
import ipywidgets as widgets
import pytest
from ipywidgets.widgets import widget as widget_module
from PIL import Image as PILImage

from apiframe_magic import ApiframeError, runtime
from apiframe_magic.jobs import PollingPolicy
from apiframe_magic.widgets import JobView, UiContext
from apiframe_magic.widgets.actions import prompt_with_sref
from apiframe_magic.widgets.style import is_closed
from apiframe_magic.widgets.view import _link

SPEED = 400  # the simulator's clock: an imagine takes well under a second


class RecordingComm:
    """Stands in for a kernel comm: keeps every message a widget sends, and notes when two
    threads were sending at the same moment (what the view's lock must prevent)."""

    kernel = "recording"
    _sending: set = set()
    overlaps: list = []
    _guard = threading.Lock()

    def __init__(self, *args, **kwargs):
        self.comm_id = kwargs.get("comm_id") or f"rec-{id(self):x}"
        self.messages: list = []
        self.closed = False

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, callback):
        pass

    def send(self, data=None, metadata=None, buffers=None):
        me = threading.get_ident()
        with self._guard:
            if self._sending - {me}:
                self.overlaps.append(data)
            self._sending.add(me)
        try:
            time.sleep(0)  # serialising and queueing a real message lets other threads run
            self.messages.append((data, buffers))
        finally:
            with self._guard:
                self._sending.discard(me)

    def close(self, *args, **kwargs):
        self.closed = True


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", RecordingComm)
    RecordingComm.overlaps.clear()
    yield


class FakePanel(widgets.VBox):
    """The prompt panel's interface as views use it: `set_prompt(text)`."""

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.prompts: list[str] = []

    def set_prompt(self, text):
        self.prompts.append(text)


@pytest.fixture
def rt(sim, tmp_path):
    runtime_ = runtime.start(api_key=sim.api_key, base_url=sim.url, home=tmp_path / "home",
                             policy=replace(PollingPolicy().scaled(SPEED), deadline=120.0))
    yield runtime_
    runtime_.close()


@pytest.fixture
def sim():
    from apiframe_magic.simulator import Simulator

    with Simulator(speed=SPEED) as simulator:
        yield simulator


@pytest.fixture
def ctx(rt, tmp_path):
    context = UiContext.from_runtime(rt, save_dir=tmp_path / "saved")
    context.panel_factory = FakePanel
    yield context
    for view in list(context.views):
        view.close()


def wait_until(condition, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def settled(view):
    """Wait until the view shows its job's end (and its images, when it has any)."""
    try:
        view.job.wait(30, images=True)
    except ApiframeError:
        pass  # a failed job: the view shows why
    wait_until(lambda: view.shown_state == view.job.state, what="the view to show the end")
    if view.job.state == "finished" and view.grid_image is not None:
        wait_until(lambda: view._images_state in ("ready", "missing"), what="images shown")
    return view


def imagine(ctx, prompt="a red fox in the snow"):
    job = ctx.submit(prompt)[0]
    return JobView(job, ctx)


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data[:2] == b"\xff\xd8", "not JPEG bytes"
    with PILImage.open(io.BytesIO(data)) as image:
        return image.size


def frontend_state(widget) -> dict:
    """What the frontend would hold for `widget`: every update it was sent, in order."""
    state: dict = {}
    for data, buffers in widget.comm.messages:
        if not isinstance(data, dict) or data.get("method") != "update":
            continue
        state.update(data["state"])
        for path, buffer in zip(data.get("buffer_paths", ()), buffers or ()):
            state[path[0]] = bytes(buffer)
    return state


def out_of_sync(widget) -> list[str]:
    """Traits whose last message differs from the widget's state (a lost update)."""
    sent = frontend_state(widget)
    now = widget.get_state()
    return [f"{type(widget).__name__}.{key}" for key, value in sent.items()
            if (bytes(now[key]) if isinstance(value, bytes) else now[key]) != value]


def _registry() -> dict:
    registry = getattr(widget_module, "_instances", None)
    return registry if registry is not None else widget_module.Widget.widgets


def instances() -> int:
    """Live widget models: `_instances` in ipywidgets 8, `Widget.widgets` in 7.x."""
    registry = getattr(widget_module, "_instances", None)
    return len(registry if registry is not None else widget_module.Widget.widgets)


# ---------------------------------------------------------------------- the grid


def test_grid_view_shows_images_buttons_and_links(ctx):
    view = settled(imagine(ctx, "a red fox --sref random"))
    job = view.job
    assert {"amj-live", "amj-job"} <= set(view._dom_classes)
    assert "Finished" in view.status.value
    assert view.bar.layout.display == "none" and view.bar.value == ""  # folded into the status
    assert view.body in view.children and view.children[-1] is view.children_box
    assert view.grid_image is None  # the four images once, never the grid again
    assert all(384 <= max(jpeg_size(t.image.value)) <= 512 for t in view.tiles)
    for key in ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4", "style1", "style4",
                "reroll", "vary-strong", "vary-subtle", "save", "reuse-style", "open1"):
        button = view.buttons[key]
        assert button.description and button.tooltip, key
        assert not button.disabled, key
    assert view.buttons["reuse-style"].description == f"Reuse style --sref {job.sref}"
    assert view.control.disabled
    assert f'title="{job.task_id}">{job.task_id[:8]}</span>' in view.title.value
    assert f'<span class="amj-id">{job.task_id}</span>' in view.details.value
    assert f"--sref {job.sref}</span>" in view.details.value
    assert view.details.value.count("full size</a>") == 5
    assert all(url in view.details.value for url in job.result.image_urls)


def test_without_sref_the_reuse_button_is_hidden(ctx):
    view = settled(imagine(ctx))
    assert view.job.sref is None
    assert view.buttons["reuse-style"].layout.display == "none"


def test_every_grid_button_starts_its_follow_up(ctx, sim):
    view = settled(imagine(ctx))
    parent = view.job.task_id
    expected = {f"U{k}": ("upscale-1x", {"index": str(k)}) for k in range(1, 5)}
    expected |= {f"V{k}": ("variations", {"index": str(k)}) for k in range(1, 5)}
    expected |= {"reroll": ("reroll", {}), "vary-strong": ("variations", {"index": "strong"}),
                 "vary-subtle": ("variations", {"index": "subtle"})}
    before = sim.tasks_created
    for key in expected:
        view.buttons[key].click()
    assert sim.tasks_created - before == len(expected)
    for key, (kind, fields) in expected.items():
        child = view.started[key]
        assert child.kind == kind and child.payload == {"parent_task_id": parent, **fields}
        assert child.parent is view.job
        assert view.buttons[key].disabled
    children = view.child_views  # newest first, right under the toolbar
    assert [c.job for c in children] == [view.started[k] for k in reversed(expected)]
    assert all(c.parent_view is view for c in children)
    for child in children:
        settled(child)
        assert child.job.state == "finished", child.status.value


def test_every_upscale_button_starts_its_follow_up(ctx, sim):
    grid = settled(imagine(ctx, "a lighthouse --sref random"))
    grid.buttons["U2"].click()
    upscale = settled(grid.child_views[0])
    assert upscale.job.kind == "upscale-1x" and upscale.tiles == []
    assert max(jpeg_size(upscale.grid_image.value)) <= 768
    parent = upscale.job.task_id
    expected = {
        "upscale-subtle": ("upscale-alt", {"type": "subtle"}),
        "upscale-creative": ("upscale-alt", {"type": "creative"}),
        "upscale-2x": ("upscale-highres", {"type": "2x"}),
        "upscale-4x": ("upscale-highres", {"type": "4x"}),
        "pan-left": ("pan", {"direction": "left"}), "pan-right": ("pan", {"direction": "right"}),
        "pan-up": ("pan", {"direction": "up"}), "pan-down": ("pan", {"direction": "down"}),
        "zoom-1.5": ("outpaint", {"zoom_ratio": 1.5}), "zoom-2": ("outpaint", {"zoom_ratio": 2}),
        "square": ("outpaint", {"zoom_ratio": 1, "aspect_ratio": "1:1"}),
        "vary-strong": ("variations", {"index": "strong"}),
        "vary-subtle": ("variations", {"index": "subtle"}),
    }
    job_buttons = {k for k, a in upscale._actions.items() if a.does == "job"}
    assert job_buttons - {"animate-low", "animate-high"} == set(expected)  # Animate: see
    # tests/test_widgets_buttons.py
    labels = {upscale.buttons[k].description for k in expected}
    assert {"Upscale (Subtle)", "Upscale (Creative)", "Pan left", "Zoom Out 1.5x", "Zoom Out 2x",
            "Make Square", "Vary (Strong)", "Vary (Subtle)"} <= labels
    before = sim.tasks_created
    for key in expected:
        upscale.buttons[key].click()
    assert sim.tasks_created - before == len(expected), upscale.status.value
    for key, (kind, fields) in expected.items():
        child = upscale.started[key]
        assert (child.kind, child.payload) == (kind, {"parent_task_id": parent, **fields})
    assert len(upscale.child_views) == len(expected)
    for child in upscale.child_views:
        settled(child)
        assert child.job.state == "finished", (child.job, child.status.value)
    square = upscale.started["square"]
    assert [v for v in upscale.child_views if v.job is square][0].tiles  # a grid


def test_clicking_twice_submits_once(ctx, sim):
    view = settled(imagine(ctx))
    before = sim.tasks_created
    view.buttons["U1"].click()
    view.buttons["U1"].click()
    view.click("U1")
    assert sim.tasks_created - before == 1
    assert len(view.child_views) == 1


def test_a_click_while_the_request_is_in_flight_is_ignored(ctx, sim):
    view = settled(imagine(ctx))
    sim.fail_next(1, "slow", paths={"/variations"}, delay=0.5)
    before = sim.tasks_created
    first = threading.Thread(target=view.buttons["V3"].click)
    first.start()
    wait_until(lambda: "V3" in view._in_flight, what="the request in flight")
    assert view.buttons["V3"].disabled
    view.buttons["V3"].click()  # arrives while the first is still being sent
    first.join()
    assert sim.tasks_created - before == 1
    assert len(view.child_views) == 1


def test_a_rejected_request_re_enables_its_button_with_the_reason(ctx, sim):
    view = settled(imagine(ctx))
    sim.fail_next(4, "429", paths={"/upscale-1x"}, retry_after=0)
    view.buttons["U3"].click()
    assert not view.buttons["U3"].disabled
    assert "U3" not in view.started and view.child_views == []
    assert "U3 failed: Too many requests" in view.status.value
    view.buttons["U3"].click()  # the service takes it now
    assert view.started["U3"].kind == "upscale-1x"
    assert "failed" not in view.status.value


def test_an_ambiguous_failure_is_never_sent_again(ctx, sim):
    view = settled(imagine(ctx))
    sim.fail_next(1, "500", paths={"/reroll"}, phase="after")
    before = sim.tasks_created
    view.buttons["reroll"].click()
    assert view.buttons["reroll"].disabled
    assert "history" in view.status.value
    view.buttons["reroll"].click()
    assert sim.tasks_created - before == 1  # the one the service created before failing


def test_a_failed_task_is_explained_in_words(ctx, sim):
    sim.fail_next(1, "task_failed", reason="Banned prompt <detected>")
    view = settled(imagine(ctx))
    assert view.job.state == "failed"
    assert "Failed: Midjourney could not complete it: Banned prompt &lt;detected&gt;" in \
        view.status.value
    assert "submit again" in view.status.value
    assert view.bar.layout.display == "none"
    assert view.body not in view.children  # no empty grid after a failure
    assert view.control.disabled


def test_a_failed_follow_up_can_be_started_again(ctx, sim):
    view = settled(imagine(ctx))
    sim.fail_next(1, "task_failed")
    view.buttons["V1"].click()
    first = view.child_views[0].job  # `started` forgets it once it failed: it may be that fast
    assert first.kind == "variations"
    settled(view.child_views[0])
    wait_until(lambda: not view.buttons["V1"].disabled, what="V1 enabled again")
    assert "failed" in view.buttons["V1"].tooltip
    view.buttons["V1"].click()
    assert view.started["V1"] is not first
    assert len(view.child_views) == 2


def test_cancel_then_resume(ctx, sim):
    sim.fail_next(3, "slow", paths={"/fetch", "/fetch-many"}, delay=0.2)
    view = imagine(ctx)
    assert view.control.description == "Cancel" and not view.control.disabled
    view.control.click()
    assert view.job.state == "cancelled"
    assert "Cancelled here" in view.status.value and "Resume" in view.status.value
    assert view.control.description == "Resume" and not view.control.disabled
    view.control.click()
    settled(view)
    assert view.job.state == "finished"
    assert all(t.image.value for t in view.tiles) and view.body in view.children


def test_a_notice_and_the_prompt_are_shown_escaped(ctx):
    job = ctx.manager.imagine("a <b>bold</b> & fox")
    view = JobView(job, ctx)
    job.notice = "polling failed 3 times <retrying>"
    job.warnings = ("--q 3 is rounded <down>",)
    view._on_progress(job)
    assert "--q 3 is rounded &lt;down&gt;" in view.status.value
    if not job.done:
        assert "polling failed 3 times &lt;retrying&gt;" in view.status.value
    assert "a &lt;b&gt;bold&lt;/b&gt; &amp; fox" in view.title.value
    settled(view)
    assert "<b>" not in view.title.value


def test_links_are_escaped_and_only_http():
    assert _link('https://x.test/a"onmouseover="b.png', "grid") == (
        '<a href="https://x.test/a&quot;onmouseover=&quot;b.png" target="_blank" '
        'rel="noopener noreferrer">grid</a>')
    assert "<a" not in _link("javascript:alert(1)", "grid")


# ---------------------------------------------------------------------- style reuse


def test_prompt_with_sref_replaces_or_adds():
    assert prompt_with_sref("a fox --ar 3:2", "123") == "a fox --ar 3:2 --sref 123"
    assert prompt_with_sref("a fox --sref random --sw 200", "77") == "a fox --sw 200 --sref 77"
    assert prompt_with_sref("a fox --sref 1::2 https://x/y.png --v 7", "9") == \
        "a fox --v 7 --sref 9"
    assert prompt_with_sref(None, "5") == "--sref 5"


def test_style_buttons_fill_one_panel_opened_under_the_view(ctx):
    view = settled(imagine(ctx, "a red fox --ar 3:2 --sref random"))
    code = view.job.sref
    view.buttons["reuse-style"].click()
    panel = ctx.panel
    assert isinstance(panel, FakePanel) and panel in view.children_box.children
    assert panel.prompts == [f"a red fox --ar 3:2 --sref {code}"]
    view.buttons["style2"].click()
    assert ctx.panel is panel and view.children_box.children.count(panel) == 1
    assert panel.prompts[-1] == f"a red fox --ar 3:2 --sref {view.job.result.image_urls[1]}"
    panel.close()
    view.buttons["style1"].click()
    assert view._note == ""
    assert ctx.panel is not panel and ctx.panel.prompts[-1].endswith(
        view.job.result.image_urls[0])


def test_the_upscale_offers_its_image_as_style_reference(ctx):
    grid = settled(imagine(ctx))
    grid.buttons["U4"].click()
    upscale = settled(grid.child_views[0])
    upscale.buttons["style"].click()
    assert ctx.panel.prompts == [f"a red fox in the snow --sref {upscale.job.result.image_url}"]
    assert ctx.panel in upscale.children_box.children


def test_the_one_panel_comes_under_the_view_that_was_clicked(ctx):
    ctx.panel = FakePanel(ctx)                   # open elsewhere (`%imagine panel`)
    first = settled(imagine(ctx, "a cat --sref random"))
    first.buttons["reuse-style"].click()
    assert ctx.panel.prompts == [f"a cat --sref {first.job.sref}"]
    assert first.children_box.children == (ctx.panel,)
    second = settled(imagine(ctx, "a dog --sref random"))
    second.buttons["reuse-style"].click()       # it moves: one panel, near the last click
    assert second.children_box.children == (ctx.panel,)
    assert ctx.panel not in first.children_box.children


# ---------------------------------------------------------------------- save


def test_save_writes_the_full_size_images_and_shows_where(ctx, tmp_path):
    view = settled(imagine(ctx))
    view.buttons["save"].click()
    task = view.job.task_id.replace("-", "")[:8]     # named from the prompt (filenames.py)
    names = sorted(p.name for p in (tmp_path / "saved").iterdir())
    assert names == sorted(f"a-red-fox-in-the-snow_{task}_{n}.png"
                           for n in ("grid", "1", "2", "3", "4"))
    assert view.details.value.count('class="amj-path"') == 5
    view.buttons["U1"].click()
    upscale = settled(view.child_views[0])
    upscale.buttons["save"].click()
    task = upscale.job.task_id.replace("-", "")[:8]
    assert (tmp_path / "saved" / f"a-red-fox-in-the-snow_{task}_u1.png").is_file()


# ---------------------------------------------------------------------- models


def test_close_releases_every_model_of_the_tree(ctx):
    warm = settled(imagine(ctx, "a red fox --sref random"))   # the same tree once, so the
    warm.buttons["U1"].click()                                 # shared layouts and styles
    warm.buttons["reuse-style"].click()                        # exist from here on, whatever
    settled(warm.child_views[0])                               # ran before this test
    warm.close()
    baseline, baseline_ids = instances(), set(_registry())
    view = settled(imagine(ctx, "a red fox --sref random"))
    per_view = instances() - baseline
    # the design's budget after sharing layouts (about 48), plus issue 17's buttons: Use image k
    # and Save image k on each tile (shown while it is large), Use prompt and the Remix switch
    assert per_view <= 58
    view.buttons["U1"].click()
    view.buttons["reuse-style"].click()
    settled(view.child_views[0])
    view.close()
    assert instances() == baseline, [
        (type(w).__name__, getattr(w, "description", None) or getattr(w, "value", "")[:40])
        for k, w in _registry().items() if k not in baseline_ids]
    assert ctx.views == [] and view.closed and is_closed(view.children_box)
    shown = (view.title.value, view.status.value, view.control.description)
    view.job.state = "timed_out"    # a refresh would now say so and offer Resume
    view._on_progress(view.job)     # a late callback on a closed view does nothing
    assert (view.title.value, view.status.value, view.control.description) == shown


def test_old_finished_trees_are_closed_past_the_limit(ctx):
    ctx.max_live_views = 3
    first = settled(imagine(ctx, "first"))
    first.buttons["U1"].click()                  # a tree of two views
    settled(first.child_views[0])
    second = settled(imagine(ctx, "second"))
    assert not first.closed                      # 3 live views: at the limit
    third = settled(imagine(ctx, "third"))
    assert first.closed and first.child_views[0].closed
    assert ctx.views == [second, third]
    ctx.panel = FakePanel(ctx)
    second.add_child(ctx.panel)                  # the tree with the open panel stays
    fourth = settled(imagine(ctx, "fourth"))
    fifth = imagine(ctx, "fifth")
    assert not second.closed and third.closed
    assert ctx.views == [second, fourth, fifth]
    settled(fifth)


def test_frontend_messages_carry_the_thumbnails(ctx):
    view = settled(imagine(ctx))
    image = view.tiles[0].image
    sent = [buffers for data, buffers in image.comm.messages if buffers]
    assert any(bytes(b[0]) == image.value for b in sent)


def test_callbacks_never_print(ctx, capsys):
    view = settled(imagine(ctx))
    view.buttons["U1"].click()
    settled(view.child_views[0])
    assert capsys.readouterr() == ("", "")
    assert ctx.manager.errors == []


def test_a_view_of_a_job_that_already_ended_shows_everything_at_once(ctx):
    job = ctx.submit("a quiet lake")[0]
    job.wait(30, images=True)
    view = JobView(job, ctx)
    assert view.body in view.children and view._images_state == "ready"
    assert all(t.image.value for t in view.tiles)


# ---------------------------------------------------------------------- threads


def test_three_writers_at_once_never_break_the_view(ctx):
    """Poller, image pool and main thread write one view at once (widget-ui.md rule 2)."""
    view = settled(imagine(ctx))
    job, rounds, errors = view.job, 200, []
    extra = [widgets.HTML(f"{i}") for i in range(rounds)]

    def run(name, step):
        try:
            for i in range(rounds):
                step(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{name}: {exc!r}")

    poller = threading.Thread(target=run, args=("poller", lambda i: (
        view._on_progress(job), view._on_finished(job), view._show_note(f"poll {i}"))))
    pool = threading.Thread(target=run, args=("images", lambda i: (
        view._on_images(job), view._show_note(f"image {i}"))))
    poller.start()
    pool.start()
    run("main", lambda i: (view.add_child(extra[i]), view.apply(view._show_result),
                           view._show_note(f"main {i}")))
    poller.join()
    pool.join()
    assert errors == [] and job.manager.errors == []
    assert RecordingComm.overlaps == []  # no two threads ever wrote the view at once
    assert view.children_box.children == tuple(reversed(extra))  # newest first
    assert "Finished" in view.status.value
    parts = [view, view.title, view.status, view.bar, view.control, view.children_box,
             view.details, *(t.image for t in view.tiles), *(t.opener for t in view.tiles)]
    assert [key for part in parts for key in out_of_sync(part)] == []


# ---------------------------------------------------------------------- words


def _job(state, **fields):
    from types import SimpleNamespace

    base = dict(state=state, status=None, percentage=None, error=None, seconds=75.0,
                kind="imagine", payload={}, manager=SimpleNamespace(
                    policy=SimpleNamespace(max_in_flight=10)))
    return SimpleNamespace(**{**base, **fields})


@pytest.mark.parametrize("job, words, fraction", [
    (_job("queued"), "Queued here: waits for a free slot (10 jobs run at once)", 0.02),
    (_job("active", status="staged"), "Staged", 0.10),
    (_job("active", status="pending"), "Pending", 0.15),
    (_job("active", status="starting"), "Starting", 0.20),
    (_job("active", status="processing", percentage=40), "Processing 40%", 0.5),
    (_job("finished"), "Finished in 1 min 15 s", 1.0),
])
def test_progress_in_words(job, words, fraction):
    from apiframe_magic.words import describe

    progress = describe(job)
    assert progress.words.startswith(words) and progress.fraction == pytest.approx(fraction)


def test_every_failure_says_what_to_do():
    from apiframe_magic.errors import ApiframeError, AuthenticationError
    from apiframe_magic.words import describe

    assert "Resume" in describe(_job("timed_out")).words
    assert "may still finish" in describe(_job("cancelled")).words
    uncertain = describe(_job("uncertain", error=ApiframeError("connection broke")))
    assert "connection broke" in uncertain.words and "history" in uncertain.words
    rejected = describe(_job("rejected", error=AuthenticationError("HTTP 401")))
    assert rejected.failed and "APIFRAME_API_KEY" in rejected.words
    assert "Nothing was created" in rejected.words


def test_follow_ups_are_titled_as_their_buttons():
    from apiframe_magic.widgets.status import action_title

    assert action_title(_job("queued", kind="upscale-1x", payload={"index": "2"})) == \
        "Upscale (U2)"
    assert action_title(_job("queued", kind="variations", payload={"index": "strong"})) == \
        "Vary (Strong)"
    assert action_title(_job("queued", kind="outpaint", payload={"zoom_ratio": 1})) == \
        "Make Square"
    assert action_title(_job("queued", kind="outpaint", payload={"zoom_ratio": 1.5})) == \
        "Zoom Out 1.5x"
    assert action_title(_job("queued", kind="pan", payload={"direction": "up"})) == "Pan up"


def test_filling_a_panel_needs_a_place_when_none_is_open(ctx):
    with pytest.raises(ValueError, match="%imagine panel"):
        ctx.fill_panel("a fox --sref 1")
    assert ctx.panel is None


# ---------------------------------------------------------------------- the compact form


def focus_requests(widget) -> int:
    return sum(1 for data, _ in widget.comm.messages
               if isinstance(data, dict) and data.get("method") == "custom"
               and data.get("content") == {"do": "focus"})


def test_slots_have_their_final_size_from_the_start(ctx, sim):
    sim.fail_next(2, "slow", paths={"/fetch", "/fetch-many"}, delay=0.2)
    view = imagine(ctx, "a fox --ar 3:2")
    assert not view.job.done and view.body in view.children   # placeholders while it runs
    sizes = {(t.image.layout.width, t.image.layout.height) for t in view.tiles}
    assert sizes == {("300px", "200px")}                        # 3:2 in a 340x200 box
    assert all(t.image.value and t.image.format == "png" for t in view.tiles)
    assert all(b.disabled for k, b in view.buttons.items() if k in view._actions)
    assert 'role="progressbar"' in view.bar.value and 'aria-valuenow="' in view.bar.value
    settled(view)
    assert {(t.image.layout.width, t.image.layout.height) for t in view.tiles} == sizes
    assert all(t.image.format == "jpeg" for t in view.tiles)


def test_a_tile_shows_large_and_previous_next_go_round_the_four(ctx):
    view = settled(imagine(ctx, "a fox --ar 1:1"))
    view.buttons["open2"].click()
    assert view.enlarged == 2
    shown = [k for k, t in enumerate(view.tiles, 1) if t.layout.display != "none"]
    assert shown == [2] and view.tiles[1].image.layout.width == "406px"
    assert view.buttons["style2"].layout.display != "none"
    assert view.buttons["open2"].description == "Back to the four images"
    view.buttons["next"].click()
    assert view.enlarged == 3
    for _ in range(3):
        view.buttons["previous"].click()
    assert view.enlarged == 4                      # 3 -> 2 -> 1 -> 4
    view.buttons["open4"].click()                  # a click on the large image: the four again
    assert view.enlarged is None
    assert all(t.layout.display != "none" for t in view.tiles)
    assert all(view.buttons[f"style{k}"].layout.display == "none" for k in range(1, 5))
    assert view.buttons["previous"].layout.display == "none"


def test_a_compact_view_is_tiles_only_until_asked(ctx):
    job = ctx.submit("a fox --ar 1:1")[0]
    view = settled(JobView(job, ctx, compact=True))
    assert view.tiles[0].image.layout.width == "96px"
    assert all(t.row.layout.display == "none" for t in view.tiles)
    assert view.buttons["reroll"].layout.display == "none"
    view.buttons["full"].click()
    assert not view.compact and view.tiles[0].image.layout.width == "200px"
    assert view.buttons["reroll"].layout.display != "none"
    assert view.buttons["full"].description == "Compact"


@pytest.mark.skipif(not hasattr(widgets.DOMWidget, "focus"),
                    reason="ipywidgets 7 has no focus(): views are not scrolled to there")
def test_a_follow_up_says_so_on_its_button_and_is_scrolled_to_once(ctx):
    view = settled(imagine(ctx))
    view.buttons["U1"].click()
    assert view.buttons["U1"].description == "U1 ✓"
    assert "U1 started: its view is just below" in view.status.value
    assert 'class="amj-error"' not in view.status.value
    child = settled(view.child_views[0])
    assert focus_requests(child.details_button) == 1  # once: later updates leave the focus be
    child._on_progress(child.job)
    assert focus_requests(child.details_button) == 1


def test_a_burst_past_the_limit_is_trimmed_after_the_next_cell(tmp_path, monkeypatch):
    from magic_shell import magics_of, make_shell

    monkeypatch.chdir(tmp_path)
    shell = make_shell(max_live_views=3, display="widgets", sim_speed=20.0)  # all 6 run at once
    try:
        jobs = [shell.run_cell_magic("imagine", "--no-wait", f"a fox number {n}")
                for n in range(6)]
        for job in jobs:
            job.wait(30, images=True)
        context = magics_of(shell).ui_context()
        wait_until(lambda: all(v.tree_done() for v in context.views), what="views done")
        assert len(context.views) == 6             # all running when made: nothing to close
        shell.run_cell("1 + 1")                    # any cell
        assert len(context.views) == 3
        assert [v.job for v in context.views] == jobs[3:]
    finally:
        shell.extension_manager.unload_extension("apiframe_magic")


# ---------------------------------------------------------------------- messages to the page


def updates(view) -> list[tuple[str, tuple]]:
    """(widget class, traits) of every update message the view's widgets sent after their
    comm_open."""
    return [(type(widget).__name__, tuple(sorted(  # binary traits (a picture) go as buffers
                [*data["state"], *(path[0] for path in data.get("buffer_paths", []))])))
            for widget in {id(w): w for w in view._owned}.values()
            for data, _ in widget.comm.messages
            if isinstance(data, dict) and data.get("method") == "update"]


def test_a_views_widgets_are_sent_with_their_classes_layouts_and_disabled_state(ctx):
    """Every message after a widget's comm_open is one more in the kernel's output queue, and
    thirty views at once overflowed it: the page lost the kernel's idle statuses (README,
    decisions). Classes, layouts and the disabled state travel in the comm_open; a grid's whole
    life sends 67 updates in a real kernel (214 before this rule)."""
    view = settled(imagine(ctx, "a fox --ar 3:2"))
    sent = updates(view)
    assert [s for s in sent if "_dom_classes" in s[1]] == []
    assert len([s for s in sent if "disabled" in s[1]]) <= 34   # each button once: enabled
    assert len([s for s in sent if "layout" in s[1]]) <= 3      # bar and Cancel hidden at the end
    # each image's format and picture travel in one message
    assert [s for s in sent if s[0] == "Image"] == [("Image", ("format", "value"))] * 4
    assert len(sent) <= 80, sent
