"""The realistic simulator serves Midjourney's real dimensions and weight, and the image cache's
default limits admit its largest output (a 16:9 4x upscale) over real HTTP."""
from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from apiframe_magic import ApiframeClient
from apiframe_magic.images import ImageCache
from apiframe_magic.simulator import Simulator

from localserver import finish

OLD_BYTE_LIMIT = 25 * 2**20  # what the cache refused before real sizes were measured


def downloaded(url):
    response = requests.get(url, timeout=60)
    response.raise_for_status()
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size, len(response.content)


@pytest.fixture(scope="module")
def realistic():
    with Simulator(speed=100, images="realistic") as sim, \
            ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01) as client:
        yield client


@pytest.fixture(scope="module")
def wide_grid(realistic):
    return finish(realistic, realistic.imagine("a harbour at dawn --ar 16:9"))


def test_a_grid_has_midjourney_s_sizes_and_weight(wide_grid):
    (size, weight) = downloaded(wide_grid.image_urls[0])
    assert size == (1456, 816) and 1_000_000 <= weight <= 2_500_000
    (size, weight) = downloaded(wide_grid.original_image_url)
    assert size == (2912, 1632) and 4_000_000 <= weight <= 8_000_000


def test_a_square_variant_is_1024_px_and_its_upscale_keeps_the_size(realistic):
    grid = finish(realistic, realistic.imagine("a lighthouse"))
    assert downloaded(grid.image_urls[3])[0] == (1024, 1024)
    upscale = finish(realistic, realistic.upscale_1x(grid.task_id, 4))
    assert downloaded(upscale.image_url)[0] == (1024, 1024)
    double = finish(realistic, realistic.upscale_highres(upscale.task_id, type="2x"))
    assert downloaded(double.image_url)[0] == (2048, 2048)


def test_the_largest_real_output_passes_the_cache_s_default_limits(realistic, wide_grid, tmp_path):
    upscale = finish(realistic, realistic.upscale_1x(wide_grid.task_id, 1))
    four_x = finish(realistic, realistic.upscale_highres(upscale.task_id, type="4x"), timeout=120)
    with ImageCache(tmp_path / "cache") as cache:
        path = cache.get(four_x.image_url)
        assert path.stat().st_size > OLD_BYTE_LIMIT
        with Image.open(path) as image:
            assert image.size == (5824, 3264)
        with Image.open(io.BytesIO(cache.thumbnail(path, 512))) as thumb:
            assert thumb.size == (512, 287)


def test_the_default_stays_light(client):
    grid = finish(client, client.imagine("a lighthouse"))
    size, weight = downloaded(grid.image_urls[0])
    assert size == (512, 512) and weight < 200_000


def test_the_environment_chooses_the_style_and_a_wrong_one_is_refused(monkeypatch):
    monkeypatch.setenv("APIFRAME_SIM_IMAGES", "realistic")
    assert Simulator().images.style == "realistic"
    monkeypatch.setenv("APIFRAME_SIM_IMAGES", "huge")
    with pytest.raises(ValueError, match="APIFRAME_SIM_IMAGES='huge' is not an image style"):
        Simulator()
