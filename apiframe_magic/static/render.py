"""Static representations of jobs: what survives in a saved notebook and what a terminal shows.

Every job leaves one output (the "twin"): while it runs, an HTML placeholder with the escaped prompt
and the status in words; once its images land, a figure: the JPEG of the grid (or the single image)
with alt text and a visible caption (escaped prompt, sref, short task id) as `text/html`, the same
JPEG as `image/jpeg` for converters that skip HTML (PDF, LaTeX), and the full caption (task id,
local paths) as `text/plain`. JupyterLab, GitHub, nbviewer, VS Code without widget state and a
reload without a kernel all show the figure. The JPEG is sized so both copies stay under the
notebook budget (250 KB per finished grid, base64 included).
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any, Iterable

from ..redaction import printable
from ..words import describe, status_words

# A finished grid may add at most 250 KB to the .ipynb; base64 costs 4/3, the caption a little, and
# the JPEG is there twice (in the figure and as image/jpeg).
NOTEBOOK_BUDGET = 250_000
JPEG_BUDGET = (NOTEBOOK_BUDGET * 3 // 4 - 8_000) // 2
SHORT_ID = 8  # characters of a task id shown in captions; the full id is in text/plain
DEFAULT_TWIN_SIZE = 768


# ---------------------------------------------------------------------------------- words


def caption(job, paths: Iterable[Path] = ()) -> str:
    """text/plain for a job: the prompt, the task id, the status or the sref, the local files."""
    lines = [heading(job)]
    ident = f"task {job.task_id}" if job.task_id else "not sent yet"
    lines.append(f"{ident} · {status_words(job)}")   # the live view's words (`words`)
    result = job.result
    if result is not None and result.sref:
        lines.append(f"sref {result.sref} (reuse the style: --sref {result.sref})")
    lines.extend(f"{n}. {text}" for n, text in enumerate(suggestions(job), start=1))
    if result is not None and result.seed and job.kind == "seed":
        lines.append(f"seed {result.seed}")
    if result is not None:
        lines.extend(f"video {n}: {url}" for n, url in enumerate(result.video_urls, start=1))
    lines.extend(str(path) for path in paths)
    return printable("\n".join(lines))   # the service's text: no key, no escape sequence


def heading(job) -> str:
    """"imagine: a red fox"; a prompt that already starts with the kind ("describe fox.png")
    is not prefixed a second time."""
    prompt = job.prompt or ""
    if not prompt:
        return job.kind
    if prompt.split(" ", 1)[0].lower() == job.kind:
        return prompt
    return f"{job.kind}: {prompt}"


def suggestions(job) -> list[str]:
    """A finished describe/shorten job's prompts, without the service's keycap bullets (which
    draw as boxes without an emoji font), so that each is numbered once, by us."""
    from ..describe import suggested_prompts

    result = job.result
    if result is None or job.state != "finished":
        return []
    return suggested_prompts(result.content)


def tile_label(job) -> str:
    """What a job is in a sheet of a tree: "grid", "U1", "V2", "Reroll", "Pan left"."""
    payload, kind = job.payload or {}, job.kind
    index = str(payload.get("index") or "")
    if kind == "imagine":
        return "grid"
    if kind == "upscale-1x":
        return f"U{index}"
    if kind == "variations":
        return f"Vary ({index})" if index in ("strong", "subtle") else f"V{index}"
    if kind == "outpaint":
        ratio = str(payload.get("zoom_ratio", ""))
        return "Make Square" if ratio in ("1", "1.0") else f"Zoom Out {ratio}x"
    if kind == "pan":
        return f"Pan {payload.get('direction', '')}".strip()
    if kind in ("upscale-alt", "upscale-highres"):
        return f"Upscale {payload.get('type', '')}".strip() + (f" U{index}" if index else "")
    return kind.replace("-", " ").capitalize()


def alt_text(job) -> str:
    """The image's alternative text: what the picture is and the prompt that made it."""
    what = "a grid of four images" if job.kind in ("imagine", "variations", "reroll", "blend") \
        and (job.image_paths or {}).get("grid") else f"the image of {tile_label(job)}"
    return printable(f"Midjourney {what} for: {job.prompt or job.kind}")


def short_id(task_id: str | None) -> str:
    return (task_id or "")[:SHORT_ID]


def task_codes(named_jobs: Iterable[tuple[str, Any]]) -> str:
    """Which tile is which task, for a caption: "name <code>short id</code>" per job, the full id
    in its title ("not sent" for a job without one), joined by " · "."""
    return " · ".join(f'{html.escape(name)} <code title="{html.escape(job.task_id or "")}">'
                      f"{html.escape(short_id(job.task_id) or 'not sent')}</code>"
                      for name, job in named_jobs)


def caption_html(job) -> str:
    """The visible caption under a twin's picture: escaped prompt, sref code, short task id."""
    parts = [f"<b>{html.escape(tile_label(job))}</b>",
             f'<span class="amj-prompt">{html.escape(printable(job.prompt or job.kind))}</span>']
    details = []
    if job.result is not None and job.result.sref:
        details.append(f"sref <code>{html.escape(printable(job.result.sref))}</code>")
    if job.task_id:
        details.append(f'task <code title="{html.escape(job.task_id, quote=True)}">'
                       f"{html.escape(short_id(job.task_id))}</code>")
    if job.state == "finished":
        details.append(f"finished in {job.seconds:.0f} s")
    return " ".join(parts) + (f"<br>{' · '.join(details)}" if details else "")


# A live view's output that cannot be restored after a reopen (saved while its kernel ran, the
# page closed before the kernel exited) is a bare text node, "Error displaying widget: model not
# found" (or "Loading widget..."), just above its twin, without our `amj-live` view inside. The
# twin carries this rule to hide it: it applies where outputs are trusted (JupyterLab and Notebook
# 7 reopening what they saved); elsewhere the tag is dropped or matches nothing (nbconvert, GitHub).
STALE_VIEW_CSS = ("<style>.jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets)"
                  ":not(:has(.amj-live)):has(+ .jp-OutputArea-child .amj-twin){display:none}"
                  "</style>")


def figure_html(encoded_jpeg: str, size: tuple[int, int], alt: str, caption_markup: str,
                css_class: str = "amj-finished") -> str:
    """A picture with its alt text and a visible caption; inline data, so it reads from disk."""
    width, height = size
    return (f'{STALE_VIEW_CSS}<figure class="amj-twin {css_class}" style="margin:4px 0">'
            f'<img src="data:image/jpeg;base64,{encoded_jpeg}" alt="{html.escape(alt, quote=True)}"'
            f' width="{width}" height="{height}" style="max-width:100%;height:auto">'
            f'<figcaption style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;'
            f'overflow-wrap:anywhere">{caption_markup}</figcaption></figure>')


def picture_bundle(jpeg: bytes, size: tuple[int, int], alt: str, caption_markup: str,
                   text: str) -> tuple[dict, dict]:
    """(data, metadata) of a finished twin: the figure, the bare JPEG and the plain caption."""
    encoded = base64.b64encode(jpeg).decode("ascii")
    return ({"text/html": figure_html(encoded, size, alt, caption_markup),
             "image/jpeg": encoded, "text/plain": text},
            {"image/jpeg": {"width": size[0], "height": size[1]}})


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
    """A JPEG of the image no larger than `budget` bytes: lower quality first, then smaller.
    The full-size image is only read to shrink it (a 4x upscale is 57 MB of pixels)."""
    from PIL import Image

    from ..images import scaled_down

    image = scaled_down(path, max_side).convert("RGB")
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
    return (f'{STALE_VIEW_CSS}<div class="amj-twin amj-{state_class}" '
            f'style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;padding:4px 0">'
            f"<b>{html.escape(title)}</b>{body}</div>")


def job_bundle(job, max_side: int = DEFAULT_TWIN_SIZE) -> tuple[dict, dict]:
    """(data, metadata) for the twin of one job in its current state."""
    has_text = job.result is not None and bool(job.result.content)
    picture = twin_image(job) if job.state == "finished" and not has_text else None
    text = caption(job, list((job.image_paths or {}).values()))
    if picture is not None:
        try:
            jpeg, size = jpeg_within(Path(picture), max_side)
        except Exception:  # noqa: BLE001 - an unreadable file falls back to text
            pass
        else:
            return picture_bundle(jpeg, size, alt_text(job), caption_html(job), text)
    state = "failed" if job.done and job.state != "finished" else job.state
    lines = text.splitlines()
    return {"text/plain": text, "text/html": _html_block(lines[0], lines[1:], state)}, {}


def group_bundle(jobs, max_side: int = DEFAULT_TWIN_SIZE) -> tuple[dict, dict]:
    """(data, metadata) for several jobs shown together: one labelled sheet and a table of ids."""
    rows = [f"{tile_label(job):<14} {job.task_id or '(not sent)':<36} "
            f"{describe(job).words}  {job.prompt or ''}"
            for job in jobs]
    done = sum(job.done for job in jobs)
    text = "\n".join([f"{len(jobs)} jobs, {done} done", *rows])
    pictures = [twin_image(job) if job.state == "finished" else None for job in jobs]
    if done == len(jobs) and any(pictures):
        notes = [describe(j).words if j.done and j.state != "finished" else "" for j in jobs]
        jpeg, size = contact_sheet(pictures, notes, max_side,
                                   labels=[tile_label(job) for job in jobs])
        prompt = jobs[0].prompt or jobs[0].kind
        markup = (f"<b>{len(jobs)} jobs</b> "
                  f'<span class="amj-prompt">{html.escape(prompt)}</span><br>'
                  + task_codes((tile_label(job), job) for job in jobs))
        alt = "Midjourney results side by side: " + ", ".join(tile_label(job) for job in jobs) \
            + f", for: {prompt}"
        return picture_bundle(jpeg, size, alt, markup, text)
    return {"text/plain": text, "text/html": _html_block(text.splitlines()[0],
                                                          rows, "running")}, {}


LABEL_BAND = 24  # pixels above each tile for its label
LABEL_SIZE = 16
GAP = 4


def label_font(size: int):
    """Pillow's own font at `size` pixels (scalable with Pillow >= 10.1 and FreeType)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, AttributeError, OSError):
        return ImageFont.load_default()


def contact_sheet(pictures: list, notes: list[str], max_side: int = DEFAULT_TWIN_SIZE,
                  budget: int = JPEG_BUDGET, *, labels: list[str] | None = None,
                  ) -> tuple[bytes, tuple[int, int]]:
    """Labelled tiles of one height side by side, wrapped into rows no wider than twice
    `max_side`: a 3:2 grid beside a square upscale leaves no blank band. A failed job's tile
    holds its reason in words."""
    from PIL import Image, ImageDraw

    labels = labels or [str(n) for n in range(1, len(pictures) + 1)]
    height = max(96, min(320, (max_side * 2) // min(4, len(pictures)) * 2 // 3))
    tiles = [_thumbnail(picture, height) for picture in pictures]
    widths = [tile.width if tile is not None else height for tile in tiles]
    limit = max(max_side * 2, max(widths))
    places, x, y = [], 0, 0
    for width in widths:
        if x and x + width > limit:
            x, y = 0, y + LABEL_BAND + height + GAP
        places.append((x, y))
        x += width + GAP
    sheet = Image.new("RGB", (max(px + w for (px, _), w in zip(places, widths)),
                              y + LABEL_BAND + height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = label_font(LABEL_SIZE)
    for (px, py), tile, label, note, picture in zip(places, tiles, labels, notes, pictures):
        draw.text((px + 2, py + 3), label, fill=(0, 0, 0), font=font)
        if tile is not None:
            sheet.paste(tile, (px, py + LABEL_BAND))
        else:
            note = note or ("image missing" if picture is not None else "no image")
            draw.multiline_text((px + 4, py + LABEL_BAND + 4), _wrap(note, 24), fill=(160, 0, 0))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return jpeg_within(io.BytesIO(buffer.getvalue()), max(sheet.size), budget)


def _thumbnail(picture, height: int):
    """The picture scaled to `height` pixels tall, or None when it is missing or unreadable."""
    from PIL import Image

    if picture is None:
        return None
    try:
        with Image.open(picture) as image:
            tile = image.convert("RGB")
    except Exception:  # noqa: BLE001 - a missing file becomes a note
        return None
    return tile.resize((max(1, round(tile.width * height / tile.height)), height),
                       Image.Resampling.LANCZOS)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:8])
