"""What each `%imagine` form does. `grammar.py` says what a line may hold and names the handler of
each subcommand; `magic.py` dispatches; these functions do the work.

Every handler takes the `Imagine` magics instance, its `grammar.Subcommand` and the rest of the
line. Mistakes are one-line `UsageError`s raised before anything is sent; failures from the service
are shown in words.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from IPython.core.error import UsageError

from .. import settings, submission, words
from ..errors import ApiframeError, InvalidArgumentError, StoppedWaiting
from ..prompt import PromptError
from ..redaction import HiddenKey, printable
from ..settings import is_http_url
from ..static import render
from ..static.matrix import matrix_of
from ..styles import StyleNameError
from . import frontend, waiting
from . import presenter as notebook
from .grammar import (check_version_label, directory, directory_path, expand_variables,
                      help_text, row_count)

ALL = "all"
RUNNING_STATES = frozenset({"queued", "submitting", "active"})   # history states not ended yet


# ---------------------------------------------------------------------- %%imagine


def run_prompt(magics, args, text: str):
    """Validate, show the plan or submit, then show the jobs (and wait where that is the rule)."""
    if args.version:
        _check_version(args.version)
    if args.expand:
        text = expand(magics, text)
    store = magics.current_runtime().store if "@" in text else None  # for --sref @name
    try:
        plan = submission.plan(
            text, version=args.version, default_version=magics.default_version or None,
            mode=args.mode, confirm_above=magics.confirm_above, yes=args.yes,
            image_prompts=_image_prompts(magics, args.image, "--image"),
            webhook_url=args.webhook_url, webhook_secret=args.webhook_secret, store=store)
    except PromptError as error:
        raise UsageError(_prompt_message(error)) from None
    except (submission.NeedsConfirmation, StyleNameError) as error:
        raise UsageError(str(error)) from None
    save_dir = _writable_dir(args.save) if args.save else None
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.dry_run:
        _print_dry_run(plan)
        print(magics.spend.words(plan.credits))
        return None
    rt = magics.current_runtime()
    try:
        with on_interrupt("submitting the prompt", manager=rt.manager):
            jobs = submission.submit(plan, rt.manager, rt.client)
    except ApiframeError as error:
        jobs = getattr(error, "jobs", [])
        if not jobs:
            raise UsageError(words.explain(error)) from None
        print(f"error: {words.explain(error)}; {len(jobs)} of {len(plan.prompts)} jobs were "
              "sent and are shown below", file=sys.stderr)
    matrix = matrix_of(plan) if len(jobs) == len(plan.prompts) else None
    return _present(magics, jobs, group=len(plan.prompts) > 1, wait=_should_wait(magics, args),
                    save_dir=save_dir, as_name=args.as_name, matrix=matrix)


def _present(magics, jobs, *, group: bool, wait: bool, save_dir: Path | None = None,
             as_name: str | None = None, matrix=None):
    """Show the jobs of one run, wait if asked, save, and return the Job or JobGroup."""
    from ..groups import JobGroup

    presenter = magics.presenter
    twin = presenter.show(jobs, group=group, matrix=matrix)
    text_mode = presenter.mode == "text"
    if text_mode and save_dir is None:
        save_dir = Path(magics.save_dir).absolute()
    if wait:
        finished = notebook.wait_for(jobs, twin, text_progress=text_mode)
        if not finished:
            print(StoppedWaiting(len(jobs)), file=sys.stderr)
        elif text_mode:
            for job in jobs:
                print(render.caption(job) if job.state != "finished" else
                      render.caption(job, _save(job, save_dir) if save_dir else ()))
        elif save_dir is not None:
            for job in jobs:
                if job.state == "finished":
                    _save(job, save_dir)
    else:
        if save_dir is not None:
            for job in jobs:
                job.on_images(lambda job, where=save_dir: _save(job, where, quiet=True))
        if text_mode:
            for job in jobs:
                print(printable(f"{job.task_id or '(queued)'}: {words.status_words(job)}: "
                                f"{job.prompt}"))
    result = JobGroup(jobs, matrix) if group else jobs[0]
    if as_name:
        magics.shell.user_ns[as_name] = result
    presenter.mark_shown(result)
    return result


def _should_wait(magics, args) -> bool:
    if args.wait or args.no_wait:
        return bool(args.wait)
    try:
        forced = settings.forced_wait()
    except InvalidArgumentError as error:
        raise UsageError(str(error)) from None
    if forced is not None:
        return forced
    if magics.wait != "auto":
        return magics.wait == "always"
    return magics.presenter.mode == "text" or frontend.waits_by_default(magics.presenter.frontend)


def _check_version(label: str) -> None:
    try:
        check_version_label(label, "--version")
    except ValueError as error:
        raise UsageError(str(error)) from None


def _prompt_message(error: PromptError) -> str:
    lines = [str(problem) for problem in error.problems] or [str(error)]
    if len(lines) == 1:
        return f"invalid prompt: {lines[0]}"
    return "invalid prompt:\n" + "\n".join(f"  - {line}" for line in lines)


def _image_prompts(magics, items, what: str) -> list:
    """Image arguments of `what` (--image, describe, blend) as things `client.upload` takes: a
    path, bytes or a PIL image; URLs as is. A file is checked to be an image within the upload
    limit before anything leaves the machine."""
    from ..uploads import check_image_file
    from ..errors import InvalidArgumentError

    prompts = []
    for item in items:
        if is_http_url(item):
            prompts.append(item)
            continue
        path = Path(item).expanduser()
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise UsageError(f"{what} {item}: the file cannot be read (permissions)")
            try:
                prompts.append(check_image_file(path, label=what))
            except InvalidArgumentError as error:
                raise UsageError(str(error)) from None
            continue
        if item.isidentifier() and item in magics.shell.user_ns:
            value = magics.shell.user_ns[item]
            if isinstance(value, (bytes, bytearray)) or hasattr(value, "save"):
                prompts.append(bytes(value) if isinstance(value, bytearray) else value)
                continue
            raise UsageError(f"{what} {item}: the variable holds a {type(value).__name__}; it "
                             "must hold a PIL image or the bytes of an image file")
        raise UsageError(f"{what} {item}: no such file, and no variable of that name; give a "
                         "path to an image file, an https:// URL, or a variable name")
    return prompts


def _writable_dir(value: str) -> Path:
    """The --save directory, created and tried with a file before anything is paid for."""
    from ..images import SaveLocationError, check_writable_dir

    try:
        return check_writable_dir(Path(value).expanduser().absolute())
    except SaveLocationError as error:
        raise UsageError(str(error)) from None


def _save(job, directory: Path, quiet: bool = False) -> list[Path]:
    """Copy a finished job's images; also runs from the image thread, so it only prints when
    called from the cell (`quiet=False`)."""
    try:
        if not job.image_paths:
            return []
        return job.manager.images.save(job.task_id, job.image_paths, directory)
    except Exception as error:  # noqa: BLE001 - saving must never lose the job
        if not quiet:
            print(f"error: saving {job.task_id} failed: {error}", file=sys.stderr)
        return []


def _print_dry_run(plan) -> None:
    uploads = [str(item) if isinstance(item, (str, Path)) else f"<{type(item).__name__}>"
               for item in plan.image_prompts if not is_http_url(item)]
    for item in uploads:
        print(f"POST /upload   {item}   (free; its URL goes in front of the prompt)")
    for prompt in plan.prompts:
        body = plan.payload(prompt, ["<uploaded-url>"] * len(uploads))
        if "webhook_secret" in body:
            body["webhook_secret"] = "<hidden>"
        print(f"POST /imagine  {body}   ({submission.count([prompt]).credits} credits)")
    jobs = plan.jobs
    print(f"dry run: {jobs} job{'s' if jobs != 1 else ''}, {plan.credits} credits; "
          "nothing was sent")


def expand(magics, text: str) -> str:
    """`{{name}}` / `{{name.attr}}` from the notebook, waiting for a running job's values."""
    return expand_variables(text, magics.shell.user_ns, waiting.reader(magics.presenter))


# ---------------------------------------------------------------------- finding jobs


def find_jobs(magics, ident: str) -> list:
    """Live jobs whose task id or job id starts with `ident` ("all": every job in flight)."""
    jobs = magics.all_jobs()
    if ident == ALL:
        return [job for job in jobs if not job.done]
    found = [job for job in jobs if _matches(job.task_id, ident) or _matches(job.job_id, ident)]
    return _unique(found, ident, lambda job: job.task_id or job.job_id)


def find_record(magics, ident: str):
    """The history record whose task id (or job id) is, or starts with, `ident`."""
    from ..saving import SaveTaskError, find_task

    try:
        return find_task(magics.current_runtime().store, ident)
    except SaveTaskError as error:
        raise UsageError(str(error)) from None


def _matches(value: str | None, prefix: str) -> bool:
    return bool(value) and value.startswith(prefix)


def _unique(found: list, ident: str, name) -> list:
    if not found:
        raise UsageError(f"no job with an id starting {ident!r}; `%imagine history` lists them")
    if len(found) > 1 and len({name(x) for x in found}) > 1:
        names = ", ".join(sorted({name(x) for x in found})[:5])
        raise UsageError(f"{ident!r} matches {len(found)} jobs ({names}); give more characters")
    return found[:1]


# ---------------------------------------------------------------------- subcommands


def do_help(magics, sub, rest):
    print(help_text())


def do_jobs(magics, sub, rest):
    sub.words(rest, 0, 0)
    jobs = [job for job in magics.all_jobs() if not job.done]
    if not jobs:
        print("No jobs in flight. (`%imagine history` lists past ones.)")
        return
    print_table(JOBS_COLUMNS, [(job.task_id or "(not sent)", words.status_words(job),
                                job.prompt or job.kind) for job in jobs])


def do_wait(magics, sub, rest):
    words = sub.words(rest, 0, 1)
    jobs = find_jobs(magics, words[0] if words else ALL)
    if not jobs:
        print("Nothing to wait for.")
        return
    if not notebook.wait_for(jobs, None, text_progress=True):
        print(StoppedWaiting(len(jobs)), file=sys.stderr)
        return
    for job in jobs:
        print(render.caption(job).splitlines()[1] if job.task_id else render.caption(job))


def do_history(magics, sub, rest):
    parser = sub.parser()
    parser.add_argument("n", nargs="?", type=row_count, default=None)
    parser.add_argument("-n", "--limit", type=row_count, default=None, dest="limit")
    parser.add_argument("--search", default=None)
    args = parser.parse_args(sub.words(rest, 0))
    limit = args.limit or args.n or 20
    store = magics.current_runtime().store
    if args.search:
        needle = args.search.lower()
        records = [r for r in store.list() if needle in (r.prompt or "").lower()
                   or needle == (r.sref or "").lower()][:limit]
    else:
        records = store.list(limit=limit)
    if not records:
        print("No jobs in the history yet." if not args.search else
              f"No job matches {args.search!r}.")
        return
    print_table(HISTORY_COLUMNS, [
        (time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)), r.task_id or r.job_id,
         r.kind, r.state, r.sref or "", r.prompt or "") for r in records])


# (header, width) of each column
HISTORY_COLUMNS = (("created", 16), ("task id", 36), ("kind", 15), ("state", 10),
                   ("sref", 12), ("prompt", 60))
JOBS_COLUMNS = (("task id", 36), ("status", 40), ("prompt", 60))


def print_table(columns, rows) -> None:
    """A header row, then one line per row in fixed-width columns that never drift: a longer
    value is cut with an ellipsis, line breaks become spaces and control characters visible escapes."""
    for row in [[header for header, _width in columns], *rows]:
        print("  ".join(_fit(str(value), width)
                        for value, (_header, width) in zip(row, columns)).rstrip())


def _fit(text: str, width: int) -> str:
    text = printable(" ".join(text.split()))   # one line; escape sequences shown, not obeyed
    return (text if len(text) <= width else text[:width - 1] + "…").ljust(width)


def do_show(magics, sub, rest):
    """A running job is waited for where a cell would wait for it; a live view shows it at once
    (its progress is the view's)."""
    (ident,) = sub.words(rest, 1, 1)
    job = _reopen(magics, find_record(magics, ident))
    if not job.images_event.is_set() and _should_wait_default(magics):
        waiting.wait_until_ended(magics.presenter, [job])
    magics.presenter.present([job])


def _reopen(magics, record):
    try:
        return magics.current_runtime().manager.reopen(record)
    except ApiframeError as error:
        raise UsageError(str(error)) from None


def do_resume(magics, sub, rest):
    parser = sub.parser()
    parser.add_argument("--send-queued", action="store_true")
    args = parser.parse_args(sub.words(rest, 0, 1))
    rt = magics.current_runtime()
    jobs = rt.manager.resume(send_queued=args.send_queued)
    doubtful = rt.store.in_doubt()
    if doubtful:
        print(f"{len(doubtful)} submit(s) may have created tasks this kernel never heard back "
              "about; check them in your APIFRAME dashboard before sending them again.",
              file=sys.stderr)
    queued = [] if args.send_queued else [r for r in rt.store.queued()
                                          if r.job_id not in {j.job_id for j in jobs}]
    if queued:
        print(f"{len(queued)} job(s) were asked for but never sent (nothing was paid for them):")
        for record in queued:
            print(f"  {record.job_id[:12]}  {(record.prompt or record.kind)[:80]}")
        print("`%imagine resume --send-queued` sends them.")
    if not jobs:
        if not queued:
            print("Nothing to resume: every task in the history has ended.")
        return None
    print(f"Resumed {len(jobs)} job(s).")
    return _present(magics, jobs, group=len(jobs) > 1, wait=_should_wait_default(magics))


def do_cancel(magics, sub, rest):
    (ident,) = sub.words(rest, 1, 1)
    jobs = find_jobs(magics, ident)
    for job in jobs:
        job.cancel()
    print(f"Stopped tracking {len(jobs)} job(s); the service may still finish them "
          "(`%imagine resume` tracks them again).")


def do_save(magics, sub, rest):
    from ..images import SaveLocationError
    from ..saving import SaveTaskError, save_task

    words = sub.words(rest, 1, 2)
    directory = directory_path(words[1] if len(words) > 1 else magics.save_dir, sub.name)
    record = find_record(magics, words[0])
    if record.state in RUNNING_STATES:    # wait for its images, the directory checked first
        _writable_dir(str(directory))
        waiting.wait_until_ended(magics.presenter, [_reopen(magics, record)])
    try:
        with on_interrupt(f"saving {words[0]}", f"the images copied so far are in {directory}; "
                          "run the save again to finish it"):
            paths = save_task(magics.current_runtime(), words[0], directory)
    except (SaveTaskError, SaveLocationError) as error:
        raise UsageError(str(error)) from None
    except ApiframeError as error:
        raise UsageError(words.explain(error)) from None
    for path in paths:
        print(path)


def do_account(magics, sub, rest):
    sub.words(rest, 0, 0)
    rt = magics.current_runtime()
    try:
        with on_interrupt("asking APIFRAME for the account", "nothing was changed"):
            account = rt.client.account()
    except ApiframeError as error:
        raise UsageError(words.explain(error)) from None
    where = " (offline simulator)" if rt.offline else ""
    print(f"credits: {account.credits} · plan: {account.plan} · images made: "
          f"{account.total_images}{where}")


def do_spent(magics, sub, rest):
    """This kernel's credits by action and by job (what the service has left: `account`)."""
    sub.words(rest, 0, 0)
    print(magics.spend.report())


def do_describe(magics, sub, rest):
    (source,) = sub.words(rest, 1, 1)
    url = _image_url(magics, source, sub.name)
    return _submit_one(magics, "describe", {"image_url": url}, f"describe {source}")


def do_blend(magics, sub, rest):
    sources = sub.words(rest, 2, 5)
    urls = [_image_url(magics, source, sub.name) for source in sources]
    return _submit_one(magics, "blend", {"image_urls": urls}, "blend " + " ".join(sources))


def do_shorten(magics, sub, rest):
    text = rest.strip()
    if not text:
        raise sub.usage_error()
    try:
        submission.plan(text, default_version=magics.default_version or None, yes=True)
    except (PromptError, submission.NeedsConfirmation) as error:
        raise UsageError(_prompt_message(error) if isinstance(error, PromptError)
                         else str(error)) from None
    return _submit_one(magics, "shorten", {"prompt": text}, text)


def do_seed(magics, sub, rest):
    (ident,) = sub.words(rest, 1, 1)
    record = find_record(magics, ident)
    if not record.task_id:
        raise UsageError(f"{ident}: that job was never sent, so it has no seed")
    return _submit_one(magics, "seed", {"task_id": record.task_id}, record.prompt)


def do_styles(magics, sub, rest):
    from ..styles import name_style, styles_text, list_styles, unname_style

    words = sub.words(rest, 0)
    rt = magics.current_runtime()
    try:
        if words[:1] == ["name"] and len(words) >= 3:
            before = {name: code for code, name in rt.store.style_names().items()}
            slug = name_style(rt.store, words[1], " ".join(words[2:]), move=True)
            was = before.get(slug)
            moved = f" (it meant --sref {was} before)" if was and was != words[1] else ""
            print(printable(f"--sref @{slug} now means --sref {words[1]}{moved}"))
            return
        if words[:1] == ["unname"] and len(words) == 2:
            print(f"{unname_style(rt.store, words[1])} has no name now")
            return
    except StyleNameError as error:
        raise UsageError(str(error)) from None
    if words:
        raise sub.usage_error()
    if magics.presenter.mode == "text":
        print(styles_text(list_styles(rt.store)))
    else:
        magics.presenter.show_styles(rt.store, rt.images)


def do_export(magics, sub, rest):
    from ..static.export import ExportError, export_gallery

    parser = sub.parser()
    parser.add_argument("directory", type=directory)
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--since", default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(sub.words(rest, 1))
    rt = magics.current_runtime()
    ids = [find_record(magics, ident).job_id for ident in args.ids]   # prefixes, as `show` takes
    try:
        index = export_gallery(rt.store, rt.images, Path(args.directory).expanduser(),
                               ids=ids or None, since=args.since, force=args.force)
    except ExportError as error:
        raise UsageError(str(error)) from None
    print(f"Gallery written: {index.absolute()} (open it in any browser; no server needed)")


def do_config(magics, sub, rest):
    sub.words(rest, 0, 0)
    for name in sorted(magics.class_own_traits(config=True)):
        trait = magics.traits()[name]
        value = getattr(magics, name)
        value = "unset" if value is None else printable(repr(value))   # a password in base_url
        print(f"Imagine.{name:<16} = {value:<28} # {trait.help}")
    choice = magics.keys.current()
    print(f"API key: {'set, from ' + choice.source if choice.key else 'not set (offline simulator)'}")


def do_login(magics, sub, rest):
    sub.words(rest, 0, 0)
    key = HiddenKey(getpass.getpass("APIFRAME API key (hidden; kept in this kernel only): ").strip())
    if not key:
        raise UsageError("no key typed; nothing changed")
    from ..client import ApiframeClient

    try:
        ApiframeClient(key, base_url=magics.base_url).close()
    except ApiframeError as error:
        raise UsageError(f"that key cannot be used: {words.explain(error)}") from None
    magics.keys.login(key)
    print("Key kept for this kernel (not written anywhere); the next %%imagine uses APIFRAME.")


def do_panel(magics, sub, rest):
    sub.words(rest, 0, 0)
    if magics.presenter.mode != "widgets":
        raise UsageError("the prompt panel needs a notebook that renders widgets (JupyterLab, "
                         "Notebook 7, VS Code); here, use %%imagine cells")
    from IPython.display import display

    from ..widgets import ImaginePanel

    display(ImaginePanel(magics.ui_context()))


# ---------------------------------------------------------------------- helpers


def _should_wait_default(magics) -> bool:
    return _should_wait(magics, argparse.Namespace(wait=False, no_wait=False))


def _image_url(magics, source: str, what: str) -> str:
    """A URL as is; a local file or a variable uploaded first (uploads are free)."""
    (item,) = _image_prompts(magics, [source], what)
    if isinstance(item, str):
        return item
    from ..uploads import check_upload

    try:
        check_upload(item)   # a private key typed by mistake never leaves the machine
    except ApiframeError as error:
        raise UsageError(str(error)) from None
    rt = magics.current_runtime()
    try:
        with on_interrupt(f"uploading {source}", "nothing was submitted"):
            return rt.client.upload(item)
    except ApiframeError as error:
        raise UsageError(f"{source}: {words.explain(error)}") from None


def _submit_one(magics, kind: str, payload: dict, prompt: str | None):
    rt = magics.current_runtime()
    try:
        with on_interrupt(f"submitting {kind}", manager=rt.manager):
            job = rt.manager.submit(kind, payload, prompt=prompt)
    except ApiframeError as error:
        raise UsageError(words.explain(error)) from None
    return _present(magics, [job], group=False, wait=_should_wait_default(magics))



@contextmanager
def on_interrupt(what: str, known: str = "", *, manager=None):
    """Ctrl-C during a call to the service: one line saying what was interrupted and what is known
    (for submits, read from the `manager`'s jobs), instead of a traceback through the HTTP stack."""
    before = {id(job) for job in manager.jobs} if manager is not None else set()
    try:
        yield
    except KeyboardInterrupt:
        if manager is not None:
            known = _submits_known(job for job in manager.jobs if id(job) not in before)
        raise UsageError(f"interrupted while {what}: {known}") from None


def _submits_known(jobs) -> str:
    jobs = list(jobs)
    doubtful = sum(job.state == "uncertain" for job in jobs)
    going = len(jobs) - doubtful
    if not jobs:
        return "nothing was submitted"
    said = []
    if doubtful:
        said.append(f"{doubtful} job(s) recorded as uncertain: the task may have been created, "
                    "so it is never sent again (check `%imagine history` or your APIFRAME "
                    "dashboard before running the prompt again)")
    if going:
        said.append(f"{going} job(s) sent before it go on (`%imagine jobs`)")
    return "; ".join(said)
