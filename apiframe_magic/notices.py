"""The words of `job.notice`: one short sentence about a current trouble, for a status line.

Kept apart from the poller so the wording can be read (and tested) without threads.
"""
from __future__ import annotations

import time

from .errors import (
    ApiConnectionError,
    ApiframeError,
    ApiTimeoutError,
    InvalidResponseError,
    RateLimitError,
    excerpt,
    exception_chain,
    tls_problem,
)

POLLING_PAUSED = "polling stopped: the API key was rejected (HTTP 401)"
NOT_SENT_PAUSED = "not sent: the API key was rejected (HTTP 401)"


def _clock(since: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(since))


def no_answer(host: str, since: float) -> str:
    """A read is still waiting (and retrying) without any answer."""
    return f"no answer from {host} yet; retrying since {_clock(since)}"


def rate_limited(host: str, until: float) -> str:
    """The service asked to slow down: polling pauses until `until` (time.time()), bounded."""
    return (f"{host} asked to slow down (HTTP 429): polling pauses until {_clock(until)}; "
            "resume polls again now")


def polling_trouble(host: str, exc: ApiframeError, since: float) -> str:
    """What fails, and since when polling keeps retrying."""
    if isinstance(exc, ApiConnectionError):
        tls = _tls(exc)
        if tls is not None:
            reason = f"TLS: {excerpt(tls.reason, 60)}"
        elif isinstance(exc, ApiTimeoutError):
            reason = "no answer"
        elif _refused(exc):
            reason = "connection refused"
        else:
            reason = "connection failed"
        return f"cannot reach {host} ({reason}); retrying since {_clock(since)}"
    if isinstance(exc, RateLimitError):
        reason = "too many requests, HTTP 429"
    elif isinstance(exc, InvalidResponseError):
        reason = "answers that are not JSON"
    elif exc.status_code:
        reason = f"HTTP {exc.status_code}"
    else:
        reason = excerpt(str(exc), 80)
    return f"polling {host} fails ({reason}); retrying since {_clock(since)}"


def _refused(exc: BaseException) -> bool:
    try:
        return any(isinstance(err, ConnectionRefusedError) for err in exception_chain(exc))
    except Exception:  # noqa: BLE001 - a wording detail must never break the poller
        return False


def _tls(exc: BaseException):
    try:
        return tls_problem(exc)
    except Exception:  # noqa: BLE001 - a wording detail must never break the poller
        return None
