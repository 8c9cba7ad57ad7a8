"""The bounded image cache: least recently used images go first, pinned ones and saved copies
never; evicted images come back on demand. Real HTTP from a local server, tiny limits."""
from __future__ import annotations

import gc
import io
import random
from collections import Counter

import pytest
from PIL import Image

from apiframe_magic.errors import InvalidArgumentError
from apiframe_magic.images import ImageCache, save

from clirun import run_cli
from localserver import serving_pngs
from magic_shell import magics_of

HITS: Counter[str] = Counter()


def noise_png(seed: int) -> bytes:
    """About 0.8 MB that PNG cannot compress: two fit a 2 MB limit, three do not."""
    output = io.BytesIO()
    Image.frombytes("RGB", (520, 520), random.Random(seed).randbytes(520 * 520 * 3)).save(output, format="PNG")
    return output.getvalue()


IMAGES = {f"/{name}.png": noise_png(n) for n, name in enumerate("abcd")}


@pytest.fixture
def url():
    HITS.clear()
    with serving_pngs(IMAGES, HITS) as base:
        yield base


@pytest.fixture
def cache(tmp_path):
    with ImageCache(tmp_path / "cache", limit_mb=2) as opened:
        yield opened


class Shown:
    """Stands for a job whose view is on screen (anything that can be weakly referenced)."""


def test_past_the_limit_the_least_recently_used_image_goes(url, cache):
    a, b = cache.get(url + "/a.png"), cache.get(url + "/b.png")
    cache.get(url + "/a.png")           # a used again: b is now the oldest
    c = cache.get(url + "/c.png")
    assert a.is_file() and c.is_file() and not b.exists()
    assert cache.usage().images == 2


def test_an_evicted_image_is_downloaded_again_when_asked_for(url, cache):
    for name in "abc":                  # c evicts a
        cache.get(f"{url}/{name}.png")
    assert cache.get(url + "/a.png").is_file()
    assert HITS["/a.png"] == 2


def test_images_of_a_shown_job_are_never_evicted_until_it_is_gone(url, cache):
    job = Shown()
    a = cache.get(url + "/a.png")
    cache.pin(job, [a])
    cache.get(url + "/b.png")
    cache.get(url + "/c.png")
    assert a.is_file()
    del job
    gc.collect()
    cache.get(url + "/d.png")
    assert not a.exists()


def test_thumbnails_go_with_their_image(url, cache):
    a = cache.get(url + "/a.png")
    cache.thumbnail(a, 128)
    cache.get(url + "/b.png")
    cache.get(url + "/c.png")
    assert not a.exists() and not list(cache.thumbs_dir.glob(a.stem + "_*"))


def test_saved_copies_survive_pruning_to_nothing(url, cache, tmp_path):
    a = cache.get(url + "/a.png")
    [saved] = save("task", {"grid": a}, tmp_path / "mine")
    removed = cache.prune(0)
    assert removed.images == 1 and cache.usage().images == 0
    assert saved.read_bytes() == IMAGES["/a.png"]


def test_the_limit_comes_from_the_environment_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("APIFRAME_MAGIC_CACHE_MB", "7")
    assert ImageCache(tmp_path / "c").limit_mb == 7
    monkeypatch.setenv("APIFRAME_MAGIC_CACHE_MB", "lots")
    with pytest.raises(InvalidArgumentError, match="APIFRAME_MAGIC_CACHE_MB must be a whole"):
        ImageCache(tmp_path / "c")
    monkeypatch.delenv("APIFRAME_MAGIC_CACHE_MB")
    assert ImageCache(tmp_path / "c").limit_mb == 4096


def test_the_cli_shows_the_size_and_prunes(url, tmp_path):
    home = tmp_path / "home"
    with ImageCache(home / "images") as cache:
        cache.get(url + "/a.png")
        cache.get(url + "/b.png")
    env = {"APIFRAME_MAGIC_HOME": str(home)}
    shown = run_cli("cache", env_extra=env)
    assert shown.returncode == 0 and "images: 2 images, 1.6 MB (limit 4096 MB)" in shown.stdout
    pruned = run_cli("cache", "--prune", "--limit-mb", "1", env_extra=env)
    assert pruned.returncode == 0, pruned.stderr
    assert pruned.stdout.splitlines()[0] == "removed 1 image, 0.8 MB"
    assert "images: 1 image, 0.8 MB (limit 1 MB)" in pruned.stdout


def test_config_sets_the_limit_of_the_running_cache(ip):
    ip.run_line_magic("config", "Imagine.cache_limit_mb = 3")
    rt = magics_of(ip).current_runtime()
    assert rt.images.limit_mb == 3
    ip.run_line_magic("config", "Imagine.cache_limit_mb = 5")
    assert rt.images.limit_mb == 5
