"""The spellings of a secret, listed here independently of the product's own list (an oracle
that forgot a form would forget it in both places), and a proxy that echoes all of them."""
from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote, quote_plus

KEY = "sk-LIVE/ab+cd=\"q\\w'z"   # printable ASCII, but every escaping changes it


def spellings(key: str) -> dict[str, str]:
    """The forms a key takes inside other text."""
    return {
        "plain": key,
        "repr": repr(key)[1:-1],
        "json": json.dumps(key)[1:-1],
        "url": quote(key, safe=""),
        "url keeping /": quote(key),
        "url form": quote_plus(key),
        "base64": base64.b64encode(key.encode()).decode(),
        "base64 url-safe": base64.urlsafe_b64encode(key.encode()).decode(),
    }


def leaks(text: str, key: str = KEY) -> list[str]:
    """The names of the spellings of `key` found in `text`."""
    return [name for name, form in spellings(key).items() if form in text]


def leaks_in_files(directory: Path, key: str = KEY) -> list[str]:
    """Spellings found in any file under `directory`, as written (UTF-8) or JSON-escaped."""
    found = []
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path.name}: {name}" for name, form in spellings(key).items()
                  if form.encode() in data or json.dumps(form)[1:-1].encode() in data]
    return found


class EchoingProxy(BaseHTTPRequestHandler):
    """A misbehaving proxy: rejects every request, quoting the Authorization header it got
    in every spelling of `spellings`."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Authorization") or ""
        forms = spellings(key).values()
        body = json.dumps({"errors": [{"msg": f"bad key {form}"} for form in forms]}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
