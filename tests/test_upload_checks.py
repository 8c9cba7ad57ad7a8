"""Uploads are checked on this machine: a file that is not an image (a private key typed by
mistake) is one UsageError and never reaches /upload, whatever path sends it."""
from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from PIL import Image

from magic_shell import magics_of

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n" \
              "-----END OPENSSH PRIVATE KEY-----\n"


def uploads(ip) -> int:
    rt = magics_of(ip).runtime
    return 0 if rt is None else rt.simulator.request_counts["/upload"]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "id_ed25519").write_text(PRIVATE_KEY)
    (tmp_path / "key.png").write_text(PRIVATE_KEY)                 # the name does not matter
    (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)   # signature only
    Image.new("RGB", (32, 32), (10, 120, 200)).save(tmp_path / "real.png")
    return tmp_path


@pytest.mark.parametrize("name, expected", [("id_ed25519", "id_ed25519 is not an image"),
                                            ("key.png", "key.png is not an image"),
                                            ("fake.png", "fake.png is unreadable")])
def test_an_image_prompt_that_is_not_an_image_is_refused_before_upload(ip, files, name,
                                                                       expected):
    ip.run_line_magic("imagine", "history")                        # the runtime exists
    with pytest.raises(UsageError) as caught:
        ip.run_cell_magic("imagine", f"--image {name}", "a red fox")
    message = str(caught.value)
    assert expected in message and "\n" not in message and "OPENSSH" not in message
    assert uploads(ip) == 0 and magics_of(ip).runtime.simulator.tasks_created == 0


def test_bytes_that_are_not_an_image_are_refused_too(ip, files):
    ip.run_line_magic("imagine", "history")
    ip.user_ns["secret"] = PRIVATE_KEY.encode()
    with pytest.raises(UsageError, match="not an image"):
        ip.run_cell_magic("imagine", "--image secret", "a red fox")
    assert uploads(ip) == 0


@pytest.mark.parametrize("line", ["describe id_ed25519", "blend real.png id_ed25519"])
def test_describe_and_blend_refuse_a_file_that_is_not_an_image(ip, files, line):
    ip.run_line_magic("imagine", "history")
    with pytest.raises(UsageError, match="id_ed25519 is not an image"):
        ip.run_line_magic("imagine", line)
    assert uploads(ip) == line.count("real.png")
    assert magics_of(ip).runtime.simulator.tasks_created == 0


def test_a_real_image_is_still_uploaded(ip, files):
    ip.run_line_magic("imagine", "history")
    ip.run_line_magic("imagine", "describe real.png")
    assert uploads(ip) == 1
