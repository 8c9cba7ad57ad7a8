"""The notebook budgets of the static twins, with pictures that do not compress (noise), so that
every shrinking step has to run: a finished job adds at most 250 KB to the .ipynb (base64
included), a permutation's matrix JPEG is at most 400 KB, and a 40-job run is one output (under
JupyterLab's 50-output cap). The limits are written here, not read from the product."""
from __future__ import annotations

import base64
import io
import json
import random

import pytest
from PIL import Image

from apiframe_magic.static import render
from apiframe_magic.static.matrix import composite_jpeg, layout, matrix_bundle
from magic_shell import make_shell

NOTEBOOK_BUDGET = 250_000      # README: at most 250 KB per finished grid in the .ipynb
MATRIX_BUDGET = 400_000        # README: one labelled matrix JPEG of at most 400 KB
OUTPUT_CAP = 50                # JupyterLab keeps at most 50 outputs of a cell


def noise(width: int, height: int, seed: int = 7) -> Image.Image:
    return Image.frombytes("RGB", (width, height),
                           random.Random(seed).randbytes(width * height * 3))


def jpeg_size(image: Image.Image, quality: int) -> int:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.tell()


def test_a_noise_grid_needs_a_smaller_side_and_fits_the_budget(tmp_path):
    picture = tmp_path / "grid.png"
    noise(768, 768).save(picture)
    assert jpeg_size(noise(768, 768), 45) > 180_000     # every quality at 768 px is too big
    data, (width, height) = render.jpeg_within(picture, 768)
    assert len(base64.b64encode(data)) <= NOTEBOOK_BUDGET - 8_000     # room left for a caption
    assert 128 < width < 768 and width == height


def test_a_small_picture_keeps_its_side_and_the_best_quality(tmp_path):
    picture = tmp_path / "small.png"
    Image.new("RGB", (300, 200), (10, 120, 200)).save(picture)
    data, size = render.jpeg_within(picture, 768)
    assert size == (300, 200)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.size == (300, 200) and decoded.format == "JPEG"


def test_the_budget_can_be_tightened(tmp_path):
    picture = tmp_path / "grid.png"
    noise(512, 512).save(picture)
    data, (width, _) = render.jpeg_within(picture, 512, budget=20_000)
    assert len(data) <= 20_000 and width < 512


@pytest.fixture
def static_shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shell = make_shell(display="static", twin_size=2048, sim_speed=20.0)  # deadline: 45 s
    yield shell
    shell.extension_manager.unload_extension("apiframe_magic")


def test_the_twin_of_a_noise_grid_in_the_notebook_stays_under_250_kb(static_shell):
    job = static_shell.run_cell_magic("imagine", "--wait", "a field of sunflowers --ar 1:1")
    grid = job.image_paths["grid"]
    noise(2048, 2048).save(grid, format="PNG")       # what an intricate real grid weighs
    job.show()
    shown = static_shell.display_pub.outputs()[-1]
    assert "image/jpeg" in shown["data"] and job.task_id in shown["data"]["text/plain"]
    assert len(json.dumps(shown)) <= NOTEBOOK_BUDGET
    assert shown["metadata"]["image/jpeg"]["width"] < 2048       # the shrink loop ran


def test_a_noise_matrix_of_forty_jobs_is_at_most_400_kb(tmp_path):
    matrix = layout("{a, b, c, d, e} {1, 2, 3, 4, 5, 6, 7, 8}")
    images = {job: noise(256, 256, seed=job) for job in range(40)}
    data = composite_jpeg(matrix, images)
    assert len(data) <= MATRIX_BUDGET


def test_a_forty_job_run_is_one_output_with_a_matrix_under_400_kb(static_shell):
    text = "a {red, blue, green, gold, grey} fox in {1, 2, 3, 4, 5, 6, 7, 8}"
    group = static_shell.run_cell_magic("imagine", "--yes --wait", text)
    assert len(group) == 40
    assert [job.state for job in group] == ["finished"] * 40
    outputs = static_shell.display_pub.outputs()
    assert len(outputs) == 1 < OUTPUT_CAP
    (final,) = outputs
    assert len(base64.b64decode(final["data"]["image/jpeg"])) <= MATRIX_BUDGET
    assert all(job.task_id in final["data"]["text/plain"] for job in group)
    for job in group:                                     # now make every cell incompressible
        noise(1024, 1024, seed=hash(job.task_id) % 1000).save(job.image_paths["grid"], "PNG")
    data, _ = matrix_bundle(group.matrix, list(group))
    assert len(base64.b64decode(data["image/jpeg"])) <= MATRIX_BUDGET
