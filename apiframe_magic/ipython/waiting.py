"""Waiting from the magic for what a job will have: the values `{{job.attr}}` reads in a line or a
cell, and the job `show` or `save` names while it runs.

A job's value that only a sent or an ended job has (its task id; its result, sref, seed, images,
prompts) is waited for with the presenter's progress, then read; every other attribute is read at
once, as it is from Python. Ctrl-C stops the waiting in one line, never the job, and the command
that needed the value sends nothing. A value still missing once the job ended is a one-line
UsageError that says why.
"""
from __future__ import annotations

from IPython.core.error import UsageError

from ..errors import StoppedWaiting

# Attributes a job has once it was sent; attributes it has once it ended (and its images landed).
SENT_VALUES = frozenset({"task_id"})
ENDED_VALUES = frozenset({"result", "sref", "seed", "image_paths", "prompts", "finished_at"})

# Why a finished job has no such value.
_WHY_MISSING = {
    "sref": "the prompt had no --sref random (only that makes the service give a code)",
    "seed": "the service gave none (`%imagine seed ID` asks for it)",
    "image_paths": "it has no images",
    "prompts": "only a describe or a shorten job suggests prompts",
}


def reader(presenter):
    """`read(obj, attribute, name)` for `grammar.expand_variables`: a job's value waited for, and
    a missing one (of the job or of its result) said instead of written as "None"."""

    def read(obj, attribute: str, name: str):
        from ..jobs import Job   # only once a line names an attribute: the engine is in use
        from ..models import Task

        if isinstance(obj, Task):       # `fox.result.seed`: what the service said, or nothing
            value = getattr(obj, attribute)
            if value is None:
                raise UsageError(f"{name} has no {attribute}: "
                                 f"{_WHY_MISSING.get(attribute, 'the service gave none')}")
            return value
        if (not isinstance(obj, Job) or attribute not in SENT_VALUES | ENDED_VALUES
                or not (hasattr(type(obj), attribute) or attribute in vars(obj))):
            return getattr(obj, attribute)
        wait_for_value(presenter, obj, attribute)
        value = getattr(obj, attribute)
        if value is None or (attribute in ENDED_VALUES and not value):
            raise UsageError(f"{name} has no {attribute}: {_why_missing(obj, attribute)}")
        return value

    return read


def wait_for_value(presenter, job, attribute: str) -> None:
    """Block until `job` has `attribute` (or can never have it), with the presenter's progress."""
    if attribute in SENT_VALUES:
        if job.task_id or job.done:
            return
        if job.parent is not None and not job.parent.done:   # a follow-up goes out after it
            wait_until_ended(presenter, [job.parent])
        try:
            job.manager.wait_submitted([job])
        except KeyboardInterrupt:
            raise UsageError(str(StoppedWaiting())) from None
        if job.task_id or job.done:
            return
    if not job.images_event.is_set():    # ended, images on disk (at once without images)
        wait_until_ended(presenter, [job])


def wait_until_ended(presenter, jobs) -> None:
    """Wait for `jobs` to end with their images; Ctrl-C: one line, the jobs go on."""
    if not presenter.wait(jobs):
        raise UsageError(str(StoppedWaiting(len(jobs))))


def _why_missing(job, attribute: str) -> str:
    from ..words import failure_words

    if job.state != "finished":
        return failure_words(job)
    if attribute == "sref" and "--sref" in (job.prompt or ""):
        return "the service gave no code for it"
    return _WHY_MISSING.get(attribute, "the service gave none")
