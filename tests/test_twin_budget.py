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
from PIL import Image, ImageStat

from apiframe_magic import words
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


@pytest.mark.timeout(600)      # 40 grids drawn and downloaded: minutes on a loaded machine
def test_a_forty_job_run_is_one_output_with_a_matrix_under_400_kb(static_shell):
    static_shell.run_line_magic("config", "Imagine.sim_speed = 10.0")   # job deadline: 90 s
    text = "a {red, blue, green, gold, grey} fox in {1, 2, 3, 4, 5, 6, 7, 8}"
    group = static_shell.run_cell_magic("imagine", "--yes --wait", text)
    assert len(group) == 40
    assert [job.state for job in group] == ["finished"] * 40
    outputs = static_shell.display_pub.outputs()
    assert len(outputs) == 1 < OUTPUT_CAP
    (final,) = outputs
    assert len(base64.b64decode(final["data"]["image/jpeg"])) <= MATRIX_BUDGET
    assert all(job.task_id in final["data"]["text/plain"] for job in group)
    for n, job in enumerate(group):                       # now make every cell incompressible
        noise(1024, 1024, seed=n).save(job.image_paths["grid"], "PNG")
    data, _ = matrix_bundle(group.matrix, list(group))
    assert len(base64.b64decode(data["image/jpeg"])) <= MATRIX_BUDGET


# ---------------------------------------------------------------------- jpeg_within edges


def test_a_transparent_or_palette_picture_becomes_an_rgb_jpeg(tmp_path):
    for mode, color in (("RGBA", (0, 255, 0, 128)), ("P", 3)):
        picture = tmp_path / f"{mode}.png"
        Image.new(mode, (64, 48), color).save(picture)
        data, size = render.jpeg_within(picture, 768)
        with Image.open(io.BytesIO(data)) as decoded:
            assert (decoded.format, decoded.mode, decoded.size) == ("JPEG", "RGB", (64, 48))


def test_what_fits_is_kept_at_the_best_quality(tmp_path):
    picture = tmp_path / "small.png"
    source = noise(64, 64)
    source.save(picture)
    best = io.BytesIO()
    source.save(best, format="JPEG", quality=82, optimize=True)
    assert render.jpeg_within(picture, 768)[0] == best.getvalue()


def test_each_quality_is_tried_before_the_side_shrinks(tmp_path):
    picture = tmp_path / "grid.png"
    source = noise(256, 256)
    source.save(picture)
    for quality in (72, 60, 45):
        expected = io.BytesIO()
        source.save(expected, format="JPEG", quality=quality, optimize=True)
        data, size = render.jpeg_within(picture, 256, budget=expected.tell())
        assert (data, size) == (expected.getvalue(), (256, 256))


def test_the_smallest_side_is_128_pixels_even_when_nothing_fits(tmp_path):
    picture = tmp_path / "grid.png"
    noise(300, 300).save(picture)
    assert render.jpeg_within(picture, 128, budget=1)[1] == (128, 128)
    assert render.jpeg_within(picture, 129, budget=1)[1] == (96, 96)    # 129 * 0.75


def test_a_budget_is_an_inclusive_limit(tmp_path):
    picture = tmp_path / "grid.png"
    source = noise(100, 100)
    source.save(picture)
    exact = io.BytesIO()
    source.save(exact, format="JPEG", quality=82, optimize=True)
    assert render.jpeg_within(picture, 768, budget=exact.tell())[1] == (100, 100)


# ---------------------------------------------------------------------- job and group bundles


@pytest.fixture
def done_jobs(sim, client, tmp_path):
    """A finished grid, a describe (a text result) and a failed job, with images on disk."""
    from apiframe_magic.images import ImageCache
    from apiframe_magic.jobs import JobManager, PollingPolicy

    sim.set_faults(fail_prompts=("doomed",))
    with JobManager(client, images=ImageCache(tmp_path / "images"),
                    policy=PollingPolicy().scaled(100)) as manager:
        grid = manager.imagine("a <b>bold</b> fox")
        grid.wait(30, images=True)
        described = manager.submit("describe", {"image_url": grid.result.original_image_url})
        described.wait(30)
        failed = manager.imagine("a doomed fox")
        with pytest.raises(Exception):
            failed.wait(30)
        yield grid, described, failed


def _decoded_size(data: dict) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(data["image/jpeg"]))) as picture:
        return picture.size


def test_a_finished_grid_is_a_jpeg_with_its_caption_and_size(done_jobs):
    grid, _, _ = done_jobs
    data, metadata = render.job_bundle(grid, 300)
    assert set(data) == {"image/jpeg", "text/html", "text/plain"}   # the figure, its JPEG, text
    assert max(_decoded_size(data)) == 300
    assert metadata == {"image/jpeg": dict(zip(("width", "height"), _decoded_size(data)))}
    assert data["text/plain"].splitlines()[:2] == [
        "imagine: a <b>bold</b> fox", f"task {grid.task_id} · {words.describe(grid).words}"]
    assert all(str(path) in data["text/plain"] for path in grid.image_paths.values())
    assert '<span class="amj-prompt">a &lt;b&gt;bold&lt;/b&gt; fox</span>' in data["text/html"]


def test_a_text_result_is_its_lines_without_a_picture(done_jobs):
    _, described, _ = done_jobs
    data, metadata = render.job_bundle(described)
    assert set(data) == {"text/plain", "text/html"} and metadata == {}
    assert "1. " in data["text/plain"] and "4. " in data["text/plain"]
    assert 'class="amj-twin amj-finished"' in data["text/html"]
    assert "<b>describe" in data["text/html"]          # the first line is the title


def test_a_failed_job_is_an_escaped_failure_block(done_jobs):
    _, _, failed = done_jobs
    data, metadata = render.job_bundle(failed)
    assert set(data) == {"text/plain", "text/html"} and metadata == {}
    assert 'class="amj-twin amj-failed"' in data["text/html"]
    assert data["text/html"].count("<div>") == len(data["text/plain"].splitlines()) - 1


def test_a_finished_job_whose_picture_is_gone_falls_back_to_text(done_jobs):
    grid, _, _ = done_jobs
    grid.image_paths["grid"].unlink()
    data, _ = render.job_bundle(grid)
    assert set(data) == {"text/plain", "text/html"}
    assert "&lt;b&gt;bold&lt;/b&gt;" in data["text/html"] and "<b>bold" not in data["text/html"]


def test_a_group_is_one_contact_sheet_and_a_table_once_all_are_done(done_jobs):
    grid, described, failed = done_jobs
    data, metadata = render.group_bundle([grid, failed], max_side=256)
    assert set(data) == {"image/jpeg", "text/html", "text/plain"}
    assert metadata == {"image/jpeg": dict(zip(("width", "height"), _decoded_size(data)))}
    lines = data["text/plain"].splitlines()
    assert lines[0] == "2 jobs, 2 done"
    assert lines[1].startswith(f"{'grid':<14} {grid.task_id}")
    assert lines[1].endswith("a <b>bold</b> fox")
    assert lines[2].startswith(f"{'grid':<14} {failed.task_id} Failed")
    width, height = _decoded_size(data)
    assert width > 1.5 * height          # the two tiles side by side in one labelled row


def cancelled_unsent(client):
    """A job cancelled while it waited for a slot: ended, never sent."""
    from apiframe_magic.jobs import JobManager, PollingPolicy

    with JobManager(client, policy=PollingPolicy(max_in_flight=1)) as manager:
        manager.imagine("sent first")
        unsent = manager.imagine("never sent")
        unsent.cancel()
    assert (unsent.state, unsent.task_id) == ("cancelled", None)
    return unsent


def test_a_job_that_ended_without_a_result_has_the_failed_look(client):
    data, _ = render.job_bundle(cancelled_unsent(client))
    assert 'class="amj-twin amj-failed"' in data["text/html"]


def test_a_finished_groups_figure_names_each_tile_its_task_and_the_prompt(done_jobs, client):
    grid, described, failed = done_jobs
    failed.task_id = 'id"><b>x'                     # what a hostile service could send
    data, _ = render.group_bundle([grid, cancelled_unsent(client), failed], max_side=256)
    assert (f'<b>3 jobs</b> <span class="amj-prompt">a &lt;b&gt;bold&lt;/b&gt; fox</span><br>'
            f'grid <code title="{grid.task_id}">{grid.task_id[:8]}</code> · '
            'grid <code title="">not sent</code> · '
            'grid <code title="id&quot;&gt;&lt;b&gt;x">id&quot;&gt;&lt;b&gt;x</code>'
            '</figcaption>') in data["text/html"]
    assert ('alt="Midjourney results side by side: grid, grid, grid, for: '
            'a &lt;b&gt;bold&lt;/b&gt; fox"') in data["text/html"]
    # A first job without a prompt is named by its kind, in the figure and in its row.
    data, _ = render.group_bundle([described, grid])
    assert '<span class="amj-prompt">describe</span>' in data["text/html"]
    assert data["text/plain"].splitlines()[1] == \
        f"{'Describe':<14} {described.task_id:<36} {words.describe(described).words}  "


def test_a_group_sheet_has_each_tiles_label_and_what_became_of_a_job_without_a_picture(
        done_jobs):
    grid, _, failed = done_jobs
    picture = grid.image_paths["grid"]
    picture.unlink()                                 # a finished tile says "image missing"
    data, _ = render.group_bundle([grid, failed], max_side=256)
    expected, _ = render.contact_sheet([picture, None], ["", words.describe(failed).words], 256,
                                       labels=["grid", "grid"])
    assert base64.b64decode(data["image/jpeg"]) == expected


@pytest.fixture
def frozen_manager(frozen_sim):
    """A JobManager whose jobs cannot end during the test."""
    from apiframe_magic import ApiframeClient
    from apiframe_magic.jobs import JobManager

    with ApiframeClient(frozen_sim.api_key, base_url=frozen_sim.url) as client, \
            JobManager(client) as manager:
        yield manager


def test_a_group_still_running_is_text_and_escaped_html(done_jobs, frozen_manager):
    grid, _, _ = done_jobs
    running = frozen_manager.imagine("a <i>slow</i> whale")
    data, metadata = render.group_bundle([grid, running])
    assert set(data) == {"text/plain", "text/html"} and metadata == {}
    assert data["text/plain"].splitlines()[0] == "2 jobs, 1 done"
    assert "&lt;i&gt;slow&lt;/i&gt;" in data["text/html"] and "<i>" not in data["text/html"]
    assert 'class="amj-twin amj-running"' in data["text/html"]


def test_a_group_row_says_how_each_job_stands(done_jobs, frozen_manager):
    grid, _, failed = done_jobs
    running = frozen_manager.imagine("a slow whale")
    data, _ = render.group_bundle([grid, failed, running])
    rows = data["text/plain"].splitlines()
    assert rows[1].split()[2:4] == ["Finished", "in"] and rows[2].split()[2] == "Failed:"
    assert rows[3] == (f"{'grid':<14} {running.task_id:<36} "
                       f"{words.describe(running).words}  a slow whale")
    assert "<b>3 jobs, 2 done</b>" in data["text/html"]


def test_a_matrix_twin_marks_failures_and_draws_a_failure_only_matrix(done_jobs):
    grid, _, failed = done_jobs
    matrix = layout("a {bold, doomed} fox")
    data, metadata = matrix_bundle(matrix, [grid, failed])
    assert f"{failed.task_id} (failed)" in data["text/plain"]
    assert f"{grid.task_id} (failed)" not in data["text/plain"]
    assert metadata == {"image/jpeg": dict(zip(("width", "height"), _decoded_size(data)))}
    only_failed, _ = matrix_bundle(matrix, [failed])
    assert "image/jpeg" in only_failed                 # a failure is drawn, with its reason


@pytest.mark.parametrize("columns, cell", [(11, 200), (12, 160), (60, 40)])
def test_the_first_cell_size_fits_the_width(columns, cell):
    from apiframe_magic.static.matrix import render_composite

    matrix = layout("{" + ", ".join(f"o{i}" for i in range(columns)) + "}", max_jobs=200)
    images = {job: Image.new("RGB", (32, 32), (9, 9, 9)) for job in range(columns)}
    data = composite_jpeg(matrix, images)               # small: fits at the first size tried
    expected, _ = render_composite(matrix, images, cell=cell)
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == expected.size


def test_a_matrix_that_cannot_fit_says_so():
    matrix = layout("{a, b} {c, d}")
    images = {job: noise(256, 256, seed=job) for job in range(4)}
    with pytest.raises(ValueError, match="^a 2x2 matrix does not fit in 100 bytes even at the "
                                         "smallest cell size$"):
        composite_jpeg(matrix, images, max_bytes=100)


def test_a_group_row_of_an_unsent_job_and_of_a_job_without_a_prompt(done_jobs, client):
    from apiframe_magic.jobs import JobManager, PollingPolicy

    _, described, _ = done_jobs
    with JobManager(client, policy=PollingPolicy(max_in_flight=1)) as manager:
        manager.imagine("sent first")
        unsent = manager.imagine("waits for a slot")
        data, _ = render.group_bundle([unsent, described])
    rows = data["text/plain"].splitlines()
    assert rows[1] == (f"{'grid':<14} {'(not sent)':<36} {words.describe(unsent).words}  "
                       "waits for a slot")
    assert rows[2].startswith(f"{'Describe':<14} {described.task_id:<36} Finished in ")


def test_a_matrix_that_fits_at_once_is_saved_at_the_best_quality_inclusively():
    from apiframe_magic.static.matrix import render_composite

    matrix = layout("{a, b} {c, d}")
    images = {job: noise(64, 64, seed=job) for job in range(4)}
    canvas, _ = render_composite(matrix, images, cell=256)
    best = io.BytesIO()
    canvas.save(best, format="JPEG", quality=85, optimize=True)
    assert composite_jpeg(matrix, images) == best.getvalue()
    assert composite_jpeg(matrix, images, max_bytes=best.tell()) == best.getvalue()


def test_a_matrix_twin_draws_the_failed_cell_and_keeps_its_budget(done_jobs):
    from apiframe_magic.static.matrix import render_composite

    grid, _, failed = done_jobs
    noise(1024, 1024).save(grid.image_paths["grid"], "PNG")
    matrix = layout("a {bold, doomed} fox")
    data, _ = matrix_bundle(matrix, [grid, failed], max_bytes=20_000)
    jpeg = base64.b64decode(data["image/jpeg"])
    assert len(jpeg) <= 20_000
    with Image.open(io.BytesIO(jpeg)) as picture:
        for cell in (256, 200, 160, 128, 96, 72, 56, 40):     # the size it was drawn at
            reference, boxes = render_composite(matrix, {0: grid.image_paths["grid"]},
                                                {1: "failed"}, cell=cell)
            if reference.width == picture.width:
                break
        left, top, right, bottom = boxes[1]
        seen = picture.convert("RGB").getpixel((right - 3, bottom - 3))
        grid_cell = picture.convert("L").crop(boxes[0])
        assert ImageStat.Stat(grid_cell).mean[0] < 200        # the grid's picture is drawn

    def distance(colour):
        return sum(abs(a - b) for a, b in zip(seen, colour))

    assert distance((250, 226, 226)) < distance((236, 236, 236))   # a failure, not an empty cell


def test_an_unreadable_picture_in_a_matrix_becomes_a_failure_cell(tmp_path):
    matrix = layout("{a, b}")
    data = composite_jpeg(matrix, {0: tmp_path / "gone.png", 1: noise(64, 64)})
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "JPEG"
