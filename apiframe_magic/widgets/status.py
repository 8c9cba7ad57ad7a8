"""A job's state in words, as a fraction for the progress bar, and what to do when it went wrong.

Pure functions of a `jobs.Job`, so the view's status line and any text output say the same thing.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import jobs
from ..errors import (
    AuthenticationError,
    RateLimitError,
    TaskFailedError,
    TaskNotFoundError,
)

# Where each service status puts the bar; "processing" then runs from 0.2 to 0.95 by percentage.
_SERVICE_STEPS = {
    "staged": (0.10, "Staged: the service accepted the task and will queue it"),
    "pending": (0.15, "Pending: waiting for a Midjourney slot"),
    "retry": (0.15, "Retrying on the service"),
    "retrying": (0.15, "Retrying on the service"),
    "starting": (0.20, "Starting"),
    "finished": (0.95, "Finished on the service: collecting the result"),
    "failed": (0.95, "The service reports a failure"),
}

_ACTION_TITLES = {
    "imagine": "Imagine", "reroll": "Reroll", "blend": "Blend", "inpaint": "Vary (Region)",
    "upscale-highres": "Upscale", "faceswap": "Face swap", "describe": "Describe",
    "shorten": "Shorten", "seed": "Seed", "imagine-video": "Video",
    "imagine-video-extend": "Video extend",
}


@dataclass(frozen=True)
class Progress:
    fraction: float          # 0..1 for a FloatProgress
    words: str               # the status line, plain text
    bar_style: str = ""      # "", "success", "danger" or "warning"
    failed: bool = False


def describe(job) -> Progress:
    """Where `job` stands, in words a person at the notebook understands."""
    state = job.state
    if state == jobs.QUEUED:
        limit = getattr(getattr(job.manager, "policy", None), "max_in_flight", None)
        slots = f" ({limit} jobs run at once)" if limit else ""
        return Progress(0.02, f"Queued here: waits for a free slot{slots}")
    if state == jobs.WAITING:
        return Progress(0.02, "Waits for the job it follows to finish (not sent yet)")
    if state == jobs.SUBMITTING:
        return Progress(0.05, "Sending to the service")
    if state == jobs.ACTIVE:
        return _active(job)
    if state == jobs.FINISHED:
        return Progress(1.0, f"Finished in {_duration(job.seconds)}", "success")
    return Progress(_fraction_so_far(job), failure_words(job), "danger", failed=True)


def _active(job) -> Progress:
    status = (job.status or "pending").lower()
    if status == "processing":
        percentage = job.percentage or 0
        return Progress(0.2 + 0.75 * percentage / 100, f"Processing {percentage}%")
    fraction, words = _SERVICE_STEPS.get(status, (0.15, f"Service status: {status}"))
    return Progress(fraction, words)


def _fraction_so_far(job) -> float:
    if job.status == "processing" and job.percentage is not None:
        return 0.2 + 0.75 * job.percentage / 100
    return _SERVICE_STEPS.get((job.status or "").lower(), (0.05, ""))[0]


def failure_words(job) -> str:
    """Why a job ended without a result, and what to do about it."""
    error, state = job.error, job.state
    reason = str(error) if error is not None else "no reason given"
    if state == jobs.TIMED_OUT:
        return (f"No result after {_duration(job.seconds)}. The task may still finish on the "
                "service: click Resume to keep waiting.")
    if state == jobs.CANCELLED:
        return ("Cancelled here. The service has no cancel, so the task may still finish (and "
                "cost credits): click Resume to follow it again.")
    if state == jobs.UNCERTAIN:
        return (f"Unknown whether the service received it: {reason}. Look at the history "
                "(`%imagine jobs`) before sending it again, so it is not paid twice.")
    if state == jobs.REJECTED:
        return f"Not sent: {reason}. Nothing was created or charged. {_hint(error)}".rstrip()
    if isinstance(error, TaskNotFoundError):
        return f"Failed: the service no longer knows this task ({reason})."
    if isinstance(error, TaskFailedError):
        why = error.reason or "no reason given"
        return (f"Failed: Midjourney could not complete it: {why}. Change the prompt (words "
                "the moderation rejects, unreachable image links) and submit again.")
    return f"Failed: {reason}. {_hint(error)}".rstrip()


def _hint(error) -> str:
    if isinstance(error, AuthenticationError):
        return "Check APIFRAME_API_KEY (the key is wrong, revoked or missing)."
    if isinstance(error, RateLimitError):
        return "The service is busy: wait a moment and try again."
    return "Fix what the message says and try again."


def action_title(job) -> str:
    """What a job does, as its button said: "Upscale (U2)", "Pan left", "Zoom Out 1.5x"."""
    payload, kind = job.payload or {}, job.kind
    index = str(payload.get("index", ""))
    if kind == "upscale-1x":
        return f"Upscale (U{index})"
    if kind == "variations":
        return f"Vary ({index.title()})" if index in ("strong", "subtle") else f"Variations (V{index})"
    if kind == "upscale-alt":
        return f"Upscale ({str(payload.get('type', '')).title()})"
    if kind == "upscale-highres":
        return f"Upscale {payload.get('type', '')}".strip()
    if kind == "pan":
        return f"Pan {payload.get('direction', '')}".strip()
    if kind == "outpaint":
        ratio = payload.get("zoom_ratio")
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            return "Zoom Out"
        return "Make Square" if ratio == 1 else f"Zoom Out {ratio:g}x"
    return _ACTION_TITLES.get(kind, kind)


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
