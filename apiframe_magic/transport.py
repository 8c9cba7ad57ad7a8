"""HTTP plumbing shared by the API client and the image cache: a total deadline per call, answers
read with a size cap, and the User-Agent.

Why a deadline needs more than requests' timeouts: those bound each socket read, so a server that
trickles one byte every two seconds (headers included) holds a call, and the poller thread making
it, for as long as it likes. Here every read of an answer first shrinks the socket's timeout to
the time left before the call's deadline; past it, the read fails as a timeout, and urllib3's
retries and their sleeps stop too. The deadline lives in a thread-local set by `call_deadline`
around one call: no watchdog thread is needed.
"""
from __future__ import annotations

import contextlib
import http.client
import io
import threading
import time
from importlib import metadata
from typing import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


def _version() -> str:
    try:
        return metadata.version("apiframe-magic")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


USER_AGENT = f"apiframe-magic/{_version()} {requests.utils.default_user_agent()}"

_call = threading.local()


@contextlib.contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """Everything sent and read on this thread inside the block ends within `seconds`
    (requests through a `DeadlineAdapter`: reads, retries and retry sleeps)."""
    outer = getattr(_call, "deadline", None)
    _call.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _call.deadline = outer


def time_left() -> float | None:
    """Seconds before the current call's deadline (negative once past), None outside a call."""
    deadline = getattr(_call, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def deadline_passed() -> bool:
    left = time_left()
    return left is not None and left <= 0


class _DeadlineReader(io.RawIOBase):
    """The socket as http.client reads an answer through it (status line, headers, body)."""

    def __init__(self, sock):
        self._sock = sock
        self._timeout = sock.gettimeout()  # the read timeout urllib3 set for this response
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = time_left()
        if left is not None:
            if left <= 0:
                raise TimeoutError("the call's deadline passed")
            self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """Handed to http.client's response instead of the socket: only `makefile` is used."""

    def __init__(self, sock):
        self._sock = sock

    def makefile(self, mode: str = "rb", *args, **kwargs):
        return io.BufferedReader(_DeadlineReader(self._sock))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock, *args, **kwargs):
        super().__init__(_DeadlineSocket(sock), *args, **kwargs)


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections read answers within the current `call_deadline`."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


class AnswerTooLarge(Exception):
    """The body went past the cap; `declared` is its Content-Length when it said so."""

    def __init__(self, limit: int, declared: int | None):
        super().__init__(f"answer larger than {limit} bytes")
        self.limit = limit
        self.declared = declared


def read_capped(response: requests.Response, limit: int, chunk_size: int = 64 * 1024) -> bytes:
    """The (decompressed) body of a streamed response, reading no more than `limit` bytes:
    AnswerTooLarge as soon as it declares or delivers more (the connection is then closed)."""
    try:
        declared = int(response.headers.get("Content-Length", ""))
    except ValueError:
        declared = None
    if declared is not None and declared > limit:
        response.close()
        raise AnswerTooLarge(limit, declared)
    body = bytearray()
    for chunk in response.iter_content(chunk_size):
        body += chunk
        if len(body) > limit:
            response.close()
            raise AnswerTooLarge(limit, declared)
    return bytes(body)
