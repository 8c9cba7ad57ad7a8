"""Where the API key comes from, looked up again at every call so that setting it needs no restart.

Order: a key given with `%imagine login` (kept in this process only), then the environment
variable (`APIFRAME_API_KEY` unless configured otherwise), then a `.env` file in the kernel's
working directory (the notebook's folder under Jupyter). The key itself is never printed: callers
get it (as a `HiddenKey`, which no repr and so no traceback shows) plus a description of where it
came from, and a fingerprint to notice that it changed.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..redaction import HiddenKey
from ..settings import KEY_ENV


@dataclass(frozen=True)
class KeyChoice:
    key: str | None = field(repr=False)
    source: str                      # "login", "$APIFRAME_API_KEY", "/path/.env", or "none"

    @property
    def fingerprint(self) -> str | None:
        """Tells two keys apart without keeping a copy that could be printed."""
        if not self.key:
            return None
        return hashlib.sha256(self.key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class KeyRing:
    """Finds the key for each call; remembers a key typed at `%imagine login`."""

    def __init__(self, env_var: str = KEY_ENV):
        self.env_var = env_var
        self._login_key: str | None = None

    def __repr__(self) -> str:
        return f"<KeyRing ${self.env_var}{' + login' if self._login_key else ''}>"

    def login(self, key: str) -> None:
        self._login_key = HiddenKey(key.strip()) or None

    def logout(self) -> None:
        self._login_key = None

    def current(self, directory: str | os.PathLike | None = None) -> KeyChoice:
        if self._login_key:
            return KeyChoice(self._login_key, "login")
        value = HiddenKey(os.environ.get(self.env_var, "").strip())
        if value:
            return KeyChoice(value, f"${self.env_var}")
        dotenv = Path(directory or os.getcwd()) / ".env"
        value = _read_dotenv(dotenv, self.env_var)
        if value:
            return KeyChoice(HiddenKey(value), str(dotenv))
        return KeyChoice(None, "none")


def _read_dotenv(path: Path, name: str) -> str | None:
    """The variable from a .env file, without putting anything into os.environ."""
    if not path.is_file():
        return None
    from dotenv import dotenv_values

    try:
        value = dotenv_values(path).get(name)
    except (OSError, UnicodeDecodeError):
        return None
    return value.strip() if value and value.strip() else None
