"""`%%imagine` and `%imagine`: Midjourney from a notebook cell.

    %load_ext apiframe_magic
    %%imagine --ar 3:2                    <- magic options on this line
    a red fox in the snow --sref random   <- the cell is the prompt, verbatim

    %imagine --dry-run -- a {red, blue} fox      (the one-line form: options, --, prompt)
    %imagine SUBCOMMAND ...                      (`grammar.SUBCOMMANDS`; `%imagine help`)

This module holds the magics class, its configuration and the runtime it switches; what a line may
say is `grammar.py`, what each form does is `commands.py`. Loading registers the magics and nothing
else: the runtime (client, history, image cache, poller,
and the simulator when there is no key) is made on first use, and made again when the key or the
configuration it depends on changes.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Enum, Float, Int, TraitError, Unicode, default, observe, validate

from .. import settings
from ..errors import InvalidArgumentError
from ..settings import DEFAULT_BASE_URL, WAIT_ENV
from ..spend import SpendLedger, check_budget
from . import grammar
from .keys import KeyRing


@magics_class
class Imagine(Magics):
    """The `%%imagine` magics and their configuration (`%config Imagine.<name> = value`)."""

    base_url = Unicode(help="APIFRAME's address (default $APIFRAME_BASE_URL, else "
                            f"{DEFAULT_BASE_URL})").tag(config=True)
    api_key_env = Unicode(settings.KEY_ENV,
                          help="the environment variable (or .env entry) that holds the key"
                          ).tag(config=True)
    wait = Enum(("auto", "always", "never"), "auto",
                help="block the cell until the images are ready: auto waits where background "
                     f"updates cannot be seen (headless runs, Colab, terminals); ${WAIT_ENV}=1 "
                     "forces it").tag(config=True)
    display = Enum(("auto", "widgets", "static", "text"), "auto",
                   help="what a run shows: live widgets plus a static image, the static image "
                        "only, or text").tag(config=True)
    save_dir = Unicode("apiframe-images", help="where Save and `%imagine save` put images"
                       ).tag(config=True)
    twin_size = Int(768, help="longest side in pixels of the image kept in the notebook"
                    ).tag(config=True)
    default_version = Unicode(help="the Midjourney version assumed for validation when the "
                                   "prompt names none (its rules only warn); default: "
                                   "Midjourney's current default model").tag(config=True)
    max_in_flight = Int(0, help="jobs sent to the service at once; 0 keeps the engine's default"
                        ).tag(config=True)
    confirm_above = Int(settings.MAGIC_CONFIRM_ABOVE, help="a run of more jobs than this needs --yes (above 40 always)"
                        ).tag(config=True)
    sim_speed = Float(help="clock speed of the offline simulator (10: an imagine takes "
                                 "about 4 s)").tag(config=True)
    cache_limit_mb = Int(help="disk the image cache may use, in MB (default "
                              "$APIFRAME_MAGIC_CACHE_MB, else 4096); the least recently used "
                              "images go first, those of jobs still shown never").tag(config=True)
    max_live_views = Int(20, help="live job views kept; older finished ones close (their "
                                  "static image stays)").tag(config=True)
    budget = Int(None, allow_none=True,
                 help="credits this kernel session may spend; a cell, button or panel submit "
                      "that would pass it is refused and nothing is sent (unset: no limit)"
                 ).tag(config=True)

    # ------------------------------------------------------------------ configuration checks

    @default("sim_speed")
    def _sim_speed_default(self):
        try:  # the same variable and rule as the CLI's; a bad value stops the cell in one line
            return settings.sim_speed()
        except InvalidArgumentError as error:
            raise UsageError(str(error)) from None

    @default("default_version")
    def _default_version_default(self):
        from ..prompt import CURRENT_DEFAULT_VERSION

        return CURRENT_DEFAULT_VERSION

    @default("base_url")
    def _base_url_default(self):
        return settings.base_url()

    @validate("base_url")
    def _check_base_url(self, proposal):
        try:
            return settings.check_base_url(proposal["value"])
        except InvalidArgumentError as error:
            raise TraitError(f"base_url must be the API's address: {error}") from None

    @validate("api_key_env")
    def _check_key_env(self, proposal):
        try:
            return settings.check_env_name(proposal["value"])
        except InvalidArgumentError as error:
            raise TraitError(str(error)) from None

    @validate("twin_size")
    def _check_twin_size(self, proposal):
        return _in_range(proposal, 128, 2048)

    @validate("max_in_flight")
    def _check_in_flight(self, proposal):
        return _in_range(proposal, 0, 1000)

    @validate("confirm_above")
    def _check_confirm(self, proposal):
        return _in_range(proposal, 1, 200)

    @default("cache_limit_mb")
    def _cache_limit_default(self):
        try:
            return settings.cache_limit_mb()
        except ValueError:  # the runtime's start says what is wrong with it, in one line
            return settings.DEFAULT_CACHE_MB

    @validate("cache_limit_mb")
    def _check_cache_limit(self, proposal):
        return _in_range(proposal, 0, 10_000_000)

    @observe("cache_limit_mb")
    def _apply_cache_limit(self, change):
        if self.runtime is not None:
            self.runtime.images.limit_mb = change["new"]

    @validate("max_live_views")
    def _check_live_views(self, proposal):
        return _in_range(proposal, 1, 500)

    @validate("sim_speed")
    def _check_speed(self, proposal):
        try:
            return settings.check_sim_speed(proposal["value"])
        except InvalidArgumentError as error:
            raise TraitError(str(error)) from None

    @validate("budget")
    def _check_budget(self, proposal):
        try:
            return check_budget(proposal["value"])
        except ValueError as error:
            raise TraitError(str(error)) from None

    @observe("budget")
    def _budget_changed(self, change):
        self.spend.budget = change["new"]

    @validate("default_version")
    def _check_version(self, proposal):
        value = proposal["value"].strip()
        if value:
            try:
                grammar.check_version_label(value, "default_version")
            except ValueError as error:
                raise TraitError(str(error)) from None
        return value

    # ------------------------------------------------------------------ life cycle

    def __init__(self, shell=None, **kwargs):
        self.spend = SpendLedger()   # this kernel's credits, across runtime switches
        super().__init__(shell=shell, **kwargs)
        self.spend.budget = self.budget
        self.keys = KeyRing(self.api_key_env)
        self.runtime = None
        self._signature = None
        self._retired: list = []
        self._ui = None
        from .presenter import Presenter

        self.presenter = Presenter(shell, display_mode=lambda: self.display,
                                   twin_size=lambda: self.twin_size,
                                   ui_context=self.ui_context)

    def close(self) -> None:
        """Stop the poller(s) and the simulator; tasks stay in the history for `resume`."""
        for rt in [self.runtime, *self._retired]:
            if rt is not None:
                rt.close()
        self._watch_cells(None)
        self.runtime, self._retired, self._ui = None, [], None

    def _watch_cells(self, context) -> None:
        """After every cell, the live views past `max_live_views` close (a burst of jobs is
        all running when its views are made, so it can only be trimmed later)."""
        old = getattr(self, "_trimming", None)
        if old is not None and self.shell is not None:
            try:
                self.shell.events.unregister("post_run_cell", old)
            except ValueError:
                pass
        self._trimming = context.after_cell if context is not None else None
        if self._trimming is not None and self.shell is not None:
            self.shell.events.register("post_run_cell", self._trimming)

    def current_runtime(self):
        """The runtime for the key and settings in force now; switches (and says so) on change."""
        from .. import runtime

        self.keys.env_var = self.api_key_env
        choice = self.keys.current()
        signature = (choice.fingerprint, self.base_url if choice.key else self.sim_speed,
                     self.max_in_flight)
        if self.runtime is not None and signature == self._signature:
            return self.runtime
        previous, previous_signature = self.runtime, self._signature
        try:
            if choice.key:
                rt = runtime.start(api_key=choice.key, base_url=self.base_url)
            else:
                rt = runtime.start(api_key="", sim_speed=self.sim_speed)
        except Exception as error:  # noqa: BLE001 - a bad key or home: one line, no traceback
            raise UsageError(_one_line(error)) from None
        if self.max_in_flight:
            rt.manager.policy.max_in_flight = self.max_in_flight
        rt.images.limit_mb = self.cache_limit_mb
        rt.images.thumbnail_side = self.twin_size  # the twin's and the live grid's side
        rt.manager.spend = self.spend
        self.runtime, self._signature, self._ui = rt, signature, None
        print(_switch_message(choice, self.api_key_env, previous, previous_signature, rt))
        if previous is not None:
            if previous.manager.active():
                self._retired.append(previous)   # its jobs keep polling until unload
            else:
                previous.close()
        return rt

    def ui_context(self):
        """The widgets' view of this magics instance (made once per runtime)."""
        if self._ui is None:
            from ..widgets import UiContext

            self._ui = UiContext.from_runtime(
                self.current_runtime(), submit=self.submit_from_panel,
                version=self.default_version or None, save_dir=Path(self.save_dir),
                max_live_views=self.max_live_views)
            self._watch_cells(self._ui)
        return self._ui

    def all_jobs(self) -> list:
        return [job for rt in [*self._retired, self.runtime] if rt is not None
                for job in rt.manager.jobs]

    # ------------------------------------------------------------------ the magic

    @no_var_expand
    @line_cell_magic
    def imagine(self, line: str = "", cell: str | None = None):
        """Submit a Midjourney prompt (the cell) and show its images; `%imagine help` for more."""
        if cell is not None:
            return self._run(line, cell)
        match = grammar.PROMPT_SEPARATOR.search(line)
        if match:
            return self._run(line[:match.start()], line[match.end():])
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%imagine: {error}") from None
        if not words or words[0] in ("-h", "--help"):
            words = ["help"]
        if words[0].startswith("-"):
            raise UsageError("%imagine: put the prompt after --, as in "
                             "%imagine --ar 3:2 -- a red fox (or use %%imagine with the prompt "
                             "in the cell)")
        sub = grammar.subcommand(words[0])
        rest = line.split(None, 1)[1] if len(words) > 1 else ""
        from . import commands

        handler = getattr(commands, sub.handler)
        return handler(self, sub, commands.expand(self, rest))

    def _run(self, line: str, prompt_text: str):
        args = grammar.parse_cell_options(line)
        if args.help:
            print(grammar.help_text())
            return None
        from . import commands

        return commands.run_prompt(self, args, prompt_text)

    def submit_from_panel(self, text: str, *, mode: str | None = None, image_prompts=()):
        """The panel's Imagine button: the same validation and submit path as the cell magic."""
        from .. import submission

        rt = self.current_runtime()
        plan = submission.plan(text, default_version=self.default_version or None, mode=mode,
                               yes=True, image_prompts=image_prompts, store=rt.store)
        return submission.submit(plan, rt.manager, rt.client)


# ---------------------------------------------------------------------- helpers

def _in_range(proposal, low: int, high: int) -> int:
    value = proposal["value"]
    if not low <= value <= high:
        raise TraitError(f"{proposal['trait'].name} must be between {low} and {high}; got {value}")
    return value


def _one_line(error: BaseException) -> str:
    from ..redaction import redact

    text = redact(str(error)).strip() or type(error).__name__
    return text.splitlines()[0]


def _switch_message(choice, env_var: str, previous, previous_signature, rt) -> str:
    where = "the offline simulator (procedural images, no credits)" if rt.offline else \
        f"APIFRAME at {rt.client.base_url}"
    if previous is None:
        if rt.offline:
            return (f"apiframe_magic: no API key found, using {where}. Set {env_var} "
                    "(or a .env file, or %imagine login) to use Midjourney.")
        return f"apiframe_magic: using {where} (key from {choice.source})."
    if previous_signature and previous_signature[0] != choice.fingerprint:
        return f"apiframe_magic: the API key changed (now from {choice.source}): using {where}."
    return f"apiframe_magic: settings changed: using {where}."

