"""What each `%imagine` form does. `magic.py` parses the line; these functions do the work.

Every handler takes the `Imagine` magics instance and the rest of the line. Mistakes are one-line
`UsageError`s raised before anything is sent; failures from the service are shown in words.
"""
from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
import time
from pathlib import Path

from IPython.core.error import UsageError

from .. import submission
from ..errors import ApiframeError
from ..prompt import PromptError
from ..static import render
from ..styles import StyleNameError
from . import frontend
from . import presenter as notebook
from .magic import WAIT_ENV, _check_version_label, _Parser, expand_variables

ALL = "all"


# ---------------------------------------------------------------------- %%imagine


def run_prompt(magics, args, text: str):
    """Validate, show the plan or submit, then show the jobs (and wait where that is the rule)."""
    if args.as_name and not args.as_name.isidentifier():
        raise UsageError(f"--as {args.as_name!r}: not a Python variable name")
    if args.version:
        _check_version(args.version)
    if args.expand:
        text = expand_variables(text, magics.shell.user_ns)
    store = magics.current_runtime().store if "@" in text else None  # for --sref @name
    try:
        plan = submission.plan(
            text, version=args.version, default_version=magics.default_version or None,
            mode=args.mode, confirm_above=magics.confirm_above, yes=args.yes,
            image_prompts=_image_prompts(magics, args.image),
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
        return None
    rt = magics.current_runtime()
    try:
        jobs = submission.submit(plan, rt.manager, rt.client)
    except ApiframeError as error:
        jobs = getattr(error, "jobs", [])
        if not jobs:
            raise UsageError(render.explain(error)) from None
        print(f"error: {render.explain(error)}; {len(jobs)} of {len(plan.prompts)} jobs were "
              "sent and are shown below", file=sys.stderr)
    matrix = submission.matrix_of(plan) if len(jobs) == len(plan.prompts) else None
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
        if finished and text_mode:
            for job in jobs:
                print(render.caption(job) if job.state != "finished" else
                      render.caption(job, _save(job, save_dir) if save_dir else ()))
        elif finished and save_dir is not None:
            for job in jobs:
                if job.state == "finished":
                    _save(job, save_dir)
    elif save_dir is not None:
        for job in jobs:
            job.on_images(lambda job, where=save_dir: _save(job, where, quiet=True))
    elif text_mode:
        for job in jobs:
            print(f"{job.task_id or '(queued)'}: {render.status_words(job)}: {job.prompt}")
    result = JobGroup(jobs, matrix) if group else jobs[0]
    if as_name:
        magics.shell.user_ns[as_name] = result
    presenter.mark_shown(result)
    return result


def _should_wait(magics, args) -> bool:
    if args.wait or args.no_wait:
        return bool(args.wait)
    forced = os.environ.get(WAIT_ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "always"):
        return True
    if forced in ("0", "false", "no", "never"):
        return False
    if magics.wait != "auto":
        return magics.wait == "always"
    return magics.presenter.mode == "text" or frontend.waits_by_default(magics.presenter.frontend)


def _check_version(label: str) -> None:
    from traitlets import TraitError

    try:
        _check_version_label(label, "--version")
    except TraitError as error:
        raise UsageError(str(error)) from None


def _prompt_message(error: PromptError) -> str:
    lines = [str(problem) for problem in error.problems] or [str(error)]
    if len(lines) == 1:
        return f"invalid prompt: {lines[0]}"
    return "invalid prompt:\n" + "\n".join(f"  - {line}" for line in lines)


def _image_prompts(magics, items) -> list:
    """--image values as things `client.upload` takes: a path, bytes or a PIL image; URLs as is."""
    prompts = []
    for item in items:
        if item.startswith(("http://", "https://")):
            prompts.append(item)
            continue
        path = Path(item).expanduser()
        if path.is_file():
            if not os.access(path, os.R_OK):
                raise UsageError(f"--image {item}: the file cannot be read (permissions)")
            prompts.append(path)
            continue
        if item.isidentifier() and item in magics.shell.user_ns:
            value = magics.shell.user_ns[item]
            if isinstance(value, (bytes, bytearray)) or hasattr(value, "save"):
                prompts.append(bytes(value) if isinstance(value, bytearray) else value)
                continue
            raise UsageError(f"--image {item}: the variable holds a {type(value).__name__}; it "
                             "must hold a PIL image or the bytes of an image file")
        raise UsageError(f"--image {item}: no such file, and no variable of that name; give a "
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
    from ..credits import credits_for

    uploads = [str(item) if isinstance(item, (str, Path)) else f"<{type(item).__name__}>"
               for item in plan.image_prompts if not submission._is_url(item)]
    for item in uploads:
        print(f"POST /upload   {item}   (free; its URL goes in front of the prompt)")
    for number, prompt in enumerate(plan.prompts, start=1):
        body = plan.payload(prompt, ["<uploaded-url>"] * len(uploads))
        if "webhook_secret" in body:
            body["webhook_secret"] = "<hidden>"
        print(f"POST /imagine  {body}   ({credits_for('imagine')} credits)")
    jobs = plan.jobs
    print(f"dry run: {jobs} job{'s' if jobs != 1 else ''}, {plan.credits} credits; "
          "nothing was sent")


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


def job_from_record(magics, record):
    """A Job for a past record: the live one if this kernel tracks it, else rebuilt from disk."""
    from ..errors import TaskFailedError
    from ..jobs import ENDED, Job
    from ..models import Task

    rt = magics.current_runtime()
    live = next((job for job in magics.all_jobs() if job.job_id == record.job_id), None)
    if live is not None:
        return live
    if record.state not in ENDED:
        raise UsageError(f"{record.task_id or record.job_id} is {record.state}; "
                         "`%imagine resume` tracks it again")
    job = Job(rt.manager, record.kind, dict(record.payload or {}), prompt=record.prompt,
              params=dict(record.params or {}))
    job.job_id, job.task_id, job.state = record.job_id, record.task_id, record.state
    job.created_at, job.finished_at = record.created_at, record.finished_at or record.updated_at
    if record.result:
        job.result = Task.from_dict({"task_id": record.task_id, **record.result})
    if record.state != "finished":
        job.error = TaskFailedError(record.error or f"ended {record.state}",
                                    task_id=record.task_id, reason=record.error)
    job.image_paths = _image_files(rt, record) if record.state == "finished" else {}
    job._ended.set()
    job._images_ready.set()
    return job


def _image_files(rt, record) -> dict:
    """The record's images on disk, downloaded once more if the cache lost them; {} if none."""
    from ..saving import SaveTaskError, image_files

    try:
        return image_files(rt, record)
    except SaveTaskError:
        return {}


# ---------------------------------------------------------------------- subcommands


def _words(rest: str, usage: str, low: int, high: int | None = None) -> list[str]:
    try:
        words = shlex.split(rest)
    except ValueError as error:
        raise UsageError(f"%imagine {usage}: {error}") from None
    if len(words) < low or (high is not None and len(words) > high):
        raise UsageError(f"usage: %imagine {usage}")
    return words


def do_help(magics, rest):
    magics._print_help()


def do_jobs(magics, rest):
    _words(rest, "jobs", 0, 0)
    jobs = [job for job in magics.all_jobs() if not job.done]
    if not jobs:
        print("No jobs in flight. (`%imagine history` lists past ones.)")
        return
    for job in jobs:
        print(f"{job.task_id or '(not sent)':<38} {render.status_words(job):<32} {job.prompt or job.kind}")


def do_wait(magics, rest):
    words = _words(rest, "wait [ID|all]", 0, 1)
    jobs = find_jobs(magics, words[0] if words else ALL)
    if not jobs:
        print("Nothing to wait for.")
        return
    if notebook.wait_for(jobs, None, text_progress=True):
        for job in jobs:
            print(render.caption(job).splitlines()[1] if job.task_id else render.caption(job))


def do_history(magics, rest):
    parser = _sub_parser("history")
    parser.add_argument("n", nargs="?", type=int, default=20)
    parser.add_argument("--search", default=None)
    args = parser.parse_args(_words(rest, "history [N] [--search TEXT]", 0))
    if args.n < 1:
        raise UsageError("%imagine history N: N must be 1 or more")
    rt = magics.current_runtime()
    records = rt.store.list()
    if args.search:
        needle = args.search.lower()
        records = [r for r in records if needle in (r.prompt or "").lower()
                   or needle == (r.sref or "").lower()]
    if not records:
        print("No jobs in the history yet." if not args.search else
              f"No job matches {args.search!r}.")
        return
    for record in records[:args.n]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
        sref = f" sref {record.sref}" if record.sref else ""
        prompt = (record.prompt or "").replace("\n", " ")
        print(f"{when}  {record.task_id or record.job_id:<36}  {record.kind:<12} "
              f"{record.state:<9}{sref}  {prompt[:80]}")


def do_show(magics, rest):
    (ident,) = _words(rest, "show ID", 1, 1)
    job = job_from_record(magics, find_record(magics, ident))
    magics.presenter.present([job])


def do_resume(magics, rest):
    parser = _sub_parser("resume")
    parser.add_argument("--send-queued", action="store_true")
    args = parser.parse_args(_words(rest, "resume [--send-queued]", 0, 1))
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


def do_cancel(magics, rest):
    (ident,) = _words(rest, "cancel ID|all", 1, 1)
    jobs = find_jobs(magics, ident)
    for job in jobs:
        job.cancel()
    print(f"Stopped tracking {len(jobs)} job(s); the service may still finish them "
          "(`%imagine resume` tracks them again).")


def do_save(magics, rest):
    from ..images import SaveLocationError
    from ..saving import SaveTaskError, save_task

    words = _words(rest, "save ID [DIR]", 1, 2)
    directory = Path(words[1] if len(words) > 1 else magics.save_dir).expanduser().absolute()
    try:
        paths = save_task(magics.current_runtime(), words[0], directory)
    except (SaveTaskError, SaveLocationError) as error:
        raise UsageError(str(error)) from None
    except ApiframeError as error:
        raise UsageError(render.explain(error)) from None
    for path in paths:
        print(path)


def do_account(magics, rest):
    _words(rest, "account", 0, 0)
    rt = magics.current_runtime()
    try:
        account = rt.client.account()
    except ApiframeError as error:
        raise UsageError(render.explain(error)) from None
    where = " (offline simulator)" if rt.offline else ""
    print(f"credits: {account.credits} · plan: {account.plan} · images made: "
          f"{account.total_images}{where}")


def do_describe(magics, rest):
    (source,) = _words(rest, "describe URL|PATH", 1, 1)
    url = _image_url(magics, source)
    return _submit_one(magics, "describe", {"image_url": url}, f"describe {source}")


def do_blend(magics, rest):
    sources = _words(rest, "blend URL|PATH URL|PATH ... (2 to 5 images)", 2, 5)
    urls = [_image_url(magics, source) for source in sources]
    return _submit_one(magics, "blend", {"image_urls": urls}, "blend " + " ".join(sources))


def do_shorten(magics, rest):
    text = rest.strip()
    if not text:
        raise UsageError("usage: %imagine shorten PROMPT")
    try:
        submission.plan(text, default_version=magics.default_version or None, yes=True)
    except (PromptError, submission.NeedsConfirmation) as error:
        raise UsageError(_prompt_message(error) if isinstance(error, PromptError)
                         else str(error)) from None
    return _submit_one(magics, "shorten", {"prompt": text}, text)


def do_seed(magics, rest):
    (ident,) = _words(rest, "seed ID", 1, 1)
    record = find_record(magics, ident)
    if not record.task_id:
        raise UsageError(f"{ident}: that job was never sent, so it has no seed")
    return _submit_one(magics, "seed", {"task_id": record.task_id}, record.prompt)


def do_styles(magics, rest):
    from ..styles import name_style, styles_text, list_styles, unname_style

    words = _words(rest, "styles [name CODE NAME | unname NAME]", 0)
    rt = magics.current_runtime()
    try:
        if words[:1] == ["name"] and len(words) >= 3:
            slug = name_style(rt.store, words[1], " ".join(words[2:]))
            print(f"--sref @{slug} now means --sref {words[1]}")
            return
        if words[:1] == ["unname"] and len(words) == 2:
            print(f"{unname_style(rt.store, words[1])} has no name now")
            return
    except StyleNameError as error:
        raise UsageError(str(error)) from None
    if words:
        raise UsageError("usage: %imagine styles [name CODE NAME | unname NAME]")
    if magics.presenter.mode == "text":
        print(styles_text(list_styles(rt.store)))
    else:
        magics.presenter.show_styles(rt.store, rt.images)


def do_export(magics, rest):
    from ..static.export import ExportError, export_gallery

    parser = _sub_parser("export")
    parser.add_argument("directory")
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--since", default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(_words(rest, "export DIR [ID ...] [--since DATE] [--force]", 1))
    rt = magics.current_runtime()
    try:
        index = export_gallery(rt.store, rt.images, Path(args.directory).expanduser(),
                               ids=args.ids or None, since=args.since, force=args.force)
    except ExportError as error:
        raise UsageError(str(error)) from None
    print(f"Gallery written: {index.absolute()} (open it in any browser; no server needed)")


def do_config(magics, rest):
    _words(rest, "config", 0, 0)
    for name in sorted(magics.class_own_traits(config=True)):
        trait = magics.traits()[name]
        print(f"Imagine.{name:<16} = {getattr(magics, name)!r:<28} # {trait.help}")
    choice = magics.keys.current()
    print(f"API key: {'set, from ' + choice.source if choice.key else 'not set (offline simulator)'}")


def do_login(magics, rest):
    _words(rest, "login", 0, 0)
    key = getpass.getpass("APIFRAME API key (hidden; kept in this kernel only): ").strip()
    if not key:
        raise UsageError("no key typed; nothing changed")
    from ..client import ApiframeClient

    try:
        ApiframeClient(key, base_url=magics.base_url).close()
    except ApiframeError as error:
        raise UsageError(f"that key cannot be used: {render.explain(error)}") from None
    magics.keys.login(key)
    print("Key kept for this kernel (not written anywhere); the next %%imagine uses APIFRAME.")


def do_panel(magics, rest):
    _words(rest, "panel", 0, 0)
    if magics.presenter.mode != "widgets":
        raise UsageError("the prompt panel needs a notebook that renders widgets (JupyterLab, "
                         "Notebook 7, VS Code); here, use %%imagine cells")
    from IPython.display import display

    from ..widgets import ImaginePanel

    display(ImaginePanel(magics.ui_context()))


# ---------------------------------------------------------------------- helpers


def _sub_parser(name: str):
    return _Parser(prog=f"%imagine {name}", add_help=False)


def _should_wait_default(magics) -> bool:
    return _should_wait(magics, argparse.Namespace(wait=False, no_wait=False))


def _image_url(magics, source: str) -> str:
    """A URL as is; a local file or a variable uploaded first (uploads are free)."""
    (item,) = _image_prompts(magics, [source])
    if isinstance(item, str):
        return item
    rt = magics.current_runtime()
    try:
        return rt.client.upload(item)
    except ApiframeError as error:
        raise UsageError(f"{source}: {render.explain(error)}") from None


def _submit_one(magics, kind: str, payload: dict, prompt: str | None):
    rt = magics.current_runtime()
    try:
        job = rt.manager.submit(kind, payload, prompt=prompt)
    except ApiframeError as error:
        raise UsageError(render.explain(error)) from None
    return _present(magics, [job], group=False, wait=_should_wait_default(magics))

