"""The style library: every `--sref` code the history has seen, and names people give them.

People keep sref codes in text files; the history already knows each code, when it was used, with
which prompts and what it looked like. This module reads that out of the `HistoryStore` (nothing
else is stored except the names, in the store's `style_names` table) and lets a prompt say
`--sref @dusk-watercolour` instead of the digits: `expand_style_names` replaces the names with
their codes before the prompt is validated, so validation, the dry run and the job's caption all
see the real code.

Where a code comes from:
- the `sref` field of a finished result (the resolved code of `--sref random`, or the code echoed);
- the `--sref` values of the prompt (codes, and image URLs, which are listed with kind "url").

A use is one job that generated images from the prompt (imagine, reroll, variations, pan, zoom,
vary region); upscales only enlarge what a use made, and rejected submits made nothing.
Names inside `--{sref @a, v 7}` (a permutation that produces the parameter itself) are not
expanded; `--sref {@a, @b}` is.
"""
from __future__ import annotations

import difflib
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .redaction import printable
from .settings import is_http_url
from .store import REJECTED, HistoryStore, JobRecord

USE_KINDS = frozenset({"imagine", "reroll", "variations", "pan", "outpaint", "inpaint"})
MAX_NAME_CHARS = 60

_CODE_RE = re.compile(r"[0-9]+\Z")
_SLUG_BREAK_RE = re.compile(r"[\W_]+")
# `--sref` (or a dash the prompt parser also accepts) up to the next parameter or the end.
_SREF_SEGMENT_RE = re.compile(
    r"(?<!\S)(?:--|—|[–−]{1,2})sref(?![\w-])(.*?)(?=(?<!\S)(?:--|—|[–−])[^\W\d_]|\Z)",
    re.I | re.S)
# `@name`, `@"a name"` or `@“a name”` at the start of an item (also after `{` or `,`).
_NAME_REF_RE = re.compile(r"(?<![^\s{,])@(?:\"([^\"]*)\"|“([^”]*)”|([\w-]+))")


class StyleNameError(ValueError):
    """A style name or code that cannot be used; the message is one line, fit to show."""


class UnknownStyleNameError(StyleNameError):
    """A prompt names a style that has no code; `names` are the unknown names, `suggestions`
    the closest known names for each."""

    def __init__(self, message: str, names: tuple[str, ...] = (),
                 suggestions: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.names = names
        self.suggestions = suggestions or {}


@dataclass(frozen=True)
class Style:
    """One style reference the history knows: a numeric code (kind "code") or an image URL
    (kind "url"), with what the history says about its uses (newest first)."""

    code: str
    kind: str
    name: str | None = None
    uses: int = 0
    first_used: float | None = None
    last_used: float | None = None
    prompts: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()
    thumbnail: Path | None = None

    @property
    def reference(self) -> str:
        """What to write after `--sref`: `@name` when named, else the code."""
        return f"@{self.name}" if self.name else self.code


# --------------------------------------------------------------------------------------------
# Names and codes


def slugify(name: str) -> str:
    """"Dusk Watercolour" -> "dusk-watercolour"; raises StyleNameError when nothing is left."""
    if not isinstance(name, str):
        raise StyleNameError(f"a style name must be text, not {type(name).__name__}")
    slug = _SLUG_BREAK_RE.sub("-", unicodedata.normalize("NFKC", name).lower()).strip("-")
    if not slug:
        raise StyleNameError(f"style name {name!r} has no letters or digits; "
                             "use a name such as dusk-watercolour")
    if slug.isdigit():
        raise StyleNameError(f"style name {name!r} is only digits and would look like a code; "
                             "add a word, e.g. style-{slug}")
    if len(slug) > MAX_NAME_CHARS:
        raise StyleNameError(f"style name {slug[:20]!r}… is longer than {MAX_NAME_CHARS} "
                             "characters; choose a shorter one")
    return slug


def code_kind(code: str) -> str:
    """"code" for a numeric style code, "url" for an image URL; StyleNameError otherwise."""
    text = str(code).strip()
    if _CODE_RE.match(text):
        return "code"
    if is_http_url(text):
        return "url"
    raise StyleNameError(f"{text[:60]!r} is not a style code (digits, e.g. 762351716) or an "
                         "image URL; only those can be named")


def name_style(store: HistoryStore, code: str, name: str, *, move: bool = False) -> str:
    """Name (or rename) the style `code`; returns the name as stored (a slug).

    A name another code already holds is refused, unless `move`: then it leaves that code for
    this one (`%imagine styles name` says so; a notebook run again names its new code)."""
    code = str(code).strip()
    code_kind(code)
    slug = slugify(name)
    holder = store.set_style_name(code, slug)
    if holder is not None and move:
        store.remove_style_name(holder)
        holder = store.set_style_name(code, slug)
    if holder is not None:
        raise StyleNameError(f"the style name @{slug} already belongs to {_short(holder)}; "
                             "choose another name or rename that style first")
    return slug


def unname_style(store: HistoryStore, code_or_name: str) -> str:
    """Forget a style's name (given the code or the name, with or without @); returns the code."""
    code = _code_of(store, code_or_name)
    store.remove_style_name(code)
    return code


def resolve_style_name(store: HistoryStore, name: str) -> str:
    """The code named `name` (with or without a leading @); UnknownStyleNameError otherwise."""
    names = _codes_by_name(store)
    slug = slugify(name.lstrip("@"))
    if slug not in names:
        raise _unknown([slug], names)
    return names[slug]


def expand_style_names(text: str, store: HistoryStore) -> str:
    """Replace every `@name` in the prompt's `--sref` lists with its code; text unchanged
    otherwise. Run it before validation. All unknown names are reported in one error."""
    if "@" not in text:
        return text
    names = _codes_by_name(store)
    unknown: list[str] = []

    def code_for(match: re.Match) -> str:
        written = next(group for group in match.groups() if group is not None)
        try:
            slug = slugify(written)
        except StyleNameError:
            slug = written.strip() or '""'
        if slug in names:
            return names[slug]
        if slug not in unknown:
            unknown.append(slug)
        return match.group(0)

    def expand_segment(segment: re.Match) -> str:
        start = segment.start(1) - segment.start(0)
        whole = segment.group(0)
        return whole[:start] + _NAME_REF_RE.sub(code_for, whole[start:])

    expanded = _SREF_SEGMENT_RE.sub(expand_segment, text)
    if unknown:
        raise _unknown(unknown, names)
    return expanded


def _codes_by_name(store: HistoryStore) -> dict[str, str]:
    return {name: code for code, name in store.style_names().items()}


def _code_of(store: HistoryStore, code_or_name: str) -> str:
    text = str(code_or_name).strip()
    if text.startswith("@") or not (_CODE_RE.match(text) or is_http_url(text)):
        return resolve_style_name(store, text)
    return text


def _unknown(slugs: list[str], names: dict[str, str]) -> UnknownStyleNameError:
    suggestions = {slug: difflib.get_close_matches(slug, list(names), n=3, cutoff=0.5)
                   for slug in slugs}
    parts = []
    for slug in slugs:
        close = suggestions[slug]
        parts.append(f"@{slug}" + (f" (did you mean {', '.join('@' + c for c in close)}?)"
                                   if close else ""))
    known = "" if names else "; no style has a name yet"
    return UnknownStyleNameError(
        f"unknown style name{'s' if len(slugs) > 1 else ''} in --sref: {', '.join(parts)}{known}; "
        "list them with %imagine styles, name one with %imagine styles name CODE NAME",
        tuple(slugs), suggestions)


def _short(code: str) -> str:
    return code if len(code) <= 60 else code[:59] + "…"


# --------------------------------------------------------------------------------------------
# The library


def list_styles(store: HistoryStore, *, include_urls: bool = True) -> list[Style]:
    """Every style the history has seen, most recently used first, then named styles never
    used. `include_urls=False` keeps numeric codes only."""
    names = store.style_names()
    uses: dict[str, list[JobRecord]] = {}
    kinds: dict[str, str] = {}
    parsed: dict[str, list[tuple[str, str]]] = {}
    for record in store.list(newest_first=True):
        if record.state == REJECTED or record.kind not in USE_KINDS:
            continue
        for code, kind in references_of(record, parsed):
            uses.setdefault(code, []).append(record)
            kinds[code] = kind
    styles = [_style(store, code, kinds[code], names.get(code), records)
              for code, records in uses.items()]
    styles += [Style(code, code_kind(code), name) for code, name in names.items()
               if code not in uses]
    if not include_urls:
        styles = [style for style in styles if style.kind == "code"]
    return sorted(styles, key=lambda s: (s.last_used is None, -(s.last_used or 0), s.name or ""))


def style_of(store: HistoryStore, code_or_name: str) -> Style:
    """One style by code or name."""
    code = _code_of(store, code_or_name)
    for style in list_styles(store):
        if style.code == code:
            return style
    raise StyleNameError(f"the history has no style {_short(code)}; run a prompt with "
                         f"--sref {_short(code)} first, or check the code")


def references_of(record: JobRecord, cache: dict | None = None) -> list[tuple[str, str]]:
    """(code, kind) of every style reference a job used, from its result and its prompt."""
    found: dict[str, str] = {}
    for item in re.split(r"[\s,]+", record.sref or ""):
        if _CODE_RE.match(item) or is_http_url(item):
            found.setdefault(item, code_kind(item))
    if record.prompt and "sref" in record.prompt.lower():
        if cache is None or record.prompt not in cache:
            references = _prompt_references(record.prompt)
            if cache is not None:
                cache[record.prompt] = references
        else:
            references = cache[record.prompt]
        for code, kind in references:
            found.setdefault(code, kind)
    return list(found.items())


def _prompt_references(prompt: str) -> list[tuple[str, str]]:
    """The codes and URLs of a prompt's `--sref` lists (not `random`, which the result resolves).

    Reads only the `--sref` items (with their `::w` weights cut off) instead of parsing the whole
    prompt: a 10,000-job history lists about 3.5x faster (benchmarks/bench_explore.py)."""
    found = []
    for segment in _SREF_SEGMENT_RE.finditer(prompt):
        for item in segment.group(1).split():
            value = item.split("::", 1)[0]
            if _CODE_RE.match(value) or is_http_url(value):
                found.append((value, code_kind(value)))
    return found


def _style(store: HistoryStore, code: str, kind: str, name: str | None,
           records: list[JobRecord]) -> Style:
    prompts = tuple(dict.fromkeys(r.prompt for r in records if r.prompt))
    return Style(code, kind, name, uses=len(records),
                 first_used=min(r.created_at for r in records),
                 last_used=max(r.created_at for r in records), prompts=prompts,
                 job_ids=tuple(r.job_id for r in records), thumbnail=_thumbnail(store, records))


def _thumbnail(store: HistoryStore, records: Iterable[JobRecord]) -> Path | None:
    """The newest recorded image (grid preferred) of a use that still exists on disk."""
    for record in records:
        for path in store.images(record.job_id).values():
            if path.is_file():
                return path
    return None


def styles_text(styles: Iterable[Style]) -> str:
    """A text/plain table of the library, for terminals and saved notebooks."""
    lines = []
    for style in styles:
        when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(style.last_used))
                if style.last_used else "never used")
        label = f"@{style.name}" if style.name else "(unnamed)"
        prompt = style.prompts[0] if style.prompts else ""
        lines.append(f"{_short(style.code):14} {label:24} {style.uses:3d} use"
                     f"{'' if style.uses == 1 else 's'}  last {when}  {prompt[:60]}")
    return printable("\n".join(lines)) if lines else "no style references in the history yet"


def styles_bundle(store: HistoryStore, images=None, *, limit: int = 40,
                  thumbnail_side: int = 96) -> tuple[dict, dict]:
    """(data, metadata) of the static library for a notebook: the text table, and an escaped
    HTML table with small inline thumbnails (`images` is the ImageCache that makes them)."""
    import base64
    import html

    styles = list_styles(store)
    shown = styles[:limit]
    rows = []
    for style in shown:
        picture = ""
        if images is not None and style.thumbnail is not None:
            try:
                jpeg = images.thumbnail(style.thumbnail, thumbnail_side, "JPEG")
                picture = (f'<img src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}"'
                           f' alt="" style="max-width:{thumbnail_side}px">')
            except Exception:  # noqa: BLE001 - a row without a picture is still a row
                picture = ""
        when = (time.strftime("%Y-%m-%d %H:%M", time.localtime(style.last_used))
                if style.last_used else "never used")
        prompts = "<br>".join(html.escape(prompt) for prompt in style.prompts[:3])
        rows.append(
            f"<tr><td>{picture}</td><td><code>{html.escape(style.code)}</code>"
            f"{'<br>@' + html.escape(style.name) if style.name else ''}</td>"
            f"<td>{style.uses}</td><td>{html.escape(when)}</td><td>{prompts}</td></tr>")
    more = (f"<p>{len(styles) - limit} more not shown</p>" if len(styles) > limit else "")
    table = ('<table class="amj-styles"><tr><th></th><th>style</th><th>uses</th>'
             f"<th>last used</th><th>prompts</th></tr>{''.join(rows)}</table>{more}"
             if rows else "<p>no style references in the history yet</p>")
    return {"text/plain": styles_text(styles), "text/html": printable(table)}, {}
