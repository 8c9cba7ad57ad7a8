"""Permutation matrices: layout rules, agreement with expand_permutations, composite and table."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from apiframe_magic import ApiframeClient
from apiframe_magic.errors import TaskFailedError
from apiframe_magic.jobs import JobManager
from apiframe_magic.static.matrix import (
    MAX_COMPOSITE_BYTES,
    composite_jpeg,
    job_cells,
    layout,
    matrix_bundle,
    render_composite,
    text_table,
)
from apiframe_magic.prompt import PromptError, expand_permutations
from apiframe_magic.simulator import Simulator
from apiframe_magic.simulator.faults import Faults
from history_fixtures import FAST


def rebuilt(text: str, matrix, job: int) -> str:
    """The job's prompt made from the template and its coordinates, tidied like the expander."""
    pieces, last = [], 0
    for axis, index in zip(matrix.axes, matrix.coordinates[job]):
        pieces += [text[last:axis.position], axis.labels[index]]
        last = axis.position + len(axis.source)
    pieces.append(text[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip()


@pytest.mark.parametrize("text", [
    "a plain prompt --ar 3:2",
    "a {red, blue, green} bird",
    "a {red, blue} bird {flying, sitting}",
    "a {red, blue} bird {flying, sitting} --ar {1:1, 16:9}",
    "a {big {red, blue}, small} bird on a {branch, {tall, short} wall}",
    "a {, tiny} bird --{v 6.1, niji 6}",
    r"a {pastel\, yellow, red} bird {one,two}",
    "{a, b} {c, d} {e, f} {g, h}",
])
def test_coordinates_agree_with_expand_permutations(text):
    matrix = layout(text)
    assert list(matrix.jobs) == expand_permutations(text)
    assert len(matrix.coordinates) == len(matrix.jobs) == matrix.rows * matrix.columns
    for job in range(len(matrix.jobs)):
        assert rebuilt(text, matrix, job) == matrix.jobs[job]
        assert matrix.job_at(*matrix.cell_of(job)) == job


def test_no_group_is_one_cell():
    matrix = layout("a plain prompt")
    assert matrix.axes == () and matrix.grid() == [[0]]


def test_one_group_is_one_row():
    matrix = layout("a {red, blue, green} bird")
    assert matrix.row_labels == ("",)
    assert matrix.column_labels == ("red", "blue", "green")
    assert matrix.grid() == [[0, 1, 2]]
    assert matrix.jobs[2] == "a green bird"


def test_two_groups_are_rows_and_columns():
    matrix = layout("a {red, blue} bird {flying, sitting, sleeping}")
    assert matrix.row_labels == ("red", "blue")
    assert matrix.column_labels == ("flying", "sitting", "sleeping")
    assert matrix.jobs[matrix.job_at(1, 2)] == "a blue bird sleeping"


def test_three_groups_row_per_combination_of_the_others():
    matrix = layout("a {red, blue} {owl, fox} in {snow, rain}")
    assert matrix.row_labels == ("red · owl", "red · fox", "blue · owl", "blue · fox")
    assert matrix.column_labels == ("snow", "rain")
    assert matrix.jobs[matrix.job_at(2, 1)] == "a blue owl in rain"


def test_nested_option_counts_as_each_of_its_texts():
    matrix = layout("a {big {red, blue}, small} bird")
    assert matrix.axes[0].labels == ("big red", "big blue", "small")
    assert matrix.axes[0].source == "{big {red, blue}, small}"


def test_empty_option_is_labelled():
    assert layout("a {, tiny} bird").column_labels == ("(empty)", "tiny")


def test_bad_braces_and_too_many_jobs_raise_prompt_errors():
    with pytest.raises(PromptError, match="unbalanced"):
        layout("a {red, blue bird")
    with pytest.raises(PromptError, match="limit is 3"):
        layout("{a, b} {c, d}", max_jobs=3)


def test_cells_outside_the_matrix_raise():
    matrix = layout("{a, b}")
    with pytest.raises(IndexError):
        matrix.job_at(1, 0)
    with pytest.raises(IndexError):
        matrix.cell_of(2)


# ---------------------------------------------------------------------------- text table


def test_text_table_two_groups():
    matrix = layout("a {red, blue} bird {flying, sitting}")
    table = text_table(matrix, ["t-1", "t-2", None, "t-4"], {3: "banned word"})
    lines = table.splitlines()
    assert lines[0] == matrix.prompt
    assert lines[1].split("|")[1].strip() == "flying"
    assert [cell.strip() for cell in lines[3].split("|")] == ["red", "t-1", "t-2"]
    assert [cell.strip() for cell in lines[4].split("|")] == ["blue", "-", "t-4 (failed)"]


def test_text_table_one_group_has_no_row_label_column():
    table = text_table(layout("{a, b}"), {0: "x1", 1: "x2"})
    assert table.splitlines()[-1].split("|")[0].strip() == "x1"


# ---------------------------------------------------------------------------- composite


COLOURS = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (220, 200, 30), (200, 30, 200),
           (30, 200, 200), (120, 60, 10), (10, 60, 120)]


def solid(colour, size=(300, 200)):
    return Image.new("RGB", size, colour)


def centre(box):
    left, top, right, bottom = box
    return (left + right) // 2, (top + bottom) // 2


def close_to(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


@pytest.mark.parametrize("text, shape", [
    ("a {red, blue, green} bird", (1, 3)),
    ("a {red, blue} bird {flying, sitting}", (2, 2)),
    ("a {red, blue} {owl, fox} in {snow, rain}", (4, 2)),
])
def test_composite_places_each_job_in_its_cell(text, shape):
    matrix = layout(text)
    assert (matrix.rows, matrix.columns) == shape
    sources = {job: solid(COLOURS[job]) for job in range(len(matrix.jobs))}
    data = composite_jpeg(matrix, sources)
    assert data[:2] == b"\xff\xd8" and len(data) <= MAX_COMPOSITE_BYTES
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    reference, boxes = render_composite(matrix, sources)
    assert picture.size == reference.size
    assert picture.width >= shape[1] * 256 and picture.height >= shape[0] * 256
    for job, box in boxes.items():
        assert close_to(picture.getpixel(centre(box)), COLOURS[job])
    # the label area above the first row holds drawn text (dark pixels), not just background
    top_band = picture.crop((0, 0, picture.width, min(boxes.values())[1]))
    assert top_band.convert("L").getextrema()[0] < 100


def test_failed_cells_show_their_reason():
    matrix = layout("a {red, blue} bird {flying, sitting}")
    sources = {0: solid(COLOURS[0]), 1: solid(COLOURS[1]), 3: solid(COLOURS[3])}
    picture, boxes = render_composite(matrix, sources, {2: "banned prompt"})
    left, top, right, bottom = boxes[2]
    cell = picture.crop((left, top, right, bottom))
    assert cell.getpixel((right - left - 3, bottom - top - 3)) == (250, 226, 226)  # failed tint
    assert cell.convert("L").getextrema()[0] < 120  # the reason is written in it
    without_text, _ = render_composite(matrix, sources, {2: ""})
    assert cell.tobytes() != without_text.crop(boxes[2]).tobytes()


def test_unreadable_image_becomes_a_failure_cell(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    picture, boxes = render_composite(layout("{a, b}"), {0: broken, 1: solid(COLOURS[1])})
    left, top, right, bottom = boxes[0]
    assert picture.getpixel((right - 3, bottom - 3)) == (250, 226, 226)


def test_composite_shrinks_until_under_the_limit():
    """Noise does not compress: 4x10 cells of it need smaller cells or lower quality."""
    import random

    rng = random.Random(7)
    matrix = layout("{a, b, c, d} {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}")
    noise = {job: Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
             for job in range(len(matrix.jobs))}
    full, _ = render_composite(matrix, noise, cell=256)
    buffer = io.BytesIO()
    full.save(buffer, format="JPEG", quality=85)
    assert buffer.tell() > MAX_COMPOSITE_BYTES  # the first attempt would be too big
    data = composite_jpeg(matrix, noise)
    assert len(data) <= MAX_COMPOSITE_BYTES
    assert Image.open(io.BytesIO(data)).width < full.width


def test_composite_of_simulated_jobs_with_a_failure(tmp_path, store, images):
    """A 2x2 permutation run through the JobManager; the simulator fails one job."""
    text = "a {calm, stormy} sea at {dawn, doomed dusk}"
    matrix = layout(text)
    with Simulator(speed=100, faults=Faults(fail_prompts=("doomed",))) as sim, \
            ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01) as client, \
            JobManager(client, store=store, images=images, policy=FAST) as manager:
        jobs = [manager.imagine(prompt) for prompt in matrix.jobs]
        for job in jobs:
            if "doomed" in job.prompt:
                with pytest.raises(TaskFailedError):
                    job.wait(timeout=30)
            else:
                job.wait(timeout=30, images=True)
    grids, failures = job_cells(jobs)
    assert sorted(failures) == [1, 3] and sorted(grids) == [0, 2]
    assert failures[1] == jobs[1].result.error and grids[0] == jobs[0].image_paths["grid"]
    data = composite_jpeg(matrix, grids, failures)
    assert len(data) <= MAX_COMPOSITE_BYTES
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    reference, boxes = render_composite(matrix, grids, failures)
    assert picture.size == reference.size
    left, top, right, bottom = boxes[1]
    assert close_to(picture.getpixel((right - 4, bottom - 4)), (250, 226, 226), 12)
    table = text_table(matrix, [job.task_id for job in jobs], failures)
    assert all(job.task_id in table for job in jobs) and table.count("(failed)") == 2


def test_matrix_bundle_of_finished_jobs(tmp_path, store, images):
    import base64

    text = "a {calm, stormy} lake"
    matrix = layout(text)
    with Simulator(speed=100) as sim, \
            ApiframeClient(sim.api_key, base_url=sim.url, backoff=0.01) as client, \
            JobManager(client, store=store, images=images, policy=FAST) as manager:
        jobs = [manager.imagine(prompt) for prompt in matrix.jobs]
        for job in jobs:
            job.wait(timeout=30, images=True)
    data, metadata = matrix_bundle(matrix, jobs, max_bytes=150_000)
    jpeg = base64.b64decode(data["image/jpeg"])
    assert len(jpeg) <= 150_000
    assert Image.open(io.BytesIO(jpeg)).size == (metadata["image/jpeg"]["width"],
                                                 metadata["image/jpeg"]["height"])
    assert all(job.task_id in data["text/plain"] for job in jobs)
    first, second = (job.task_id for job in jobs)
    assert ('alt="Permutation matrix of Midjourney grids (calm, stormy) for: '
            'a {calm, stormy} lake"') in data["text/html"]
    assert ('<b>Permutation matrix 1 × 2</b> <span class="amj-prompt">a {calm, stormy} lake'
            f'</span><br>calm <code title="{first}">{first[:8]}</code> · '
            f'stormy <code title="{second}">{second[:8]}</code></figcaption>') in data["text/html"]
