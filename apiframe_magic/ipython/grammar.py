"""The `%imagine` line grammar: what a `%%imagine` line and each subcommand line may say.

One place for the options of the cell magic, the table of subcommands (from which `%imagine help`,
did-you-mean and every usage error are made, each usage written once), `{{var}}` expansion, the
version labels `--version` and `Imagine.default_version` accept, and the checks that turn a bad
argument into a one-line `UsageError` before anything is sent. `magic.py` and `commands.py` both
import it; it imports neither.
"""
from __future__ import annotations

import argparse
import difflib
import keyword
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

from IPython.core.error import UsageError


PROMPT_SEPARATOR = re.compile(r"(?:^|\s)--(?:\s|$)")
MAX_HISTORY_ROWS = 1_000_000   # `history N`: more than any history holds, small enough for SQLite


class LineParser(argparse.ArgumentParser):
    """argparse that reports mistakes as one-line UsageErrors instead of exiting."""

    def __init__(self, *args, hint: str = "", **kwargs):   # hint: where to read more
        super().__init__(*args, add_help=False, **kwargs)
        self.hint = hint

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} ({self.hint})")

    def exit(self, status=0, message=None):
        raise UsageError(message.strip() if message else f"{self.prog}: stopped")


# ---------------------------------------------------------------------- argument types


def variable_name(text: str) -> str:
    """A name the notebook can bind (`--as`): an identifier that is not a keyword."""
    if not text.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r}: not a Python variable name")
    if keyword.iskeyword(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a Python keyword, not a variable name")
    return text


def directory(text: str) -> str:
    """A directory argument: refused early if no file system could have it."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a directory name cannot contain a NUL byte")
    return text


def row_count(text: str) -> int:
    """`history N`: a whole number of rows within what a history can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_HISTORY_ROWS:
        raise argparse.ArgumentTypeError(f"N must be from 1 to {MAX_HISTORY_ROWS}; got {text}")
    return value


def directory_path(text: str, what: str) -> Path:
    """A directory argument of a subcommand, as an absolute path; one line if it cannot be."""
    try:
        return Path(directory(text)).expanduser().absolute()
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"%imagine {what}: {error}") from None


# ---------------------------------------------------------------------- %%imagine options


def cell_parser() -> LineParser:
    """The options of `%%imagine` (and of `%imagine [options] -- PROMPT`)."""
    parser = LineParser(prog="%%imagine", hint="see %%imagine --help", allow_abbrev=False,
                        usage="%%%%imagine [options]  (the cell below is the prompt)\n"
                              "       %%imagine [options] -- PROMPT\n"
                              "       %%imagine SUBCOMMAND ...  (%%imagine help lists them)",
                        description="Validate a Midjourney prompt, submit it through APIFRAME "
                                    "and show the grid and the four images when they are ready. "
                                    "Midjourney's own --ar, --sref, --v ... stay in the prompt.")
    parser.add_argument("-h", "--help", action="store_true", help="show this help; send nothing")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--wait", action="store_true",
                      help="block the cell until the images are ready (Ctrl-C stops waiting)")
    when.add_argument("--no-wait", action="store_true",
                      help="return at once; the output updates in the background")
    parser.add_argument("--save", metavar="DIR", type=directory,
                        help="also copy the images into DIR")
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
    parser.add_argument("--as", dest="as_name", metavar="NAME", type=variable_name,
                        help="also bind the result (a Job, or a JobGroup) to this variable")
    return parser


def parse_cell_options(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as error:
        raise UsageError(f"%%imagine: {error} in the options line") from None
    return cell_parser().parse_args(words)


# ---------------------------------------------------------------------- subcommands


@dataclass(frozen=True)
class Subcommand:
    """One `%imagine NAME ...` form: `handler` names its function in `ipython/commands.py`."""

    name: str
    handler: str
    usage: str        # what follows `%imagine`, e.g. "wait [ID|all]"
    help: str         # one line for `%imagine help`

    def words(self, rest: str, low: int, high: int | None = None) -> list[str]:
        """The words of the line after the name, between `low` and `high` of them."""
        try:
            words = shlex.split(rest)
        except ValueError as error:
            raise UsageError(f"%imagine {self.name}: {error}") from None
        if len(words) < low or (high is not None and len(words) > high):
            raise self.usage_error()
        return words

    def usage_error(self) -> UsageError:
        return UsageError(f"usage: %imagine {self.usage}")

    def parser(self) -> LineParser:
        """An argparse parser for the subcommands that take options."""
        return LineParser(prog=f"%imagine {self.name}", usage=f"%imagine {self.usage}",
                          hint=f"usage: %imagine {self.usage}")


SUBCOMMANDS = {sub.name: sub for sub in (
    Subcommand("help", "do_help", "help", "this help"),
    Subcommand("jobs", "do_jobs", "jobs", "jobs in flight, with their status"),
    Subcommand("wait", "do_wait", "wait [ID|all]",
               "block until they end (Ctrl-C stops waiting, not the jobs)"),
    Subcommand("history", "do_history", "history [N | -n N] [--search TEXT]",
               "past jobs, newest first"),
    Subcommand("show", "do_show", "show ID",
               "show a past result again (from the history and the image cache)"),
    Subcommand("resume", "do_resume", "resume [--send-queued]",
               "track every unfinished task again (after a restart); list jobs never sent, "
               "or send them"),
    Subcommand("cancel", "do_cancel", "cancel ID|all",
               "stop tracking (the service may still finish them)"),
    Subcommand("save", "do_save", "save ID [DIR]", "copy a finished job's images into DIR"),
    Subcommand("account", "do_account", "account", "credits left and plan"),
    Subcommand("spent", "do_spent", "spent", "credits this kernel has spent, by action and job"),
    Subcommand("describe", "do_describe", "describe URL|PATH", "four prompts for an image"),
    Subcommand("blend", "do_blend", "blend URL|PATH URL|PATH ...", "blend 2 to 5 images"),
    Subcommand("shorten", "do_shorten", "shorten PROMPT",
               "a shorter prompt with the same meaning"),
    Subcommand("seed", "do_seed", "seed ID", "the seed of a finished job"),
    Subcommand("styles", "do_styles", "styles [name CODE NAME | unname NAME]",
               "the --sref codes of the history; name one to write --sref @name"),
    Subcommand("export", "do_export", "export DIR [ID ...] [--since DATE] [--force]",
               "a static HTML gallery of the history"),
    Subcommand("config", "do_config", "config",
               "the configuration (%config Imagine.<name> = value changes it)"),
    Subcommand("login", "do_login", "login",
               "type the API key at a hidden prompt (kept in this kernel only)"),
    Subcommand("panel", "do_panel", "panel", "the prompt panel (a form with live validation)"),
)}


def subcommand(name: str) -> Subcommand:
    """The subcommand called `name`, or a UsageError that suggests the closest one."""
    if name in SUBCOMMANDS:
        return SUBCOMMANDS[name]
    close = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
    hint = f"did you mean `%imagine {close[0]}`? " if close else ""
    raise UsageError(f"%imagine: unknown subcommand {name!r}; {hint}`%imagine help` lists them; "
                     "to imagine a prompt on one line write %imagine -- PROMPT")


def help_text() -> str:
    """`%imagine help`: the options, then each subcommand laid out as argparse lays out options
    (the help at column 24, under a long usage), within 80 columns."""
    lines = [cell_parser().format_help(), "subcommands (%imagine ...):"]
    for sub in SUBCOMMANDS.values():
        usage = f"  {sub.usage}"
        if len(usage) > 22:
            lines.append(usage)
        first = f"{usage:<24}" if len(usage) <= 22 else " " * 24
        lines.append(textwrap.fill(sub.help, 80, initial_indent=first,
                                   subsequent_indent=" " * 24))
    lines += ["", "configuration: %imagine config; %config Imagine.<name> = value"]
    return "\n".join(lines)


# ---------------------------------------------------------------------- values in lines

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


def expand_variables(text: str, namespace: dict, read=None) -> str:
    """`{{name}}` and `{{name.attr}}` from the notebook's variables; anything else untouched.

    `read(obj, attribute, name)` reads each attribute (`name`: the path to `obj`, e.g. "fox");
    default `getattr`. The magic's reader waits for the values a running job will have."""

    def value(match: re.Match) -> str:
        first, *attributes = match.group(1).split(".")
        if first not in namespace:
            raise UsageError(f"{{{{{match.group(1)}}}}}: there is no variable {first!r} in the "
                             "notebook")
        found, name = namespace[first], first
        for attribute in attributes:
            try:
                found = read(found, attribute, name) if read else getattr(found, attribute)
                name = f"{name}.{attribute}"
            except AttributeError:
                raise UsageError(f"{{{{{match.group(1)}}}}}: {type(found).__name__} has no "
                                 f"attribute {attribute!r}") from None
        return str(found)

    return _VARIABLE.sub(value, text)


def check_version_label(value: str, what: str) -> None:
    """ValueError unless `value` names a Midjourney model ("7", "6.1", "niji 6", "niji")."""
    from ..prompt import PromptError, parse_prompt

    flag = f"--niji {value.split()[-1]}" if value.lower().startswith("niji") else f"--v {value}"
    if value.lower() == "niji":
        flag = "--niji"
    try:
        parse_prompt(f"version check {flag}")
    except PromptError as error:
        raise ValueError(f"{what} {value!r} is not a Midjourney version: "
                         f"{error.problems[0].message}") from None
