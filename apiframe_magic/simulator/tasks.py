"""One task: what was asked, its timeline on the simulated clock, and its wire form at any instant.

State is never stored as "current status": it is computed from the timeline when read, so a task
needs no timer, and the same function answers /fetch, /fetch-many and webhook payloads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GRID, SINGLE, DESCRIBE, SHORTEN, SEED, VIDEO = "grid", "single", "describe", "shorten", "seed", "video"
TERMINAL = ("finished", "failed")
STAGED_MIN = 0.5          # simulated seconds every task spends `staged` before it is queued


@dataclass
class Timeline:
    """Phase boundaries in simulated seconds. The task holds a concurrency slot from `queued_at`
    until `ends_at`; `fail_fraction` (0..1 of processing) makes it end `failed` there."""

    created_at: float
    queued_at: float
    pending: float
    starting: float
    processing: float
    fail_fraction: float | None = None

    @property
    def processing_at(self) -> float:
        return self.queued_at + self.pending + self.starting

    @property
    def ends_at(self) -> float:
        share = 1.0 if self.fail_fraction is None else self.fail_fraction
        return self.processing_at + self.processing * share

    def status_at(self, t: float) -> tuple[str, int | None]:
        """(status, percentage or None) at simulated time `t`."""
        if t < self.queued_at:
            return "staged", None
        if t < self.queued_at + self.pending:
            return "pending", None
        if t < self.processing_at:
            return "starting", None
        if t >= self.ends_at:
            return ("failed", None) if self.fail_fraction is not None else ("finished", 100)
        done = (t - self.processing_at) / self.processing if self.processing else 1.0
        return "processing", max(0, min(99, int(done * 100)))

    def progress_points(self, step: int = 10) -> list[float]:
        """Simulated instants worth a webhook: each status change and every `step` percent."""
        points = [self.created_at, self.queued_at, self.queued_at + self.pending,
                  self.processing_at]
        for pct in range(step, 100, step):
            at = self.processing_at + self.processing * pct / 100
            if at < self.ends_at:
                points.append(at)
        points.append(self.ends_at)
        return points


@dataclass
class Draft:
    """Everything about a new task except its id and timeline."""

    task_type: str
    kind: str
    cost: int
    prompt: str = ""
    aspect: str = "1:1"
    seed: int = 0
    sref: str | None = None
    parent_id: str | None = None
    images: list[Any] = field(default_factory=list)
    content: list[str] | None = None
    full_content: str | None = None
    seed_result: str | None = None
    describe_image_url: str | None = None
    problem: str | None = None        # makes the task fail like Midjourney rejects a bad flag


@dataclass(kw_only=True)
class Task(Draft):
    """A task as the simulator keeps it: its draft plus id, timeline and delivery. `images` holds
    one recipe per output image (4 for a grid, 1 for single-image tasks); the image server
    renders them on first download."""

    task_id: str
    endpoint: str
    timeline: Timeline
    failure_reason: str = ""
    webhook_url: str | None = None
    webhook_secret: str | None = None

    def status_at(self, t: float) -> tuple[str, int | None]:
        return self.timeline.status_at(t)

    def wire(self, t: float, base_url: str) -> dict:
        """The JSON object /fetch returns for this task at simulated time `t`."""
        status, percentage = self.status_at(t)
        out: dict[str, Any] = {"task_id": self.task_id, "task_type": self.task_type,
                               "status": status}
        if status == "processing":
            out["percentage"] = str(percentage)
        elif status == "failed":
            out["message"] = self.failure_reason
            out["error"] = self.failure_reason
        elif status == "finished":
            out["percentage"] = "100"
            out.update(self.result_fields(base_url))
        return out

    def result_fields(self, base_url: str) -> dict:
        """The per-kind result fields of a finished task (spec section 1, "Task kinds")."""
        images = f"{base_url}/images/{self.task_id}"
        if self.kind == GRID:
            fields: dict[str, Any] = {}
            if self.sref is not None:
                fields["sref"] = self.sref
            fields["original_image_url"] = f"{images}/grid.png"
            fields["image_urls"] = [f"{images}/{i}.png" for i in range(1, 5)]
            return fields
        if self.kind == SINGLE:
            return {"image_url": f"{images}/image.png"}
        if self.kind == DESCRIBE:
            fields = {"content": list(self.content or [])}
            if self.describe_image_url:
                fields["image_url"] = self.describe_image_url
            return fields
        if self.kind == SHORTEN:
            return {"content": list(self.content or []), "full_content": self.full_content or ""}
        if self.kind == SEED:
            return {"seed": self.seed_result}
        if self.kind == VIDEO:
            return {"video_urls": [f"{base_url}/videos/{self.task_id}/{i}.gif"
                                   for i in range(1, 5)]}
        return {}
