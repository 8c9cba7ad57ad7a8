"""Typed errors for everything that can go wrong between us and the APIFRAME service.

Every message is written for the person at the notebook: what happened and what to do. No message,
repr or attribute ever holds the API key.
"""
from __future__ import annotations


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
