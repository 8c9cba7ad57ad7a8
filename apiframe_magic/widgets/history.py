"""The panel's history list: find past jobs by prompt text or sref, and turn one back into a Job.

Reopening a record is the engine's `JobManager.reopen`, the same call `%imagine show` and `resume`
use, so every path agrees on what a reopened job carries (its result, its cached images, the live
job when this kernel has one).
"""
from __future__ import annotations

import time
from typing import Iterable

from ..errors import ApiframeError

PROMPT_PREVIEW_CHARS = 80
RECENT_WINDOW = 200   # newest records re-read after a submit (more than one prompt's jobs)


def matches(record, query: str) -> bool:
    """True when every word of `query` is in the record's prompt, sref or task id (any case)."""
    haystack = " ".join(part for part in (record.prompt, record.sref, record.task_id) if part)
    haystack = haystack.lower()
    return all(word in haystack for word in query.lower().split())


def search(records: Iterable, query: str, limit: int) -> list:
    """The first `limit` records that match `query` (all of them when it is blank)."""
    found = []
    for record in records:
        if matches(record, query):
            found.append(record)
            if len(found) >= limit:
                break
    return found


def label(record) -> str:
    """One line per record for a Select (plain text: the browser shows it as text, not HTML)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created_at))
    prompt = " ".join((record.prompt or "").split())
    if len(prompt) > PROMPT_PREVIEW_CHARS:
        prompt = prompt[:PROMPT_PREVIEW_CHARS - 1] + "…"
    sref = f" · sref {record.sref}" if record.sref else ""
    return f"{when} · {record.kind} · {record.state}{sref} · {prompt}"


def job_from_record(ctx, record):
    """The Job of a history record (see `JobManager.reopen`) on `ctx.manager`. ValueError with a
    message to show when the record cannot be reopened (e.g. not sent yet)."""
    try:
        return ctx.manager.reopen(record)
    except ApiframeError as error:
        raise ValueError(str(error)) from None
