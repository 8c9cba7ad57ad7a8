"""`ApiframeClient.upload` called straight from Python checks what it sends like the magic does:
a file or bytes that are not an image never reach /upload. Over real HTTP to the simulator."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from apiframe_magic.errors import InvalidArgumentError

PRIVATE_KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


@pytest.mark.parametrize("name, content, expected", [
    ("id_ed25519", PRIVATE_KEY, "id_ed25519 is not an image"),
    ("key.png", PRIVATE_KEY, "key.png is not an image"),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "fake.png is unreadable"),
])
def test_a_file_that_is_not_an_image_is_refused_before_upload(sim, client, tmp_path, name,
                                                              content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidArgumentError, match=expected):
        client.upload(path)
    assert sim.request_counts["/upload"] == 0


def test_bytes_that_are_not_an_image_are_refused_too(sim, client):
    with pytest.raises(InvalidArgumentError, match="the bytes is not an image"):
        client.upload(PRIVATE_KEY)
    assert sim.request_counts["/upload"] == 0


def test_an_image_is_still_uploaded_from_a_path_bytes_or_pillow(sim, client, tmp_path):
    picture = Image.new("RGB", (32, 32), (10, 120, 200))
    picture.save(tmp_path / "real.png")
    encoded = io.BytesIO()
    picture.save(encoded, format="PNG")
    urls = [client.upload(tmp_path / "real.png"), client.upload(encoded.getvalue()),
            client.upload(picture)]
    assert all(url.startswith(sim.url) for url in urls)
    assert sim.request_counts["/upload"] == 3
