"""`%%imagine` and `%imagine`: Midjourney from a notebook cell.

    %load_ext apiframe_magic
    %%imagine --ar 3:2                    <- magic options on this line
    a red fox in the snow --sref random   <- the cell is the prompt, verbatim

    %imagine --dry-run -- a {red, blue} fox      (the one-line form: options, --, prompt)
    %imagine help | jobs | wait | history | show ID | resume | cancel | save | account |
             describe | blend | shorten | seed | config | login | panel

Loading registers the magics and nothing else: the runtime (client, history, image cache, poller,
and the simulator when there is no key) is made on first use, and made again when the key or the
configuration it depends on changes.
"""
from __future__ import annotations

import argparse
import difflib
import math
import os
import re
import shlex
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Enum, Float, Int, TraitError, Unicode, default, validate

from .keys import KeyRing

DEFAULT_BASE_URL = "https://api.apiframe.pro"
WAIT_ENV = "APIFRAME_MAGIC_WAIT"
_PROMPT_SEPARATOR = re.compile(r"(?:^|\s)--(?:\s|$)")


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as one-line UsageErrors instead of exiting."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status=0, message=None):
        if message:
            raise UsageError(message.strip())
        raise UsageError(f"{self.prog}: stopped")


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%imagine", add_help=False, allow_abbrev=False,
                     usage="%%%%imagine [options]  (the cell below is the prompt)\n"
                           "       %%imagine [options] -- PROMPT\n"
                           "       %%imagine SUBCOMMAND ...  (%%imagine help lists them)",
                     description="Validate a Midjourney prompt, submit it through APIFRAME and "
                                 "show the grid and the four images when they are ready. "
                                 "Midjourney's own --ar, --sref, --v ... stay in the prompt.")
    parser.add_argument("-h", "--help", action="store_true", help="show this help; send nothing")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--wait", action="store_true",
                      help="block the cell until the images are ready (Ctrl-C stops waiting)")
    when.add_argument("--no-wait", action="store_true",
                      help="return at once; the output updates in the background")
    parser.add_argument("--save", metavar="DIR", help="also copy the images into DIR")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and show the requests and their credits; send nothing")
    parser.add_argument("--mode", choices=("fast", "turbo"), help="process mode of the jobs")
    parser.add_argument("--version", metavar="V",
                        help="the Midjourney version the jobs will use, for validation "
                             "(e.g. 7, 6.1, 'niji 6'); its rules become errors")
    parser.add_argument("--webhook-url", metavar="URL", help="APIFRAME posts updates there")
    parser.add_argument("--webhook-secret", metavar="SECRET",
                        help="sent back in the x-webhook-secret header")
    parser.add_argument("--image", action="append", default=[], metavar="PATH|NAME",
                        help="an image prompt: a local file, or a variable holding a PIL image "
                             "or bytes; uploaded, its URL put in front of the prompt (repeatable)")
    parser.add_argument("--yes", action="store_true",
                        help="confirm a run of many jobs (permutations)")
    parser.add_argument("--expand", action="store_true",
                        help="replace {{name}} or {{name.attr}} in the prompt with its value "
                             "from the notebook (Midjourney's own {a, b} stay as they are)")
    parser.add_argument("--as", dest="as_name", metavar="NAME",
                        help="also bind the result (a Job, or a JobGroup) to this variable")
    return parser


SUBCOMMANDS = {
    "help": "this help",
    "jobs": "jobs in flight, with their status",
    "wait": "wait [ID|all]: block until they end (Ctrl-C stops waiting, not the jobs)",
    "history": "history [N] [--search TEXT]: past jobs, newest first",
    "show": "show ID: show a past result again (from the history and the image cache)",
    "resume": "resume [--send-queued]: track every unfinished task again (after a restart); "
              "list jobs never sent, or send them",
    "cancel": "cancel ID|all: stop tracking (the service may still finish them)",
    "save": "save ID [DIR]: copy a finished job's images into DIR",
    "account": "credits left and plan",
    "describe": "describe URL|PATH: four prompts for an image",
    "blend": "blend URL|PATH URL|PATH ...: blend 2 to 5 images",
    "shorten": "shorten PROMPT: a shorter prompt with the same meaning",
    "seed": "seed ID: the seed of a finished job",
    "styles": "styles [name CODE NAME | unname NAME]: the --sref codes of the history; name one "
              "to write --sref @name",
    "export": "export DIR [ID ...] [--since DATE] [--force]: a static HTML gallery of the history",
    "config": "the configuration (%config Imagine.<name> = value changes it)",
    "login": "type the API key at a hidden prompt (kept in this kernel only)",
    "panel": "the prompt panel (a form with live validation)",
}


@magics_class
class Imagine(Magics):
    """The `%%imagine` magics and their configuration (`%config Imagine.<name> = value`)."""

    base_url = Unicode(help="APIFRAME's address (default $APIFRAME_BASE_URL, else "
                            f"{DEFAULT_BASE_URL})").tag(config=True)
    api_key_env = Unicode("APIFRAME_API_KEY",
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
    confirm_above = Int(10, help="a run of more jobs than this needs --yes (above 40 always)"
                        ).tag(config=True)
    sim_speed = Float(help="clock speed of the offline simulator (10: an imagine takes "
                                 "about 4 s)").tag(config=True)
    max_live_views = Int(20, help="live job views kept; older finished ones close (their "
                                  "static image stays)").tag(config=True)

    # ------------------------------------------------------------------ configuration checks

    @default("sim_speed")
    def _sim_speed_default(self):
        try:  # the same variable the CLI reads; not imported from runtime, which loads requests
            return float(os.environ.get("APIFRAME_SIM_SPEED", "") or 10.0)
        except ValueError:
            return 10.0

    @default("default_version")
    def _default_version_default(self):
        from ..prompt import CURRENT_DEFAULT_VERSION

        return CURRENT_DEFAULT_VERSION

    @default("base_url")
    def _base_url_default(self):
        return os.environ.get("APIFRAME_BASE_URL", "").strip() or DEFAULT_BASE_URL

    @validate("base_url")
    def _check_base_url(self, proposal):
        value = proposal["value"].strip().rstrip("/")
        if not re.match(r"https?://[^/?#\s]+(/[^?#\s]*)?\Z", value):
            raise TraitError(f"base_url must be an http(s) address without query or fragment, "
                             f"like {DEFAULT_BASE_URL}; got {value!r}")
        return value

    @validate("api_key_env")
    def _check_key_env(self, proposal):
        if not re.match(r"[A-Za-z_][A-Za-z0-9_]*\Z", proposal["value"]):
            raise TraitError("api_key_env must be an environment variable name, like "
                             "APIFRAME_API_KEY")
        return proposal["value"]

    @validate("twin_size")
    def _check_twin_size(self, proposal):
        return _in_range(proposal, 128, 2048)

    @validate("max_in_flight")
    def _check_in_flight(self, proposal):
        return _in_range(proposal, 0, 1000)

    @validate("confirm_above")
    def _check_confirm(self, proposal):
        return _in_range(proposal, 1, 200)

    @validate("max_live_views")
    def _check_live_views(self, proposal):
        return _in_range(proposal, 1, 500)

    @validate("sim_speed")
    def _check_speed(self, proposal):
        value = proposal["value"]
        if not math.isfinite(value) or value <= 0 or value > 10_000:
            raise TraitError(f"sim_speed must be a number above 0 and at most 10000; got {value}")
        return value

    @validate("default_version")
    def _check_version(self, proposal):
        value = proposal["value"].strip()
        if value:
            _check_version_label(value, "default_version")
        return value

    # ------------------------------------------------------------------ life cycle

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
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
        match = _PROMPT_SEPARATOR.search(line)
        if match:
            return self._run(line[:match.start()], line[match.end():])
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%imagine: {error}") from None
        if not words or words[0] in ("-h", "--help", "help"):
            self._print_help()
            return None
        if words[0].startswith("-"):
            raise UsageError("%imagine: put the prompt after --, as in "
                             "%imagine --ar 3:2 -- a red fox (or use %%imagine with the prompt "
                             "in the cell)")
        name, rest = words[0], line.split(None, 1)[1] if len(words) > 1 else ""
        if name not in SUBCOMMANDS:
            close = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
            hint = f"did you mean `%imagine {close[0]}`? " if close else ""
            raise UsageError(f"%imagine: unknown subcommand {name!r}; {hint}`%imagine help` "
                             "lists them; to imagine a prompt on one line write "
                             "%imagine -- PROMPT")
        from . import commands

        return getattr(commands, f"do_{name}")(self, expand_variables(rest, self.shell.user_ns))

    def _print_help(self) -> None:
        print(_cell_parser().format_help())
        print("subcommands (%imagine NAME ...):")
        for name, text in SUBCOMMANDS.items():
            print(f"  {name:<9} {text}")
        print("\nconfiguration: %imagine config; %config Imagine.<name> = value")

    def _run(self, line: str, prompt_text: str):
        from . import commands

        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%%imagine: {error} in the options line") from None
        args = _cell_parser().parse_args(words)
        if args.help:
            self._print_help()
            return None
        return commands.run_prompt(self, args, prompt_text)

    def submit_from_panel(self, text: str, *, mode: str | None = None, image_prompts=()):
        """The panel's Imagine button: the same validation and submit path as the cell magic."""
        from .. import submission

        rt = self.current_runtime()
        plan = submission.plan(text, default_version=self.default_version or None, mode=mode,
                               yes=True, image_prompts=image_prompts, store=rt.store)
        return submission.submit(plan, rt.manager, rt.client)


# ---------------------------------------------------------------------- helpers

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


def expand_variables(text: str, namespace: dict) -> str:
    """`{{name}}` and `{{name.attr}}` from the notebook's variables; anything else untouched."""

    def value(match: re.Match) -> str:
        first, *attributes = match.group(1).split(".")
        if first not in namespace:
            raise UsageError(f"{{{{{match.group(1)}}}}}: there is no variable {first!r} in the "
                             "notebook")
        found = namespace[first]
        for attribute in attributes:
            try:
                found = getattr(found, attribute)
            except AttributeError:
                raise UsageError(f"{{{{{match.group(1)}}}}}: {type(found).__name__} has no "
                                 f"attribute {attribute!r}") from None
        return str(found)

    return _VARIABLE.sub(value, text)



def _in_range(proposal, low: int, high: int) -> int:
    value = proposal["value"]
    if not low <= value <= high:
        raise TraitError(f"{proposal['trait'].name} must be between {low} and {high}; got {value}")
    return value


def _check_version_label(value: str, what: str) -> None:
    from ..prompt import PromptError, parse_prompt

    flag = f"--niji {value.split()[-1]}" if value.lower().startswith("niji") else f"--v {value}"
    if value.lower() == "niji":
        flag = "--niji"
    try:
        parse_prompt(f"version check {flag}")
    except PromptError as error:
        raise TraitError(f"{what} {value!r} is not a Midjourney version: "
                         f"{error.problems[0].message}") from None


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

