"""The simulator's memory on disk: one JSON line per task it created, so a simulator started again
on the same directory still knows every task (the offline twin of a service that keeps tasks).

Only what decides a task is kept: its request, its recipes and its timeline. Images are never
stored; they are redrawn from the recipes, which are pure data. Webhook URLs and secrets are left
out (webhooks of a task are not re-sent after a restart).

Timelines are stored relative to the wall-clock instant the task was created and re-based onto
the new simulated clock when read, so the time that passed while nothing ran counts (at the new
speed) and a task that would have finished meanwhile reads `finished`. Appends are single
`O_APPEND` writes followed by fsync; a torn last line (a killed process) is skipped. Several
simulators (kernels) may share one directory: each reads the lines the others appended when asked
for a task it does not know.
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from .art import ArtSpec
from .images import InpaintImage, UploadImage
from .palettes import Palette
from .tasks import Task, Timeline

LOG_NAME = "tasks.jsonl"
FORMAT = 1
_NOT_KEPT = ("webhook_url", "webhook_secret")


def encode(task: Task, created_wall: float) -> str:
    """One line of JSON for `task`, created at `time.time()` == `created_wall`."""
    fields = {f.name: getattr(task, f.name) for f in dataclasses.fields(Task)
              if f.name not in _NOT_KEPT and f.name not in ("timeline", "images")}
    timeline = task.timeline
    record = {
        "format": FORMAT, "created_wall": created_wall, "task": fields,
        "images": [_encode_recipe(r) for r in task.images],
        "timeline": {"queued_after": timeline.queued_at - timeline.created_at,
                     "pending": timeline.pending, "starting": timeline.starting,
                     "processing": timeline.processing, "fail_fraction": timeline.fail_fraction},
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def decode(line: str, sim_now: float, speed: float, wall_now: float) -> Task | None:
    """The task of one line, its timeline placed on a clock that reads `sim_now` at `wall_now`;
    None for a line this version cannot read (torn, or from a newer format)."""
    try:
        record = json.loads(line)
        if record.get("format") != FORMAT:
            return None
        created = sim_now - max(0.0, wall_now - float(record["created_wall"])) * speed
        t = record["timeline"]
        timeline = Timeline(created, created + t["queued_after"], t["pending"], t["starting"],
                            t["processing"], t["fail_fraction"])
        images = [_decode_recipe(r) for r in record["images"]]
        return Task(**record["task"], timeline=timeline, images=images)
    except (ValueError, KeyError, TypeError):
        return None


def _encode_recipe(recipe) -> dict:
    if isinstance(recipe, InpaintImage):
        return {"inpaint": {"base": _encode_recipe(recipe.base),
                            "redraw": _encode_recipe(recipe.redraw),
                            "mask": recipe.mask, "size": recipe.size}}
    if isinstance(recipe, UploadImage):
        return {"upload": recipe.upload_id, "size": recipe.size}
    return {"art": dataclasses.asdict(recipe)}


def _decode_recipe(data: dict):
    """Back to the frozen dataclasses, with tuples where the art code adds or hashes them."""
    if "inpaint" in data:
        part = data["inpaint"]
        return InpaintImage(_decode_recipe(part["base"]), _decode_recipe(part["redraw"]),
                            part["mask"], _tuples(part["size"]))
    if "upload" in data:
        return UploadImage(data["upload"], _tuples(data["size"]))
    art = {name: _tuples(value) for name, value in data["art"].items()}
    art["palette"] = Palette(**{name: _tuples(value) for name, value in art["palette"].items()})
    return ArtSpec(**art)


def _tuples(value):
    """JSON arrays back to (nested) tuples."""
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


class TaskLog:
    """Append-only file of encoded tasks under `directory` (created 0700)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self._offset = 0
        self._lock = threading.Lock()

    def append(self, task: Task, created_wall: float | None = None) -> None:
        line = encode(task, time.time() if created_wall is None else created_wall) + "\n"
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_new(self) -> Iterator[str]:
        """Whole lines appended since the last call (by this process or another)."""
        with self._lock:
            try:
                with open(self.path, "rb") as handle:
                    handle.seek(self._offset)
                    data = handle.read()
            except FileNotFoundError:
                return iter(())
            end = data.rfind(b"\n") + 1      # a line still being written waits for next time
            self._offset += end
        return iter(data[:end].decode("utf-8", "replace").splitlines())

    def has_news(self) -> bool:
        try:
            return self.path.stat().st_size > self._offset
        except OSError:
            return False
