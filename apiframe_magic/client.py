"""ApiframeClient: one method per APIFRAME v1 endpoint over one `requests.Session`.

Why it looks the way it does:
- Reads (`/fetch`, `/fetch-many`, `/account`) are free and idempotent, so urllib3 retries them with
  backoff on connection errors, 429 and 5xx, honouring Retry-After.
- Task-creating POSTs cost credits. They are retried only when the request certainly did not reach
  the service (the connection could not be opened) or the service said 429 (it refused the work).
  After anything ambiguous (read timeout, dropped connection, 5xx) the client raises an error with
  `maybe_created=True` and never sends the request again.
- The key travels only in the `Authorization` header, set by an auth object whose repr hides it.
- Every call ends within `deadline` seconds (retries and their sleeps included), and an answer is
  read only up to `MAX_ANSWER_BYTES`: a broken or hostile server cannot hold the poller thread or
  fill the kernel's memory (see transport.py).
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import time
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import requests
from urllib3.util.retry import Retry

from .errors import (
    ApiConnectionError,
    CallInterrupted,
    ApiframeError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidArgumentError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
    TaskNotFoundError,
    TlsProblem,
    exception_chain,
    excerpt,
    in_tls_handshake,
    tls_problem,
)
from .models import Account, Task
from .redaction import HiddenKey, remember_key
from .settings import KEY_ENV, check_base_url, is_http_url
from .settings import base_url as configured_base_url
from .transport import (
    USER_AGENT, AnswerTooLarge, DeadlineAdapter, call_deadline, deadline_passed, read_capped,
    time_left,
)
from .uploads import MAX_UPLOAD_BYTES, check_upload

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # (connect, read) seconds
DEFAULT_DEADLINE = 60.0  # seconds for a whole call: a read's retry budget plus one last attempt
MAX_ANSWER_BYTES = 4 * 2**20  # a fetch-many of 20 tasks is about 40 KB
FETCH_MANY_LIMITS = (2, 20)
_RETRY_AFTER_CAP = 60.0
READ_RETRY_BUDGET = 30.0  # seconds a read keeps retrying after its first failure
_ASPECT_RE = re.compile(r"^[1-9]\d*:[1-9]\d*$")
_INDEXES = ("1", "2", "3", "4")
_READ_PATHS = ("/fetch", "/account")  # "/fetch" also covers "/fetch-many" (prefix match)


class _CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep never exceeds a cap (older urllib3 has no option),
    and which neither sleeps nor retries past the call's deadline."""

    def parse_retry_after(self, retry_after: str) -> float:
        return _within_deadline(min(super().parse_retry_after(retry_after), _RETRY_AFTER_CAP))

    def get_backoff_time(self) -> float:
        return _within_deadline(super().get_backoff_time())

    def is_exhausted(self) -> bool:
        return deadline_passed() or super().is_exhausted()


def _within_deadline(seconds: float) -> float:
    left = time_left()
    return seconds if left is None else max(0.0, min(seconds, left))


class _BudgetRetry(_CappedRetry):
    """Also stops retrying once `budget` seconds have passed since the first failure: a read
    that gets no answer (each attempt waiting the whole read timeout) ends in bounded time."""

    budget: float | None = None
    first_failure: float | None = None

    def new(self, **kw) -> "_BudgetRetry":
        retry = super().new(**kw)  # called by increment(), i.e. right after a failure
        retry.budget = self.budget
        retry.first_failure = self.first_failure or time.monotonic()
        return retry

    def is_exhausted(self) -> bool:
        over = (self.budget is not None and self.first_failure is not None
                and time.monotonic() - self.first_failure > self.budget)
        return over or super().is_exhausted()


def read_retry(retries: int = 4, backoff: float = 0.5,
               budget: float | None = READ_RETRY_BUDGET) -> Retry:
    """Retry policy for free, idempotent reads: every transient failure is retried, for at most
    `budget` seconds after the first one (then one last attempt's timeout at most)."""
    retry = _BudgetRetry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None,
        backoff_factor=backoff, raise_on_status=False, respect_retry_after_header=True,
    )
    retry.budget = budget
    return retry


def submit_retry(retries: int = 3, backoff: float = 0.5) -> Retry:
    """Retry policy for paid POSTs: only when the service certainly did not take the request."""
    return _CappedRetry(
        total=retries, connect=retries, read=0, status=retries, other=0,
        status_forcelist=(429,), allowed_methods=None,
        backoff_factor=backoff, raise_on_status=False, respect_retry_after_header=True,
    )


class _KeyAuth(requests.auth.AuthBase):
    """Puts the raw key in `Authorization` (no Bearer, per the v1 docs) and never shows it."""

    def __init__(self, key: str):
        self._key = key

    def __call__(self, request):
        request.headers["Authorization"] = self._key
        return request

    def __repr__(self) -> str:
        return "<api key hidden>"

    def __reduce_ex__(self, protocol):
        """A pickled session must not carry the key either."""
        raise TypeError("The API key's auth object cannot be pickled: it would carry the key.")


def check_key(key: Any) -> str:
    """The key without surrounding whitespace (a `HiddenKey`, so no traceback shows it), or
    AuthenticationError saying what is wrong with it and where (1-based position), without
    showing it: a pasted key often brings a line break, a smart quote or an ellipsis along, which
    HTTP headers cannot carry."""
    if not isinstance(key, str):
        raise AuthenticationError(f"The APIFRAME API key must be a string, not "
                                  f"{type(key).__name__}.")
    key = key.strip()
    if not key:
        raise AuthenticationError(
            "No APIFRAME API key: pass api_key=... or set the APIFRAME_API_KEY environment "
            "variable (or use the offline simulator).")
    for position, char in enumerate(key, start=1):
        if char.isspace() and char.isascii() and char not in "\r\n":
            what = "a space" if char == " " else f"a whitespace character ({_char_name(char)})"
        elif ord(char) < 32 or ord(char) == 127:
            what = f"a control character ({_char_name(char)})"
        elif not char.isascii():
            what = f"a non-ASCII character ({_char_name(char)})"
        else:
            continue
        raise AuthenticationError(
            f"The APIFRAME API key contains {what} at position {position} of {len(key)}; keys "
            "are plain ASCII letters, digits and punctuation. It was probably copied with extra "
            "text: copy it again from your APIFRAME dashboard (the key is not shown here).")
    return HiddenKey(key)


def _char_name(char: str) -> str:
    names = {"\r": "carriage return", "\n": "line feed", "\t": "tab", "\x00": "NUL"}
    code = f"U+{ord(char):04X}"
    name = names.get(char) or unicodedata.name(char, "")
    return f"{code} {name.lower()}" if name else code


def _is_connect_failure(exc: BaseException) -> bool:
    """True when the request certainly never reached the server (no TCP connection was made)."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    return isinstance(exc, requests.exceptions.ConnectTimeout) or any(
        isinstance(err, (NewConnectionError, ConnectTimeoutError)) for err in exception_chain(exc))


def _is_read_timeout(exc: BaseException) -> bool:
    from urllib3.exceptions import ReadTimeoutError

    return isinstance(exc, requests.exceptions.ReadTimeout) or any(
        isinstance(err, ReadTimeoutError) for err in exception_chain(exc))


class ApiframeClient:
    """A thin client for APIFRAME's v1 Midjourney API.

    `ApiframeClient(api_key=None, *, base_url=None, timeout=(5, 30), deadline=60, session=None)`;
    the key defaults to `APIFRAME_API_KEY`, the base URL to `APIFRAME_BASE_URL` or the public
    service. `timeout` bounds each connect and each read, `deadline` a whole call.
    Submitting methods return the new task id; `fetch` returns a `Task`.
    Both are checked when the client is built (`check_key`, `check_base_url`), and a client
    cannot be pickled or deep-copied: the copy would carry the key in clear.
    """

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
                 deadline: float = DEFAULT_DEADLINE,
                 session: requests.Session | None = None,
                 read_retries: int = 4, submit_retries: int = 3, backoff: float = 0.5):
        key = check_key(api_key if api_key is not None
                        else os.environ.get(KEY_ENV, ""))
        remember_key(key)
        self.base_url = check_base_url(base_url or configured_base_url())
        self.timeout = timeout if isinstance(timeout, tuple) else (float(timeout), float(timeout))
        self.deadline = float(deadline)
        self.session = session or requests.Session()
        self.session.auth = _KeyAuth(key)
        self.session.headers["User-Agent"] = USER_AGENT
        submit_adapter = DeadlineAdapter(max_retries=submit_retry(submit_retries, backoff))
        read_adapter = DeadlineAdapter(max_retries=read_retry(read_retries, backoff),
                                       pool_maxsize=10)
        self.session.mount(self.base_url + "/", submit_adapter)
        for path in _READ_PATHS:
            self.session.mount(self.base_url + path, read_adapter)

    def __repr__(self) -> str:
        return f"ApiframeClient(base_url={self.base_url!r}, api_key=<hidden>)"

    def __reduce_ex__(self, protocol):
        """Refuse to be pickled (or deep-copied): the pickle would carry the key in clear."""
        raise TypeError("An ApiframeClient cannot be pickled: it holds the API key. Build a new "
                        "one where it is needed (ApiframeClient() reads APIFRAME_API_KEY).")

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ transport

    def _request(self, method: str, path: str, *, json_body: Mapping | None = None,
                 files=None, submitting: bool = False) -> Any:
        """Send one request and return the decoded JSON body, or raise a typed error."""
        url = self.base_url + path
        with call_deadline(self.deadline):
            try:
                with self.session.request(method, url, json=json_body, files=files,
                                          timeout=self.timeout, stream=True) as response:
                    data = read_capped(response, MAX_ANSWER_BYTES)
            except requests.exceptions.RequestException as exc:
                if deadline_passed():
                    raise self._deadline_error(path, submitting) from None
                raise self._transport_error(path, exc, submitting) from None
            except AnswerTooLarge as exc:
                raise self._too_large_error(path, exc, submitting) from None
            except KeyboardInterrupt:   # the frames below hold the raw request: drop them
                raise CallInterrupted(path, submitting) from None
        return self._decode(path, response, data, submitting)

    def _deadline_error(self, path: str, submitting: bool) -> ApiTimeoutError:
        what = f"the answer did not arrive whole within the {self.deadline:g} s limit for a call"
        if submitting:
            return ApiTimeoutError(
                f"{path} failed after the request was sent ({what}): the task may have been "
                "created and charged. It was not retried, so it cannot be paid twice; check "
                "`apiframe-magic history` or your APIFRAME dashboard before submitting again.",
                maybe_created=True)
        return ApiTimeoutError(f"{path} failed: {what}. The service (or a proxy) is very slow; "
                               "try again shortly.")

    def _too_large_error(self, path: str, exc: AnswerTooLarge,
                         submitting: bool) -> InvalidResponseError:
        size = f" (it declared {exc.declared / 2**20:.1f} MiB)" if exc.declared else ""
        return InvalidResponseError(
            f"{path}: the answer is larger than {exc.limit / 2**20:g} MiB{size}, far beyond any "
            f"APIFRAME answer; reading stopped. Is APIFRAME_BASE_URL ({self.base_url}) the "
            "APIFRAME v1 API?" + (" The task may have been created." if submitting else ""),
            maybe_created=submitting)

    def _transport_error(self, path: str, exc: Exception, submitting: bool) -> ApiframeError:
        if _is_connect_failure(exc):
            return ApiConnectionError(
                f"Could not connect to {self.base_url} for {path}; nothing was sent. Check your "
                "network or APIFRAME_BASE_URL, then try again.")
        tls = tls_problem(exc)
        if tls is not None:
            return self._tls_error(path, tls, submitting)
        if in_tls_handshake(exc):
            return ApiTimeoutError(
                f"The TLS handshake with {urlsplit(self.base_url).netloc} for {path} got no "
                "answer in time, so nothing was sent. The host may not speak HTTPS, or a proxy "
                "is holding the connection; check APIFRAME_BASE_URL and try again.")
        timed_out = _is_read_timeout(exc)
        what = (f"no answer within {self.timeout[1]:g} s" if timed_out
                else "the connection broke before the answer arrived")
        cls = ApiTimeoutError if timed_out else ApiConnectionError
        if submitting:
            return cls(
                f"{path} failed after the request was sent ({what}): the task may have been "
                "created and charged. It was not retried, so it cannot be paid twice; check "
                "`apiframe-magic history` or your APIFRAME dashboard before submitting again.",
                maybe_created=True)
        return cls(f"{path} failed: {what}. The service may be busy; try again shortly.")

    def _tls_error(self, path: str, tls: TlsProblem, submitting: bool) -> ApiConnectionError:
        host = urlsplit(self.base_url).netloc
        if tls.before_sending:
            return ApiConnectionError(
                f"TLS/certificate problem with {host} for {path}: {tls.reason}. The secure "
                f"connection was never set up, so nothing was sent. {tls.advice()}")
        if submitting:
            return ApiConnectionError(
                f"TLS problem with {host} after {path} was sent ({tls.reason}): the task may "
                "have been created and charged. It was not retried; check `apiframe-magic "
                "history` or your APIFRAME dashboard before submitting again.",
                maybe_created=True)
        return ApiConnectionError(f"TLS problem with {host} during {path} ({tls.reason}); "
                                  "try again shortly.")

    def _decode(self, path: str, response: requests.Response, data: bytes,
                submitting: bool) -> Any:
        status = response.status_code
        text = data.decode("utf-8", errors="replace")  # JSON is UTF-8 (RFC 8259)
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
            decodable = False
        else:
            decodable = True
        if 200 <= status < 300:
            if not decodable or body is None:
                raise InvalidResponseError(
                    f"{path}: the service answered HTTP {status} with a body that is not JSON "
                    f"({excerpt(text) or 'empty body'!r})"
                    + ("; the task may have been created" if submitting else ""),
                    status_code=status, maybe_created=submitting)
            return body
        raise self._status_error(path, status, body, text, response, submitting)

    def _status_error(self, path, status, body, text, response, submitting) -> ApiframeError:
        messages = []
        if isinstance(body, dict) and isinstance(body.get("errors"), list):
            messages = [str(e.get("msg")) for e in body["errors"]
                        if isinstance(e, dict) and e.get("msg") is not None]
        detail = "; ".join(messages) or (excerpt(text) if body is None and text.strip() else "")
        suffix = f": {detail}" if detail else ""
        if status == 401:
            return AuthenticationError(
                "The APIFRAME API key was rejected (HTTP 401). Set APIFRAME_API_KEY to the key "
                "from your APIFRAME dashboard.", status_code=401)
        if path == "/fetch" and status in (400, 404):
            return TaskNotFoundError(f"The service does not know this task (HTTP {status}){suffix}",
                                     messages=messages, status_code=status)
        if status == 400:
            return BadRequestError(f"The service rejected the request to {path}{suffix}",
                                   messages=messages)
        if status == 429:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            return RateLimitError(f"Too many requests to {path} (HTTP 429){wait}.",
                                  retry_after=retry_after)
        if status >= 500:
            note = ("; the task may have been created, so it was not retried" if submitting
                    else "")
            return ServerError(f"APIFRAME had a server error on {path} (HTTP {status}){suffix}{note}",
                               status_code=status, maybe_created=submitting)
        if status == 404:
            return ApiframeError(f"{path} was not found (HTTP 404) at {self.base_url}; check "
                                 "APIFRAME_BASE_URL.", status_code=404)
        return ApiframeError(f"Unexpected HTTP {status} from {path}{suffix}", status_code=status)

    def _submit(self, path: str, payload: Mapping[str, Any]) -> str:
        body = self._request("POST", path, json_body=_without_none(payload), submitting=True)
        task_id = body.get("task_id") if isinstance(body, dict) else None
        if task_id is None and isinstance(body, dict):
            task_id = body.get("taskId")
        if task_id is None or str(task_id).strip() == "":
            raise InvalidResponseError(
                f"{path}: the answer had no task_id ({excerpt(json.dumps(body))!r}); the task "
                "may have been created", maybe_created=True)
        return str(task_id)

    # ------------------------------------------------------------------ grid tasks

    def imagine(self, prompt: str, *, aspect_ratio: str | None = None,
                process_mode: str | None = None, webhook_url: str | None = None,
                webhook_secret: str | None = None) -> str:
        """Submit a prompt; returns the task id of the 2x2 grid."""
        return self._submit("/imagine", {
            "prompt": _prompt(prompt), "aspect_ratio": _aspect(aspect_ratio),
            "process_mode": _process_mode(process_mode),
            **_webhook(webhook_url, webhook_secret)})

    def reroll(self, parent_task_id: str, *, prompt: str | None = None,
               aspect_ratio: str | None = None, webhook_url: str | None = None,
               webhook_secret: str | None = None) -> str:
        return self._submit("/reroll", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"),
            "prompt": None if prompt is None else _prompt(prompt),
            "aspect_ratio": _aspect(aspect_ratio), **_webhook(webhook_url, webhook_secret)})

    def variations(self, parent_task_id: str, index: int | str, *, prompt: str | None = None,
                   aspect_ratio: str | None = None, webhook_url: str | None = None,
                   webhook_secret: str | None = None) -> str:
        """V1-V4 (`index` 1-4) or Vary Strong/Subtle (`index` "strong"/"subtle")."""
        return self._submit("/variations", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"),
            "index": _index(index, extra=("strong", "subtle")),
            "prompt": None if prompt is None else _prompt(prompt),
            "aspect_ratio": _aspect(aspect_ratio), **_webhook(webhook_url, webhook_secret)})

    def blend(self, image_urls: Iterable[str], *, dimension: str | None = None,
              process_mode: str | None = None, webhook_url: str | None = None,
              webhook_secret: str | None = None) -> str:
        urls = [_url(u, "image_urls") for u in _as_list(image_urls, "image_urls")]
        if not 2 <= len(urls) <= 5:
            raise InvalidArgumentError(f"blend takes 2 to 5 image URLs, got {len(urls)}")
        return self._submit("/blend", {
            "image_urls": urls, "dimension": _choice(dimension, "dimension",
                                                     ("square", "portrait", "landscape")),
            "process_mode": _process_mode(process_mode), **_webhook(webhook_url, webhook_secret)})

    def inpaint(self, parent_task_id: str, mask: str | bytes, *, prompt: str | None = None,
                webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        """Vary Region on an upscale-1x task; `mask` is base64/a data URL or raw PNG bytes."""
        if isinstance(mask, (bytes, bytearray)):
            mask = "data:image/png;base64," + base64.b64encode(bytes(mask)).decode("ascii")
        if not isinstance(mask, str) or not mask.strip():
            raise InvalidArgumentError("inpaint needs a mask: a base64 PNG or data URL")
        return self._submit("/inpaint", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"), "mask": mask,
            "prompt": None if prompt is None else _prompt(prompt),
            **_webhook(webhook_url, webhook_secret)})

    def outpaint(self, parent_task_id: str, zoom_ratio: float | str, *,
                 aspect_ratio: str | None = None, prompt: str | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        """Zoom Out on an upscale-1x task; `zoom_ratio` 1 (make square) up to 2."""
        try:
            ratio = float(zoom_ratio)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"zoom_ratio must be a number from 1 to 2, got {zoom_ratio!r}") from None
        if not 1 <= ratio <= 2:
            raise InvalidArgumentError(f"zoom_ratio must be from 1 to 2, got {zoom_ratio!r}")
        return self._submit("/outpaint", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"),
            "zoom_ratio": int(ratio) if ratio.is_integer() else ratio,
            "aspect_ratio": _aspect(aspect_ratio),
            "prompt": None if prompt is None else _prompt(prompt),
            **_webhook(webhook_url, webhook_secret)})

    def pan(self, parent_task_id: str, direction: str, *, prompt: str | None = None,
            webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        return self._submit("/pan", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"),
            "direction": _choice(direction, "direction", ("up", "down", "left", "right"),
                                 required=True),
            "prompt": None if prompt is None else _prompt(prompt),
            **_webhook(webhook_url, webhook_secret)})

    # ------------------------------------------------------------------ single images

    def upscale_1x(self, parent_task_id: str, index: int | str, *,
                   webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        """U1-U4 on a grid task."""
        return self._submit("/upscale-1x", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"), "index": _index(index),
            **_webhook(webhook_url, webhook_secret)})

    def upscale_alt(self, parent_task_id: str, type: str, *, webhook_url: str | None = None,
                    webhook_secret: str | None = None) -> str:
        """Upscale (Subtle) or (Creative) on an upscale-1x task."""
        return self._submit("/upscale-alt", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"),
            "type": _choice(type, "type", ("subtle", "creative"), required=True),
            **_webhook(webhook_url, webhook_secret)})

    def upscale_highres(self, parent_task_id: str | None = None, *, image_url: str | None = None,
                        type: str = "2x", index: int | str | None = None,
                        webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        """2x/4x upscale of a task's image or of any image URL (exactly one of the two)."""
        if (parent_task_id is None) == (image_url is None):
            raise InvalidArgumentError("upscale_highres needs exactly one of parent_task_id or image_url")
        return self._submit("/upscale-highres", {
            "parent_task_id": None if parent_task_id is None
            else _task_id(parent_task_id, "parent_task_id"),
            "image_url": None if image_url is None else _url(image_url, "image_url"),
            "type": _choice(type, "type", ("2x", "4x"), required=True),
            "index": None if index is None else _index(index),
            **_webhook(webhook_url, webhook_secret)})

    def faceswap(self, target_image_url: str, swap_image_url: str, *,
                 webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        return self._submit("/faceswap", {
            "target_image_url": _url(target_image_url, "target_image_url"),
            "swap_image_url": _url(swap_image_url, "swap_image_url"),
            **_webhook(webhook_url, webhook_secret)})

    # ------------------------------------------------------------------ text results

    def describe(self, image_url: str, *, process_mode: str | None = None,
                 webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        """Four prompts written from an image."""
        return self._submit("/describe", {
            "image_url": _url(image_url, "image_url"), "process_mode": _process_mode(process_mode),
            **_webhook(webhook_url, webhook_secret)})

    def shorten(self, prompt: str, *, webhook_url: str | None = None,
                webhook_secret: str | None = None) -> str:
        return self._submit("/shorten", {"prompt": _prompt(prompt),
                                         **_webhook(webhook_url, webhook_secret)})

    def seed(self, task_id: str, *, webhook_url: str | None = None,
             webhook_secret: str | None = None) -> str:
        """Ask for the seed of an earlier task (note: the field is `task_id`)."""
        return self._submit("/seed", {"task_id": _task_id(task_id, "task_id"),
                                      **_webhook(webhook_url, webhook_secret)})

    # ------------------------------------------------------------------ video

    def imagine_video(self, prompt: str, image_url: str, *, motion: str | None = None,
                      webhook_url: str | None = None, webhook_secret: str | None = None) -> str:
        return self._submit("/imagine-video", {
            "prompt": _prompt(prompt), "image_url": _url(image_url, "image_url"),
            "motion": _choice(motion, "motion", ("low", "high")),
            **_webhook(webhook_url, webhook_secret)})

    def imagine_video_extend(self, parent_task_id: str, index: int | str, prompt: str, *,
                             image_url: str | None = None, motion: str | None = None,
                             webhook_url: str | None = None,
                             webhook_secret: str | None = None) -> str:
        return self._submit("/imagine-video-extend", {
            "parent_task_id": _task_id(parent_task_id, "parent_task_id"), "index": _index(index),
            "prompt": _prompt(prompt),
            "image_url": None if image_url is None else _url(image_url, "image_url"),
            "motion": _choice(motion, "motion", ("low", "high")),
            **_webhook(webhook_url, webhook_secret)})

    # ------------------------------------------------------------------ reads

    def fetch(self, task_id: str) -> Task:
        """The task's current state; raises TaskNotFoundError for an id the service doesn't know."""
        body = self._request("POST", "/fetch", json_body={"task_id": _task_id(task_id, "task_id")})
        return _read_task("/fetch", body)

    def fetch_many(self, task_ids: Iterable[str]) -> list[Task]:
        """2 to 20 tasks in one request; ids the service does not know are left out."""
        ids = [_task_id(t, "task_ids") for t in _as_list(task_ids, "task_ids")]
        low, high = FETCH_MANY_LIMITS
        if not low <= len(ids) <= high:
            raise InvalidArgumentError(
                f"fetch_many takes {low} to {high} task ids, got {len(ids)}; use fetch() for one")
        body = self._request("POST", "/fetch-many", json_body={"task_ids": ids})
        tasks = body.get("tasks") if isinstance(body, dict) else None
        if not isinstance(tasks, list):
            raise InvalidResponseError(f"/fetch-many: expected {{'tasks': [...]}}, got "
                                       f"{excerpt(json.dumps(body))!r}")
        return [_read_task("/fetch-many", item) for item in tasks]

    def account(self) -> Account:
        """Credits, plan and image count; InvalidResponseError when the answer is not the
        documented object (credits a whole number), instead of a silently empty balance."""
        body = self._request("GET", "/account")
        if not isinstance(body, dict):
            raise InvalidResponseError(
                f"/account: expected an object with credits, got {excerpt(json.dumps(body))!r}")
        for name, required in (("credits", True), ("total_images", False)):
            value = body.get(name)
            if (value is None and required) or (value is not None and not _whole(value)):
                raise InvalidResponseError(
                    f"/account: {name!r} should be a whole number, got "
                    f"{excerpt(json.dumps(value)) if name in body else 'nothing'}; is "
                    f"APIFRAME_BASE_URL ({self.base_url}) the APIFRAME v1 API?")
        return Account.from_dict(body)

    def upload(self, image: str | os.PathLike | bytes | Any, *, filename: str | None = None) -> str:
        """Upload a local image (path, bytes or PIL image, at most 2 MB); returns its public URL.

        A path or bytes that are not an image are refused before anything is sent
        (`uploads.check_upload`: InvalidArgumentError)."""
        check_upload(image)
        data, name, mime = _image_bytes(image, filename)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidArgumentError(
                f"upload: the image is {len(data) / 2**20:.1f} MB; the limit is 2 MB. Save it "
                "smaller (e.g. JPEG, or fewer pixels) and try again.")
        body = self._request("POST", "/upload", files={"image": (name, data, mime)},
                             submitting=False)
        url = body.get("imageURL") or body.get("image_url") if isinstance(body, dict) else None
        if not url:
            raise InvalidResponseError(f"/upload: no imageURL in {excerpt(json.dumps(body))!r}")
        return str(url)


# ---------------------------------------------------------------------- argument checks


def _whole(value: Any) -> bool:
    """A count as the service may send it: 12000 or "12000" (not 1.5, true or "lots")."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def _without_none(payload: Mapping[str, Any]) -> dict:
    return {k: v for k, v in payload.items() if v is not None}


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _read_task(path: str, body: Any) -> Task:
    try:
        return Task.from_dict(body)
    except ValueError as exc:
        raise InvalidResponseError(f"{path}: unreadable task object ({exc})") from None


def _as_list(values, name: str) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgumentError(f"{name} must be a list, got {type(values).__name__}")
    return list(values)


def _prompt(prompt: Any) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidArgumentError("the prompt is empty: write what you want to see")
    return prompt.strip()


def _task_id(value: Any, name: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidArgumentError(f"{name} is required: the id of an earlier task")
    return text


def _index(value: Any, extra: tuple[str, ...] = ()) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if text in _INDEXES or text in extra:
        return text
    allowed = ", ".join(_INDEXES + extra)
    raise InvalidArgumentError(f"index must be one of {allowed}; got {value!r}")


def _aspect(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if not _ASPECT_RE.match(text):
        raise InvalidArgumentError(
            f"aspect_ratio must be W:H with whole numbers, like 16:9 or 139:100; got {value!r}")
    return text


def _choice(value: Any, name: str, allowed: tuple[str, ...], required: bool = False) -> str | None:
    if value is None and not required:
        return None
    text = str(value).strip().lower() if value is not None else ""
    if text not in allowed:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return text


def _process_mode(value: Any) -> str | None:
    return _choice(value, "process_mode", ("fast", "turbo", "relax"))


def _url(value: Any, name: str) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    if not is_http_url(text):
        raise InvalidArgumentError(f"{name} must be a public http(s) URL; got {value!r}")
    return text


def _webhook(url: str | None, secret: str | None) -> dict:
    if url is None:
        if secret is not None:
            raise InvalidArgumentError("webhook_secret was given without webhook_url")
        return {}
    return {"webhook_url": _url(url, "webhook_url"), "webhook_secret": secret}


_MIME_BY_SUFFIX = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                   ".webp": "image/webp", ".gif": "image/gif"}


def _image_bytes(image: Any, filename: str | None) -> tuple[bytes, str, str]:
    """Turn a path, bytes or PIL image into (bytes, filename, mime type) for `/upload`."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        name = filename or "image.png"
    elif isinstance(image, (str, os.PathLike)):
        path = Path(image).expanduser()   # checked by `check_upload`: an image, within the limit
        data = path.read_bytes()
        name = filename or path.name
    elif hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data = buffer.getvalue()
        name = filename or "image.png"
    else:
        raise InvalidArgumentError(
            f"upload takes a file path, bytes or a PIL image, not {type(image).__name__}")
    mime = _MIME_BY_SUFFIX.get(Path(name).suffix.lower(), "application/octet-stream")
    return data, name, mime
