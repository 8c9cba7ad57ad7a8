"""ImaginePanel: the prompt form of `%imagine panel`, with live validation and a history list.

The text is the source of truth. A control change rewrites only its parameter's token in the text
(`prompt.set_param`); a text change is parsed and sets the controls; a `_syncing` guard and
`hold_trait_notifications()` stop the echo. A prompt with errors leaves the controls as they were.
Validation is the magic's own (`submission.plan`), so what the panel accepts the submit accepts.
Only the main thread touches the panel (widget-ui.md rule 1): click handlers build the job views;
jobs then poll in the background and update their own views.
"""
from __future__ import annotations

import html
import time
from contextlib import ExitStack
from typing import Callable

import ipywidgets as widgets

from ..errors import ApiframeError
from ..prompt import PromptError, set_param
from ..words import explain
from . import history
from .actions import prompt_with_sref
from .panel_text import Check, check_prompt, common_params, image_prompt_items, written

ASPECT_RATIOS = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
CUSTOM = "custom"
MODELS = (("account default", ""), ("V8.2", "8.2"), ("V8.1", "8.1"), ("V7", "7"),
          ("V6.1", "6.1"), ("V6", "6"), ("V5.2", "5.2"), ("Niji 7", "niji 7"),
          ("Niji 6", "niji 6"), ("Niji 5", "niji 5"), ("Niji (default)", "niji"))
QUALITIES = (("default", ""), ("0.25", ".25"), ("0.5", ".5"), ("1", "1"), ("2", "2"), ("4", "4"))
MODES = (("account default", ""), ("fast", "fast"), ("turbo", "turbo"))
# name -> (label, low, high, Midjourney's default, what it does)
NUMBERS = {
    "stylize": ("Stylize", 0, 1000, 100, "--s: how strongly Midjourney's own style applies"),
    "chaos": ("Chaos", 0, 100, 0, "--c: how different the four images are from each other"),
    "weird": ("Weird", 0, 3000, 0, "--weird: quirky, unconventional looks"),
    "sw": ("Style weight", 0, 1000, 100, "--sw: how strongly the --sref style applies"),
}
DOUBLE_CLICK_SECONDS = 1.0
HISTORY_ROWS = 50

# The focus ring: ipywidgets draws none on its inputs (`outline: none !important`, a 1-px border
# of --jp-brand-color2 instead, 2.2:1 on white), hence `!important` here, on the panel's own class.
CSS = """
.amj-panel { border: 1px solid var(--jp-border-color2, #d0d0d0); border-radius: 4px;
  padding: 6px 8px; margin: 4px 0; max-width: 100%; color: var(--jp-ui-font-color1, #1f1f1f); }
.amj-panel .amj-prompt-input textarea { font-family: var(--jp-code-font-family, monospace);
  min-height: 4.5em; }
.amj-panel .amj-panel-title { font-weight: 600; font-size: var(--jp-ui-font-size2, 15px); }
.amj-panel .amj-offer .amj-notice { color: var(--jp-warn-color1, #b26a00); }
.amj-panel .amj-row { display: flex; flex-flow: row wrap; gap: 2px 12px; align-items: center; }
.amj-panel .amj-messages ul { margin: 2px 0; padding-left: 1.2em; }
.amj-panel .amj-messages .amj-error { color: var(--jp-error-color1, #d32f2f); }
.amj-panel .amj-messages .amj-warning { color: var(--jp-warn-color1, #b26a00); }
.amj-panel .amj-summary, .amj-panel .amj-muted { color: var(--jp-ui-font-color2, #616161); }
.amj-panel .amj-status .amj-error { color: var(--jp-error-color1, #d32f2f); }
.amj-panel .amj-history { border-top: 1px solid var(--jp-border-color2, #d0d0d0);
  margin-top: 6px; padding-top: 4px; }
.amj-panel .amj-history select { font-family: var(--jp-code-font-family, monospace); }
.amj-panel .jupyter-button:focus, .amj-panel input:focus, .amj-panel textarea:focus,
.amj-panel select:focus { outline: 2px solid var(--jp-brand-color1, #1976d2) !important;
  outline-offset: 1px; }
body.vscode-dark .amj-panel .jupyter-button:focus, body.vscode-dark .amj-panel input:focus,
body.vscode-dark .amj-panel textarea:focus, body.vscode-dark .amj-panel select:focus {
  outline-color: var(--jp-brand-color1, #64b5f6) !important; }
html[theme=dark] .amj-panel, body.vscode-dark .amj-panel,
body[data-jp-theme-light="false"] .amj-panel {
  color: var(--jp-ui-font-color1, #e0e0e0); border-color: var(--jp-border-color2, #555555); }
html[theme=dark] .amj-panel .amj-summary, body.vscode-dark .amj-panel .amj-summary,
body[data-jp-theme-light="false"] .amj-panel .amj-summary,
html[theme=dark] .amj-panel .amj-muted, body.vscode-dark .amj-panel .amj-muted,
body[data-jp-theme-light="false"] .amj-panel .amj-muted {
  color: var(--jp-ui-font-color2, #b0b0b0); }
html[theme=dark] .amj-panel .amj-error, body.vscode-dark .amj-panel .amj-error,
body[data-jp-theme-light="false"] .amj-panel .amj-error { color: var(--jp-error-color1, #ef9a9a); }
html[theme=dark] .amj-panel .amj-warning, body.vscode-dark .amj-panel .amj-warning,
body[data-jp-theme-light="false"] .amj-panel .amj-warning { color: var(--jp-warn-color1, #ffcc80); }
"""


def _default_view_factory(job, ctx):
    from .view import JobView

    return JobView(job, ctx)


def _tip(widget, text: str):
    """Set the hover text under the trait name this ipywidgets version uses."""
    name = "tooltip" if "tooltip" in widget.trait_names() else "description_tooltip"
    setattr(widget, name, text)
    return widget


class ImaginePanel(widgets.VBox):
    """`ImaginePanel(ctx, *, view_factory=None, clock=time.monotonic)`; `ctx` is a UiContext.

    Public: `prompt` (Textarea), `controls` (name -> widget), `imagine_button`, `messages`,
    `summary`, `status`, `jobs_box` (job views, newest first), `views`, `check` (the last
    `Check`), `history_filter`, `history_select`, `open_button`, `refresh_button`;
    `set_prompt(text)`, `imagine()`, `refresh_history()`, `open_record(job_id)`, `close()`,
    `closed`.
    """

    closes_tree = True  # style.close_tree (the view branch) leaves the recursion to close()

    def __init__(self, ctx, *, view_factory: Callable | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.ctx = ctx
        self.view_factory = view_factory or _default_view_factory
        self._clock = clock
        self._syncing = False
        self._submitting = False
        self._last_submit: tuple[tuple, float] | None = None
        self._records: list = []
        self._locked: set[str] = set()   # parameters only the text may change (permutations)
        self.views: list = []
        self.check = Check(empty=True)
        self.controls: dict[str, widgets.Widget] = {}

        self.prompt = _tip(widgets.Textarea(
            value="", placeholder="a red fox in the snow --ar 3:2", rows=4,
            description="Prompt", layout=widgets.Layout(width="100%")),
            "The prompt as Midjourney reads it; the controls below edit its parameters")
        self.prompt.add_class("amj-prompt-input")
        form = [self.prompt, *self._build_controls()]
        self.messages = self._html("amj-messages")
        self.summary = self._html("amj-summary")
        self.imagine_button = widgets.Button(
            description="Imagine", button_style="primary", disabled=True,
            tooltip="Submit the prompt (one job per permutation); results appear below")
        self.imagine_button.add_class("amj-imagine")
        self.imagine_button.on_click(lambda _b: self.imagine())
        self.status = self._html("amj-status")
        self.jobs_box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.jobs_box.add_class("amj-jobs")
        stylesheet = widgets.HTML(f"<style>{CSS}</style>",
                                  layout=widgets.Layout(display="none"))
        self.heading = self._html("amj-panel-heading")
        self.heading.value = ('<span class="amj-panel-title">Prompt panel</span> '
                              '<span class="amj-muted">one per notebook: "Reuse style" and '
                              '"Use as style reference" bring it here</span>')
        self._program_text = ""          # the text last put in by a button, not typed
        self.offer = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap", width="100%",
                                                            display="none"))
        self.offer.add_class("amj-offer")
        super().__init__([stylesheet, self.heading, self.offer, *form, self.messages,
                          self._row([self.imagine_button, self.summary, self.status]),
                          self._build_history(), self.jobs_box],
                         layout=widgets.Layout(width="100%"))
        self.add_class("amj-panel")

        self.prompt.observe(self._text_changed, names="value")
        for name, control in self.controls.items():
            if name in _SUBMIT_OPTIONS:
                continue
            control.observe(lambda change, name=name: self._control_changed(name), names="value")
        self._validate()
        self._show_text_to_controls(set())
        self.refresh_history()
        self._closed = False
        ctx.panel = self

    # ------------------------------------------------------------------ building

    @staticmethod
    def _html(css_class: str) -> widgets.HTML:
        widget = widgets.HTML("")
        widget.add_class(css_class)
        return widget

    @staticmethod
    def _row(children) -> widgets.HBox:
        row = widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap", width="100%"))
        row.add_class("amj-row")
        return row

    def _add(self, name: str, widget, tip: str):
        self.controls[name] = _tip(widget, tip)
        widget.add_class(f"amj-control-{name}")
        return widget

    def _build_controls(self) -> list:
        short = {"description_width": "initial"}
        aspect = self._add("aspect", widgets.Dropdown(
            options=[("unset", "")] + [(r, r) for r in ASPECT_RATIOS] + [("custom…", CUSTOM)],
            value="", description="Aspect", style=short, layout=widgets.Layout(width="auto")),
            "--ar: width:height of the image; 'custom' takes any W:H in the box beside it")
        custom = self._add("aspect_custom", widgets.Text(
            value="", placeholder="W:H, e.g. 5:4", description="W:H", disabled=True,
            style=short, layout=widgets.Layout(width="10em")),
            "A custom aspect ratio in whole numbers, e.g. 5:4 or 1920:1080")
        assumed = f"account default (checked as {self.ctx.version})" if self.ctx.version else ""
        models = [(assumed or MODELS[0][0], "")] + list(MODELS[1:])
        model = self._add("model", widgets.Dropdown(
            options=models, value="", description="Model", style=short,
            layout=widgets.Layout(width="auto")),
            "--v or --niji: the Midjourney model; 'account default' writes neither")
        quality = self._add("quality", widgets.Dropdown(
            options=list(QUALITIES), value="", description="Quality", style=short,
            layout=widgets.Layout(width="auto")),
            "--q: rendering time spent on the first grid (V7 takes 1, 2, 4)")
        numbers = []
        for name, (label, low, high, default, tip) in NUMBERS.items():
            on = self._add(f"{name}_on", widgets.Checkbox(
                value=False, description=label, indent=False,
                layout=widgets.Layout(width="auto")),
                f"Write {tip.split(':')[0]} into the prompt (unticked: Midjourney's default)")
            # A number box, not an IntSlider: a slider's handle cannot be given a name from
            # Python (ipywidgets passes no attributes to noUiSlider), a box is named by its
            # visible description, the flag it writes.
            number = self._add(name, widgets.BoundedIntText(
                value=default, min=low, max=high, disabled=True, description=tip.split(":")[0],
                style=short, layout=widgets.Layout(width="9em")), tip)
            numbers.append(self._row([on, number]))
        raw = self._add("raw", widgets.Checkbox(value=False, description="Raw", indent=False,
                                                layout=widgets.Layout(width="auto")),
                        "--style raw: fewer of Midjourney's automatic embellishments")
        tile = self._add("tile", widgets.Checkbox(value=False, description="Tile", indent=False,
                                                  layout=widgets.Layout(width="auto")),
                         "--tile: images that repeat seamlessly as tiles")
        no = self._add("no", widgets.Text(
            value="", placeholder="e.g. text, frame", description="--no", style=short),
            "--no: things to leave out, separated by commas")
        sref = self._add("sref", widgets.Text(
            value="", placeholder="style code, image URL or random", description="Style ref",
            style=short), "--sref: style codes, image URLs or random, separated by spaces")
        images = self._add("image_prompts", widgets.Text(
            value="", placeholder="URLs or file paths, separated by spaces",
            description="Image prompts", style=short, layout=widgets.Layout(width="100%")),
            "Images to start from: URLs, or local files (uploaded first); quote paths with spaces")
        mode = self._add("mode", widgets.ToggleButtons(
            options=list(MODES), value="", description="Mode", style=short,
            tooltips=["The account's own speed", "Fast GPU time", "Turbo: faster, costs more"]),
            "Process mode sent with the request (not part of the prompt)")
        self.image_prompts, self.mode = images, mode
        images.observe(lambda _c: self._validate(), names="value")
        return [self._row([aspect, custom, model, quality]), self._row(numbers[:3]),
                self._row([raw, tile, no]), self._row([sref, numbers[3]]), images, mode]

    def _build_history(self) -> widgets.VBox:
        self.history_filter = _tip(widgets.Text(
            value="", placeholder="words from the prompt, or an sref code",
            description="Search history", style={"description_width": "initial"}),
            "Filter past jobs by prompt text, sref code or task id")
        self.history_select = _tip(widgets.Select(
            options=[], rows=6, description="Past jobs", style={"description_width": "initial"},
            layout=widgets.Layout(width="100%")),
            "Past jobs, newest first; pick one and press Open")
        self.open_button = widgets.Button(description="Open", disabled=True,
                                          tooltip="Show the selected past job below the form")
        self.refresh_button = widgets.Button(
            description="Refresh",
            tooltip="Read the history again from disk (states change as jobs finish)")
        self.history_status = self._html("amj-muted")
        self.history_filter.observe(lambda _c: self._show_history(), names="value")
        self.history_select.observe(self._selection_changed, names="value")
        self.open_button.on_click(lambda _b: self._open_selected())
        self.refresh_button.on_click(lambda _b: self.refresh_history())
        title = widgets.HTML("<b>History</b>")
        title.add_class("amj-history-title")
        box = widgets.VBox([
            title, self._row([self.history_filter, self.refresh_button]), self.history_select,
            self._row([self.open_button, self.history_status])],
            layout=widgets.Layout(width="100%"))
        box.add_class("amj-history")
        return box

    # ------------------------------------------------------------------ text -> controls

    def set_prompt(self, text: str) -> "ImaginePanel":
        """Replace the prompt (the "Reuse style" buttons call this); the controls follow."""
        self._close_offer()
        self._program_text = text
        self.prompt.value = text
        return self

    @property
    def edited(self) -> bool:
        """True when the prompt holds text the user typed (not what a button put there)."""
        text = self.prompt.value.strip()
        return bool(text) and text != self._program_text.strip()

    def offer_prompt(self, text: str, reference: str | None = None) -> "ImaginePanel":
        """`text` replaces the prompt unless the user has edited it; then the panel asks:
        use `reference` as the --sref of the edited prompt, replace it, or keep it."""
        if not self.edited or text.strip() == self.prompt.value.strip():
            return self.set_prompt(text)
        self._close_offer()
        choices = []
        if reference:
            choices.append(self._offer_button(
                f"Use --sref {reference[:40]} in my prompt",
                "Keep your prompt and give it this style reference",
                lambda: self.set_prompt(prompt_with_sref(self.prompt.value, reference))))
        choices.append(self._offer_button("Replace my prompt", f"Replace it with: {text}",
                                          lambda: self.set_prompt(text)))
        choices.append(self._offer_button("Keep mine", "Leave the prompt as it is",
                                          self._close_offer))
        question = widgets.HTML('<span class="amj-notice">You have edited this prompt: '
                                "what should the new style do?</span>")
        self.offer.children = (question, *choices)
        self.offer.layout.display = "flex"
        return self

    def _offer_button(self, label: str, tooltip: str, fn) -> widgets.Button:
        button = widgets.Button(description=label, tooltip=tooltip,
                                layout=widgets.Layout(width="auto"))
        button.add_class("amj-offer-choice")
        button.on_click(lambda _b: fn())
        return button

    def _close_offer(self) -> None:
        old = self.offer.children
        self.offer.children = ()
        self.offer.layout.display = "none"
        for widget in old:
            _close_tree(widget)

    def focus_prompt(self) -> None:
        """Scroll the form into the window and give the prompt the keyboard focus.

        Chromium scrolls a focused textarea only as far as its caret line: a prompt cut by the
        window's lower edge stays cut (Notebook 7, where the panel opens near the bottom). A
        focused input that is out of sight is centred, so the image-prompts box, a few rows
        under the prompt and never disabled, takes the focus first and brings the form up;
        the prompt then takes it without moving. ipywidgets 7 has no `focus()`: nothing
        happens there."""
        for widget in (self.image_prompts, self.prompt):
            focus = getattr(widget, "focus", None)
            if focus is not None:
                focus()

    def _text_changed(self, _change) -> None:
        if self._syncing:
            return
        self._validate()
        self._show_text_to_controls(set())

    def _show_text_to_controls(self, skip: set[str]) -> None:
        """Set every control from the parsed text, except `skip`; nothing when it is invalid."""
        if not self.check.ok:
            if self.check.empty:
                self._set_controls({}, set(), skip)
            return
        values, locked = common_params(self.check.prompts, self.prompt.value)
        self._set_controls(values, locked, skip)

    def _set_controls(self, params: dict, locked: set[str], skip: set[str]) -> None:
        c = self.controls
        wanted = {}
        aspect = params.get("aspect")
        if aspect is None or aspect in ASPECT_RATIOS:
            wanted["aspect"] = aspect or ""
        else:
            wanted["aspect"] = CUSTOM
            if "aspect_custom" not in skip:
                wanted["aspect_custom"] = aspect
        wanted["model"] = _model_value(params)
        wanted["quality"] = _quality_value(params.get("quality"))
        for name, (_label, _low, _high, default, _tip_text) in NUMBERS.items():
            present = name in params
            wanted[f"{name}_on"] = present
            wanted[name] = params[name] if present else default
        wanted["raw"] = params.get("style") == "raw" or params.get("raw") is True
        wanted["tile"] = params.get("tile") is True
        wanted["no"] = ", ".join(params.get("no", ()))
        wanted["sref"] = ((written(self.prompt.value, "sref")       # as typed: "@dusk", "1::2"
                           or " ".join(str(item) for item in params["sref"]))
                          if "sref" in params else "")
        self._syncing = True
        try:
            for name in ("model", "quality"):
                if name not in skip:
                    self._ensure_option(c[name], wanted[name])
            changes = {name: value for name, value in wanted.items()
                       if name not in skip and c[name].value != value}
            with ExitStack() as stack:
                stack.enter_context(self.hold_sync())
                for name in changes:
                    stack.enter_context(c[name].hold_trait_notifications())
                for name, value in changes.items():
                    c[name].value = value
            self._locked = locked
            self._enable_dependents()
        finally:
            self._syncing = False

    @staticmethod
    def _ensure_option(dropdown, value) -> None:
        """Add a value the text names but the list lacks (an unusual --v or --q). Replacing the
        options resets the selection, so only call this while `_syncing`, then set the value."""
        if value not in [v for _label, v in dropdown.options]:
            label = f"niji {value[5:]}" if value.startswith("niji ") else value
            current = dropdown.value
            dropdown.options = list(dropdown.options) + [(label, value)]
            dropdown.value = current

    def _enable_dependents(self) -> None:
        """Lock controls whose parameter a permutation sets; grey out an unticked number's box
        and the custom ratio box unless "custom" is chosen."""
        c, locked = self.controls, self._locked
        for name, control in c.items():
            control.disabled = _PARAM_OF.get(name, name) in locked
        c["aspect_custom"].disabled = "aspect" in locked or c["aspect"].value != CUSTOM
        for name in NUMBERS:
            c[name].disabled = name in locked or not c[f"{name}_on"].value

    # ------------------------------------------------------------------ controls -> text

    def _control_changed(self, name: str) -> None:
        if self._syncing:
            return
        text = self.prompt.value
        try:
            for param, value in self._edits(name):
                text = set_param(text, param, value)
        except ValueError as error:          # e.g. "--" typed into the --no box
            self.status.value = f'<span class="amj-error">{html.escape(str(error))}</span>'
            return
        self._syncing = True
        try:
            with self.prompt.hold_trait_notifications():   # its observer runs, and returns, here
                self.prompt.value = text
        finally:
            self._syncing = False
        self._validate()
        if self.check.ok:
            # Not the control being edited: a custom "32:18" must not jump to 16:9 mid-typing.
            self._show_text_to_controls({name, "aspect"} if name == "aspect_custom" else {name})
        else:
            self._enable_dependents()

    def _edits(self, name: str) -> list[tuple[str, object]]:
        """The parameter writes one control's change means, in order."""
        c = self.controls
        if name in ("aspect", "aspect_custom"):
            choice = c["aspect"].value
            if choice == CUSTOM:
                custom = c["aspect_custom"].value.strip()
                return [("aspect", custom or None)]
            return [("aspect", choice or None)]
        if name == "model":
            value = c["model"].value
            if not value:
                return [("version", None), ("niji", None)]
            if value.startswith("niji"):
                number = value[5:]
                return [("version", None), ("niji", number or True)]
            return [("niji", None), ("version", value)]
        if name == "quality":
            value = c["quality"].value
            return [("quality", float(value) if value else None)]
        base = name[:-3] if name.endswith("_on") else name
        if base in NUMBERS:
            on = c[f"{base}_on"].value
            return [(base, c[base].value if on else None)]
        if name == "raw":
            if c["raw"].value:
                return [("style", "raw")]
            raw_style = written(self.prompt.value, "style").lower() == "raw"
            return [("raw", None)] + ([("style", None)] if raw_style else [])
        if name == "tile":
            return [("tile", c["tile"].value or None)]
        value = c[name].value.strip()
        return [(name, value or None)]

    # ------------------------------------------------------------------ validation

    def _validate(self) -> Check:
        """Check the text and image prompts; show every problem and the jobs and credits."""
        check = check_prompt(self.prompt.value, version=self.ctx.version, store=self.ctx.store)
        check.image_prompts, image_errors = image_prompt_items(self.image_prompts.value)
        check.errors.extend(image_errors)
        self.check = check
        self._show_check(check)
        return check

    def _show_check(self, check: Check) -> None:
        lines = [("amj-error", f"Error: {e}") for e in check.errors]
        lines += [("amj-warning", f"Warning: {w}") for w in check.warnings]
        items = "".join(f'<li class="{kind}">{html.escape(text)}</li>' for kind, text in lines)
        self.messages.value = f"<ul>{items}</ul>" if items else ""
        if check.empty:
            summary = "Write a prompt to imagine."
        elif not check.ok:
            summary = "Fix the errors above to imagine."
        else:
            spend = self.ctx.manager.spend.words(check.credits)   # spent and budget beside it
            summary = (f"{_jobs_in_words(check.jobs, len(check.prompts))} · {check.credits} "
                       f"credits · {spend}")
        self.summary.value = f'<span class="amj-summary">{html.escape(summary)}</span>'
        # The count on the button itself: a 24-job permutation is never one careless click.
        many = check.ok and check.jobs > 1
        self.imagine_button.description = f"Imagine {check.jobs} jobs" if many else "Imagine"
        self.imagine_button.disabled = self._submitting or not check.ok

    # ------------------------------------------------------------------ submitting

    def imagine(self) -> list:
        """Submit the prompt as the button does; returns the new jobs ([] if nothing was sent).

        A second click while a submit runs, or a repeat of the same submit within
        DOUBLE_CLICK_SECONDS (a double click whose second half was queued), sends nothing.
        """
        if self._submitting:
            return []
        check = self._validate()
        if not check.ok:
            return []
        signature = (self.prompt.value, self.mode.value, tuple(check.image_prompts))
        now = self._clock()
        if self._last_submit is not None and self._last_submit[0] == signature \
                and now - self._last_submit[1] < DOUBLE_CLICK_SECONDS:
            return []
        self._submitting = True
        self.imagine_button.disabled = True
        self.status.value = '<span class="amj-muted">Submitting…</span>'
        try:
            jobs = self.ctx.submit(check.text, mode=self.mode.value or None,
                                   image_prompts=check.image_prompts)
        except Exception as error:  # noqa: BLE001 - a click handler must say what went wrong
            sent = list(getattr(error, "jobs", None) or [])
            if sent:
                self._last_submit = (signature, self._clock())
            expected = isinstance(error, (PromptError, ValueError, ApiframeError))
            self._show_error(error, sent, unexpected=not expected)
            self._add_new_records()              # a refused submit is in the history too
            return sent
        finally:
            self._submitting = False
            self.imagine_button.disabled = not self.check.ok
        self._last_submit = (signature, self._clock())
        self._show_check(self.check)                 # spent moved on
        self._show_jobs(jobs)
        count = len(jobs)
        self.status.value = (f'<span class="amj-muted">Submitted {count} '
                             f'job{"s" if count != 1 else ""}.</span>')
        self._add_new_records()
        return list(jobs)

    def _show_error(self, error: BaseException, sent: list, unexpected: bool = False) -> None:
        message = explain(error) if isinstance(error, ApiframeError) else str(error)
        if unexpected:
            message = f"unexpected error ({type(error).__name__}): {message}"
        if sent:
            self._show_jobs(sent)
            message += f" ({len(sent)} job{'s' if len(sent) != 1 else ''} sent before it)"
        lines = "<br>".join(html.escape(line) for line in message.splitlines())
        self.status.value = f'<span class="amj-error">{lines}</span>'

    def _show_jobs(self, jobs) -> None:
        """A view per job, on top of the earlier ones: the newest job first. Views the context
        closed meanwhile (past its live-view limit) leave: a closed model cannot be sent."""
        made = []
        for job in jobs:
            made.insert(0, self.view_factory(job, self.ctx))
        self.views[:0] = made
        self.views[:] = [view for view in self.views if not _is_closed(view)]
        kept = tuple(w for w in self.jobs_box.children if not _is_closed(w))
        self.jobs_box.children = tuple(made) + kept

    # ------------------------------------------------------------------ history

    def refresh_history(self) -> None:
        """Read the history again (after a submit, on Refresh) and re-apply the filter."""
        store = self.ctx.store
        self._records = store.list() if store is not None else []
        self._show_history()

    def _add_new_records(self) -> None:
        """Put the jobs recorded since the last read on top, without reading the whole history
        again (a full read of 10,000 jobs takes about 0.3 s; benchmarks/bench_panel.py)."""
        store = self.ctx.store
        if store is None:
            return
        known = {record.job_id for record in self._records[:history.RECENT_WINDOW]}
        recent = store.list(limit=history.RECENT_WINDOW)
        new = [record for record in recent if record.job_id not in known]
        if len(new) == len(recent) and self._records:
            self.refresh_history()             # more new jobs than the window: read them all
            return
        self._records[:0] = new
        self._show_history()

    def _show_history(self) -> None:
        query = self.history_filter.value
        found = history.search(self._records, query, HISTORY_ROWS)
        self.history_select.options = [(history.label(r), r.job_id) for r in found]
        self.history_select.value = None
        self.open_button.disabled = True
        total = len(self._records)
        if not total:
            note = "No past jobs yet."
        elif not found:
            note = f"Nothing in {total} past jobs matches."
        else:
            shown = f"the first {len(found)}" if len(found) == HISTORY_ROWS else str(len(found))
            note = f"Showing {shown} of {total} past jobs."
        self.history_status.value = html.escape(note)

    def _selection_changed(self, _change) -> None:
        self.open_button.disabled = self.history_select.value is None

    def _open_selected(self) -> None:
        job_id = self.history_select.value
        if job_id is None:
            return
        try:
            self.open_record(job_id)
        except Exception as error:  # noqa: BLE001 - shown in the panel, never lost in a log
            self.history_status.value = (
                f'<span class="amj-error">{html.escape(str(error))}</span>')

    def open_record(self, job_id: str):
        """Show a past job (by local job id) on top of the jobs below the form; returns its view."""
        record = self.ctx.store.get(job_id) if self.ctx.store is not None else None
        if record is None:
            raise ValueError(f"no job {job_id!r} in the history")
        job = history.job_from_record(self.ctx, record)
        self._show_jobs([job])
        self.history_status.value = html.escape(
            f"Opened {record.task_id or record.job_id} below.")
        return self.views[0]

    # ------------------------------------------------------------------ closing

    @property
    def closed(self) -> bool:
        return self._closed or _is_closed(self)

    def close(self) -> None:
        """Close the form, its job views and every model it made (ipywidgets#2308)."""
        if getattr(self, "_closed", True):   # never built, or closed already
            if getattr(self, "comm", None) is not None:
                super().close()
            return
        self._closed = True
        if getattr(self.ctx, "panel", None) is self:
            self.ctx.panel = None
        for view in list(self.views):
            view.close()
        self.views.clear()
        for child in tuple(self.children):
            _close_tree(child)
        self.layout.close()
        super().close()


_PARAM_OF = {"aspect_custom": "aspect", "model": "version", "raw": "style",
             **{f"{name}_on": name for name in NUMBERS}}
_SUBMIT_OPTIONS = ("image_prompts", "mode")   # sent with the request, not written in the prompt


def _model_value(params: dict) -> str:
    if "niji" in params:
        return "niji" if params["niji"] is True else f"niji {params['niji']}"
    return params.get("version", "")


def _quality_value(quality) -> str:
    if quality is None:
        return ""
    for _label, value in QUALITIES:
        if value and float(value) == quality:
            return value
    return f"{quality:g}"


def _is_closed(widget) -> bool:
    return getattr(widget, "comm", None) is None


def _close_tree(widget) -> None:
    """Close a widget with its children, layout and style (Box.close() leaves them open); a
    widget that closes its own tree (a JobView, with its shared layouts) is left to do so."""
    if getattr(widget, "closes_tree", False):
        widget.close()
        return
    for child in tuple(getattr(widget, "children", ()) or ()):
        _close_tree(child)
    for trait in ("layout", "style"):
        part = getattr(widget, trait, None)
        if isinstance(part, widgets.Widget):
            part.close()
    widget.close()


def _jobs_in_words(jobs: int, permutations: int) -> str:
    """"1 job", "3 jobs (permutations)", "3 jobs (--repeat)", "4 jobs (2 permutations × --repeat)"."""
    if jobs == 1:
        return "1 job"
    if permutations == 1:
        return f"{jobs} jobs (--repeat)"
    if jobs == permutations:
        return f"{jobs} jobs (permutations)"
    return f"{jobs} jobs ({permutations} permutations × --repeat)"
