"""`apiframe-magic`: the same engine from a terminal.

    apiframe-magic imagine "a sunflower field in the wind --ar 3:2"
    apiframe-magic fetch TASK_ID | save TASK_ID [DIR] | history | resume | account
    apiframe-magic export DIR [ID ...] [--since DATE] [--force]
    apiframe-magic simulator --port 8787

Without APIFRAME_API_KEY every command runs against the embedded offline simulator and says so.
Bad arguments are one line on stderr and exit code 2; nothing is started or sent.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from . import runtime, settings
from .argtypes import OneLineParser, at_least_one, positive_speed, whole_number
from .errors import ApiframeError, excerpt
from .images import ImageCache, ImageFileError, check_writable_dir
from .prompt import CURRENT_DEFAULT_VERSION, PromptError
from .redaction import printable, redact
from .saving import save_task
from .settings import CONFIRM_ENV, DEFAULT_CONFIRM_ABOVE, data_dir
from .simulator.command import DESCRIPTION as SIMULATOR_DESCRIPTION
from .simulator.command import add_options as add_simulator_options
from .simulator.command import serve as serve_simulator
from .static.export import check_export_dir, export_gallery, parse_since
from .submission import plan
from .words import progress_line, status_words

DEFAULT_OUT = "apiframe-images"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="apiframe-magic",
        description="Midjourney through APIFRAME's v1 API, or the offline simulator without a key.")
    parser.add_argument("--sim-speed", type=positive_speed, default=None, metavar="X",
                        help="clock speed of the embedded simulator (default 10, or "
                             "APIFRAME_SIM_SPEED: an imagine takes a few seconds)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    imagine = sub.add_parser("imagine", help="submit a prompt, wait, save the grid and 4 images")
    imagine.add_argument("prompt", help="the Midjourney prompt, parameters included")
    imagine.add_argument("-o", "--out", default=DEFAULT_OUT, metavar="DIR",
                         help=f"directory for the images, checked before anything is sent "
                              f"(default ./{DEFAULT_OUT})")
    imagine.add_argument("--max-jobs", type=at_least_one, default=40, metavar="N",
                         help="refuse prompts whose {a, b} permutations times --repeat make "
                              "more jobs than this (default 40)")
    imagine.add_argument("--version", default=None, metavar="V",
                         help="the Midjourney model your account uses (e.g. 7, 8.2, 'niji 6'): "
                              "version rules become errors. Without it the current default "
                              "model is assumed and version rules only warn")
    imagine.add_argument("--no-wait", action="store_true",
                         help="submit and print the task ids without waiting; jobs over "
                              "--max-in-flight stay queued in the history, unsent")
    imagine.add_argument("-y", "--yes", action="store_true",
                         help="with a real key, submit without asking even when the run is "
                              "larger than --confirm-above")
    imagine.add_argument("--confirm-above", type=whole_number(0), default=None, metavar="N",
                         help=f"with a real key, ask before submitting more than N jobs, "
                              f"saying the credits (default {DEFAULT_CONFIRM_ABOVE}, or "
                              f"{CONFIRM_ENV})")
    imagine.add_argument("--max-in-flight", type=at_least_one, default=None, metavar="N",
                         help="tasks sent and unfinished at once; the rest wait, queued in the "
                              "history (default 40)")

    fetch = sub.add_parser("fetch", help="show a task as the service reports it now")
    fetch.add_argument("task_id", help="the task id, as printed by imagine or history")
    fetch.add_argument("--json", action="store_true", help="print the raw JSON")

    save = sub.add_parser("save", help="save the images of a finished task (from the history "
                                       "and the image cache; downloads what is missing)")
    save.add_argument("task_id", help="the task id, or its first characters, from history")
    save.add_argument("directory", nargs="?", default=DEFAULT_OUT,
                      help=f"where to save the images (default ./{DEFAULT_OUT})")

    history = sub.add_parser("history", help="list submitted tasks, newest first")
    history.add_argument("-n", "--limit", type=at_least_one, default=20, metavar="N",
                         help="how many tasks to list (default 20)")

    resume = sub.add_parser("resume", help="wait for every unfinished task and save its images")
    resume.add_argument("-o", "--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"directory for the images (default ./{DEFAULT_OUT})")
    resume.add_argument("--send-queued", action="store_true",
                        help="also send the jobs that were queued and never sent (they cost "
                             "credits once sent); without it they are only listed")

    sub.add_parser("account", help="credits left and plan")

    export = sub.add_parser("export", help="write a static gallery (index.html + images) of "
                                           "the history, viewable from disk")
    export.add_argument("directory", help="where to write index.html and images/")
    export.add_argument("ids", nargs="*", metavar="ID",
                        help="job or task ids whose lineage trees to export (default: all)")
    export.add_argument("--since", default=None, metavar="DATE",
                        help="only trees started on or after DATE (YYYY-MM-DD[THH:MM])")
    export.add_argument("--force", action="store_true",
                        help="overwrite an index.html that is not an apiframe-magic gallery")

    cache = sub.add_parser("cache", help="the image cache's size; --prune makes it fit its limit")
    cache.add_argument("--prune", action="store_true",
                       help="delete the least recently used images until the cache fits its "
                            "limit (they are downloaded again when needed; saved copies stay)")
    cache.add_argument("--limit-mb", type=whole_number(0), default=None, metavar="MB",
                       help="the limit in MB (default $APIFRAME_MAGIC_CACHE_MB, else 4096)")

    simulator = sub.add_parser("simulator", help="serve the offline simulator over HTTP",
                               description=SIMULATOR_DESCRIPTION)
    add_simulator_options(simulator).set_defaults(simulator_parser=simulator)
    return parser


class _PrintableStream:
    """A text stream that passes everything through `printable`: the CLI prints the service's
    task ids, statuses, srefs, URLs and error texts, and none of them may carry a key or an
    escape sequence (a window title, a clear screen, an OSC 52 clipboard write) to the terminal.
    `unfiltered` is the stream itself, for the CLI's own line redraw."""

    def __init__(self, stream):
        self.unfiltered = stream

    def write(self, text: str) -> int:
        self.unfiltered.write(printable(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self.unfiltered, name)


def _printable_output(function):
    @functools.wraps(function)
    def with_printable_output(*args, **kwargs):
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = (_PrintableStream(stream) for stream in streams)
        try:
            return function(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = streams
    return with_printable_output


@_printable_output
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "simulator":
        return serve_simulator(args, args.simulator_parser)
    if args.command == "cache":  # the files only: no service, no simulator
        return _image_cache(args)
    try:  # bad input fails before anything is started, sent or written
        if args.command == "imagine":
            args.plan = _validated_plan(args.prompt, args.max_jobs, args.version)
            if args.confirm_above is None:
                args.confirm_above = settings.confirm_above()
        if args.command in ("imagine", "resume") and not getattr(args, "no_wait", False):
            check_writable_dir(args.out)
        if args.command == "export":
            check_export_dir(args.directory, force=args.force)
            parse_since(args.since)
        rt = runtime.start(sim_speed=args.sim_speed)
    except ApiframeError as exc:
        return _fail(exc, 2)
    if rt.offline:
        print(runtime.OFFLINE_NOTICE, file=sys.stderr)
    try:
        return COMMANDS[args.command](rt, args)
    except ApiframeError as exc:
        return _fail(exc, 1)
    except KeyboardInterrupt:
        rt.manager.shutdown()  # a submit under way finishes and is recorded first
        print("\ninterrupted: submitted tasks are in the history; `apiframe-magic resume` "
              "picks them up", file=sys.stderr)
        return 130
    finally:
        rt.manager.shutdown()
        _report_unsent(rt.manager.unsent())
        rt.close()


def _fail(exc: BaseException, code: int) -> int:
    """Print an error as one line on stderr, with any key in it redacted; return `code`."""
    print(f"error: {redact(' '.join(str(exc).split()))}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------- commands


def cmd_imagine(rt, args) -> int:
    if not confirm_spend(rt, args.plan.jobs, args.plan.credits, args.confirm_above, args.yes):
        return 2
    if args.max_in_flight is not None:
        rt.manager.policy.max_in_flight = args.max_in_flight
    jobs = rt.manager.imagine_all(prompts=args.plan.prompts)  # validated once; recorded, queued
    rt.manager.wait_submitted(jobs)
    refused = _report_submits(jobs)
    if args.no_wait:
        return 1 if refused or rt.manager.unsent() else 0
    _show_progress(jobs)
    return _save_results(rt, jobs, Path(args.out))


def cmd_fetch(rt, args) -> int:
    task = rt.client.fetch(args.task_id)
    if args.json:
        print(json.dumps(task.raw, indent=2, ensure_ascii=False))
        return 0
    pct = f" {task.percentage}%" if task.percentage is not None else ""
    print(f"{task.task_id}  {task.task_type or '?'}  {task.status}{pct}")
    for url in task.all_image_urls:
        print(f"  {url}")
    for line in task.content or ():
        print(f"  {line}")
    if task.sref:
        print(f"  sref: {task.sref}")
    if task.seed:
        print(f"  seed: {task.seed}")
    if task.error:
        print(f"  failed: {redact(task.error)}")
    return 0


def cmd_history(rt, args) -> int:
    records = rt.store.list(limit=args.limit)
    if not records:
        print("no tasks yet")
        return 0
    for r in records:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))
        pct = f" {r.percentage}%" if r.state == "active" and r.percentage is not None else ""
        sref = f"  sref {r.sref}" if r.sref else ""
        print(f"{when}  {r.task_id or '-':36}  {r.kind:12} {r.state}{pct}{sref}  "
              f"{excerpt(r.prompt or '', 60)}")
    return 0


def cmd_resume(rt, args) -> int:
    doubtful = rt.store.in_doubt()
    for r in doubtful:
        print(f"uncertain: a submit of {r.kind} {excerpt(r.prompt or '', 60)!r} may have "
              "created a task (check your APIFRAME dashboard; it is never resubmitted automatically)",
              file=sys.stderr)
    queued = rt.store.queued()
    if queued and not args.send_queued:
        print(f"{len(queued)} job(s) were asked for and never sent (nothing charged); "
              "`apiframe-magic resume --send-queued` sends them:", file=sys.stderr)
        for r in queued:
            print(f"  queued: {r.kind} {excerpt(r.prompt or '', 60)!r}", file=sys.stderr)
    jobs = rt.manager.resume(send_queued=args.send_queued)
    if not jobs:
        print("nothing to resume")
        return 0
    sending = [job for job in jobs if not job.task_id]
    tracked = len(jobs) - len(sending)
    print(", ".join(part for part in (
        f"resuming {tracked} task(s)" if tracked else "",
        f"sending {len(sending)} queued job(s)" if sending else "") if part), file=sys.stderr)
    if sending:
        rt.manager.wait_submitted(sending)
        _report_submits(sending)
    _show_progress(jobs)
    return _save_results(rt, jobs, Path(args.out))


def cmd_save(rt, args) -> int:
    for path in save_task(rt, args.task_id, args.directory):
        print(path)
    return 0


def cmd_account(rt, args) -> int:
    account = rt.client.account()
    print(f"credits: {account.credits}  plan: {account.plan}  images: {account.total_images}"
          + (f"  email: {account.email}" if account.email else ""))
    return 0


def cmd_export(rt, args) -> int:
    index = export_gallery(rt.store, rt.images, args.directory, ids=args.ids or None,
                           since=args.since, force=args.force)
    print(f"gallery written: {index} (open it in a browser; no server needed)")
    return 0


COMMANDS = {"imagine": cmd_imagine, "fetch": cmd_fetch, "save": cmd_save,
            "history": cmd_history, "resume": cmd_resume, "account": cmd_account,
            "export": cmd_export}


# ---------------------------------------------------------------------------- helpers


def _validated_plan(text: str, max_jobs: int, version: str | None = None):
    """The run `text` makes (`submission.plan`: permutations validated, jobs and credits counted),
    its warnings printed once each.

    A `version` the user names makes version rules errors; otherwise Midjourney's current default
    model is assumed and they only warn."""
    try:
        run = plan(text, version=version, default_version=CURRENT_DEFAULT_VERSION, yes=True,
                   max_jobs=max_jobs)
    except PromptError as exc:
        raise ApiframeError(f"invalid prompt: {exc}") from None
    for warning in run.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return run


def _report_submits(jobs) -> int:
    """One line per job that went out or was refused; returns how many were refused."""
    refused = 0
    for job in jobs:
        if job.task_id:
            print(f"submitted {job.task_id}: {job.prompt}", file=sys.stderr)
        elif job.state in ("rejected", "uncertain"):
            refused += 1
            word = "not submitted" if job.state == "rejected" else "uncertain"
            print(f"{word}: {job.prompt}: {job.error}", file=sys.stderr)
    waiting = sum(job.state == "queued" for job in jobs)
    if waiting:
        print(f"queued: {waiting} job(s) wait for a free slot (recorded in the history, not sent "
              "yet, nothing charged)", file=sys.stderr)
    return refused


def _report_unsent(jobs) -> None:
    """Say which jobs were never sent, at exit or after Ctrl-C."""
    if not jobs:
        return
    print(f"never sent: {len(jobs)} job(s), kept queued in the history (nothing charged); "
          "`apiframe-magic resume --send-queued` sends them:", file=sys.stderr)
    for job in jobs:
        print(f"  {job.prompt or job.kind}", file=sys.stderr)


def confirm_spend(rt, jobs: int, credits: int, confirm_above: int, yes: bool, *,
                  stream=None) -> bool:
    """With a real key, a run of more than `confirm_above` jobs goes ahead only after a yes
    (`--yes`, or an answer on a terminal), told what it costs. Offline runs cost nothing."""
    stream = stream or sys.stderr
    if rt.offline or yes or jobs <= confirm_above:
        return True
    what = f"{jobs} tasks for {credits} credits on your APIFRAME account"
    if sys.stdin is None or not sys.stdin.isatty():
        print(f"error: this would submit {what}; add --yes to go ahead (asking above "
              f"{confirm_above} tasks: --confirm-above or {CONFIRM_ENV})", file=stream)
        return False
    stream.write(f"Submit {what}? [y/N] ")
    stream.flush()
    try:
        answer = sys.stdin.readline().strip().lower()
    except KeyboardInterrupt:
        answer = ""
    if answer in ("y", "yes"):
        return True
    print("nothing submitted", file=stream)
    return False


def _show_progress(jobs, stream=None) -> None:
    """One line redrawn in place on a terminal; one line per change elsewhere."""
    stream = stream or sys.stderr
    tty = stream.isatty()
    last = None
    while True:
        line = progress_line(jobs)
        if line != last:
            if tty:   # back to the start of the line and clear it: no text of the service
                getattr(stream, "unfiltered", stream).write("\r\033[K")
            stream.write(line if tty else line + "\n")
            stream.flush()
            last = line
        if all(job.done for job in jobs):
            break
        time.sleep(0.1)
    if tty:
        stream.write("\n")
    for job in jobs:
        if job.state == "finished":
            job.wait(images=True)


def _save_results(rt, jobs, out: Path) -> int:
    failures = 0
    for job in jobs:
        if job.state != "finished":
            failures += 1
            print(f"{job.task_id or job.kind}: {status_words(job)}", file=sys.stderr)
            continue
        if not job.image_paths:
            print(f"{job.task_id}: the images could not be downloaded "
                  f"({redact('; '.join(rt.manager.errors[-1:])) or 'unknown error'}); try "
                  f"`apiframe-magic save {job.task_id} {out}` later", file=sys.stderr)
            failures += 1
            continue
        try:
            saved = rt.images.save(job.task_id, job.image_paths, out)
        except ImageFileError as exc:
            print(f"{job.task_id}: {redact(str(exc))} The task is finished and in the history: "
                  f"`apiframe-magic save {job.task_id} DIR` saves it later.", file=sys.stderr)
            failures += 1
            continue
        print(f"{job.task_id}  {job.prompt}")
        for path in saved:
            print(f"  {path}")
        if job.sref:
            print(f"  sref: {job.sref}   (reuse the style: --sref {job.sref})")
    return 1 if failures else 0


def _image_cache(args) -> int:
    try:
        with ImageCache(data_dir() / "images") as cache:
            limit = cache.limit_mb if args.limit_mb is None else args.limit_mb
            if args.prune:
                print(f"removed {cache.prune(limit)}")
            print(f"image cache {cache.cache_dir}: {cache.usage()} (limit {limit} MB)")
    except ApiframeError as exc:
        return _fail(exc, 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
