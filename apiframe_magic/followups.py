"""Follow-ups: jobs made from another job (upscale, vary, reroll, pan, zoom, a describe's or
shorten's `imagine(i)`).

Asked of a parent that has a result (or may have one at the service), a follow-up is sent at once.
Asked of a parent still running, it returns at once in the state `waiting`: recorded `queued` on
disk, and queued for sending when the parent finishes, its request completed then (the parent's
task id, or the suggestion's prompt). When the parent ends without a result the follow-up ends
`failed` with the parent's reason in words (`paused` with it after a rejected key).
"""
from __future__ import annotations

from typing import Any, Mapping

from .describe import suggested_prompts
from .errors import ApiframeError, TaskFailedError
from .prompt import parse_prompt
from .states import FINISHED, PARENT_MAY_HAVE_RESULT, PAUSED, WAITING
from . import notices

# Jobs whose result is text: how many prompts they suggest to imagine from.
SUGGESTING = {"describe": 4, "shorten": 3}


class FollowUps:
    """The follow-ups of one `jobs.JobManager` that wait for their parent; shares its lock."""

    def __init__(self, manager):
        self.manager = manager
        self._waiting: list = []    # jobs in the state WAITING, oldest first

    def ask(self, parent, kind: str, payload: Mapping[str, Any], *,
            suggestion: int | None = None):
        """A job made from `parent` (`suggestion` n: imagine the describe's n-th prompt): sent
        now when the parent may have a result, else returned at once as `waiting`."""
        manager = self.manager
        params = {"suggestion": suggestion} if suggestion is not None else parent.params
        # a remixed reroll or variation carries its own prompt
        prompt = None if suggestion is not None else payload.get("prompt") or parent.prompt
        with manager._lock:
            ready = parent.state in PARENT_MAY_HAVE_RESULT and parent.task_id
            if parent.done and not ready:
                raise ApiframeError(f"{parent!r} has nothing to follow up: "
                                    f"{parent_failure(parent)}")
            if not ready:
                job = manager._new_job(kind, dict(payload), parent=parent, prompt=prompt,
                                       params=params)
                manager._record_unsent([job])
                job.state = WAITING
                manager.jobs.append(job)
                self._waiting.append(job)
                manager.spend.add(job)   # counts as spent; cancelled before it is sent, it doesn't
                return job
        if suggestion is not None:
            prompt, aspect_ratio = suggested(parent, suggestion)
            return manager.imagine(prompt, aspect_ratio=aspect_ratio)
        return manager.submit(kind, {"parent_task_id": parent.task_id, **payload}, parent=parent,
                              prompt=prompt, params=params)

    def of(self, parent) -> list:
        """The follow-ups waiting for `parent` (caller locks)."""
        return [job for job in self._waiting if job.parent is parent]

    def drop(self, job) -> None:
        """`job` will not be sent (cancelled): stop waiting for its parent (caller locks)."""
        if job in self._waiting:
            self._waiting.remove(job)

    def wait_or_queue(self, job, *, has_parent: bool) -> None:
        """An unsent job taken up again (caller locks): a follow-up whose request still needs
        its parent waits for it (or ends when it cannot have one); any other is queued."""
        needs_parent = has_parent and "parent_task_id" not in job.payload and (
            job.kind != "imagine" or "prompt" not in job.payload)
        if not needs_parent:
            self.manager._queue_for_sending(job)
            return
        job.state = WAITING
        self._waiting.append(job)
        if job.parent is None or job.parent.done:
            self.release(job)

    def release(self, job) -> None:
        """The parent of a waiting follow-up has ended: queue the follow-up to be sent, or end it
        with the parent's failure in words (paused with it after a rejected key)."""
        manager, parent = self.manager, job.parent
        with manager._lock:
            if job.state != WAITING:
                return
            self._waiting.remove(job)
            failure = parent_failure(parent) if parent is not None else (
                "its parent is not in the history")
            if parent is not None and parent.state == FINISHED:
                try:
                    job.payload = sendable(job)
                except ValueError as error:
                    failure = str(error)
                else:
                    manager._queue_for_sending(job)
                    return
        if parent is not None and parent.state == PAUSED:
            job.notice = notices.NOT_SENT_PAUSED
            manager._end(job, PAUSED, error=parent.error)
            return
        reason = getattr(getattr(parent, "error", None), "reason", None)
        manager._fail(job, TaskFailedError(f"not sent: {failure}", reason=reason or failure))


def sendable(job) -> dict:
    """The request body of a follow-up, from its finished parent (ValueError if none); a
    suggestion's prompt becomes the job's prompt."""
    suggestion = job.params.get("suggestion") if job.kind == "imagine" else None
    if suggestion is None:
        return {**job.payload, "parent_task_id": job.parent.task_id}
    prompt, aspect_ratio = suggested(job.parent, suggestion)
    job.prompt = prompt
    return {k: v for k, v in {**job.payload, "prompt": prompt,
                              "aspect_ratio": aspect_ratio}.items() if v is not None}


def suggestions(job) -> list[str]:
    """The prompts a finished describe or shorten suggests, without their bullets."""
    return suggested_prompts(job.result.content if job.result is not None else None)


def suggested(parent, number: int) -> tuple[str, str | None]:
    """(prompt, aspect ratio) of suggestion `number` of a finished describe/shorten, validated
    (ValueError, a PromptError included, when it cannot be imagined)."""
    offered = suggestions(parent)
    if not 1 <= number <= len(offered):
        raise ValueError(f"{parent!r} suggests {len(offered)} prompt(s), not a number {number}")
    parsed = parse_prompt(offered[number - 1])
    return str(parsed), parsed.aspect_ratio


def parent_failure(parent) -> str:
    """Why a parent has no result, in words."""
    what = f"{parent.kind} {parent.task_id or parent.job_id or ''}".strip()
    reason = getattr(parent.error, "reason", None) or (str(parent.error) if parent.error else "")
    return f"its parent {what} ended {parent.state}" + (f": {reason}" if reason else "")
