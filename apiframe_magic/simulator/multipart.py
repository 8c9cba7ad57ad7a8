"""Read one file field out of a multipart/form-data body (the `cgi` module is gone in 3.13)."""
from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP


def file_field(content_type: str, body: bytes, name: str) -> bytes | None:
    """The bytes of form field `name`, or None when the body has no such field."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            return part.get_payload(decode=True) or b""
    return None
