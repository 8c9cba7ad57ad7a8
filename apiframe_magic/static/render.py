"""Static representations of jobs: what survives in a saved notebook and what a terminal shows.

Every job leaves one output (the "twin"): while it runs, an HTML placeholder with the escaped prompt
and the status in words; once its images land, an `image/jpeg` of the grid (or the single image)
with a `text/plain` caption (prompt, task id, sref, local paths). GitHub, nbviewer, VS Code without
widget state and a reload without a kernel all show it. The JPEG is sized to stay under the
notebook budget (250 KB per finished grid, base64 included).
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Iterable

from ..errors import (
    ApiConnectionError,
    ApiframeError,
    AuthenticationError,
    BadRequestError,
    JobCancelledError,
    JobTimeoutError,
    RateLimitError,
    ServerError,
    TaskFailedError,
)

# A finished grid may add at most 250 KB to the .ipynb; base64 costs 4/3, the caption a little.
NOTEBOOK_BUDGET = 250_000
JPEG_BUDGET = NOTEBOOK_BUDGET * 3 // 4 - 8_000
DEFAULT_TWIN_SIZE = 768

STATUS_WORDS = {
    "queued": "waiting for a free slot (not sent yet)",
    "submitting": "sending",
    "staged": "queued at APIFRAME",
    "pending": "waiting for Midjourney",
    "retry": "retrying at APIFRAME",
    "retrying": "retrying at APIFRAME",
    "starting": "starting",
    "processing": "processing",
    "finished": "finished",
    "failed": "failed",
    "timed_out": "still running at the deadline",
    "cancelled": "cancelled here (the service may still finish it)",
    "rejected": "rejected",
    "uncertain": "uncertain: the submit may have created a task",
    "paused": "paused (polling stopped; `%imagine resume` picks it up)",
}


# ---------------------------------------------------------------------------------- words


def status_words(job, *, percentage: bool = True) -> str:
    """The job's state as a person would say it, with the percentage while processing (unless
    the caller shows it already, as the progress bar does)."""
    key = job.state if job.done or job.state in ("queued", "submitting") else (job.status or job.state)
    words = STATUS_WORDS.get(key, key)
    if percentage and not job.done and job.percentage:
        words += f" {job.percentage}%"
    notice = getattr(job, "notice", None)
    if notice and not job.done:
        words += f" ({notice})"
    return words


def explain(error: BaseException | None) -> str:
    """One line: what went wrong and what to do about it."""
    if error is None:
        return "ended without a result"
    from ..redaction import redact

    text = redact(str(error)).strip()
    message = text.splitlines()[0] if text else type(error).__name__
    if isinstance(error, AuthenticationError):
        return (f"{message} (set a valid key in APIFRAME_API_KEY, a .env file beside the notebook, "
                "or with %imagine login)")
    if isinstance(error, TaskFailedError):
        return f"{message}. Change the prompt and run it again (nothing more is charged for this task)"
    if isinstance(error, RateLimitError):
        return f"{message}. Wait a little and run the cell again"
    if isinstance(error, BadRequestError):
        return f"{message}. Fix the request and run it again"
    if isinstance(error, JobTimeoutError):
        return f"{message}"
    if isinstance(error, JobCancelledError):
        return message
    if isinstance(error, (ApiConnectionError, ServerError)):
        hint = (" The task may have been created: check `%imagine history` before running it again."
                if getattr(error, "maybe_created", False) else " Run it again when the service is back.")
        return message + hint
    if isinstance(error, ApiframeError):
        return message
    return f"{type(error).__name__}: {message}"


def caption(job, paths: Iterable[Path] = ()) -> str:
    """text/plain for a job: the prompt, the task id, the status or the sref, the local files."""
    lines = [f"{job.kind}: {job.prompt}" if job.prompt else job.kind]
    ident = f"task {job.task_id}" if job.task_id else "not sent yet"
    if job.state == "finished":
        lines.append(f"{ident} · finished in {job.seconds:.0f} s")
    elif job.done:
        lines.append(f"{ident} · {status_words(job)}: {explain(job.error)}")
    else:
        lines.append(f"{ident} · {status_words(job)}")
    result = job.result
    if result is not None and result.sref:
        lines.append(f"sref {result.sref} (reuse the style: --sref {result.sref})")
    if result is not None and result.content and job.state == "finished":
        lines.extend(f"{n}. {text}" for n, text in enumerate(result.content, start=1))
    if result is not None and result.seed and job.kind == "seed":
        lines.append(f"seed {result.seed}")
    if result is not None:
        lines.extend(f"video {n}: {url}" for n, url in enumerate(result.video_urls, start=1))
    lines.extend(str(path) for path in paths)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- images


def twin_image(job) -> Path | None:
    """The one picture that stands for a finished job: the grid, else its single image; for
    videos, the image they start from (their first frame)."""
    paths = job.image_paths or {}
    found = paths.get("grid") or paths.get("image") or paths.get("1")
    parent = getattr(job, "parent", None)
    if found is None and job.result is not None and job.result.video_urls and parent is not None:
        return twin_image(parent)
    return found


def jpeg_within(path: Path, max_side: int = DEFAULT_TWIN_SIZE,
                budget: int = JPEG_BUDGET) -> tuple[bytes, tuple[int, int]]:
    """A JPEG of the image no larger than `budget` bytes: lower quality first, then smaller."""
    from PIL import Image, ImageOps

    with Image.open(path) as source:
        image = ImageOps.exif_transpose(source).convert("RGB")
    side = max_side
    while True:
        scaled = image.copy()
        scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in (82, 72, 60, 45):
            buffer = io.BytesIO()
            scaled.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= budget:
                return buffer.getvalue(), scaled.size
        if side <= 128:
            return buffer.getvalue(), scaled.size
        side = int(side * 0.75)


# ---------------------------------------------------------------------------------- bundles


def _html_block(title: str, lines: Iterable[str], state_class: str) -> str:
    body = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
    return (f'<div class="amj-twin amj-{state_class}" style="font-family:var(--jp-ui-font-family,'
            f'sans-serif);font-size:13px;padding:4px 0">'
            f"<b>{html.escape(title)}</b>{body}</div>")


def job_bundle(job, max_side: int = DEFAULT_TWIN_SIZE) -> tuple[dict, dict]:
    """(data, metadata) for the twin of one job in its current state."""
    has_text = job.result is not None and bool(job.result.content)
    picture = twin_image(job) if job.state == "finished" and not has_text else None
    paths = [] if has_text else list((job.image_paths or {}).values())
    text = caption(job, paths)
    if picture is not None:
        try:
            jpeg, (width, height) = jpeg_within(Path(picture), max_side)
        except Exception:  # noqa: BLE001 - an unreadable file falls back to text
            picture = None
        else:
            return ({"image/jpeg": base64.b64encode(jpeg).decode("ascii"), "text/plain": text},
                    {"image/jpeg": {"width": width, "height": height}})
    state = "failed" if job.done and job.state != "finished" else job.state
    lines = text.splitlines()
    return {"text/plain": text, "text/html": _html_block(lines[0], lines[1:], state)}, {}


def group_bundle(jobs, max_side: int = DEFAULT_TWIN_SIZE) -> tuple[dict, dict]:
    """(data, metadata) for several jobs shown together: one contact sheet and a table of ids."""
    rows = [f"{n:>2}. {job.task_id or '(not sent)':<36} {status_words(job) if not job.done else job.state}"
            f"  {job.prompt or ''}" for n, job in enumerate(jobs, start=1)]
    done = sum(job.done for job in jobs)
    text = "\n".join([f"{len(jobs)} jobs, {done} done", *rows])
    pictures = [twin_image(job) if job.state == "finished" else None for job in jobs]
    if done == len(jobs) and any(pictures):
        jpeg, (width, height) = contact_sheet(pictures, [explain(j.error) if j.done and j.state != "finished"
                                                         else "" for j in jobs], max_side)
        return ({"image/jpeg": base64.b64encode(jpeg).decode("ascii"), "text/plain": text},
                {"image/jpeg": {"width": width, "height": height}})
    return {"text/plain": text, "text/html": _html_block(text.splitlines()[0],
                                                          rows, "running")}, {}


def contact_sheet(pictures: list, notes: list[str], max_side: int = DEFAULT_TWIN_SIZE,
                  budget: int = JPEG_BUDGET) -> tuple[bytes, tuple[int, int]]:
    """Numbered thumbnails side by side (up to 4 a row); a failed job's cell holds its reason."""
    from PIL import Image, ImageDraw

    columns = min(4, len(pictures))
    rows = -(-len(pictures) // columns)
    cell = max(96, min(384, (max_side * 2) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + 18)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for n, (picture, note) in enumerate(zip(pictures, notes)):
        x, y = (n % columns) * cell, (n // columns) * (cell + 18)
        draw.text((x + 4, y + 2), f"{n + 1}", fill=(0, 0, 0))
        if picture is not None:
            try:
                with Image.open(picture) as image:
                    thumb = image.convert("RGB")
                    thumb.thumbnail((cell - 4, cell - 4))
                sheet.paste(thumb, (x + 2 + (cell - 4 - thumb.width) // 2, y + 18))
                continue
            except Exception:  # noqa: BLE001 - a missing file becomes a note
                note = note or "image missing"
        draw.multiline_text((x + 6, y + 24), _wrap(note or "no image", 28), fill=(160, 0, 0))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    temporary = io.BytesIO(buffer.getvalue())
    return jpeg_within(temporary, max(sheet.size), budget)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:8])
