"""`apiframe-magic`: the same engine from a terminal.

    apiframe-magic imagine "a sunflower field in the wind --ar 3:2"
    apiframe-magic fetch TASK_ID | history | resume | account | simulator --port 8787

Without APIFRAME_API_KEY every command runs against the embedded offline simulator and says so.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .client import excerpt
from .errors import ApiframeError

DEFAULT_OUT = "apiframe-images"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="apiframe-magic",
        description="Midjourney through APIFRAME's v1 API, or the offline simulator without a key.")
    parser.add_argument("--sim-speed", type=float, default=None,
                        help="clock speed of the embedded simulator (default 10: an imagine "
                             "takes a few seconds)")
    sub = parser.add_subparsers(dest="command", required=True)

    imagine = sub.add_parser("imagine", help="submit a prompt, wait, save the grid and 4 images")
    imagine.add_argument("prompt", help="the Midjourney prompt, parameters included")
    imagine.add_argument("-o", "--out", default=DEFAULT_OUT,
                         help=f"directory for the images (default ./{DEFAULT_OUT})")
    imagine.add_argument("--max-jobs", type=int, default=40,
                         help="refuse {a, b} permutations that make more jobs than this")
    imagine.add_argument("--no-wait", action="store_true",
                         help="submit and print the task ids without waiting")

    fetch = sub.add_parser("fetch", help="show a task as the service reports it now")
    fetch.add_argument("task_id")
    fetch.add_argument("--json", action="store_true", help="print the raw JSON")

    history = sub.add_parser("history", help="list submitted tasks, newest first")
    history.add_argument("-n", "--limit", type=int, default=20)

    resume = sub.add_parser("resume", help="wait for every unfinished task and save its images")
    resume.add_argument("-o", "--out", default=DEFAULT_OUT)

    sub.add_parser("account", help="credits left and plan")

    simulator = sub.add_parser("simulator", help="serve the offline simulator over HTTP")
    simulator.add_argument("--port", type=int, default=8787)
    simulator.add_argument("--speed", type=float, default=1.0)
    simulator.add_argument("--api-key", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "simulator":
        return _serve_simulator(args)
    from . import runtime

    if args.command == "imagine":  # bad input fails before anything is started or written
        prompts = _validated_prompts(args.prompt, args.max_jobs)
        if prompts is None:
            return 2
        args.prompts = prompts
    try:
        rt = runtime.start(sim_speed=args.sim_speed)
    except ApiframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if rt.offline:
        print(runtime.OFFLINE_NOTICE, file=sys.stderr)
    try:
        return COMMANDS[args.command](rt, args)
    except ApiframeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: submitted tasks are in the history; `apiframe-magic resume` "
              "picks them up", file=sys.stderr)
        return 130
    finally:
        rt.close()


# ---------------------------------------------------------------------------- commands


def cmd_imagine(rt, args) -> int:
    jobs = []
    for text, aspect in args.prompts:
        job = rt.manager.imagine(text, aspect_ratio=aspect)
        print(f"submitted {job.task_id or '(queued)'}: {text}", file=sys.stderr)
        jobs.append(job)
    if args.no_wait:
        return 0
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
        print(f"  failed: {task.error}")
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
    jobs = rt.manager.resume()
    if not jobs:
        print("nothing to resume")
        return 0
    print(f"resuming {len(jobs)} task(s)", file=sys.stderr)
    _show_progress(jobs)
    return _save_results(rt, jobs, Path(args.out))


def cmd_account(rt, args) -> int:
    account = rt.client.account()
    print(f"credits: {account.credits}  plan: {account.plan}  images: {account.total_images}"
          + (f"  email: {account.email}" if account.email else ""))
    return 0


COMMANDS = {"imagine": cmd_imagine, "fetch": cmd_fetch, "history": cmd_history,
            "resume": cmd_resume, "account": cmd_account}


# ---------------------------------------------------------------------------- helpers


def _validated_prompts(text: str, max_jobs: int) -> list[tuple[str, str | None]] | None:
    """Expand permutations and validate each job; (prompt, aspect_ratio) pairs, or None."""
    from .prompt import PromptError, validate

    try:
        prompts = validate(text, max_jobs=max_jobs)
    except PromptError as exc:
        print(f"invalid prompt: {exc}", file=sys.stderr)
        return None
    for prompt in prompts:
        for warning in prompt.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return [(str(p), p.aspect_ratio) for p in prompts]


def _show_progress(jobs, stream=None) -> None:
    """One line redrawn in place on a terminal; one line per change elsewhere."""
    stream = stream or sys.stderr
    tty = stream.isatty()
    last = None
    while True:
        line = _progress_line(jobs)
        if line != last:
            stream.write(("\r\033[K" + line) if tty else line + "\n")
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


def _progress_line(jobs, width: int = 30) -> str:
    if len(jobs) == 1:
        job = jobs[0]
        pct = job.percentage or (100 if job.state == "finished" else 0)
        status = job.status if not job.done else job.state
    else:
        pct = sum((j.percentage or 0) if not j.done else 100 for j in jobs) // len(jobs)
        done = sum(j.done for j in jobs)
        status = f"{done}/{len(jobs)} done"
    filled = width * pct // 100
    return f"[{'#' * filled}{'-' * (width - filled)}] {pct:3d}% {status}"


def _save_results(rt, jobs, out: Path) -> int:
    failures = 0
    for job in jobs:
        if job.state != "finished":
            failures += 1
            print(f"{job.task_id or job.kind}: {job.error}", file=sys.stderr)
            continue
        if not job.image_paths:
            print(f"{job.task_id}: the images could not be downloaded "
                  f"({'; '.join(rt.manager.errors[-1:]) or 'unknown error'})", file=sys.stderr)
            failures += 1
            continue
        saved = rt.images.save(job.task_id, job.image_paths, out)
        print(f"{job.task_id}  {job.prompt}")
        for path in saved:
            print(f"  {path}")
        if job.sref:
            print(f"  sref: {job.sref}   (reuse the style: --sref {job.sref})")
    return 1 if failures else 0


def _serve_simulator(args) -> int:
    from .simulator.__main__ import main as simulator_main

    argv = ["--port", str(args.port), "--speed", str(args.speed)]
    if args.api_key:
        argv += ["--api-key", args.api_key]
    return simulator_main(argv) or 0


if __name__ == "__main__":
    sys.exit(main())
