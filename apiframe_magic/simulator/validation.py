"""Request validation for every v1 endpoint, with the specific 400 messages the service gives.

Each `check_<endpoint>` takes the JSON body and a `parents` lookup and returns the normalised
fields, or raises `ValidationError` carrying every problem found (express-validator style: one
`{"msg": ...}` per problem). Parent rules: grid parents for upscale-1x/variations/reroll,
upscale-1x parents for upscale-alt/pan/outpaint/inpaint; the parent must exist and be finished.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable
from urllib.parse import urlsplit

from ..prompt import MAX_PROMPT_CHARS  # Discord's cap, as the service applies it
from ..settings import is_http_url
from .images import decode_mask
from .tasks import GRID, SINGLE, VIDEO, Task

ASPECT_RE = re.compile(r"^(\d+):(\d+)$")
UPSCALE_1X_PREFIX = "upscale#"
GRID_TYPES_HELP = "imagine, reroll, variations, blend, inpaint, outpaint or pan"


class ValidationError(Exception):
    """400 with `{"errors": [{"msg": m} for m in messages]}`."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


ParentLookup = Callable[[str], "tuple[Task, str] | None"]   # id -> (task, status now) or None


class _Checker:
    """Collects problems so one response lists them all."""

    def __init__(self, body: dict, parents: ParentLookup | None = None):
        self.body = body
        self.parents = parents
        self.errors: list[str] = []
        self.out: dict[str, Any] = {}

    def fail(self, msg: str) -> None:
        self.errors.append(msg)

    def done(self) -> dict:
        if self.errors:
            raise ValidationError(self.errors)
        return self.out

    def string(self, name: str, *, required: bool = False, choices: tuple[str, ...] = ()) -> str | None:
        value = self.body.get(name)
        if value is None or value == "":
            if required:
                self.fail(f"{name} is required")
            return None
        if not isinstance(value, str):
            self.fail(f"{name} must be a string")
            return None
        if choices and value not in choices:
            self.fail(f"{name} must be one of: {', '.join(choices)}")
            return None
        self.out[name] = value
        return value

    def prompt(self, *, required: bool) -> str | None:
        value = self.string("prompt", required=required)
        if value is not None and not value.strip():
            self.fail("prompt must not be blank")
            return None
        if value is not None and len(value) > MAX_PROMPT_CHARS:
            self.fail(f"prompt must be at most {MAX_PROMPT_CHARS} characters "
                      f"(got {len(value)})")
            self.out.pop("prompt", None)
            return None
        return value

    def url(self, name: str, *, required: bool = True) -> str | None:
        value = self.string(name, required=required)
        if value is not None and not is_http_url(value):
            self.fail(f"{name} must be a valid http(s) URL")
            return None
        return value

    def aspect_ratio(self) -> str | None:
        value = self.string("aspect_ratio")
        if value is None:
            return None
        match = ASPECT_RE.match(value)
        if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            self.fail("aspect_ratio must look like W:H, for example 16:9")
            self.out.pop("aspect_ratio", None)
            return None
        return value

    def index(self, *, required: bool = True, extra: tuple[str, ...] = ()) -> str | None:
        """`index` as the string "1".."4" (ints are accepted too: SDKs send both forms)."""
        value = self.body.get("index")
        if value is None or value == "":
            if required:
                self.fail("index is required")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        allowed = ("1", "2", "3", "4") + extra
        if not isinstance(value, str) or value not in allowed:
            self.fail(f"index must be one of: {', '.join(allowed)}")
            return None
        self.out["index"] = value
        return value

    def parent(self, name: str = "parent_task_id", *, kinds: tuple[str, ...] = (GRID,),
               upscale_1x: bool = False, required: bool = True) -> Task | None:
        """Look up the parent task and check it exists, is finished and has the right kind."""
        task_id = self.body.get(name)
        if task_id is None or task_id == "":
            if required:
                self.fail(f"{name} is required")
            return None
        if isinstance(task_id, int) and not isinstance(task_id, bool):
            task_id = str(task_id)
        if not isinstance(task_id, str):
            self.fail(f"{name} must be a string")
            return None
        found = self.parents(task_id) if self.parents else None
        if found is None:
            self.fail(f"{name} not found: no task with this id")
            return None
        task, status = found
        if status == "failed":
            self.fail(f"{name} refers to a failed task")
            return None
        if status != "finished":
            self.fail(f"{name} refers to a task that is not finished yet")
            return None
        if upscale_1x and not task.task_type.startswith(UPSCALE_1X_PREFIX):
            self.fail(f"{name} must be an upscale-1x task (U1-U4)")
            return None
        if not upscale_1x and task.kind not in kinds:
            what = ("a grid task (" + GRID_TYPES_HELP + ")" if kinds == (GRID,)
                    else "a task with images")
            self.fail(f"{name} must be {what}")
            return None
        self.out[name] = task_id
        return task

    def webhook(self) -> None:
        url = self.string("webhook_url")
        if url is not None:
            if not is_http_url(url):
                self.fail("webhook_url must be a valid http(s) URL")
            elif not _is_loopback_url(url):
                self.fail("webhook_url must point to a loopback address in the simulator "
                          "(127.0.0.0/8, ::1 or localhost)")
        self.string("webhook_secret")


def _is_loopback_url(value: str) -> bool:
    host = urlsplit(value).hostname or ""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checker(body: dict, parents: ParentLookup | None, *, webhook: bool = True) -> _Checker:
    check = _Checker(body, parents)
    if webhook:
        check.webhook()
    return check


# --- one function per endpoint -------------------------------------------------------------

def check_imagine(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.prompt(required=True)
    c.aspect_ratio()
    c.string("process_mode")
    return c.done()


def check_reroll(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent()
    c.prompt(required=False)
    c.aspect_ratio()
    return c.done()


def check_variations(body: dict, parents: ParentLookup) -> dict:
    """V1-V4 vary a grid image; Vary (Strong/Subtle) is Midjourney's button under an upscaled
    image, so "strong"/"subtle" also take an upscale-1x parent."""
    c = _checker(body, parents)
    strength = body.get("index") in ("strong", "subtle")
    c.out["parent"] = c.parent(kinds=(GRID, SINGLE)) if strength else c.parent()
    c.index(extra=("strong", "subtle"))
    c.prompt(required=False)
    c.aspect_ratio()
    return c.done()


def check_blend(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    urls = body.get("image_urls")
    if urls is None or urls == []:
        c.fail("image_urls is required")
    elif not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        c.fail("image_urls must be a list of URLs")
    elif not 2 <= len(urls) <= 5:
        c.fail("image_urls must contain between 2 and 5 URLs")
    elif not all(is_http_url(u) for u in urls):
        c.fail("image_urls must contain valid http(s) URLs")
    else:
        c.out["image_urls"] = urls
    c.string("dimension", choices=("square", "portrait", "landscape"))
    c.string("process_mode")
    return c.done()


def check_inpaint(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent(upscale_1x=True)
    mask = c.string("mask", required=True)
    if mask is not None:
        try:
            if decode_mask(mask).getbbox() is None:
                c.fail("mask is empty: nothing is marked to redraw")
        except ValueError:
            pass   # not an image we can read: the inpaint redraws everything
    c.prompt(required=False)
    return c.done()


def check_outpaint(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent(upscale_1x=True)
    raw = body.get("zoom_ratio")
    if raw is None or raw == "":
        c.fail("zoom_ratio is required")
    else:
        try:
            if isinstance(raw, bool):
                raise ValueError
            ratio = float(raw)
        except (TypeError, ValueError):
            c.fail("zoom_ratio must be a number between 1 and 2")
        else:
            if not 1.0 <= ratio <= 2.0:
                c.fail("zoom_ratio must be a number between 1 and 2")
            else:
                c.out["zoom_ratio"] = ratio
    c.aspect_ratio()
    c.prompt(required=False)
    return c.done()


def check_pan(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent(upscale_1x=True)
    c.string("direction", required=True, choices=("up", "down", "left", "right"))
    c.prompt(required=False)
    return c.done()


def check_upscale_1x(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent()
    c.index()
    return c.done()


def check_upscale_alt(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent(upscale_1x=True)
    c.string("type", required=True, choices=("subtle", "creative"))
    return c.done()


def check_upscale_highres(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    has_parent = body.get("parent_task_id") not in (None, "")
    has_url = body.get("image_url") not in (None, "")
    if has_parent and has_url:
        c.fail("Send either parent_task_id or image_url, not both")
    elif not has_parent and not has_url:
        c.fail("parent_task_id or image_url is required")
    elif has_parent:
        parent = c.parent(kinds=(GRID, SINGLE))
        c.out["parent"] = parent
        if parent is not None and parent.kind == GRID:
            c.index()
        else:
            c.index(required=False)
    else:
        c.url("image_url")
    c.string("type", required=True, choices=("2x", "4x"))
    return c.done()


def check_faceswap(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.url("target_image_url")
    c.url("swap_image_url")
    return c.done()


def check_describe(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.url("image_url")
    c.string("process_mode")
    return c.done()


def check_shorten(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.prompt(required=True)
    return c.done()


def check_seed(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["target"] = c.parent("task_id", kinds=(GRID, SINGLE))
    return c.done()


def check_imagine_video(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.prompt(required=True)
    c.url("image_url")
    c.string("motion", choices=("low", "high"))
    return c.done()


def check_imagine_video_extend(body: dict, parents: ParentLookup) -> dict:
    c = _checker(body, parents)
    c.out["parent"] = c.parent(kinds=(VIDEO,))
    c.index()
    c.prompt(required=True)
    c.url("image_url", required=False)
    c.string("motion", choices=("low", "high"))
    return c.done()


def check_fetch(body: dict) -> str:
    c = _Checker(body)
    task_id = body.get("task_id")
    if isinstance(task_id, int) and not isinstance(task_id, bool):
        task_id = str(task_id)
    if task_id is None or task_id == "":
        c.fail("task_id is required")
    elif not isinstance(task_id, str):
        c.fail("task_id must be a string")
    c.done()
    return task_id


def check_fetch_many(body: dict) -> list[str]:
    c = _Checker(body)
    ids = body.get("task_ids")
    if ids is None:
        c.fail("task_ids is required")
    elif not isinstance(ids, list):
        c.fail("task_ids must be a list")
    elif not 2 <= len(ids) <= 20:
        c.fail("task_ids must contain between 2 and 20 task ids")
    elif not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
        c.fail("task_ids must contain task id strings")
    c.done()
    return [str(i) for i in ids]


CREATORS: dict[str, Callable[[dict, ParentLookup], dict]] = {
    "/imagine": check_imagine,
    "/reroll": check_reroll,
    "/variations": check_variations,
    "/blend": check_blend,
    "/inpaint": check_inpaint,
    "/outpaint": check_outpaint,
    "/pan": check_pan,
    "/upscale-1x": check_upscale_1x,
    "/upscale-alt": check_upscale_alt,
    "/upscale-highres": check_upscale_highres,
    "/faceswap": check_faceswap,
    "/describe": check_describe,
    "/shorten": check_shorten,
    "/seed": check_seed,
    "/imagine-video": check_imagine_video,
    "/imagine-video-extend": check_imagine_video_extend,
}
