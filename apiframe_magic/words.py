"""A job's state and failure in words: the one vocabulary of the live view, the static twin's
caption, the terminal progress line, `%imagine jobs` and the CLI.

A vocabulary leaf (it imports only `errors` and `redaction`): pure functions of a job, read by
its public fields (`state`, `status`, `percentage`, `error`, `seconds`, `notice`), so every face
says the same thing about the same state. The states are `jobs`' own names, written out here.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import (
    ApiConnectionError,
    ApiframeError,
    AuthenticationError,
    BadRequestError,
    JobCancelledError,
    JobTimeoutError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    TaskNotFoundError,
)
from .redaction import printable, redact

# Where each service status puts the bar, and its words; "processing" runs from 0.2 to 0.95.
# The bar only moves forward along a job's life: queued 0.02, sending 0.05, sent 0.08, then these.
SERVICE_STEPS = {
    "staged": (0.10, "Staged: the service accepted the task and will queue it"),
    "pending": (0.15, "Pending: waiting for a Midjourney slot"),
    "retry": (0.15, "Retrying on the service"),
    "retrying": (0.15, "Retrying on the service"),
    "starting": (0.20, "Starting"),
    "finished": (0.95, "Finished on the service: collecting the result"),
    "failed": (0.95, "Failed on the service: reading why"),
}
PAUSED_WORDS = ("Paused: polling stopped because the API key was rejected; the task goes on at "
                "the service, and Resume picks it up once the key works.")


@dataclass(frozen=True)
class Progress:
    """Where a job stands: a fraction for a progress bar and the sentence that says it."""

    fraction: float          # 0..1
    words: str               # plain text
    bar_style: str = ""      # "", "success" or "danger"
    failed: bool = False


def describe(job, *, percentage: bool = True) -> Progress:
    """Where `job` stands, in words a person at the notebook understands; `percentage=False`
    leaves the percentage out of the words for a caller whose bar already shows it."""
    state = job.state
    if state == "queued":
        limit = getattr(getattr(getattr(job, "manager", None), "policy", None), "max_in_flight",
                        None)
        slots = f" ({limit} jobs run at once)" if limit else ""
        return Progress(0.02, f"Queued here: waits for a free slot{slots}")
    if state == "waiting":
        return Progress(0.02, "Waits for the job it follows to finish (not sent yet)")
    if state == "submitting":
        return Progress(0.05, "Sending to the service")
    if state == "active":
        if not job.status:   # sent; the service has not said where the task stands yet
            return Progress(0.08, "Sent: waiting for the service's first answer")
        status = job.status.lower()
        if status == "processing":
            words = f"Processing {job.percentage or 0}%" if percentage else "Processing"
            return Progress(_processing_fraction(job.percentage or 0), words)
        fraction, words = SERVICE_STEPS.get(status, (0.15, f"Service status: {status}"))
        return Progress(fraction, words)
    if state == "finished":
        return Progress(1.0, f"Finished in {duration(job.seconds)}", "success")
    if state == "paused":
        return Progress(_fraction_so_far(job), PAUSED_WORDS, "warning")
    return Progress(_fraction_so_far(job), failure_words(job), "danger", failed=True)


def status_words(job, *, percentage: bool = True) -> str:
    """`describe(job).words`, with the current trouble (`job.notice`) while the job runs: the
    line of the caption, `%imagine jobs`, the CLI and the progress line."""
    words = describe(job, percentage=percentage).words
    notice = getattr(job, "notice", None)
    words = f"{words} ({notice})" if notice and not job.done else words
    return printable(words)   # an unknown status is the service's text, shown as it came


def failure_words(job) -> str:
    """Why a job ended without a result, and what to do about it."""
    error, state = job.error, job.state
    reason = _message(error) if error is not None else "no reason given"
    if state == "timed_out":
        return (f"Timed out: no result after {duration(job.seconds)}. The task may still finish "
                "on the service: Resume (the button, or `%imagine resume`) keeps waiting.")
    if state == "cancelled":
        return ("Cancelled here. The service has no cancel, so the task may still finish (and "
                "cost credits): Resume follows it again.")
    if state == "uncertain":
        return (f"Uncertain whether the service received it: {reason}. Look at the history "
                "(`%imagine history`) before sending it again, so it is not paid twice.")
    if state == "rejected":
        return f"Not sent: {explain(error)} Nothing was created or charged."
    if isinstance(error, TaskNotFoundError):
        return f"Failed: the service no longer knows this task ({reason})."
    if isinstance(error, TaskFailedError):
        why = error.reason or "no reason given"
        return (f"Failed: Midjourney could not complete it: {why}. Change the prompt (words "
                "the moderation rejects, unreachable image links) and submit again; nothing "
                "more is charged for this task.")
    return f"Failed: {explain(error)}"


def explain(error: BaseException | None) -> str:
    """One line: what went wrong and what to do about it (the key redacted)."""
    if error is None:
        return "ended without a result."
    message = _message(error).rstrip(".")
    if isinstance(error, AuthenticationError):
        return (f"{message}. Set a valid key in APIFRAME_API_KEY, a .env file beside the "
                "notebook, or with %imagine login.")
    if isinstance(error, TaskFailedError):
        return f"{message}. Change the prompt and run it again (nothing more is charged)."
    if isinstance(error, RateLimitError):
        return f"{message}. The service is busy: wait a little and run it again."
    if isinstance(error, BadRequestError):
        return f"{message}. Fix the request and run it again."
    if isinstance(error, (ApiConnectionError, ServerError)):
        if getattr(error, "maybe_created", False):
            return (f"{message}. The task may have been created: check `%imagine history` "
                    "before running it again.")
        return f"{message}. Run it again when the service is back."
    if isinstance(error, (JobTimeoutError, JobCancelledError, ApiframeError)):
        return f"{message}."
    return f"{type(error).__name__}: {message}."


def progress_line(jobs, width: int = 30) -> str:
    """`[#####-----]  40% Processing` for one job; an average and a count for several."""
    if len(jobs) == 1:
        job = jobs[0]
        percent = 100 if job.state == "finished" else (job.percentage or 0)
        words = status_words(job, percentage=False)   # the bar says the percentage
    else:
        percent = sum(100 if j.done else (j.percentage or 0) for j in jobs) // len(jobs)
        queued = sum(j.state == "queued" for j in jobs)
        words = (f"{sum(j.done for j in jobs)}/{len(jobs)} done"
                 + (f", {queued} queued" if queued else ""))
        notice = next((j.notice for j in jobs if getattr(j, "notice", None) and not j.done),
                      None)
        words += f" ({notice})" if notice else ""
    filled = width * percent // 100
    return f"[{'#' * filled}{'-' * (width - filled)}] {percent:3d}% {words}"


def duration(seconds: float) -> str:
    """`4.2 s`, `38 s`, `1 min 15 s`."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def _message(error: BaseException) -> str:
    text = redact(str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _processing_fraction(percentage: int) -> float:
    return 0.2 + 0.75 * percentage / 100


def _fraction_so_far(job) -> float:
    if job.status == "processing" and job.percentage is not None:
        return _processing_fraction(job.percentage)
    return SERVICE_STEPS.get((job.status or "").lower(), (0.05, ""))[0]
