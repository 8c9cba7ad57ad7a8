"""Every setting read from the environment, in one place: its variable name, its default and the
check a value must pass, so the CLI, the runtime and the magic agree on each one.

A vocabulary leaf: standard library and `errors` only, because the magic imports it at
`%load_ext` (requests, Pillow and the engine must not load then). A bad value is one clear
InvalidArgumentError naming the variable, never a silent fallback to the default.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import InvalidArgumentError, excerpt

KEY_ENV = "APIFRAME_API_KEY"                # the default variable holding the key
BASE_URL_ENV = "APIFRAME_BASE_URL"
DEFAULT_BASE_URL = "https://api.apiframe.pro"
SIM_SPEED_ENV = "APIFRAME_SIM_SPEED"
DEFAULT_SIM_SPEED = 10.0                    # an imagine takes about 4 s
WAIT_ENV = "APIFRAME_MAGIC_WAIT"            # 1/true/yes/always forces waiting, 0/false/no/never not
CONFIRM_ENV = "APIFRAME_CONFIRM_ABOVE"      # the CLI asks before more paid tasks than this
DEFAULT_CONFIRM_ABOVE = 4
MAGIC_CONFIRM_ABOVE = 10                    # the magic's runs of more jobs need --yes
HOME_ENV = "APIFRAME_MAGIC_HOME"            # history and image cache
CACHE_MB_ENV = "APIFRAME_MAGIC_CACHE_MB"    # the image cache's limit; least recently used go first
DEFAULT_CACHE_MB = 4096
SIM_IMAGES_ENV = "APIFRAME_SIM_IMAGES"      # "realistic": the simulator's images at real size

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WAIT_WORDS = {"1": True, "true": True, "yes": True, "always": True,
               "0": False, "false": False, "no": False, "never": False}


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


# ---------------------------------------------------------------------------- URLs


def is_http_url(value: Any) -> bool:
    """True for an http(s) URL with a host and no whitespace: the one test of "is this a link"."""
    if not isinstance(value, str) or not value or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def check_base_url(url: Any) -> str:
    """The service's address without a trailing slash, or InvalidArgumentError saying what is
    wrong: every endpoint path is appended to it, so a query, a fragment or credentials in it
    would silently end up in the wrong place."""
    text = str(url).strip() if isinstance(url, str) else ""
    hint = f" ({BASE_URL_ENV} or base_url=; the default is {DEFAULT_BASE_URL})"
    if not re.match(r"^https?://[^/\s]+", text):
        shown = excerpt(re.sub(r"//[^/@]*@", "//", text), 60) if text else repr(url)
        raise InvalidArgumentError(f"The base URL must start with http:// or https://, got "
                                   f"{shown!r}{hint}")
    parts = urlsplit(text)
    problems = []
    if parts.query or "?" in text:  # not shown: a query may carry a token
        problems.append("a query (?...)")
    if parts.fragment or "#" in text:
        problems.append("a fragment (#...)")
    if parts.username is not None or parts.password is not None:
        problems.append("a user name or password")
    if any(char.isspace() for char in text):
        problems.append("a space")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        problems.append("a port that is not a number from 0 to 65535")
    if problems:
        shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
        raise InvalidArgumentError(f"The base URL {shown!r} has {' and '.join(problems)}; give "
                                   f"only scheme, host, port and path{hint}")
    return text.rstrip("/")


def base_url() -> str:
    """$APIFRAME_BASE_URL, else the public service (checked where it is used: check_base_url)."""
    return _env(BASE_URL_ENV) or DEFAULT_BASE_URL


# ---------------------------------------------------------------------------- numbers


def check_sim_speed(value: Any, name: str = "sim_speed") -> float:
    """A simulator clock speed: a finite number > 0."""
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = math.nan
    if isinstance(value, bool) or not math.isfinite(speed) or speed <= 0:
        raise InvalidArgumentError(f"{name} must be a finite number > 0 (10 makes an imagine "
                                   f"take about 4 s), got {value!r}")
    return speed


def sim_speed() -> float:
    """$APIFRAME_SIM_SPEED, else the default; an unusable value is an error."""
    text = _env(SIM_SPEED_ENV)
    return check_sim_speed(text, SIM_SPEED_ENV) if text else DEFAULT_SIM_SPEED


def check_whole_number(value: Any, name: str, minimum: int = 0) -> int:
    """A whole number >= `minimum`, from an int or its text."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+", text) or int(text) < minimum:
        raise InvalidArgumentError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(text)


def confirm_above() -> int:
    """$APIFRAME_CONFIRM_ABOVE, else the CLI's default."""
    text = _env(CONFIRM_ENV)
    return check_whole_number(text, CONFIRM_ENV) if text else DEFAULT_CONFIRM_ABOVE


# ---------------------------------------------------------------------------- the rest


def forced_wait() -> bool | None:
    """What $APIFRAME_MAGIC_WAIT forces: True (wait), False (never wait) or None (not set)."""
    text = _env(WAIT_ENV).lower()
    if not text:
        return None
    if text not in _WAIT_WORDS:
        raise InvalidArgumentError(f"{WAIT_ENV} must be one of {', '.join(_WAIT_WORDS)}, "
                                   f"got {text!r}")
    return _WAIT_WORDS[text]


def check_env_name(name: Any, setting: str = "api_key_env") -> str:
    """The name of an environment variable (the key's variable is configurable)."""
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise InvalidArgumentError(f"{setting} must be an environment variable name, like "
                                   f"{KEY_ENV}; got {name!r}")
    return name


def data_dir() -> Path:
    """The extension's data directory: $APIFRAME_MAGIC_HOME, else ~/.apiframe_magic."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".apiframe_magic"


def check_cache_limit_mb(value: Any, name: str = "cache_limit_mb") -> int:
    """Megabytes, 0 or more (0: keep only the images in use)."""
    return check_whole_number(value, name)   # in MB


def cache_limit_mb() -> int:
    """`APIFRAME_MAGIC_CACHE_MB`, else the default."""
    text = _env(CACHE_MB_ENV)
    return check_cache_limit_mb(text, CACHE_MB_ENV) if text else DEFAULT_CACHE_MB
