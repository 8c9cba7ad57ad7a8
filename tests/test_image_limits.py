"""Real-world sizes: the pixel cap (decompression bombs), the byte limit, and thumbnails that hold
at most one full-size bitmap in memory. Images come over real HTTP from a local server."""
from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from apiframe_magic import images
from apiframe_magic.images import (
    DEFAULT_MAX_BYTES, MAX_IMAGE_PIXELS, ImageCache, ImageDownloadError, ImageFileError,
    scaled_down,
)

from localserver import serving_pngs


def png_of(size, mode="1") -> bytes:
    """A PNG of `size` pixels that costs almost nothing on disk (one flat colour)."""
    output = io.BytesIO()
    Image.new(mode, size).save(output, format="PNG")
    return output.getvalue()


BOMB = png_of((8000, 6000))                 # 48 Mpx in 8 KB: above the cap
LARGEST_REAL = png_of((5824, 3264), "L")    # a 16:9 4x upscale: 19 Mpx, must pass


def test_a_decompression_bomb_is_refused_before_decoding_and_not_kept(tmp_path):
    with serving_pngs({"/bomb.png": BOMB}) as url, ImageCache(tmp_path / "c") as cache:
        with pytest.raises(ImageDownloadError, match=r"8000x6000 pixels .*40-megapixel limit"):
            cache.get(url + "/bomb.png")
        assert cache.cached_path(url + "/bomb.png") is None
        assert not list(cache.objects_dir.rglob("*.png"))


def test_the_largest_real_output_passes_the_pixel_cap(tmp_path):
    with serving_pngs({"/upscale-4x.png": LARGEST_REAL}) as url, ImageCache(tmp_path / "c") as cache:
        path = cache.get(url + "/upscale-4x.png")
        with Image.open(io.BytesIO(cache.thumbnail(path, 512))) as thumb:
            assert thumb.size == (512, 287)


def test_a_local_bomb_gets_no_thumbnail(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(BOMB)
    with ImageCache(tmp_path / "c") as cache:
        with pytest.raises(ImageFileError, match="40-megapixel limit"):
            cache.thumbnail(bomb)


def test_the_limits_admit_midjourney_s_largest_output_with_margin():
    assert MAX_IMAGE_PIXELS >= 2 * 5824 * 3264 * 0.99 > 19_000_000
    assert DEFAULT_MAX_BYTES >= 1.5 * 40 * 2**20  # a detailed 4096-px PNG: 25-40 MB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("make", [
    "from apiframe_magic.images import render_thumbnail as make",       # the live view's
    "from apiframe_magic.static.render import jpeg_within as make",     # the static twin's
])
def test_a_thumbnail_holds_at_most_one_full_size_bitmap(tmp_path, make):
    """Peak memory of a fresh process making one thumbnail of a 19 Mpx RGB PNG (57 MB decoded):
    one full-size bitmap plus small ones, not two full-size copies."""
    source = tmp_path / "big.png"
    Image.new("RGB", (5824, 3264), (30, 90, 160)).save(source, compress_level=1)
    script = textwrap.dedent(f"""
        from pathlib import Path
        {make}

        def peak_kib():  # this process's own high-water mark (ru_maxrss counts the forked parent)
            with open("/proc/self/status") as status:
                return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

        before = peak_kib()
        make(Path({str(source)!r}), 512, *(["JPEG"] if "render_thumbnail" in {make!r} else []))
        print(peak_kib() - before)
    """)
    grown_kib = int(subprocess.run([sys.executable, "-c", script], check=True,
                                   capture_output=True, text=True).stdout)
    full_size_kib = 5824 * 3264 * 4 // 1024  # Pillow keeps RGB in 4 bytes a pixel
    assert full_size_kib * 0.9 < grown_kib < full_size_kib * 1.5


def test_a_picture_shrunk_once_is_not_decoded_again_for_a_smaller_side(tmp_path, monkeypatch):
    source = tmp_path / "grid.png"
    Image.new("RGB", (2048, 2048), (200, 40, 40)).save(source)
    opened = []
    real_open = images.Image.open
    monkeypatch.setattr(images.Image, "open",
                        lambda *args, **kw: opened.append(args) or real_open(*args, **kw))
    assert scaled_down(source, 768).size == (768, 768)
    assert scaled_down(source, 512).size == (512, 512)
    assert len(opened) == 1
    Image.new("RGB", (1000, 500)).save(source)  # a changed file is read again
    assert scaled_down(source, 512).size == (512, 256) and len(opened) == 2


def test_the_cache_can_make_a_thumbnail_as_each_image_arrives(tmp_path):
    with serving_pngs({"/v.png": png_of((1024, 1024), "RGB")}) as url, \
            ImageCache(tmp_path / "c", thumbnail_side=256) as cache:
        path = cache.get(url + "/v.png")
        assert [thumb.name for thumb in cache.thumbs_dir.iterdir()] == [f"{path.stem}_256.jpg"]
