"""Permutation matrices: the jobs of a `{a, b}` prompt laid out along one axis per brace group.

Comparing permutations by scrolling hides the one thing that changed; a matrix puts it on an axis.
`layout(text)` gives the axes, each job's coordinates and a grid of rows and columns; the widget
view, the composite JPEG (`composite_jpeg`) and the text table (`text_table`) all draw from it.

Rules:
- One axis per top-level `{…}` group, in prompt order; its labels are the option texts.
- An option with nested braces counts as each text it expands to: `{big {red, blue}, small}` is
  one axis with the labels "big red", "big blue", "small".
- 1 group: one row. 2 groups: rows are the first group, columns the second. 3 or more: a row per
  combination of all but the last group (labels joined with " · "), columns the last group.
- The job at (row, column) is job number `row * columns + column` of
  `prompt.expand_permutations(text)`, which varies the leftmost group slowest.
"""
from __future__ import annotations

import html
import io
import os
import re
from dataclasses import dataclass
from itertools import product
from math import prod
from typing import Mapping, Sequence

from PIL import Image, ImageDraw, ImageOps

from ..prompt import DEFAULT_MAX_JOBS, expand_permutations
from . import render

MAX_COMPOSITE_BYTES = 200_000  # the notebook holds it twice: in the figure and as image/jpeg
ROW_JOIN = " · "
EMPTY_LABEL = "(empty)"

_BRACE_MARK_RE = re.compile(r"\\,|[{},]")  # the marks prompt.py's brace parser reads


@dataclass(frozen=True)
class Axis:
    """One top-level brace group: `source` as written, at character `position` of the prompt."""

    labels: tuple[str, ...]
    source: str
    position: int


@dataclass(frozen=True)
class MatrixLayout:
    """Where each job of a permutation prompt goes. Job indexes follow `expand_permutations`."""

    prompt: str
    axes: tuple[Axis, ...]
    jobs: tuple[str, ...]
    coordinates: tuple[tuple[int, ...], ...]   # per job, its label index on each axis
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]

    @property
    def rows(self) -> int:
        return len(self.row_labels)

    @property
    def columns(self) -> int:
        return len(self.column_labels)

    def job_at(self, row: int, column: int) -> int:
        if not (0 <= row < self.rows and 0 <= column < self.columns):
            raise IndexError(f"cell ({row}, {column}) is outside the {self.rows}x{self.columns} "
                             "matrix")
        return row * self.columns + column

    def cell_of(self, job: int) -> tuple[int, int]:
        """(row, column) of job number `job` (0-based)."""
        if not 0 <= job < len(self.jobs):
            raise IndexError(f"job {job} is outside this matrix of {len(self.jobs)} jobs")
        return divmod(job, self.columns)

    def grid(self) -> list[list[int]]:
        """Job indexes, one list per row."""
        return [[self.job_at(r, c) for c in range(self.columns)] for r in range(self.rows)]


def matrix_of(plan) -> "MatrixLayout | None":
    """The permutation matrix of a run of several jobs (`submission.Plan`), when its jobs map
    onto one; None for a single job or braces that do not make a grid."""
    if len(plan.prompts) < 2:
        return None
    try:
        matrix = layout(plan.text, max_jobs=len(plan.prompts))
    except ValueError:                      # PromptError is a ValueError
        return None
    return matrix if matrix.axes and len(matrix.jobs) == len(plan.prompts) else None


def layout(text: str, *, max_jobs: int = DEFAULT_MAX_JOBS) -> MatrixLayout:
    """The matrix of a permutation prompt; PromptError for bad braces or too many jobs."""
    jobs = expand_permutations(text, max_jobs=max_jobs)
    axes = tuple(Axis(tuple(expand_permutations(text[start:end], max_jobs=len(jobs))),
                      text[start:end], start)
                 for start, end in _top_level_groups(text))
    if prod(len(axis.labels) for axis in axes) != len(jobs):  # guards the rule, never expected
        raise ValueError(f"the brace groups of {text[:60]!r} do not multiply to its "
                         f"{len(jobs)} jobs")
    coordinates = tuple(product(*(range(len(axis.labels)) for axis in axes)))
    shown = [tuple(label_text(label) for label in axis.labels) for axis in axes]
    if not axes:
        rows, columns = ("",), ("",)
    elif len(axes) == 1:
        rows, columns = ("",), shown[0]
    else:
        rows = tuple(ROW_JOIN.join(combo) for combo in product(*shown[:-1]))
        columns = shown[-1]
    return MatrixLayout(text, axes, tuple(jobs), coordinates, rows, columns)


def label_text(label: str) -> str:
    """How an option is shown: an empty option (`{, red}`) reads "(empty)"."""
    return label if label.strip() else EMPTY_LABEL


def _top_level_groups(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost `{…}` (end exclusive); braces are balanced by now."""
    groups, depth, start = [], 0, 0
    for match in _BRACE_MARK_RE.finditer(text):
        mark = match.group()
        if mark == "{":
            if depth == 0:
                start = match.start()
            depth += 1
        elif mark == "}" and depth:
            depth -= 1
            if depth == 0:
                groups.append((start, match.end()))
    return groups


def job_cells(jobs: Sequence) -> tuple[dict[int, os.PathLike], dict[int, str]]:
    """From jobs in matrix order (`jobs.Job`), the cells' contents for `composite_jpeg`: each
    finished job's grid (or single image) on disk, and each ended-without-result job's reason."""
    images, failures = {}, {}
    for index, job in enumerate(jobs):
        paths = getattr(job, "image_paths", None) or {}
        chosen = paths.get("grid") or next(iter(paths.values()), None)
        if job.state == "finished" and chosen is not None:
            images[index] = chosen
        elif job.done and job.state != "finished":
            error = job.error
            failures[index] = (getattr(error, "reason", None) or str(error or "")
                               or job.state.replace("_", " "))
    return images, failures


def matrix_bundle(matrix: MatrixLayout, jobs: Sequence, *,
                  max_bytes: int = MAX_COMPOSITE_BYTES) -> tuple[dict, dict]:
    """(data, metadata) of the static twin of a permutation's jobs: the composite JPEG once any
    job has an image or a failure, and always the text table of task ids."""
    images, failures = job_cells(jobs)
    data = {"text/plain": text_table(matrix, [job.task_id for job in jobs], failures)}
    if not images and not failures:
        return data, {}
    jpeg = composite_jpeg(matrix, images, failures, max_bytes=max_bytes)
    with Image.open(io.BytesIO(jpeg)) as picture:
        size = picture.size
    labels = ", ".join(label for label in (*matrix.row_labels, *matrix.column_labels) if label)
    alt = f"Permutation matrix of Midjourney grids ({labels}) for: {matrix.prompt}"
    markup = (f"<b>Permutation matrix {matrix.rows} × {matrix.columns}</b> "
              f'<span class="amj-prompt">{html.escape(matrix.prompt)}</span><br>'
              + render.task_codes((_cell_name(matrix, index), job)
                                  for index, job in enumerate(jobs)))
    return render.picture_bundle(jpeg, size, alt, markup, data["text/plain"])


def _cell_name(matrix: MatrixLayout, index: int) -> str:
    row, column = matrix.cell_of(index)
    return ROW_JOIN.join(label for label in (matrix.row_labels[row], matrix.column_labels[column])
                         if label) or "job"


# --------------------------------------------------------------------------------------------
# Text table


def text_table(layout: MatrixLayout, task_ids: Sequence[str | None] | Mapping[int, str | None],
               failures_by_job: Mapping[int, str] | None = None) -> str:
    """The matrix as text/plain: task ids in the cells ("-" for a job without one, "(failed)"
    after one that failed), the labels on the top and left."""
    failures = failures_by_job or {}
    ids = task_ids if isinstance(task_ids, Mapping) else dict(enumerate(task_ids))

    def cell(job: int) -> str:
        text = ids.get(job) or "-"
        return f"{text} (failed)" if job in failures else text

    body = [[cell(job) for job in row] for row in layout.grid()]
    has_row_labels = any(layout.row_labels)
    header = ([""] if has_row_labels else []) + list(layout.column_labels)
    rows = [([label] if has_row_labels else []) + cells
            for label, cells in zip(layout.row_labels, body)]
    table = [header] + rows if any(layout.column_labels) else rows
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [" | ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip()
             for line in table]
    if any(layout.column_labels):
        lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join([layout.prompt, *lines])


# --------------------------------------------------------------------------------------------
# Composite JPEG

_BACKGROUND = (255, 255, 255)
_CELL_BACKGROUND = (236, 236, 236)
_FAILED_BACKGROUND = (250, 226, 226)
_INK = (30, 30, 30)
_FAILED_INK = (150, 20, 20)
_GAP = 4
_CELL_SIDES = (256, 200, 160, 128, 96, 72, 56, 40)
_QUALITIES = (85, 70, 55)


def composite_jpeg(layout: MatrixLayout,
                   images_by_job: Mapping[int, str | os.PathLike | Image.Image],
                   failures_by_job: Mapping[int, str] | None = None, *,
                   max_bytes: int = MAX_COMPOSITE_BYTES, max_width: int = 2400) -> bytes:
    """One JPEG of the whole matrix, labels drawn in: each cell the job's image (its grid, or a
    chosen variant) or its failure reason; keys are job indexes. Cell size and quality go down
    until the file is at most `max_bytes`."""
    failures = dict(failures_by_job or {})
    sources = _load_images(images_by_job, failures)
    # The cell sides whose row fits `max_width` (200 px kept for row labels), else the smallest.
    fitting = [side for side in _CELL_SIDES if side * layout.columns <= max_width - 200]
    for cell in fitting or _CELL_SIDES[-1:]:
        canvas, _boxes = _draw(layout, sources, failures, cell)
        for quality in _QUALITIES:  # one drawing per cell size, saved at falling quality
            output = io.BytesIO()
            canvas.save(output, format="JPEG", quality=quality, optimize=True)
            if output.tell() <= max_bytes:
                return output.getvalue()
    raise ValueError(f"a {layout.rows}x{layout.columns} matrix does not fit in {max_bytes} "
                     "bytes even at the smallest cell size")


def render_composite(layout: MatrixLayout,
                     images_by_job: Mapping[int, str | os.PathLike | Image.Image],
                     failures_by_job: Mapping[int, str] | None = None, *, cell: int = 256,
                     ) -> tuple[Image.Image, dict[int, tuple[int, int, int, int]]]:
    """The composite at one cell size, and each job's cell box (left, top, right, bottom)."""
    failures = dict(failures_by_job or {})
    return _draw(layout, _load_images(images_by_job, failures), failures, cell)


def _load_images(images_by_job, failures: dict[int, str]) -> dict[int, Image.Image]:
    """Each job's image in memory, at most 256 px; an unreadable file becomes a failure cell."""
    loaded = {}
    for job, source in images_by_job.items():
        try:
            if isinstance(source, Image.Image):
                image = source.copy()
            else:
                with Image.open(source) as opened:
                    image = ImageOps.exif_transpose(opened)
                    image.load()
            image.thumbnail((256, 256))
            loaded[job] = image.convert("RGB")
        except (OSError, ValueError) as exc:
            failures.setdefault(job, f"image unreadable: {exc}")
    return loaded


def _wrap(text: str, font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap by pixel width; over-long words are cut; the last line ends in "…"."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while font.getlength(word) > width and len(word) > 1:
            cut = max(1, next((i for i in range(len(word), 0, -1)
                               if font.getlength(word[:i]) <= width), 1))
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _draw(layout: MatrixLayout, sources: dict[int, Image.Image], failures: dict[int, str],
          cell: int) -> tuple[Image.Image, dict[int, tuple[int, int, int, int]]]:
    size = max(10, cell // 14)
    font = render.label_font(size)
    line_height = size + size // 3 + 2
    pad = max(4, size // 2)
    row_label_width = 0
    if any(layout.row_labels):
        longest = max(font.getlength(label) for label in layout.row_labels)
        row_label_width = int(min(longest, cell * 1.2)) + 2 * pad
    width = row_label_width + layout.columns * (cell + _GAP) + _GAP
    title = _wrap(layout.prompt, font, width - 2 * pad, 2)
    column_lines = [_wrap(label, font, cell - 2 * pad, 3) for label in layout.column_labels]
    header = max((len(lines) for lines in column_lines), default=0) * line_height
    top = pad + len(title) * line_height + pad + (header + pad if any(layout.column_labels) else 0)
    height = top + layout.rows * (cell + _GAP) + _GAP
    canvas = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    boxes = {}
    for number, line in enumerate(title):
        draw.text((pad, pad + number * line_height), line, fill=_INK, font=font)
    header_top = pad + len(title) * line_height + pad
    for column, lines in enumerate(column_lines):
        left = row_label_width + _GAP + column * (cell + _GAP)
        for number, line in enumerate(lines):
            draw.text((left + pad, header_top + number * line_height), line, fill=_INK, font=font)
    for row, label in enumerate(layout.row_labels):
        cell_top = top + _GAP + row * (cell + _GAP)
        for number, line in enumerate(_wrap(label, font, row_label_width - 2 * pad,
                                            max(1, cell // line_height))):
            draw.text((pad, cell_top + pad + number * line_height), line, fill=_INK, font=font)
        for column in range(layout.columns):
            job = layout.job_at(row, column)
            box = (row_label_width + _GAP + column * (cell + _GAP), cell_top)
            boxes[job] = (*box, box[0] + cell, box[1] + cell)
            _draw_cell(canvas, draw, box, cell, sources.get(job), failures.get(job), font,
                       line_height, pad)
    return canvas, boxes


def _draw_cell(canvas, draw, box, cell, image, failure, font, line_height, pad) -> None:
    left, top = box
    if failure is not None:
        draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=_FAILED_BACKGROUND)
        lines = _wrap(f"failed: {failure}", font, cell - 2 * pad,
                      max(1, (cell - 2 * pad) // line_height))
        for number, line in enumerate(lines):
            draw.text((left + pad, top + pad + number * line_height), line, fill=_FAILED_INK,
                      font=font)
        return
    draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=_CELL_BACKGROUND)
    if image is None:
        draw.text((left + pad, top + pad), "no image yet", fill=_INK, font=font)
        return
    fitted = image.copy()
    fitted.thumbnail((cell, cell))
    canvas.paste(fitted, (left + (cell - fitted.width) // 2, top + (cell - fitted.height) // 2))
