"""The offline simulator tells the quickstart's story: a style code (--sref) decides colours and
brush, so one code looks alike across prompts; the subject a prompt names is drawn, so a cat and
an owl look different; /describe suggests a ratio a person would write."""
from __future__ import annotations

import pytest
from PIL import Image

from apiframe_magic.describe import describe_image
from apiframe_magic.simulator.art import ArtSpec, render
from apiframe_magic.simulator.palettes import palette_for
from history_fixtures import finish

BINS = 4  # per channel: a coarse colour histogram is what "the palette" means here


def pixels(image: Image.Image) -> list[tuple[int, int, int]]:
    data = image.convert("RGB").tobytes()
    return list(zip(data[0::3], data[1::3], data[2::3]))


def colour_histogram(path) -> list[float]:
    with Image.open(path) as image:
        small = image.convert("RGB").resize((96, 64))
    counts = [0] * BINS ** 3
    for r, g, b in pixels(small):
        counts[(r * BINS // 256) * BINS * BINS + (g * BINS // 256) * BINS + b * BINS // 256] += 1
    total = sum(counts)
    return [count / total for count in counts]


def palette_distance(first, second) -> float:
    """Half the L1 distance of the colour histograms: 0 same colours, 1 nothing in common."""
    return sum(abs(a - b) for a, b in zip(colour_histogram(first), colour_histogram(second))) / 2


def grid_variant(manager, prompt: str):
    job = manager.imagine(prompt, aspect_ratio="3:2")
    finish(job)
    job.wait(timeout=30, images=True)
    return job.image_paths["1"]


def test_one_style_code_looks_alike_across_prompts(manager):
    fox = grid_variant(manager, "a red fox in a snowy forest, golden hour --ar 3:2 --sref 1234567")
    lighthouse = grid_variant(manager, "a lighthouse on a cliff at dusk --ar 3:2 --sref 1234567")
    other_style = grid_variant(manager, "a lighthouse on a cliff at dusk --ar 3:2 --sref 7654321")
    same = palette_distance(fox, lighthouse)
    different = palette_distance(lighthouse, other_style)
    assert same < 0.5 * different, (same, different)


def test_a_random_style_code_is_drawn_as_that_code(manager):
    """--sref random gets a code from the service; reusing it gives the same colours."""
    job = manager.imagine("a red fox in a snowy forest --ar 3:2 --sref random", aspect_ratio="3:2")
    finish(job)
    job.wait(timeout=30, images=True)
    reused = grid_variant(manager, f"a quiet harbour at dawn --ar 3:2 --sref {job.sref}")
    plain = grid_variant(manager, "a quiet harbour at dawn --ar 3:2")
    assert palette_distance(job.image_paths["1"], reused) < \
        0.5 * palette_distance(job.image_paths["1"], plain)


def _subject_pixels(subject: str | None) -> Image.Image:
    spec = ArtSpec(palette_for("a cat in a garden", "1234567"), 42, (384, 256), subject=subject)
    return render(spec)


def _changed_fraction(first: Image.Image, second: Image.Image) -> float:
    pairs = zip(pixels(first), pixels(second))
    return sum(max(abs(a - b) for a, b in zip(p, q)) > 40 for p, q in pairs) / (
        first.width * first.height)


@pytest.mark.parametrize("first, second", [("cat", "owl"), ("fox", "lighthouse")])
def test_different_subjects_draw_different_shapes(first, second):
    """Same scene, only the subject changes: each subject covers a visible part of the picture,
    and the two differ by more than a tenth of what either adds to the empty scene."""
    empty, one, other = _subject_pixels(None), _subject_pixels(first), _subject_pixels(second)
    added_one, added_other = _changed_fraction(empty, one), _changed_fraction(empty, other)
    assert min(added_one, added_other) > 0.01
    assert _changed_fraction(one, other) > 0.5 * min(added_one, added_other)


def test_describe_suggests_a_ratio_a_person_would_write(manager, tmp_path):
    path = tmp_path / "thumbnail.png"
    Image.new("RGB", (512, 341), (200, 120, 40)).save(path)
    job = describe_image(manager, path)
    job.wait(timeout=30)
    assert len(job.prompts) == 4
    assert all(prompt.endswith("--ar 3:2") for prompt in job.prompts), job.prompts
