"""Gallery export: the history as a static site that opens from disk in any browser.

`export_gallery` writes `index.html` (CSS inline, no script, no external resource) and copies the
images into `images/` next to it, so the folder can be zipped, mailed or put on any web server.
Each root job is shown with its lineage tree (upscales, variations, rerolls under their parent,
from the history's parent links), its prompt, parameters, sref codes, timings and task ids.

Safety: every text from the history is redacted (a key the service echoed) and goes through
`html.escape`; links to the originals are kept only for http(s) URLs and are never loaded by the
page. A directory that holds an `index.html` this module did not write (no generator marker) is
refused unless `force=True`, and nothing is written until everything to export has been read.
The page is written under a fresh temporary name (created exclusively, so a symlink planted in
the directory is never followed) and renamed over `index.html`. An image that cannot be copied
(a name too long for the file system, a full disk) is one line to `report` and a "missing"
placeholder; the export goes on.
"""
from __future__ import annotations

import html
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from ..describe import suggested_prompts
from ..errors import ApiframeError
from ..images import ImageCache, SaveLocationError, check_writable_dir, save
from ..models import Task, image_names
from ..prompt import PromptError, parse_prompt
from ..redaction import redact
from ..settings import is_http_url
from ..store import REJECTED, HistoryStore, JobRecord
from ..styles import references_of

INDEX_NAME = "index.html"
IMAGES_DIR = "images"
GENERATOR = "apiframe-magic gallery"
MARKER = f'<meta name="generator" content="{GENERATOR}">'
_CHILD_LABELS = {"upscale-1x": "U{index}", "variations": "V{index}", "reroll": "reroll",
                 "pan": "pan {direction}", "outpaint": "zoom out {zoom_ratio}x",
                 "upscale-alt": "upscale ({type})", "upscale-highres": "upscale ({type})",
                 "inpaint": "vary region"}


class ExportError(ApiframeError, ValueError):
    """The gallery cannot be written where asked, or there is nothing to export; one line."""


@dataclass
class _Node:
    record: JobRecord
    children: list["_Node"] = field(default_factory=list)
    images: list[tuple[str, str | None]] = field(default_factory=list)  # (label, relative path)


def export_gallery(store: HistoryStore, images: ImageCache, directory: str | os.PathLike, *,
                   ids: Iterable[str] | None = None, since: datetime | date | str | float | None
                   = None, force: bool = False,
                   report: Callable[[str], None] | None = None) -> Path:
    """Write the gallery into `directory`; returns the path of its `index.html`.

    `ids` (job ids or task ids) exports the lineage trees they belong to; `since` the trees whose
    root was created at or after it (a datetime, a date, an ISO string or a timestamp); neither
    exports the whole history. Images missing from disk are downloaded once through `images`,
    or shown as missing; one that cannot be copied is also one line to `report` (default: stderr).
    Every refusal (ExportError) comes before anything is written."""
    target = check_export_dir(directory, force=force)
    roots = select_trees(store, ids=ids, since=parse_since(since))
    if not roots:
        raise ExportError("nothing to export: no job in the history matches"
                          + (f" since {since}" if since is not None else "")
                          + "; run a prompt first or widen the selection")
    try:
        image_dir = check_writable_dir(target / IMAGES_DIR)
    except SaveLocationError as exc:
        raise ExportError(f"cannot export to {target}: {exc}") from None
    names = store.style_names()
    report = report or (lambda line: print(line, file=sys.stderr))
    for node in _walk(roots):
        node.images = _copy_images(store, images, node.record, image_dir, report)
    index = target / INDEX_NAME
    _write_replacing(index, render_html(roots, names))
    return index


def _write_replacing(path: Path, text: str) -> None:
    """Write `text` to a new file with a random name beside `path` (O_EXCL: never through a
    planted symlink), then rename it over `path` (which replaces a symlink, not its target)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)   # a page to share, not mkstemp's 0600
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Checks


def check_export_dir(directory: str | os.PathLike, *, force: bool = False) -> Path:
    """`directory` as a Path if a gallery may be written there: not a file, not under a file,
    not holding an index.html this module did not write (unless `force`). Writes nothing."""
    target = Path(directory).expanduser()
    existing = next((p for p in [target, *target.parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ExportError(f"cannot export to {target}: {existing} is a file, not a directory; "
                          "give a directory path")
    index = target / INDEX_NAME
    if index.exists() and not force and not is_gallery(index):
        raise ExportError(f"{index} exists and is not an apiframe-magic gallery; choose an "
                          "empty directory or pass --force (force=True) to overwrite it")
    return target


def is_gallery(index: Path) -> bool:
    """Whether an index.html was written by this module (its generator marker is in its head)."""
    try:
        with open(index, encoding="utf-8", errors="replace") as handle:
            return MARKER in handle.read(4096)
    except OSError:
        return False


def parse_since(since: datetime | date | str | float | None) -> float | None:
    """A timestamp from a datetime, a date, an ISO string ("2026-11-26", "2026-11-26T18:00") or
    a number; ExportError for text that is not a date."""
    if since is None or isinstance(since, (int, float)):
        return since
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since.strip())
        except ValueError:
            raise ExportError(f"--since {since!r} is not a date; write it as YYYY-MM-DD "
                              "or YYYY-MM-DDTHH:MM") from None
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    return since.timestamp()


# --------------------------------------------------------------------------------------------
# Selection


def select_trees(store: HistoryStore, *, ids: Iterable[str] | None = None,
                 since: float | None = None) -> list[_Node]:
    """The lineage trees to export, newest root first; children in the order they were made."""
    records = [r for r in store.list(newest_first=False) if r.state != REJECTED]
    nodes = {r.job_id: _Node(r) for r in records}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.record.parent_job_id or "")
        (parent.children if parent is not None else roots).append(node)
    if ids is not None:
        wanted = {_root_of(store, nodes, key) for key in ids}
        roots = [node for node in roots if node.record.job_id in wanted]
    if since is not None:
        roots = [node for node in roots if node.record.created_at >= since]
    return roots[::-1]


def _root_of(store: HistoryStore, nodes: dict[str, _Node], key: str) -> str:
    record = store.get(key) or store.by_task_id(key)
    if record is None:
        raise ExportError(f"no job {key!r} in the history at {store.path}; "
                          "give job ids or task ids from `apiframe-magic history`")
    seen = set()
    while record.parent_job_id in nodes and record.job_id not in seen:
        seen.add(record.job_id)
        record = nodes[record.parent_job_id].record
    return record.job_id


def _walk(nodes: list[_Node]) -> Iterable[_Node]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


# --------------------------------------------------------------------------------------------
# Images


def _copy_images(store: HistoryStore, images: ImageCache, record: JobRecord, directory: Path,
                 report: Callable[[str], None]) -> list[tuple[str, str | None]]:
    """(label, path relative to index.html or None when missing) for every image of a job."""
    recorded = {str(index): path for index, path in store.images(record.job_id).items()}
    wanted = image_names(Task.from_dict({**(record.result or {}), "task_id": record.job_id})) \
        if record.result else [(name, None) for name in recorded]
    shown = []
    for name, url in wanted:
        path = recorded.get(name)
        if path is None or not path.is_file():
            path = _download(images, url)
        if path is None:
            shown.append((name, None))
            continue
        try:
            copied = save(record.task_id or record.job_id, {name: path}, directory)[0]
        except ApiframeError as exc:   # a name too long, a full disk: this image is missing
            report(redact(f"export: image {name} of job {record.job_id} not copied: "
                          f"{' '.join(str(exc).split())}"))
            shown.append((name, None))
            continue
        shown.append((name, f"{IMAGES_DIR}/{copied.name}"))
    return shown


def _download(images: ImageCache, url: str | None) -> Path | None:
    if not url:
        return None
    try:
        return images.get(url)  # the cache downloads a URL at most once
    except ApiframeError:
        return None


# --------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{padding:18px 28px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0}
main{padding:12px 28px}
article{background:#fff;border:1px solid #ddd;border-radius:8px;margin:18px 0;padding:14px 18px}
.prompt{font-size:16px;font-weight:600;margin:0 0 6px;white-space:pre-wrap;word-break:break-word}
.meta{color:#555;font-size:13px;margin:0 0 8px}
.meta span{margin-right:14px}
.images{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
figure{margin:0}
figure img{max-width:200px;max-height:200px;display:block;border-radius:4px}
figure.grid img{max-width:380px;max-height:380px}
.children .prompt{font-size:14px;font-weight:500;color:#444}
figcaption{font-size:12px;color:#666}
.missing{width:160px;height:100px;display:flex;align-items:center;justify-content:center;
background:#eee;color:#888;border-radius:4px;font-size:12px}
.error{color:#a11;margin:6px 0}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px;margin:6px 0}
dt{color:#666}dd{margin:0;word-break:break-all}
.children{list-style:none;margin:8px 0 0 10px;padding-left:16px;border-left:3px solid #e4e4e4}
.children>li{margin:10px 0}
.label{display:inline-block;background:#333;color:#fff;border-radius:3px;padding:0 6px;
font-size:12px;margin-right:6px}
code{font-size:13px}
"""


def render_html(roots: list[_Node], style_names: dict[str, str] | None = None) -> str:
    """The gallery page for already-copied trees (each node's `images` filled in)."""
    names = style_names or {}
    count = sum(1 for _ in _walk(roots))
    written = time.strftime("%Y-%m-%d %H:%M")
    body = "\n".join(f'<article id="job-{_e(node.record.job_id)}">{_job_html(node, names)}'
                     "</article>" for node in roots)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en">\n<head>\n<meta charset="utf-8">\n{MARKER}\n'
        "<!-- Written by apiframe-magic export; exporting again overwrites this file. -->\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>apiframe-magic gallery</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>apiframe-magic gallery</h1><p class=\"meta\">{len(roots)} "
        f"root job{'s' if len(roots) != 1 else ''}, {count} job{'s' if count != 1 else ''}, "
        f"exported {_e(written)}</p></header>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _job_html(node: _Node, names: dict[str, str]) -> str:
    record = node.record
    parts = []
    label = _child_label(record)
    title = record.prompt or record.payload.get("image_url") or record.kind
    badge = f'<span class="label">{_e(label)}</span>' if label else ""
    parts.append(f'<p class="prompt">{badge}{_e(title)}</p>')
    parts.append(f'<p class="meta">{_meta(record)}</p>')
    if record.error:
        parts.append(f'<p class="error">{_e(record.state)}: {_e(record.error)}</p>')
    if node.images:
        parts.append('<div class="images">' + "".join(_figure(_caption(record, name), path)
                                                      for name, path in node.images) + "</div>")
    suggestions = suggested_prompts(record.content)
    if suggestions:
        parts.append("<ol>" + "".join(f"<li>{_e(text)}</li>" for text in suggestions) + "</ol>")
    parts.append(_details(record, names))
    if node.children:
        parts.append('<ul class="children">' + "".join(
            f'<li id="job-{_e(child.record.job_id)}">{_job_html(child, names)}</li>'
            for child in node.children) + "</ul>")
    return "\n".join(parts)


def _child_label(record: JobRecord) -> str:
    if not record.parent_job_id:
        return "" if record.kind == "imagine" else record.kind
    template = _CHILD_LABELS.get(record.kind, record.kind)
    try:
        return template.format(**{key: record.payload.get(key, "") for key in
                                   ("index", "direction", "zoom_ratio", "type")})
    except (KeyError, ValueError):
        return record.kind


def _meta(record: JobRecord) -> str:
    items = [record.kind, record.state]
    items.append("created " + _when(record.created_at))
    if record.finished_at:
        items.append(f"took {record.finished_at - record.created_at:.0f} s")
    return "".join(f"<span>{_e(item)}</span>" for item in items)


def _details(record: JobRecord, names: dict[str, str]) -> str:
    rows = [("task id", f"<code>{_e(record.task_id or '(none)')}</code>"),
            ("job id", f"<code>{_e(record.job_id)}</code>")]
    srefs = [code for code, _kind in references_of(record)]
    if srefs:
        rows.append(("sref", ", ".join(
            f"<code>{_e(code)}</code>" + (f" (@{_e(names[code])})" if code in names else "")
            for code in srefs)))
    for name, value in _parameters(record).items():
        rows.append((f"--{name}", _e(value)))
    if record.seed:
        rows.append(("seed", _e(record.seed)))
    if record.finished_at:
        rows.append(("finished", _e(_when(record.finished_at))))
    for label, url in _originals(record):
        rows.append((label, _link(url)))
    return "<dl>" + "".join(f"<dt>{_e(key)}</dt><dd>{value}</dd>" for key, value in rows) + "</dl>"


def _parameters(record: JobRecord) -> dict[str, str]:
    """The prompt's parameters as text (--sref is listed apart)."""
    if not record.prompt:
        return {}
    try:
        params = parse_prompt(record.prompt).params
    except PromptError:
        params = record.params
    shown = {}
    for name, value in params.items():
        if name == "sref":
            continue
        if isinstance(value, (list, tuple)):
            value = " ".join(str(item) for item in value)
        shown[name] = "" if value is True else str(value)
    return shown


def _originals(record: JobRecord) -> list[tuple[str, str]]:
    links = []
    if record.payload.get("image_url"):
        links.append(("source image", record.payload["image_url"]))
    links.extend((f"original {name}", url) for name, url in image_names(record))
    return links


def _caption(record: JobRecord, name: str) -> str:
    """"grid", "1".."4", or what a single image is: an upscale, the image described, a result."""
    if name != "image":
        return name
    if record.kind.startswith("upscale"):
        return "upscale"
    return "described image" if record.kind == "describe" else "result"


def _figure(name: str, path: str | None) -> str:
    css = ' class="grid"' if name == "grid" else ""
    if path is None:
        return f'<figure><div class="missing">{_e(name)}: image missing</div></figure>'
    return (f'<figure{css}><a href="{_e(path)}"><img src="{_e(path)}" alt="{_e(name)}" '
            f'loading="lazy"></a><figcaption>{_e(name)}</figcaption></figure>')


def _link(url: str) -> str:
    """A link to an original on the service; anything but http(s) stays plain text."""
    if is_http_url(url):
        return f'<a href="{_e(url)}" rel="noreferrer">{_e(url)}</a>'
    return _e(url)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _e(value: object) -> str:
    return html.escape(redact(str(value)), quote=True)
