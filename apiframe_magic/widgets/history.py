"""The panel's history list: find past jobs by prompt text or sref, and turn one back into a Job.

Rebuilding a Job from its record is what `%imagine show` already does (`commands.job_from_record`);
the panel reuses it through a two-method adapter instead of a second copy, so both paths agree on
what a reopened job carries (its result, its cached images, a live job when this kernel has one).
"""
from __future__ import annotations

import time
from typing import Iterable

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


class _ContextAsMagics:
    """What `commands.job_from_record` asks of the magics, answered from a UiContext."""

    def __init__(self, ctx):
        self._ctx = ctx

    def current_runtime(self):
        return self._ctx                      # has .manager, .store and .images, as a Runtime

    def all_jobs(self) -> list:
        return list(self._ctx.manager.jobs)


def job_from_record(ctx, record):
    """The Job of a history record: the live one if this kernel tracks it, else a finished Job
    rebuilt from disk (result and cached images) on `ctx.manager`. ValueError with a message to
    show when the record cannot be reopened (e.g. still running in another kernel)."""
    from IPython.core.error import UsageError

    from ..ipython.commands import job_from_record as rebuild

    try:
        return rebuild(_ContextAsMagics(ctx), record)
    except UsageError as error:
        raise ValueError(str(error)) from None
