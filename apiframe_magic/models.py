"""Typed views of what the service returns, read tolerantly.

The v1 docs and the live service disagree in small ways (status missing on finished results,
percentage as a string or a number, the failure reason in `message` or `error`, `taskId` instead of
`task_id`, statuses such as `retrying`). Everything here accepts all of them and keeps the raw dict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

TERMINAL_STATUSES = frozenset({"finished", "failed"})
# What Midjourney returns at most: a grid and its four images, or four videos. A result listing
# more (a broken or hostile service) is cut there, so nothing downloads hundreds of URLs.
MAX_IMAGE_URLS = 4
MAX_VIDEO_URLS = 4
_RESULT_KEYS = ("original_image_url", "image_urls", "image_url", "content", "seed", "video_urls")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _percentage(value: Any) -> int | None:
    """'40', 40, 40.0, '40%' -> 40; anything unreadable -> None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        return None
    if number != number:  # NaN
        return None
    return max(0, min(100, int(number)))


def _urls(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v)


def _infer_status(raw: Mapping[str, Any]) -> str:
    status = _text(raw.get("status"))
    if status:
        return status.lower()
    if raw.get("message") or raw.get("error"):
        return "failed"
    if any(raw.get(key) for key in _RESULT_KEYS):
        return "finished"
    return "pending"


@dataclass(frozen=True)
class Task:
    """One task as the service reported it at one moment (a fetch result or a webhook payload)."""

    task_id: str
    task_type: str | None
    status: str
    percentage: int | None
    original_image_url: str | None = None
    image_urls: tuple[str, ...] = ()
    image_url: str | None = None
    video_urls: tuple[str, ...] = ()
    sref: str | None = None
    content: tuple[str, ...] | None = None
    full_content: str | None = None
    seed: str | None = None
    error: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Task":
        """Read a task object; raises ValueError only when it carries no task id at all."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected a JSON object for a task, got {type(raw).__name__}")
        task_id = _text(raw.get("task_id") if raw.get("task_id") is not None else raw.get("taskId"))
        if task_id is None:
            raise ValueError("task object without task_id")
        status = _infer_status(raw)
        percentage = _percentage(raw.get("percentage"))
        if status == "finished" and percentage is None:
            percentage = 100
        content = raw.get("content")
        if isinstance(content, str):
            content = (content,)
        elif content is not None:
            content = tuple(str(c) for c in content)
        error = _text(raw.get("message")) or _text(raw.get("error"))
        return cls(
            task_id=task_id,
            task_type=_text(raw.get("task_type")),
            status=status,
            percentage=percentage,
            original_image_url=_text(raw.get("original_image_url")),
            image_urls=_urls(raw.get("image_urls"))[:MAX_IMAGE_URLS],
            image_url=_text(raw.get("image_url")),
            video_urls=_urls(raw.get("video_urls"))[:MAX_VIDEO_URLS],
            sref=_text(raw.get("sref")),
            content=content,
            full_content=_text(raw.get("full_content")),
            seed=_text(raw.get("seed")),
            error=error if status == "failed" else None,
            raw=dict(raw),
        )

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def is_grid(self) -> bool:
        return bool(self.original_image_url or self.image_urls)

    @property
    def all_image_urls(self) -> tuple[str, ...]:
        """Every image of the result: the grid first, then the variants or the single image."""
        return tuple(url for _, url in image_names(self))


def image_names(result) -> list[tuple[str, str]]:
    """(name, url) for each image of a result: "grid", "1".."4", or "image" for a single one.

    The one rule for naming a result's images: the cache, the history, saved files, the live
    view and the gallery all use these names. `result` is a Task or anything with its three
    image fields (a history record)."""
    names = [("grid", result.original_image_url)] if result.original_image_url else []
    names.extend((str(i), url) for i, url in enumerate(result.image_urls, start=1))
    if result.image_url and not result.image_urls:
        names.append(("image", result.image_url))
    return names


@dataclass(frozen=True)
class Account:
    """`GET /account`: remaining credits and plan."""

    email: str | None
    credits: int | None
    total_images: int | None
    plan: str | None
    next_billing_date: str | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Account":
        def _int(value):
            try:
                return int(value)
            except (TypeError, ValueError):
                return None

        return cls(
            email=_text(raw.get("email")),
            credits=_int(raw.get("credits")),
            total_images=_int(raw.get("total_images")),
            plan=_text(raw.get("plan")),
            next_billing_date=_text(raw.get("next_billing_date")),
            raw=dict(raw),
        )
