"""Typed errors for everything that can go wrong between us and the APIFRAME service.

Every message is written for the person at the notebook: what happened and what to do. No message,
repr or attribute ever holds the API key. Below the error types, the helpers that read a caught
exception: `exception_chain` walks what requests wraps (urllib3, then the socket), `tls_problem`
finds a TLS failure in it, and `excerpt` quotes a body or a prompt in one short line.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass


class ApiframeError(Exception):
    """Base class. `status_code` is the HTTP status when there was a response.

    `maybe_created` is True when a task-creating request failed in a way that leaves it unknown
    whether the service created (and charged for) the task: such a request is never retried.
    """

    def __init__(self, message: str, *, status_code: int | None = None,
                 maybe_created: bool = False):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.maybe_created = maybe_created

    def __str__(self) -> str:
        return self.message


class BadRequestError(ApiframeError):
    """HTTP 400: the service rejected the request; `messages` holds every `errors[].msg`."""

    def __init__(self, message: str, *, messages: list[str] | None = None,
                 status_code: int | None = 400):
        super().__init__(message, status_code=status_code)
        self.messages = list(messages or [])


class TaskNotFoundError(BadRequestError):
    """`/fetch` answered 400/404 for a task id: the service does not know this task."""


class AuthenticationError(ApiframeError):
    """HTTP 401: missing, wrong or revoked key."""


class RateLimitError(ApiframeError):
    """HTTP 429. `retry_after` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 status_code: int | None = 429):
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ServerError(ApiframeError):
    """HTTP 5xx from the service."""


class InvalidResponseError(ApiframeError):
    """The service answered with something that is not the JSON it documents (a proxy's HTML page,
    an empty body, truncated JSON)."""


class ApiConnectionError(ApiframeError):
    """The service could not be reached, or the connection broke mid-request."""


class ApiTimeoutError(ApiConnectionError):
    """The service did not answer within the client's timeout."""


class TaskFailedError(ApiframeError):
    """A task ended with status `failed`; `reason` is the service's own words."""

    def __init__(self, message: str, *, task_id: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.task_id = task_id
        self.reason = reason


class JobTimeoutError(ApiframeError, TimeoutError):
    """A job passed its local deadline. The task may still finish: `resume` picks it up again."""


class InvalidArgumentError(ApiframeError, ValueError):
    """A client method was called with arguments the service would reject; nothing was sent."""


class JobCancelledError(ApiframeError):
    """The job was cancelled locally (the service has no cancel): it may still finish there."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, said in one line: what was stopped and what is known. A KeyboardInterrupt, so code
    that stops on Ctrl-C still stops; the IPython face shows its message without a traceback,
    whose frames (the raw request among them) could hold the key."""


class CallInterrupted(Interrupted):
    """Ctrl-C during a call to the service: the request may or may not have reached it."""

    def __init__(self, path: str, submitting: bool = False):
        known = (" The task may have been created: it is recorded as uncertain and never sent "
                 "again; `%imagine history` shows it." if submitting else
                 " Nothing was changed at the service by this call; run it again.")
        self.message = f"interrupted: {path} was stopped before its answer arrived.{known}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class StoppedWaiting(Interrupted):
    """Ctrl-C stopped a wait for a job's value (`job.wait()`, `job.save()`, `job.prompts`), never
    the job. A KeyboardInterrupt, so code that stops on Ctrl-C still stops; the IPython face shows
    it as its one-line message instead of a traceback (whose frames could hold anything)."""

    def __init__(self, jobs: int = 1):
        self.message = ("stopped waiting; the job goes on: job.wait() or %imagine wait picks it up"
                        if jobs == 1 else
                        "stopped waiting; the jobs go on: %imagine wait picks them up")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------- reading errors


def excerpt(text: str, limit: int = 120) -> str:
    """One line of at most `limit` characters, for messages that quote a body or a prompt."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def exception_chain(exc: BaseException):
    """Every exception wrapped inside `exc` (requests wraps urllib3, which wraps the socket)."""
    seen, stack = set(), [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        # urllib3 keeps the cause in `reason`, which is a plain string on an SSLError
        linked = (getattr(err, "reason", None), err.__cause__, err.__context__,
                  *getattr(err, "args", ()))
        stack.extend(item for item in linked if isinstance(item, BaseException))


@dataclass(frozen=True)
class TlsProblem:
    """A TLS failure found inside a requests/urllib3 exception.

    `reason` is a short phrase for a message; `before_sending` is True when it happened while
    the secure connection was being set up (the handshake), so no request bytes left.
    """

    reason: str
    before_sending: bool

    def advice(self) -> str:
        if "WRONG_VERSION_NUMBER" in self.reason.upper() or "plain HTTP" in self.reason:
            return "If this address speaks plain HTTP, use http:// instead of https://."
        return ("If a company proxy or antivirus intercepts HTTPS, point REQUESTS_CA_BUNDLE at "
                "its CA certificate.")


def tls_problem(exc: BaseException) -> TlsProblem | None:
    """The TLS failure inside `exc`, if there is one (certificate, wrong protocol, handshake)."""
    import ssl

    from requests.exceptions import SSLError as RequestsSSLError  # lazy: %load_ext stays light
    from urllib3.exceptions import SSLError as Urllib3SSLError

    found = [err for err in exception_chain(exc)
             if isinstance(err, (ssl.SSLError, ssl.CertificateError, Urllib3SSLError,
                                 RequestsSSLError))]
    if not found:
        return None
    inner = next((e for e in found if isinstance(e, (ssl.SSLError, ssl.CertificateError))),
                 found[-1])
    in_handshake = isinstance(inner, ssl.SSLCertVerificationError) or _raised_in_handshake(inner)
    return TlsProblem(_tls_reason(inner), in_handshake)


def in_tls_handshake(exc: BaseException) -> bool:
    """True when `exc` (any part of it) was raised while the TLS connection was being set up,
    before a byte of the request could be sent (a hung handshake is a timeout, not SSLError)."""
    return any(_raised_in_handshake(err) for err in exception_chain(exc))


def _raised_in_handshake(err: BaseException) -> bool:
    return any(frame.name == "do_handshake" for frame in traceback.extract_tb(err.__traceback__))


def _tls_reason(err: BaseException) -> str:
    verify = getattr(err, "verify_message", None)
    if verify:
        return f"certificate verify failed: {verify}"
    code = getattr(err, "reason", None)
    if code == "WRONG_VERSION_NUMBER":
        return "the server did not answer in TLS (WRONG_VERSION_NUMBER: plain HTTP on this port?)"
    if isinstance(code, str) and code:
        return code.replace("_", " ").lower()
    return excerpt(str(err), 100) or type(err).__name__
