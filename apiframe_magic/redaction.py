"""Keep API keys out of every text we write or show: the last line of defence.

Nothing should put a key into a message in the first place; this catches it if something does,
in the forms a key takes inside other text: as is, repr- or JSON-escaped (a key with a control
character or non-ASCII letter), URL-encoded, base64-encoded (a Basic header echoed back), or cut
into pieces at the characters that escaping or a header parser would break it on. Keys are known
from `APIFRAME_API_KEY` and from every `ApiframeClient` built in this process (`remember_key`).
A password written into a URL (`https://user:pass@host`, say in APIFRAME_BASE_URL) is redacted
wherever it appears too.

`printable` is for text headed to a terminal or a text/plain output: what `redact` does, plus
control characters from the service made visible, so a title, a clear screen, an OSC 52
clipboard write or any other escape sequence in a task's fields cannot act on the terminal.
"""
from __future__ import annotations

import base64
import json
import os
import re
import threading
from functools import lru_cache
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter strings (the simulator's "sim-key") would redact ordinary words

_known: set[str] = set()
_lock = threading.Lock()
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\U0010ffff]+")  # whitespace, control, non-ASCII
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]+@")
# C0 but line feed and tab, DEL, C1 (CSI, OSC...), bidirectional overrides that reorder a line
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class HiddenKey(str):
    """A key that is still a `str` (for the Authorization header) but whose repr hides it.

    Tracebacks print frame locals and arguments by their repr (IPython's `%xmode Verbose` shows
    urllib3's `headers` and our own `api_key` arguments): holding the key in a `HiddenKey` from
    where it is found to the header keeps it out of every traceback mode.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<api key hidden>'"


def remember_key(key: str) -> None:
    """Redact this key from now on (ApiframeClient calls it with the key it was given)."""
    if _is_key(key):
        with _lock:
            _known.add(str(key))


def _is_key(value) -> bool:
    return isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH


def secret_forms(key: str) -> set[str]:
    """Every spelling of `key` that may appear inside a text, longest first when sorted."""
    key = str(key)   # a HiddenKey's repr would hide the escaped spelling
    # Its bytes: an undecodable byte of the environment's value (a lone surrogate) is itself again.
    data = key.encode(errors="surrogateescape")
    encoded = base64.b64encode(data).decode()
    forms = {key, key.strip(), repr(key)[1:-1], json.dumps(key)[1:-1],
             json.dumps(key, ensure_ascii=False)[1:-1], key.encode("unicode_escape").decode(),
             quote(data, safe=""), quote(data), quote_plus(data), repr(data)[2:-1],
             encoded, encoded.rstrip("="), base64.urlsafe_b64encode(data).decode()}
    forms.update(piece for piece in _BREAKS.split(key))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def _patterns() -> tuple[str, ...]:
    with _lock:
        keys = set(_known)
    env = os.environ.get("APIFRAME_API_KEY")
    if _is_key(env):
        keys.add(env)
    return _patterns_for(frozenset(keys))


@lru_cache(maxsize=8)
def _patterns_for(keys: frozenset[str]) -> tuple[str, ...]:
    forms: set[str] = set()
    for key in keys:
        forms |= secret_forms(key)
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str | None) -> str | None:
    """`text` with every known key, in any of its spellings, replaced by "[redacted]"."""
    if not text:
        return text
    for form in _patterns():
        if form in text:
            text = text.replace(form, REDACTED)
    if "@" in text:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return text


def printable(text) -> str:
    """`text` redacted, its control characters shown as escapes (ESC -> "\\u001b", which is
    also a valid escape inside JSON output): safe to print."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", redact(str(text)))
