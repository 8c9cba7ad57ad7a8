"""Save a finished task's images at any time after it finished: from the history and the image
cache, downloading whatever the cache no longer has.

Shared by `apiframe-magic save TASK_ID [DIR]` and the notebook's `%imagine save ID [DIR]`, so a
result that could not be saved when it finished (or that the user wants elsewhere) is never lost.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ApiframeError
from .images import ImageDownloadError, check_writable_dir, save
from .models import Task, image_names
from .store import FINISHED, RESUMABLE_STATES, JobRecord


class SaveTaskError(ApiframeError):
    """The task cannot be saved: unknown, ambiguous, not finished, or without images."""


def find_task(store, task_id_or_prefix: str) -> JobRecord:
    """The history record whose task id (or local job id) is, or starts with, the given text."""
    wanted = str(task_id_or_prefix or "").strip()
    if not wanted:
        raise SaveTaskError("Which task? Give its id (or the first characters of it) from "
                            "`apiframe-magic history`.")
    exact = store.by_task_id(wanted) or store.get(wanted)
    if exact is not None:
        return exact
    matches = [r for r in store.list()
               if (r.task_id or "").startswith(wanted) or r.job_id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SaveTaskError(f"{wanted!r} matches {len(matches)} tasks in the history; give more "
                            "of the id.")
    raise SaveTaskError(f"No task {wanted!r} in the history at {store.path}. Tasks made "
                        "offline (no APIFRAME_API_KEY) and with a key are kept apart: run the "
                        "save the same way the task was made.")


def finished_record(runtime, record: JobRecord) -> JobRecord:
    """`record` once finished. A task the history still shows running (submitted with
    --no-wait, or the process stopped) is asked about once; if it finished meanwhile, the
    history learns it here."""
    if record.state == FINISHED:
        return record
    if record.task_id and record.state in RESUMABLE_STATES:
        task = runtime.client.fetch(record.task_id)
        if task.finished:
            runtime.store.mark_finished(record.job_id, task.raw)
            return runtime.store.get(record.job_id)
        if not task.failed:
            progress = f" ({task.percentage}%)" if task.percentage is not None else ""
            raise SaveTaskError(f"Task {record.task_id} is still {task.status}{progress}: "
                                "`apiframe-magic resume` waits for it and saves its images.")
        runtime.store.mark_failed(record.job_id, task.error or "failed", task.raw)
        record = runtime.store.get(record.job_id)
    what = f" ({record.error})" if record.error else ""
    raise SaveTaskError(f"Task {record.task_id or record.job_id} is {record.state}{what}: "
                        "only finished tasks have images to save.")


def image_files(runtime, record: JobRecord) -> dict[str, Path]:
    """Local files of a finished task's images by name ('grid', '1'..'4', 'image'), taken from
    the cache when it still has them, downloaded (and recorded) otherwise."""
    if record.state != FINISHED:
        raise SaveTaskError(f"Task {record.task_id or record.job_id} is {record.state}: only "
                            "finished tasks have images to save.")
    result = Task.from_dict({"task_id": record.task_id, **(record.result or {})})
    names = image_names(result)
    if not names:
        raise SaveTaskError(f"Task {record.task_id} ({record.kind}) has no images to save.")
    try:
        return runtime.manager.image_files(record, result)
    except ImageDownloadError as exc:
        raise SaveTaskError(f"Task {record.task_id}: {exc}") from None


def save_task(runtime, task_id_or_prefix: str, directory: str | os.PathLike) -> list[Path]:
    """Save the images of a finished task into `directory`; returns the saved files.

    `runtime` is what `runtime.start()` returns (its `store`, `images` and `client` are used).
    The directory is checked before anything is downloaded. Raises SaveTaskError or
    images.SaveLocationError with a message for the user."""
    record = find_task(runtime.store, task_id_or_prefix)
    directory = check_writable_dir(directory)
    files = image_files(runtime, finished_record(runtime, record))
    return save(record.task_id or record.job_id, files, directory)
